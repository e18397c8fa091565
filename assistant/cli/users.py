"""`assistant users|groups|tokens`: people, their groups, what groups may read or own,
and API tokens. There is no default user or password: the first admin is made with
`assistant users add NAME --admin`, which turns login on for `assistant serve`."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import TYPE_CHECKING

import click

from assistant.errors import AssistantError
from assistant.settings import Settings

if TYPE_CHECKING:
    from assistant.auth import Directory


def directory() -> Directory:
    """The users database (with the audit trail on, each change is recorded)."""
    from assistant.factory import Components

    return Components(Settings.load()).directory


def read_password(confirm: bool = True) -> str:
    """From the terminal (hidden, typed twice) or the first line of standard input, so
    scripts can pipe it in without it showing in `ps` or the shell history."""
    if sys.stdin.isatty():
        return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    line = sys.stdin.readline()
    password = line.removesuffix("\n").removesuffix("\r")
    if not password:
        raise AssistantError("no password on standard input")
    return password


@click.group()
def users() -> None:
    """Manage users (login is on once one exists)."""


@users.command("add")
@click.argument("name")
@click.option("--admin", is_flag=True, help="May read and manage every collection.")
@click.option("-g", "--group", "groups", multiple=True, help="Member of this group (created).")
def users_add(name: str, admin: bool, groups: tuple[str, ...]) -> None:
    """Create user NAME; the password is prompted for (or read from standard input)."""
    d = directory()
    d.add_user(name, read_password(), admin=admin, groups=list(groups))
    click.echo(f"added user '{name}'{' (admin)' if admin else ''}")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
def users_list(as_json: bool) -> None:
    """List users with their groups."""
    rows = directory().users()
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in rows], indent=2))
        return
    for r in rows:
        role = "admin" if r.is_admin else "user"
        click.echo(f"{r.name}  {role}  groups: {', '.join(r.groups) or '-'}  tokens: {r.tokens}")
    if not rows:
        click.echo("no users: login is off (the web UI serves 127.0.0.1 only)")


@users.command("passwd")
@click.argument("name")
def users_passwd(name: str) -> None:
    """Set NAME's password (ends their browser sessions)."""
    revoked = directory().set_password(name, read_password())
    tokens = f"; {revoked} API token(s) revoked" if revoked else ""
    click.echo(f"password of '{name}' changed, signed out everywhere{tokens}")


@users.command("rm")
@click.argument("name")
def users_rm(name: str) -> None:
    """Delete user NAME with their tokens and sessions."""
    directory().remove_user(name)
    click.echo(f"removed user '{name}'")


@users.command("admin")
@click.argument("name")
@click.option("--off", is_flag=True, help="Take admin rights away instead.")
def users_admin(name: str, off: bool) -> None:
    """Make NAME an admin (or not, with --off)."""
    directory().set_admin(name, not off)
    click.echo(f"'{name}' is {'no longer ' if off else ''}an admin")


@click.group(invoke_without_command=True)
@click.pass_context
def groups(ctx: click.Context) -> None:
    """Groups, their members, and the collections they may read or own."""
    if ctx.invoked_subcommand is not None:
        return
    rows = directory().groups()
    for name, members, grants in rows:
        granted = ", ".join(f"{c} ({role})" for c, role in grants) or "-"
        click.echo(f"{name}: members {', '.join(members) or '-'}; collections {granted}")
    if not rows:
        click.echo("no groups yet: `assistant groups add NAME`")


@groups.command("add")
@click.argument("name")
def groups_add(name: str) -> None:
    """Create group NAME."""
    directory().add_group(name)
    click.echo(f"added group '{name}'")


@groups.command("rm")
@click.argument("name")
def groups_rm(name: str) -> None:
    """Delete group NAME (its members lose its grants)."""
    directory().remove_group(name)
    click.echo(f"removed group '{name}'")


@groups.command("member")
@click.argument("group")
@click.argument("user")
@click.option("--remove", is_flag=True, help="Take USER out of GROUP instead.")
def groups_member(group: str, user: str, remove: bool) -> None:
    """Put USER in GROUP (or out, with --remove)."""
    d = directory()
    (d.remove_member if remove else d.add_member)(group, user)
    click.echo(f"'{user}' is {'no longer ' if remove else ''}in '{group}'")


@groups.command("grant")
@click.argument("group")
@click.argument("collection")
@click.option(
    "--role",
    type=click.Choice(["read", "owner"]),
    default="read",
    show_default=True,
    help="owner: may also upload and delete documents.",
)
def groups_grant(group: str, collection: str, role: str) -> None:
    """Let GROUP read (or own) COLLECTION."""
    directory().grant(group, collection, role)
    click.echo(f"'{group}' may {role if role == 'read' else 'own'} '{collection}'")


@groups.command("revoke")
@click.argument("group")
@click.argument("collection")
def groups_revoke(group: str, collection: str) -> None:
    """Take GROUP's access to COLLECTION away."""
    if not directory().revoke(group, collection):
        raise AssistantError(f"group '{group}' had no access to '{collection}'")
    click.echo(f"'{group}' no longer has access to '{collection}'")


@click.group()
def tokens() -> None:
    """API tokens (`Authorization: Bearer TOKEN`, also the OpenAI client's api_key)."""


@tokens.command("create")
@click.argument("user")
@click.option("--name", default="default", show_default=True, help="To tell tokens apart.")
@click.option(
    "--days",
    type=click.FloatRange(min=0, min_open=True),
    help="Expire after DAYS (default: never).",
)
def tokens_create(user: str, name: str, days: float | None) -> None:
    """Create a token for USER and print it (only its hash is stored: copy it now).
    Changing USER's password revokes all their tokens."""
    click.echo(directory().create_token(user, name, days))


@tokens.command("list")
@click.argument("user", required=False)
def tokens_list(user: str | None) -> None:
    """List tokens: names, when made, when they expire and were last used (the tokens
    themselves are not stored)."""
    for t in directory().tokens(user):
        expires = f"expires {_when(t.expires)}" if t.expires else "never expires"
        used = f"last used {_when(t.last_used)}" if t.last_used else "never used"
        click.echo(f"{t.user}  {t.name}  created {_when(t.created)}  {expires}  {used}")


def _when(at: datetime) -> str:
    return at.isoformat(sep=" ", timespec="minutes") + " UTC"


@tokens.command("revoke")
@click.argument("user")
@click.argument("name")
def tokens_revoke(user: str, name: str) -> None:
    """Delete USER's token NAME."""
    if not directory().revoke_token(user, name):
        raise AssistantError(f"user '{user}' has no token named '{name}'")
    click.echo(f"revoked token '{name}' of '{user}'")
