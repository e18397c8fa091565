"""More attacks on the served app over real HTTP (issue 12): login floods, the public
routes, cookies and identity headers, token lifetime, DNS rebinding, CSRF and the probes.
Same world as tests/web/test_server_security.py (support.server)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
from support.server import PASSWORDS, Server, build_world, serving, serving_world

from api.gate import Gate, GateMiddleware

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore:::gradio.queueing")]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    parts, directory, hr_source = build_world(tmp_path_factory.mktemp("world") / "data")
    with serving_world(parts, directory, hr_source) as server:
        yield server


def gate_of(app: object) -> Gate:
    return next(m.kwargs["gate"] for m in app.user_middleware if m.cls is GateMiddleware)


def from_address(ip: str) -> dict[str, str]:
    """Loopback is a trusted proxy by default: the login limit counts this address."""
    return {"x-forwarded-for": ip}


def sign_in(server: Server, user: str, ip: str) -> str:
    """A session token for `user`, from the login form."""
    with httpx.Client(timeout=60, base_url=server.url, headers=from_address(ip)) as c:
        r = c.post("/login", data={"username": user, "password": PASSWORDS[user]})
        assert r.status_code == 303, r.text
        return r.cookies[gate_of(server.app).cookie]


# --- item 1: the limiter's memory -------------------------------------------------------
def test_10000_failed_logins_under_distinct_names_leave_the_limiter_small(server: Server):
    limiter = gate_of(server.app).limiter
    before = len(limiter)
    statuses: dict[int, int] = {}
    with httpx.Client(timeout=60, base_url=server.url, headers=from_address("203.0.113.1")) as c:
        for n in range(10_000):
            name = f"nobody-{n:05d}-{'x' * 40}"
            r = c.post("/login", data={"username": name, "password": "guess-guess"})
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        # refused by the address's limit from the 21st on: reading the limit stores nothing
        assert statuses == {401: 20, 429: 9_980}, statuses
        assert len(limiter) - before <= 21 and len(limiter) <= limiter.max_entries
        # a huge name is refused before it is read; a long one without a password check
        huge = c.post("/login", data={"username": "n" * 2**20, "password": "guess-guess"})
        assert huge.status_code == 413
        long = c.post("/login", data={"username": "n" * 65, "password": "guess-guess"})
        assert long.status_code == 401 and len(limiter) - before <= 21


# --- item 2: concurrent guesses and password-check slots --------------------------------
async def _flood(url: str, logins: list[tuple[str, str]]) -> list[int]:
    limits = httpx.Limits(max_connections=len(logins))
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=120) as c:

        async def one(name: str, ip: str) -> int:
            data = {"username": name, "password": "wrong-guess"}
            return (await c.post("/login", data=data, headers=from_address(ip))).status_code

        return list(await asyncio.gather(*(one(n, ip) for n, ip in logins)))


def test_50_concurrent_guesses_for_one_user_check_at_most_the_limit(server: Server):
    logins = [("carol", f"198.51.100.{n}") for n in range(50)]
    statuses = asyncio.run(_flood(server.url, logins))
    assert set(statuses) <= {401, 429, 503}, statuses
    assert 1 <= statuses.count(401) <= 5, statuses  # 401: a password actually checked


def test_a_signed_in_user_is_answered_during_a_login_flood(server: Server):
    """60 clients send wrong logins under fresh names and addresses for 4 seconds: the
    server runs at most `login_concurrency` password checks at once (memory stays
    bounded), refuses the rest with 503, and alice's request is answered meanwhile."""
    checks = gate_of(server.app).checks
    statuses: list[int] = []
    most_running = 0

    async def flood_and_ask() -> tuple[int, float]:
        nonlocal most_running
        deadline = time.monotonic() + 4
        limits = httpx.Limits(max_connections=60)
        async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=120) as c:

            async def guesser(worker: int) -> None:
                n = 0
                while time.monotonic() < deadline:
                    n += 1
                    data = {"username": f"flood-{worker}-{n}", "password": "wrong-guess"}
                    ip = f"10.78.{worker}.{n % 250}"
                    r = await c.post("/login", data=data, headers=from_address(ip))
                    statuses.append(r.status_code)

            async def watch() -> None:
                nonlocal most_running
                while time.monotonic() < deadline:
                    most_running = max(most_running, checks.running)
                    await asyncio.sleep(0.005)

            flood = asyncio.gather(*(guesser(w) for w in range(60)), watch())
            await asyncio.sleep(1)  # the flood is under way
            headers = {"authorization": f"Bearer {server.tokens['alice']}"}
            started = time.monotonic()
            me = await c.get("/api/me", headers=headers)
            took = time.monotonic() - started
            await flood
        return me.status_code, took

    me, took = asyncio.run(flood_and_ask())
    assert me == 200 and took < 10, f"/api/me took {took:.1f}s during the flood"
    assert 1 <= most_running <= checks.limit == 2
    assert statuses.count(503) > 0 and set(statuses) <= {401, 503}, set(statuses)


