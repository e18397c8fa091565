"""The login path's limits, without a server: the limiter's memory, its reservation
order, the password-check slots, tolerant cookie parsing and the request guards (Host,
Origin). The same properties are attacked over HTTP in tests/web/test_server_hardening.py."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from api.gate import Gate, _repeated, parse_cookies
from api.guard import HostGuard, cross_origin, host_name
from api.passwords import Busy, PasswordChecks
from assistant.auth.ratelimit import LoginLimiter


def test_limiter_holds_at_most_its_cap_after_10000_failed_logins_under_distinct_names():
    limiter = LoginLimiter(5, 300, max_entries=1000)
    refused = 0
    for n in range(10_000):
        name, ip = f"guess-{n}-" + "x" * 50, f"10.{n // 65536}.{n // 256 % 256}.{n % 256}"
        if limiter.reserve(name, ip) > 0:
            refused += 1
        assert len(limiter) <= 1000
    assert refused == 10_000 - 500  # 2 entries per new name and address: 500 fit
    # a name already counted is still limited, the table full or not
    for _ in range(4):
        assert limiter.reserve("guess-0-" + "x" * 50, "10.0.0.0") == 0
    assert limiter.reserve("guess-0-" + "x" * 50, "10.0.0.0") > 0


def test_limiter_reads_create_nothing_and_expired_entries_are_dropped():
    limiter = LoginLimiter(2, window_s=0.2)
    for n in range(100):
        assert limiter.retry_after(f"user{n}", f"ip{n}") == 0
    assert len(limiter) == 0  # a read never creates an entry
    limiter.reserve("alice", "10.0.0.1")
    assert len(limiter) == 2
    time.sleep(0.25)
    assert limiter.retry_after("alice", "10.0.0.1") == 0 and len(limiter) == 0


def test_limiter_reserves_before_the_check_and_refunds_success_and_unchecked():
    limiter = LoginLimiter(3, 60)
    got = [limiter.reserve("bob", "10.0.0.1") for _ in range(5)]
    assert got[:3] == [0, 0, 0] and all(wait > 0 for wait in got[3:])
    assert limiter.reserve("bob", "10.0.0.2") > 0  # 3 reserved: the 4th waits, any address
    limiter.refund("bob", "10.0.0.1")  # one was never checked (no slot)
    assert limiter.reserve("bob", "10.0.0.3") == 0
    limiter.succeeded("bob", "10.0.0.3")  # the right password: bob's count is forgotten
    assert limiter.retry_after("bob", "10.0.0.9") == 0


def test_reservations_from_many_threads_never_exceed_the_limit():
    limiter = LoginLimiter(5, 60)
    granted: list[float] = []
    start = threading.Barrier(50)

    def guess() -> None:
        start.wait()
        granted.append(limiter.reserve("carol", "10.0.0.1"))

    threads = [threading.Thread(target=guess) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert granted.count(0.0) == 5


def test_password_checks_run_at_most_limit_at_once_and_refuse_the_next():
    async def main() -> tuple[int, int, int]:
        checks = PasswordChecks(2)
        release = threading.Event()
        running: list[int] = []

        def slow() -> int:
            running.append(1)
            release.wait(10)
            return len(running)

        first = [asyncio.create_task(checks.run(slow)) for _ in range(2)]
        await asyncio.sleep(0.2)
        with pytest.raises(Busy):
            await checks.run(slow)
        busy = checks.running
        release.set()
        await asyncio.gather(*first)
        return busy, checks.running, len(running)

    assert asyncio.run(main()) == (2, 0, 2)


def test_a_cancelled_check_keeps_its_slot_until_the_hash_ends():
    async def main() -> tuple[int, int]:
        checks = PasswordChecks(1)
        release = threading.Event()
        task = asyncio.create_task(checks.run(release.wait, 10))
        await asyncio.sleep(0.1)
        task.cancel()  # the asker hung up; the thread still hashes
        await asyncio.sleep(0.05)
        during = checks.running
        release.set()
        for _ in range(100):
            if checks.running == 0:
                break
            await asyncio.sleep(0.01)
        return during, checks.running

    assert asyncio.run(main()) == (1, 0)


def test_cookies_parse_tolerantly():
    header = 'theme=dark; broken"cookie; assistant_session=tok-123; x=y=z; =v; other="q"'
    cookies = parse_cookies(header)
    assert cookies["assistant_session"] == "tok-123"
    assert cookies["x"] == "y=z" and cookies["other"] == "q"
    assert parse_cookies("") == {} and parse_cookies("garbage") == {}
    from http.cookies import SimpleCookie

    simple = SimpleCookie()
    simple.load(header)
    assert "assistant_session" not in simple  # what the gate used to see: signed out


def test_secure_cookies_use_the_host_prefix():
    limiter = LoginLimiter(5, 60)
    assert Gate(None, limiter).cookie == "assistant_session"
    assert Gate(None, limiter, secure_cookie=True).cookie == "__Host-assistant_session"


def test_a_repeated_identity_header_is_detected():
    def scope(*headers: tuple[str, str]) -> dict:
        return {"headers": [(k.encode(), v.encode()) for k, v in headers]}

    one = scope(("X-Remote-User", "alice"), ("cookie", "a=b"))
    two = scope(("x-remote-user", "mallory"), ("X-Remote-User", "alice"))
    assert not _repeated(one, ("authorization", "x-remote-user"))
    assert _repeated(two, ("authorization", "x-remote-user"))


def test_host_guard_allows_addresses_and_known_names_only():
    loopback = HostGuard(None, "127.0.0.1")  # type: ignore[arg-type]
    for ok in ("127.0.0.1:7860", "localhost:7860", "[::1]:7860", "10.0.0.7", "a.localhost", ""):
        assert loopback.allows(ok), ok
    for bad in ("attacker.example:7860", "rebind.attacker.example", "127.0.0.1.nip.io"):
        assert not loopback.allows(bad), bad
    internal = HostGuard(None, "0.0.0.0", ["assistant.internal", "*.corp.example"])  # type: ignore[arg-type]
    assert internal.allows("assistant.internal:443") and internal.allows("a.corp.example")
    assert not internal.allows("corp.example.attacker.org")
    assert HostGuard(None, "127.0.0.1", ["*"]).allows("anything.example")  # type: ignore[arg-type]
    assert host_name("[::1]:80") == "::1" and host_name("Example.ORG:8080") == "example.org"


@pytest.mark.parametrize(
    "method, headers, refused",
    [
        ("POST", {"sec-fetch-site": "same-origin"}, False),
        ("POST", {"sec-fetch-site": "same-site"}, True),  # another host of the same site
        ("POST", {"sec-fetch-site": "cross-site"}, True),
        ("POST", {"origin": "http://127.0.0.1:7860", "host": "127.0.0.1:7860"}, False),
        ("POST", {"origin": "http://evil.example", "host": "127.0.0.1:7860"}, True),
        ("POST", {"origin": "null", "host": "127.0.0.1:7860"}, True),
        ("DELETE", {"origin": "http://docs.corp:7860", "host": "chat.corp:7860"}, True),
        ("POST", {}, False),  # curl, an SDK: no browser, no ambient cookie
        ("GET", {"sec-fetch-site": "cross-site"}, False),  # a link: reads change nothing
    ],
)
def test_cross_origin_requests_are_told_apart(method: str, headers: dict, refused: bool):
    scope = {
        "type": "http",
        "method": method,
        "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
    }
    assert (cross_origin(scope) is not None) == refused
