"""What identity and accountability cost, as one Markdown table: the audit trail's record
of a question (alone, and as the difference it makes to `Assistant.ask` on the seed
corpus), `audit verify`; sign-in against a real OpenLDAP (Debian's slapd) and a real
OpenID provider (npm's oidc-provider on Node), both on loopback, against a local
password (Argon2id).

    .venv/bin/python bench/bench_identity.py [--questions 200] [--sign-ins 30] [--sign-in-only]

Everything runs in a temporary data dir (SQLite users database, embedded Chroma); the
directory and the provider are the tests' (tests/support/ldap_server.py and
tests/support/oidc_provider.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

QUESTIONS = [
    "When was Llama 2 released?",
    "Under what licence are the Llama weights published?",
    "What did Meta say about open-weights models?",
    "How large is the biggest Llama 3 model?",
]


def ms(samples: list[float], q: float = 0.5) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def audit_rows(data_dir: Path, n: int) -> list[tuple[str, str, str]]:
    from conftest import make_settings  # the tests' settings: no user config, seed corpus

    from assistant.answering import Assistant
    from assistant.cli.wiring import index_files
    from assistant.factory import Components

    parts = Components(make_settings(data_dir, audit=True))
    index_files(parts, [parts.settings.seed_path()])
    audited = parts.assistant  # AuditedAssistant
    plain = Assistant(parts.retriever, parts.model, max_answer_tokens=64)
    trail = parts.trail
    sources = [
        {"collection": "documents", "source": f"/srv/docs/file-{i}.pdf", "anchor": f"page {i}"}
        for i in range(4)
    ]
    record = [
        timed(lambda: trail.record("ask", "documents", collections=["documents"], sources=sources))
        for _ in range(n)
    ]
    with_audit, without = [], []
    for i in range(n):  # paired, so load on the machine hits both alike
        q = QUESTIONS[i % len(QUESTIONS)]
        pair = [(with_audit, audited), (without, plain)]
        for samples, assistant in pair if i % 2 else reversed(pair):  # ABBA: no order bias
            samples.append(timed(lambda a=assistant, q=q: a.ask(q)))
    diffs = [a - b for a, b in zip(with_audit, without, strict=True)]
    count = len(list(trail.all()))
    verify = timed(trail.verify)
    return [
        (
            "audit record of a question (4 sources), p50 / p95",
            f"{ms(record):.2f} / {ms(record, 0.95):.2f} ms",
            "< 2 ms p50",
        ),
        (
            "`Assistant.ask` until sources, without / with audit, p50",
            f"{ms(without):.1f} / {ms(with_audit):.1f} ms",
            "",
        ),
        (
            "added by the audit trail to a question, p50 of paired differences",
            f"{statistics.median(diffs) * 1000:.2f} ms",
            "< 2 ms",
        ),
        ("`audit verify`", f"{count} records in {verify * 1000:.0f} ms", ""),
    ]


def sign_in_rows(tmp: Path, n: int) -> list[tuple[str, str, str]]:
    return ldap_rows(tmp, n) + oidc_rows(tmp, n)


def ldap_rows(tmp: Path, n: int) -> list[tuple[str, str, str]]:
    """Sign-in against the directory in each mode, and with a local password beside it."""
    from support.ldap_server import BASE, PASSWORDS, SVC_DN, SVC_PW, start_slapd

    from assistant.auth import Database
    from assistant.auth.accounts import Accounts
    from assistant.auth.ldap import LdapConfig, LdapSignIn

    rows = []
    slapd = start_slapd(tmp / "slapd")
    try:
        common = dict(base_dn=BASE, group_filter="(member={dn})")
        modes = {
            "LDAP, bind as the user + nested groups": LdapConfig(
                slapd.url, user_dn=f"uid={{user}},ou=people,{BASE}", **common
            ),
            "LDAP, search-then-bind + nested groups": LdapConfig(
                slapd.url, bind_dn=SVC_DN, bind_password=SVC_PW, **common
            ),
            "LDAPS (TLS), bind as the user + nested groups": LdapConfig(
                slapd.ldaps_url, user_dn=f"uid={{user}},ou=people,{BASE}", ca_file=slapd.ca_file,
                **common,
            ),
        }  # fmt: skip
        for i, (label, config) in enumerate(modes.items()):
            db = Database(f"sqlite:///{tmp / f'ldap{i}.sqlite3'}")
            accounts = Accounts(db, ldap=LdapSignIn(config), group_map={"all-staff": "staff"})
            times = [
                timed(lambda a=accounts: a.authenticate("alice", PASSWORDS["alice"]))
                for _ in range(n)
            ]
            rows.append(
                (f"sign-in: {label}, p50 / p95", f"{ms(times):.1f} / {ms(times, 0.95):.1f} ms", "")
            )
        local = Accounts(Database(f"sqlite:///{tmp / 'local.sqlite3'}"))
        local.add_user("root", "root-pass-1")
        times = [timed(lambda: local.authenticate("root", "root-pass-1")) for _ in range(n)]
        rows.append(("sign-in: local password (Argon2id), p50", f"{ms(times):.1f} ms", ""))
    finally:
        slapd.stop()
    return rows


def oidc_rows(tmp: Path, n: int) -> list[tuple[str, str, str]]:
    """The OpenID callback alone, and the whole flow through the provider's pages."""
    import httpx
    from support.net import free_port
    from support.oidc_provider import CLIENT_ID, CLIENT_SECRET, Provider, drive

    from assistant.auth import Database
    from assistant.auth.accounts import Accounts
    from assistant.auth.oidc import OidcConfig, OidcSignIn

    provider = Provider(free_port())
    callback = f"http://127.0.0.1:{free_port()}/oidc/callback"  # never followed
    provider.start([callback], tmp / "provider.log")
    try:
        oidc = OidcSignIn(
            OidcConfig(provider.issuer, CLIENT_ID, CLIENT_SECRET, "openid profile groups")
        )
        oidc.metadata()  # discovery once, as a running server has it
        accounts = Accounts(
            Database(f"sqlite:///{tmp / 'oidc.sqlite3'}"), oidc=oidc, group_map={"staff": "staff"}
        )
        whole, ours = [], []
        for _ in range(n):
            started = time.perf_counter()
            url, state = oidc.begin(callback)
            with httpx.Client(timeout=30) as browser:
                back = drive(browser, url, "alice", callback)
            code = back.split("code=")[1].split("&")[0]
            ours.append(timed(lambda c=code, s=state: accounts.sign_in_oidc(oidc.finish(c, s, s))))
            whole.append(time.perf_counter() - started)
    finally:
        provider.stop()
    return [
        (
            "sign-in: OpenID callback (code exchange, ID token, userinfo, account), p50 / p95",
            f"{ms(ours):.1f} / {ms(ours, 0.95):.1f} ms",
            "",
        ),
        (
            "sign-in: OpenID whole flow incl. the provider's login and consent pages, p50",
            f"{ms(whole):.0f} ms",
            "",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--sign-ins", type=int, default=30)
    parser.add_argument("--sign-in-only", action="store_true", help="Skip the audit rows.")
    args = parser.parse_args()
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        if not args.sign_in_only:
            rows += audit_rows(Path(tmp) / "audit", args.questions)
        rows += sign_in_rows(Path(tmp), args.sign_ins)
    print("| metric | value | target |\n|---|---|---|")
    for metric, value, target in rows:
        print(f"| {metric} | {value} | {target} |")


if __name__ == "__main__":
    main()