# --- low items: public pairs, cookies, identity headers ----------------------------------
def test_only_the_login_pairs_and_probes_are_public(server: Server):
    with httpx.Client(timeout=60, base_url=server.url) as c:
        for method, path in (
            ("GET", "/logout"),
            ("PUT", "/login"),
            ("DELETE", "/login"),
            ("POST", "/healthz"),
        ):
            r = c.request(method, path)
            assert r.status_code == 401, (method, path, r.status_code)
        assert c.get("/login").status_code == 200
        assert c.get("/healthz").json() == {"status": "ok"}
        ready = c.get("/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}
        # a probe by the pod's address or any name, and nothing else is revealed
        assert c.get("/healthz", headers={"host": "10.1.2.3:7860"}).status_code == 200
        assert c.get("/readyz", headers={"host": "pod.internal"}).status_code == 200


def test_a_malformed_cookie_beside_the_session_keeps_the_user_signed_in(server: Server):
    session = sign_in(server, "alice", "192.0.2.10")
    cookie = f'theme="dark; other=x y; assistant_session={session}; lang=en'
    with httpx.Client(timeout=60, base_url=server.url) as c:
        me = c.get("/api/me", headers={"cookie": cookie})
        assert me.status_code == 200 and me.json()["name"] == "alice"


def test_a_request_naming_two_users_is_refused(server: Server):
    gate = gate_of(server.app)
    gate.trusted_header = "x-remote-user"
    try:
        with httpx.Client(timeout=60, base_url=server.url) as c:
            one = c.get("/api/me", headers=[("x-remote-user", "alice")])
            assert one.status_code == 200 and one.json()["name"] == "alice"
            two = c.get("/api/me", headers=[("x-remote-user", "alice"), ("x-remote-user", "admin")])
            assert two.status_code == 401
            alice, admin = (f"Bearer {server.tokens[u]}" for u in ("alice", "admin"))
            both = [("authorization", alice), ("authorization", admin)]
            assert c.get("/api/me", headers=both).status_code == 401
    finally:
        gate.trusted_header = ""


def test_secure_cookies_carry_the_host_prefix(server: Server):
    gate = gate_of(server.app)
    gate.secure_cookie = True
    try:
        with httpx.Client(timeout=60, base_url=server.url, headers=from_address("192.0.2.11")) as c:
            r = c.post("/login", data={"username": "alice", "password": PASSWORDS["alice"]})
            cookie = r.headers["set-cookie"]
            assert cookie.startswith("__Host-assistant_session=")
            assert "secure" in cookie.lower() and "path=/" in cookie.lower()
            assert "domain" not in cookie.lower()
            token = cookie.split(";")[0].split("=", 1)[1]
            ok = c.get("/api/me", headers={"cookie": f"__Host-assistant_session={token}"})
            assert ok.status_code == 200
            plain = c.get("/api/me", headers={"cookie": f"assistant_session={token}"})
            assert plain.status_code == 401
    finally:
        gate.secure_cookie = False


# --- low item: API tokens ---------------------------------------------------------------
def test_tokens_expire_note_their_last_use_and_die_with_a_password_change(server: Server):
    d = server.directory
    d.add_user("dave", "dave-pass-1", groups=["staff"])
    lasting = d.create_token("dave", "laptop", days=30)
    expired = d.create_token("dave", "old", days=1e-9)
    forever = d.create_token("dave", "ci")
    with httpx.Client(timeout=60, base_url=server.url) as c:

        def me(token: str) -> int:
            return c.get("/api/me", headers={"authorization": f"Bearer {token}"}).status_code

        assert (me(lasting), me(expired), me(forever)) == (200, 401, 200)
        listed = {t.name: t for t in d.tokens("dave")}
        assert listed["laptop"].last_used and listed["ci"].last_used
        assert listed["old"].last_used is None and listed["ci"].expires is None
        assert listed["laptop"].expires > listed["laptop"].created
        d.set_password("dave", "dave-pass-2")
        assert (me(lasting), me(forever)) == (401, 401)
        assert d.tokens("dave") == []


# --- item 10: DNS rebinding --------------------------------------------------------------
def test_another_host_name_is_refused_even_with_login_off(server: Server):
    off = serving(server.parts)  # no directory: login off, the laptop with no users
    with off as (url, _), httpx.Client(timeout=60, base_url=url) as c:
        listing = "/api/documents?collection=documents"
        assert c.get(listing).status_code == 200  # the laptop: no login on loopback
        rebound = {"host": "rebind.attacker.example:7860"}
        r = c.get(listing, headers=rebound)
        assert r.status_code == 400 and "allowed_hosts" in r.text
        assert c.delete(listing + "&source=x", headers=rebound).status_code == 400
        assert c.get("/api/me", headers={"host": "localhost"}).status_code == 200


# --- item 11: CSRF -----------------------------------------------------------------------
def test_state_changes_from_another_origin_are_refused(server: Server):
    session = sign_in(server, "bob", "192.0.2.12")
    doc = {"files": ("csrf.md", b"# Planted\n\nPlanted by another page.\n", "text/markdown")}
    upload = "/api/documents?collection=hr-files"
    with httpx.Client(timeout=60, base_url=server.url, cookies={"assistant_session": session}) as c:
        for headers in (
            {"sec-fetch-site": "same-site"},  # a page on another host of the same site
            {"sec-fetch-site": "cross-site"},
            {"origin": "http://wiki.127.0.0.1.nip.io:8080"},
            {"origin": "null"},
        ):
            r = c.post(upload, files=doc, headers=headers)
            assert r.status_code == 403, (headers, r.status_code)
        assert not (server.parts.settings.upload_dir / "hr-files" / "csrf.md").exists()
        # login CSRF: another site signing the victim in as someone else
        login = c.post(
            "/login",
            data={"username": "carol", "password": PASSWORDS["carol"]},
            headers={"sec-fetch-site": "cross-site", "origin": "http://evil.example"},
        )
        assert login.status_code == 403 and "set-cookie" not in login.headers
        # the same page's own requests, and clients that are no browser, still work
        own = c.post(upload, files=doc, headers={"sec-fetch-site": "same-origin"})
        assert own.status_code == 200 and json.loads(own.text)[0]["status"] == "added"


@contextmanager
def _attacker_page(server: Server, html: str) -> Iterator[tuple[object, int]]:
    """A real Chromium signed in as bob, and a second real server on loopback (another
    port: another origin) that serves `html` to it; yields the page and that port."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from support.browser import browser_page

    class Evil(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = html.encode()
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    evil = ThreadingHTTPServer(("127.0.0.1", 0), Evil)
    threading.Thread(target=evil.serve_forever, daemon=True).start()
    try:
        with browser_page(server.url + "/login") as (page, _):
            page.fill("#username", "bob")
            page.fill("#password", PASSWORDS["bob"])
            page.click("button[type=submit]")
            page.wait_for_url(server.url + "/")
            yield page, evil.server_address[1]
    finally:
        evil.shutdown()


def test_a_page_on_another_host_of_the_site_cannot_upload_in_a_real_browser(server: Server):
    target = server.url + "/api/documents?collection=hr-files"
    html = f"""<script>
      const form = new FormData();
      form.append("files", new Blob(["# Planted\\n\\nBy another page.\\n"]), "planted.md");
      fetch("{target}", {{method: "POST", body: form, mode: "no-cors", credentials: "include"}})
        .then(() => document.title = "sent", () => document.title = "failed");
    </script>"""
    # 127.0.0.1 on another port: the same site, so the SameSite=Strict cookie goes along
    with _attacker_page(server, html) as (page, port):
        posted = lambda r: r.url == target and r.request.method == "POST"  # noqa: E731
        with page.expect_response(posted, timeout=30_000) as response:
            page.goto(f"http://127.0.0.1:{port}/evil.html")
        assert response.value.status == 403  # it was sent, and refused
        page.wait_for_function("document.title !== ''", timeout=30_000)
    assert not (server.parts.settings.upload_dir / "hr-files" / "planted.md").exists()


def test_a_login_form_from_another_site_does_not_sign_the_victim_in(server: Server):
    html = f"""<form id="f" method="post" action="{server.url}/login">
      <input name="username" value="carol"><input name="password" value="{PASSWORDS["carol"]}">
    </form><script>document.getElementById("f").submit()</script>"""
    # localhost is another site than 127.0.0.1
    with _attacker_page(server, html) as (page, port):
        posted = lambda r: r.url == server.url + "/login" and r.request.method == "POST"  # noqa: E731
        with page.expect_response(posted, timeout=30_000) as response:
            page.goto(f"http://localhost:{port}/login-csrf.html")
        assert response.value.status == 403
        page.wait_for_load_state()
        me = page.evaluate("fetch('/api/me').then(r => r.json())")
    assert me["name"] == "bob"  # still bob: carol's session was not planted


# --- items 7 and 8: question length, the model's line, each user's share ---------------
def test_an_over_long_question_is_refused_everywhere_and_never_stored(server: Server):
    too_long = "What is the licence of Llama 2? " * 150  # 4,800 characters
    with server.client("alice") as alice:
        before = len(alice.get("/api/history").json())
        r = alice.post("/api/ask", json={"question": too_long})
        assert r.status_code == 400 and "max_question_chars" in r.text
        v1 = alice.post(
            "/v1/chat/completions",
            json={"model": "default", "messages": [{"role": "user", "content": too_long}]},
        )
        assert v1.status_code == 400 and "max_question_chars" in v1.text
        assert len(alice.get("/api/history").json()) == before
    from gradio_client import Client

    gradio = Client(
        server.url, headers={"authorization": f"Bearer {server.tokens['alice']}"}, verbose=False
    )
    reply = gradio.predict(too_long, api_name="/ask")
    assert "max_question_chars" in reply["error"] and reply["sources"] == []
    log = server.parts.settings.chat_log_dir
    logged = "".join(p.read_text() for p in log.glob("*.jsonl")) if log.is_dir() else ""
    assert too_long.strip() not in logged


def test_the_model_line_is_bounded_and_one_user_cannot_fill_it(server: Server):
    from concurrent.futures import ThreadPoolExecutor

    from assistant.admission import Admission

    ctx = server.app.state.context
    before, ctx.admission = ctx.admission, Admission(max_in_flight=3, per_user=2)
    model = server.parts.model
    question = {"question": "When was Llama 2 released?"}

    def ask_as(user: str) -> int:
        with server.client(user) as c:
            return c.post("/api/ask", json=question).status_code

    def wait_for(n: int) -> None:
        for _ in range(600):
            if ctx.admission.in_flight == n:
                return
            time.sleep(0.05)
        raise AssertionError(f"{ctx.admission.in_flight} in flight, expected {n}")

    model.queue.acquire()  # someone else is being answered: every question waits
    held = True
    try:
        with ThreadPoolExecutor(3) as pool:
            waiting = [pool.submit(ask_as, "alice"), pool.submit(ask_as, "alice")]
            wait_for(2)
            with server.client("alice") as alice:
                third = alice.post("/api/ask", json=question)
                assert third.status_code == 429 and int(third.headers["retry-after"]) > 0
            waiting.append(pool.submit(ask_as, "bob"))
            wait_for(3)
            with server.client("admin") as admin:
                full = admin.post("/api/ask", json=question)
                assert full.status_code == 503 and int(full.headers["retry-after"]) > 0
                assert full.json()["detail"]["place"] == 4
                v1 = admin.post(
                    "/v1/chat/completions",
                    json={"model": "default", "messages": [{"role": "user", "content": "Hi?"}]},
                )
                assert v1.status_code == 503 and "busy" in v1.json()["error"]["message"]
            model.queue.release()
            held = False
            assert [f.result(timeout=300) for f in waiting] == [200, 200, 200]
        wait_for(0)  # every place was given back
    finally:
        if held:
            model.queue.release()
        ctx.admission = before


# --- item 9 and the upload low items ------------------------------------------------------
def _middleware(app: object, cls: type) -> object:
    node = app.middleware_stack  # built at the first request
    while node is not None and not isinstance(node, cls):
        node = getattr(node, "app", None)
    assert node is not None, cls
    return node


def test_uploads_need_write_rights_somewhere_and_are_bounded_per_user(server: Server):
    from api.quota import UploadQuota

    quota = _middleware(server.app, UploadQuota)
    before = quota.quota_bytes
    quota.quota_bytes = 100 * 1024  # 100 KB an hour, for this test
    body = {"files": ("note.txt", b"x" * 40 * 1024, "text/plain")}
    try:
        with server.client("alice") as alice:  # reads only: nothing to upload to
            assert alice.post("/gradio_api/upload", files=body).status_code == 403
        with server.client("bob") as bob:  # owns hr-files
            for _ in range(2):
                assert bob.post("/gradio_api/upload", files=body).status_code == 200
            third = bob.post("/gradio_api/upload", files=body)
            assert third.status_code == 429 and int(third.headers["retry-after"]) > 0
            api = bob.post("/api/documents?collection=hr-files", files=body)
            assert api.status_code == 429
        with server.client("admin") as admin:  # another user's quota is their own
            assert admin.post("/gradio_api/upload", files=body).status_code == 200
    finally:
        quota.quota_bytes = before


def test_a_255_byte_name_uploads(server: Server):
    name = "n" * 252 + ".md"
    assert len(name.encode()) == 255
    with server.client("bob") as bob:
        r = bob.post(
            "/api/documents?collection=hr-files",
            files={"files": (name, b"# Long name\n\nA file with a long name.\n")},
        )
        assert r.status_code == 200 and r.json()[0]["status"] == "added", r.text
        too_long = bob.post(
            "/api/documents?collection=hr-files", files={"files": ("n" * 253 + ".md", b"x")}
        )
        assert too_long.status_code == 400
    assert (server.parts.settings.upload_dir / "hr-files" / name).is_file()


def test_concurrent_uploads_of_one_name_leave_copy_and_store_alike(server: Server):
    from concurrent.futures import ThreadPoolExecutor

    folder = server.parts.settings.upload_dir / "hr-files"

    def upload(n: int) -> dict:
        text = f"# Race\n\nVersion {n} of the race document, marker RACE-{n}.\n" * 20
        with server.client("bob") as bob:
            r = bob.post(
                "/api/documents?collection=hr-files", files={"files": ("race.md", text.encode())}
            )
            assert r.status_code == 200, r.text
            return r.json()[0]

    for round_ in range(3):
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(upload, (2 * round_, 2 * round_ + 1)))
        assert all(r["status"] in ("added", "updated") for r in results), results
        on_disk = (folder / "race.md").read_text()
        stored = [
            c.text
            for c in server.parts.store.chunks("hr-files")
            if c.metadata.get("source", "").endswith("race.md")
        ]
        marker = on_disk.split("marker ")[1].split(".")[0]
        assert stored and all(marker in text for text in stored), (marker, stored[:1])
    assert not list(folder.glob(".upload-*"))  # no staging leftovers


# --- item 6: uploads parsed in a child process with limits ----------------------------
def test_an_upload_past_the_parse_limits_is_refused_and_the_server_goes_on(server: Server):
    s = server.parts.settings
    before = (s.upload_parse_seconds, s.upload_parse_memory_mb)
    folder = server.parts.settings.upload_dir / "hr-files"
    doc = {"files": ("limits.md", b"# Limits\n\nA document that stands in for a bomb.\n")}
    upload = "/api/documents?collection=hr-files"
    try:
        with server.client("bob") as bob:
            s.upload_parse_seconds = 0.001
            slow = bob.post(upload, files=doc).json()[0]
            assert slow["status"] == "failed" and "upload_parse_seconds" in slow["reason"]
            s.upload_parse_seconds, s.upload_parse_memory_mb = before[0], 16
            hungry = bob.post(upload, files=doc).json()[0]
            assert hungry["status"] == "failed" and "upload_parse_memory_mb" in hungry["reason"]
            assert not (folder / "limits.md").exists()  # nothing of it kept
            assert bob.get("/api/me").status_code == 200  # and the server goes on
            s.upload_parse_memory_mb = before[1]
            fine = bob.post(upload, files=doc).json()[0]
            assert fine["status"] == "added", fine
    finally:
        s.upload_parse_seconds, s.upload_parse_memory_mb = before


def test_the_chat_log_names_the_asker_and_is_private(server: Server):
    import stat

    from assistant.chatlog import ChatLog

    assert server.parts.settings.chat_log  # on, as by default
    with server.client("alice") as alice:
        r = alice.post("/api/ask", json={"question": "Who leads FAIR at Meta?"})
        assert r.status_code == 200
    log = ChatLog(server.parts.settings.chat_log_dir)
    newest = next(log.newest_first())
    assert (newest.user, newest.question) == ("alice", "Who leads FAIR at Meta?")
    for path in log.directory.glob("*.jsonl"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
