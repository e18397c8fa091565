"""The admin page's HTML: plain server-rendered forms, no script, every value escaped.
A destructive action first shows a confirmation page that repeats the form with
`confirm=yes` (so it works, and asks, without JavaScript)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from typing import Any

from api.style import PALETTE
from assistant.auth.directory import TokenInfo

STYLE = (
    PALETTE
    + """body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:72em;padding:0 1em}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid var(--line);
padding:.25em .5em;text-align:left;vertical-align:top}form.inline{display:inline}input{margin:.1em}
.msg{padding:.5em;background:var(--ok-bg)}.err{padding:.5em;background:var(--error-bg);
color:var(--error)}code{background:var(--code-bg);padding:.1em .3em}
td{overflow-wrap:anywhere}nav{margin-bottom:1em}"""
)


@dataclass
class View:
    """What the page shows (gathered by the route)."""

    users: list[Any]  # assistant.auth.directory.UserInfo
    states: Mapping[str, tuple[str, bool]]  # name -> (source, disabled)
    groups: list[tuple[str, list[str], list[tuple[str, str]]]]
    tokens: list[TokenInfo]
    directory_status: list[tuple[str, str]]  # (what, state)
    audit: list[dict[str, Any]] = field(default_factory=list)
    audit_note: str = "off"
    message: str = ""
    error: str = ""


def form(action: str, fields: Mapping[str, str], button: str, inputs: str = "") -> str:
    hidden = "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">' for k, v in fields.items()
    )
    return (
        f'<form class="inline" method="post" action="/admin/{action}">{hidden}{inputs}'
        f'<button type="submit">{escape(button)}</button></form>'
    )


def _users(v: View) -> str:
    rows = []
    for u in v.users:
        source, disabled = v.states.get(u.name, ("local", False))
        n = {"name": u.name}
        actions = [
            form("users/admin", {**n, "admin": "0" if u.is_admin else "1"},
                 "Revoke admin" if u.is_admin else "Make admin"),
            form("users/disable", {**n, "disabled": "0" if disabled else "1"},
                 "Enable" if disabled else "Disable"),
            form("users/delete", n, "Delete"),
        ]  # fmt: skip
        if source == "local":
            box = (
                '<input type="password" name="password" placeholder="new password"'
                f' aria-label="new password for {escape(u.name)}" required>'
            )
            actions.insert(2, form("users/password", n, "Reset password", box))
        state = "disabled" if disabled else "active"
        rows.append(
            f"<tr><td>{escape(u.name)}</td><td>{'admin' if u.is_admin else 'user'}</td>"
            f"<td>{escape(source)}</td><td>{state}</td><td>{escape(', '.join(u.groups))}</td>"
            f"<td>{u.tokens}</td><td>{' '.join(actions)}</td></tr>"
        )
    create = (
        '<input name="name" placeholder="name" aria-label="new user name" required>'
        '<input type="password" name="password" placeholder="password"'
        ' aria-label="new user password" required>'
        '<input name="groups" placeholder="groups, comma-separated"'
        ' aria-label="new user groups, comma-separated">'
        '<label><input type="checkbox" name="admin" value="1"> admin</label>'
    )
    return (
        "<h2>Users</h2><table><tr><th>name</th><th>role</th><th>source</th><th>state</th>"
        "<th>groups</th><th>tokens</th><th>actions</th></tr>" + "".join(rows) + "</table>"
        + form("users/create", {}, "Create user", create)
    )  # fmt: skip


def _groups(v: View) -> str:
    rows = []
    for name, members, grants in v.groups:
        g = {"group": name}
        people = " ".join(
            f"{escape(m)} {form('groups/member', {**g, 'user': m, 'remove': '1'}, 'remove')}"
            for m in members
        )
        granted = " ".join(
            f"{escape(c)} ({escape(r)}) {form('grants/revoke', {**g, 'collection': c}, 'revoke')}"
            for c, r in grants
        )
        who = f' aria-label="user to add to {escape(name)}"'
        add = form("groups/member", g, "Add member", f'<input name="user" placeholder="user"{who}>')
        grant = form(
            "grants/set",
            g,
            "Grant",
            f'<input name="collection" placeholder="collection"'
            f' aria-label="collection to grant to {escape(name)}">'
            f'<select name="role" aria-label="role of {escape(name)} in that collection">'
            "<option>read</option><option>owner</option></select>",
        )
        delete = form("groups/delete", {"name": name}, "Delete group")
        rows.append(
            f"<tr><td>{escape(name)}</td><td>{people} {add}</td><td>{granted} {grant}</td>"
            f"<td>{delete}</td></tr>"
        )
    return (
        "<h2>Groups and collection grants</h2><table><tr><th>group</th><th>members</th>"
        "<th>collections</th><th>actions</th></tr>" + "".join(rows) + "</table>"
        + form("groups/create", {}, "Create group",
               '<input name="name" placeholder="group" aria-label="new group name">')
    )  # fmt: skip


def _when(moment: datetime | None, never: str) -> str:
    return escape(moment.strftime("%Y-%m-%d %H:%M")) if moment else never


def _tokens(v: View) -> str:
    rows = "".join(
        f"<tr><td>{escape(t.user)}</td><td>{escape(t.name)}</td>"
        f"<td>{_when(t.created, '')}</td><td>{_when(t.expires, 'never')}</td>"
        f"<td>{_when(t.last_used, 'not yet')}</td>"
        f"<td>{form('tokens/revoke', {'user': t.user, 'name': t.name}, 'Revoke')}</td></tr>"
        for t in v.tokens
    )
    create = (
        '<input name="user" placeholder="user" aria-label="user">'
        '<input name="name" placeholder="token name" aria-label="token name">'
        '<input name="days" placeholder="days valid (empty: never expires)"'
        ' aria-label="days valid" inputmode="decimal">'
    )
    return (
        "<h2>API tokens</h2><table><tr><th>user</th><th>name</th><th>created</th>"
        "<th>expires</th><th>last used</th><th>actions</th></tr>"
        f"{rows}</table>{form('tokens/create', {}, 'Create token', create)}"
    )


def _status(v: View) -> str:
    rows = "".join(
        f"<tr><td>{escape(a)}</td><td>{escape(b)}</td></tr>" for a, b in v.directory_status
    )
    return f"<h2>Directory</h2><table>{rows}</table>" + form(
        "directory/check", {}, "Check the directory now"
    )


def _audit(v: View) -> str:
    rows = "".join(
        f"<tr><td>{r['id']}</td><td>{escape(r['at'][:19])}</td><td>{escape(r['actor'])}</td>"
        f"<td>{escape(r['address'])}</td><td>{escape(r['action'])}</td>"
        f"<td>{escape(r['target'])}</td><td>{escape(r['outcome'])}</td></tr>"
        for r in v.audit
    )
    return (
        f"<h2>Audit trail</h2><p>{escape(v.audit_note)}</p>"
        "<table><tr><th>#</th><th>when (UTC)</th><th>who</th><th>from</th><th>action</th>"
        f"<th>target</th><th>outcome</th></tr>{rows}</table>"
        + form("audit/verify", {}, "Verify the chain")
        + ' <a href="/admin/audit.jsonl">Export (JSON Lines)</a>'
    )


def page(v: View) -> str:
    notice = f'<p class="msg" role="status">{escape(v.message)}</p>' if v.message else ""
    if v.error:
        notice += f'<p class="err" role="alert">{escape(v.error)}</p>'
    body = "".join((_users(v), _groups(v), _tokens(v), _status(v), _audit(v)))
    return _doc("Admin", f"<h1>Admin</h1>{notice}{body}")


def confirm_page(action: str, fields: Mapping[str, str], question: str) -> str:
    button = form(action, {**fields, "confirm": "yes"}, "Yes, do it")
    return _doc(
        "Confirm",
        f"<h1>Confirm</h1><p>{escape(question)}</p><p>{button} "
        '<a href="/admin">No, go back</a></p>',
    )


def token_page(user: str, name: str, token: str) -> str:
    return _doc(
        "Token",
        f"<h1>Token created</h1><p>Token <b>{escape(name)}</b> of {escape(user)}; copy it now,"
        f' it is not shown again:</p><p><code id="token">{escape(token)}</code></p>'
        '<p><a href="/admin">Back</a></p>',
    )


def _doc(title: str, body: str) -> str:
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}'
        ' · On-prem Assistant</title><meta name="viewport" content="width=device-width,'
        f' initial-scale=1"><style>{STYLE}</style></head><body>'
        f'<nav aria-label="Site"><a href="/">Back to the chat</a> · <a href="/admin">Admin</a>'
        f"</nav><main>{body}</main></body></html>"
    )
