"""`assistant config`: the effective settings and where they come from."""

from __future__ import annotations

import json

import click

from assistant import offline
from assistant.cli.output import print_json
from assistant.settings import Settings, config_file


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def config(as_json: bool) -> None:
    """Print the effective settings and where they come from."""
    s = Settings.load()
    values = s.model_dump(mode="json")
    values["seed_dir"] = str(s.seed_path())
    if as_json:
        print_json(
            {
                "settings": values,
                "config_file": str(config_file()),
                "offline_env": offline.OFFLINE_ENV,
            }
        )
        return
    source = config_file()
    click.echo(f"# config file: {source}{'' if source.is_file() else ' (absent)'}")
    click.echo("# override any value with ASSISTANT_<NAME> in the environment")
    for name, value in values.items():
        click.echo(f"{name} = {json.dumps(value)}")
