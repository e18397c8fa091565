"""The admin page at /admin: users, groups and members, collection grants, API tokens,
the directory's status and the audit trail. Admins only: anyone else gets 404 on every
route, exactly as for a page that does not exist. Every change goes through the
directory, so it is audited like the CLI's; destructive ones are confirmed first."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api import admin_page
from api.context import principal
from assistant.audit import Trail
from assistant.audit.trail import record_dict
from assistant.auth import Principal
from assistant.auth.accounts import Accounts
from assistant.errors import AssistantError, one_line

MAX_FIELD = 512
NO_STORE = {"cache-control": "no-store"}


@dataclass
class Admin:
    accounts: Accounts
    trail: Trail | None
    retention_days: float
    checks: list[tuple[str, Callable[[], str]]]  # directory checks: (what, run)


def admins_only(request: Request) -> Principal:
    who = principal(request)
    if not who.is_admin:
        raise HTTPException(404, "Not Found")
    return who


def _groups(text: str) -> list[str]:
    return [g.strip() for g in text.split(",") if g.strip()]


# Each action changes the directory and returns what it did, in words.
Run = Callable[["Admin", dict[str, str]], str]


def create_user(a: Admin, f: dict[str, str]) -> str:
    groups = _groups(f.get("groups", ""))
    a.accounts.add_user(f["name"], f["password"], admin=f.get("admin") == "1", groups=groups)
    return f"created user '{f['name']}'"


def delete_user(a: Admin, f: dict[str, str]) -> str:
    a.accounts.remove_user(f["name"])
    return f"deleted user '{f['name']}'"


def disable_user(a: Admin, f: dict[str, str]) -> str:
    off = f["disabled"] == "1"
    a.accounts.set_disabled(f["name"], off)
    return f"'{f['name']}' is {'disabled' if off else 'enabled'}"


def reset_password(a: Admin, f: dict[str, str]) -> str:
    a.accounts.set_password(f["name"], f["password"])
    return f"password of '{f['name']}' reset"


def make_admin(a: Admin, f: dict[str, str]) -> str:
    on = f["admin"] == "1"
    a.accounts.set_admin(f["name"], on)
    return f"'{f['name']}' is {'now' if on else 'no longer'} an admin"


def create_group(a: Admin, f: dict[str, str]) -> str:
    a.accounts.add_group(f["name"])
    return f"created group '{f['name']}'"


def delete_group(a: Admin, f: dict[str, str]) -> str:
    a.accounts.remove_group(f["name"])
    return f"deleted group '{f['name']}'"


def member(a: Admin, f: dict[str, str]) -> str:
    leave = f.get("remove") == "1"
    (a.accounts.remove_member if leave else a.accounts.add_member)(f["group"], f["user"])
    return f"'{f['user']}' {'left' if leave else 'joined'} '{f['group']}'"


def grant(a: Admin, f: dict[str, str]) -> str:
    role = f.get("role", "read")
    a.accounts.grant(f["group"], f["collection"], role)
    return f"'{f['group']}' may {role} '{f['collection']}'"


def revoke(a: Admin, f: dict[str, str]) -> str:
    if a.accounts.revoke(f["group"], f["collection"]):
        return f"'{f['group']}' no longer reads '{f['collection']}'"
    return f"'{f['group']}' had no access to '{f['collection']}'"


def revoke_token(a: Admin, f: dict[str, str]) -> str:
    if a.accounts.revoke_token(f["user"], f["name"]):
        return f"revoked token '{f['name']}' of '{f['user']}'"
    return f"'{f['user']}' has no token '{f['name']}'"


def check_directory(a: Admin, f: dict[str, str]) -> str:
    return "; ".join(_check(what, run) for what, run in a.checks) or "no directory configured"


def verify_audit(a: Admin, f: dict[str, str]) -> str:
    if a.trail is None:
        return "the audit trail is off"
    v = a.trail.verify()
    return (
        f"chain intact: {v.records} records, head {v.head[:16]}" if v.ok else f"BROKEN: {v.problem}"
    )


# action -> (what it does; the confirmation question when it destroys, else "")
ACTIONS: dict[str, tuple[Run, str]] = {
    "users/create": (create_user, ""),
    "users/delete": (delete_user, "Delete user '{name}' with their tokens, sessions and history?"),
    "users/disable": (
        disable_user,
        "Disable '{name}'? They are signed out and their tokens stop working.",
    ),
    "users/password": (reset_password, "Reset the password of '{name}'? Their sessions end."),
    "users/admin": (make_admin, ""),
    "groups/create": (create_group, ""),
    "groups/delete": (delete_group, "Delete group '{name}'? Its members lose its collections."),
    "groups/member": (member, ""),
    "grants/set": (grant, ""),
    "grants/revoke": (revoke, "Take the access of '{group}' to '{collection}' away?"),
    "tokens/revoke": (
        revoke_token,
        "Revoke token '{name}' of '{user}'? Programs using it stop working.",
    ),
    "directory/check": (check_directory, ""),
    "audit/verify": (verify_audit, ""),
}


def _check(what: str, run: Callable[[], str]) -> str:
    try:
        return f"{what}: {run()}"
    except AssistantError as exc:
        return f"{what}: FAILED, {one_line(exc)}"


def view(a: Admin, message: str = "", error: str = "") -> admin_page.View:
    d = a.accounts
    status = [(what, "configured") for what, _ in a.checks] or [("directory", "local users only")]
    note = "off (ASSISTANT_AUDIT)"
    records: list[dict[str, Any]] = []
    if a.trail is not None:
        keep = f"{a.retention_days:g} days" if a.retention_days else "forever"
        note = f"on; kept {keep}; the newest 30:"
        records = a.trail.query(limit=30)
    return admin_page.View(
        d.users(), d.states(), d.groups(), d.tokens(), status, records, note, message, error
    )


def router(admin: Admin) -> APIRouter:
    r = APIRouter(prefix="/admin", include_in_schema=False, dependencies=[Depends(admins_only)])

    @r.get("")
    def home() -> HTMLResponse:
        return HTMLResponse(admin_page.page(view(admin)), headers=NO_STORE)

    @r.get("/audit.jsonl")
    def export() -> Response:
        if admin.trail is None:
            raise HTTPException(404, "the audit trail is off")
        trail = admin.trail

        def lines() -> Iterator[str]:
            for rec in trail.all():
                yield json.dumps(record_dict(rec), ensure_ascii=False) + "\n"

        headers = {"content-disposition": 'attachment; filename="audit.jsonl"', **NO_STORE}
        return StreamingResponse(lines(), media_type="application/x-ndjson", headers=headers)

    @r.post("/{kind}/{verb}")
    async def act(kind: str, verb: str, request: Request) -> HTMLResponse:
        action = f"{kind}/{verb}"
        if action not in ACTIONS and action != "tokens/create":
            raise HTTPException(404, "Not Found")
        data = await request.form()
        fields = {k: str(v) for k, v in data.items() if isinstance(v, str)}
        if any(len(v) > MAX_FIELD for v in fields.values()):
            return _error(admin, f"a field is longer than {MAX_FIELD} characters")
        if action == "tokens/create":
            return await _create_token(admin, fields)
        run, question = ACTIONS[action]
        destructive = question and not (action == "users/disable" and fields.get("disabled") == "0")
        if destructive and fields.get("confirm") != "yes":
            try:
                asked = question.format(**fields)
            except (KeyError, IndexError, ValueError):
                return _error(admin, "a field is missing")
            shown = {k: v for k, v in fields.items() if k != "confirm"}
            return HTMLResponse(admin_page.confirm_page(action, shown, asked), headers=NO_STORE)
        try:
            message = await run_in_threadpool(run, admin, fields)
        except KeyError as exc:
            return _error(admin, f"the field {exc} is missing")
        except AssistantError as exc:
            return _error(admin, one_line(exc))
        return HTMLResponse(admin_page.page(view(admin, message)), headers=NO_STORE)

    return r


async def _create_token(admin: Admin, fields: dict[str, str]) -> HTMLResponse:
    user, name = fields.get("user", ""), fields.get("name", "") or "default"
    try:
        days = float(fields["days"]) if fields.get("days", "").strip() else None
    except ValueError:
        return _error(admin, "days must be a number (or empty: the token never expires)")
    if days is not None and not 0 < days <= 3650:
        return _error(admin, "days must be between 0 and 3650 (or empty: never expires)")
    try:
        token = await run_in_threadpool(admin.accounts.create_token, user, name, days)
    except AssistantError as exc:
        return _error(admin, one_line(exc))
    return HTMLResponse(admin_page.token_page(user, name, token), headers=NO_STORE)


def _error(admin: Admin, message: str) -> HTMLResponse:
    return HTMLResponse(
        admin_page.page(view(admin, error=message)), status_code=400, headers=NO_STORE
    )
