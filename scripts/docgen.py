"""Reference text generated from the code, for the `cog` blocks in docs/: the settings
table (from the fields of `assistant/settings.py`) and the `--help` of every command.

`just docs` rewrites the blocks, `just lint` fails when one is out of date
(`cog --check`), so a new setting or option shows up in the docs by itself.
"""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import click
from annotated_types import Ge, Gt, Le, Lt
from click.testing import CliRunner
from pydantic import SecretStr
from pydantic.fields import FieldInfo

from assistant import settings as settings_module
from assistant.cli import cli
from assistant.settings import Settings

# Defaults computed at run time (from the environment), shown as they are on a default system.
COMPUTED_DEFAULTS = {"data_dir": "`~/.local/share/onprem-assistant`"}
SECTION = re.compile(r"#\s*---\s*(.+?)\s*-*\s*$")
HELP_WIDTH = 100


def _sections() -> dict[str, str]:
    """Each setting's section, from the `# --- name ---` comments in the class body."""
    source = Path(inspect.getfile(settings_module)).read_text(encoding="utf-8")
    lines = source.splitlines()
    tree = ast.parse(source)
    [cls] = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Settings"]
    out, current = {}, "general"
    for node in cls.body:
        for line in lines[: node.lineno - 1][::-1]:
            if match := SECTION.match(line.strip()):
                current = match.group(1)
                break
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            out[node.target.id] = current
    return out


def _default(name: str, field: FieldInfo) -> str:
    if field.default_factory is not None:
        if name not in COMPUTED_DEFAULTS:
            raise SystemExit(f"docgen: say how to show the computed default of '{name}'")
        return COMPUTED_DEFAULTS[name]
    value = field.default
    if value is None or value == "":
        return "empty"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return " ".join(f"`{v}`" for v in value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def _bounds(field: FieldInfo) -> str:
    signs = {Ge: ("ge", "≥"), Gt: ("gt", ">"), Le: ("le", "≤"), Lt: ("lt", "<")}
    parts = []
    for meta in field.metadata:
        for kind, (attr, sign) in signs.items():
            if isinstance(meta, kind):
                parts.append(f"{sign} {getattr(meta, attr):g}")
    return ", ".join(parts)


def _kind(annotation: Any, field: FieldInfo) -> str:
    """The values a setting takes, in words."""
    args = [a for a in get_args(annotation) if a is not type(None)]
    if get_origin(annotation) is Literal:
        return " / ".join(f"`{a}`" for a in get_args(annotation))
    if args and get_origin(annotation) is not list:  # X | None
        return _kind(args[0], field)
    names = {bool: "true / false", int: "integer", float: "number", str: "text"}
    names |= {Path: "path", SecretStr: "secret"}
    if get_origin(annotation) is list:
        kind = "list"
    else:
        kind = names.get(annotation, getattr(annotation, "__name__", str(annotation)))
    bounds = _bounds(field)
    return f"{kind} ({bounds})" if bounds else kind


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def settings_table() -> str:
    """One table per section of `Settings`, in the order the fields are declared."""
    sections = _sections()
    by_section: dict[str, list[str]] = {}
    for name, field in Settings.model_fields.items():
        if not field.description:
            raise SystemExit(f"docgen: setting '{name}' has no description in settings.py")
        row = (
            f"| `{name}` | {_default(name, field)} | {_kind(field.annotation, field)} "
            f"| {_cell(field.description)} |"
        )
        by_section.setdefault(sections.get(name, "general"), []).append(row)
    out = []
    for section, rows in by_section.items():
        out += [f"### {section[0].upper()}{section[1:]}", ""]
        out += ["| setting | default | values | what it does |", "| --- | --- | --- | --- |"]
        out += [*rows, ""]
    return "\n".join(out).rstrip() + "\n"


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path under `group`, depth first, in the order `--help` lists them."""
    ctx = click.Context(group, info_name="assistant")
    out = []
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if command is None or command.hidden:
            continue
        out.append((*path, name))
        if isinstance(command, click.Group):
            out += _commands(command, (*path, name))
    return out


def help_text(*path: str) -> str:
    """`assistant PATH --help` as a terminal HELP_WIDTH wide shows it."""
    result = CliRunner().invoke(
        cli, [*path, "--help"], prog_name="assistant", terminal_width=HELP_WIDTH
    )
    if result.exit_code != 0:
        raise SystemExit(f"docgen: `assistant {' '.join(path)} --help` failed: {result.output}")
    return result.output


def cli_reference() -> str:
    """A heading and the `--help` output of `assistant` and of every command under it."""
    out = []
    for path in [(), *_commands(cli)]:
        out += [f"### `{' '.join(('assistant', *path))}`", "", "```text"]
        out += [help_text(*path).rstrip(), "```", ""]
    return "\n".join(out).rstrip() + "\n"
