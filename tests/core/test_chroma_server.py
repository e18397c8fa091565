"""Chroma as a server (`ASSISTANT_CHROMA_URL`): a real `chroma run`, stateless replicas with
their own data dirs in front of it, the server killed mid-question and restarted, the auth
header seen by a real proxy, and the same retrieval as the embedded store."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import chromadb
import pytest
from support import crash
from support.chroma import ChromaProcess, Proxy, served
from support.cli import run
from support.net import free_port
from support.paths import SEEDS, make_settings

from assistant.errors import AssistantError, BackendUnavailable
from assistant.factory import Components
from assistant.store import Chunk, chroma_manifest
from assistant.store.chroma_manifest import MANIFEST_COLLECTION
from ingest.indexer import ingest_paths

QUESTIONS = [
    "When was Llama 2 released, and under what licence?",
    "What did the Russian army do in 1812?",
    "Who leads FAIR at Meta?",
    "How much is Meta investing in open-source AI?",
]


def seed(parts: Components) -> None:
    s = parts.settings
    report = ingest_paths(
        [SEEDS], parts.store, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap
    )
    assert report.counts["added"] == 5, report.to_dict()


def one_line_error(result, *needles: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_a_malformed_or_unreachable_server_url_is_a_one_line_error(tmp_path):
    one_line_error(run(["docs"], tmp_path, ASSISTANT_CHROMA_URL="chroma:8000"), "CHROMA_URL")
    url = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    result = run(["docs"], tmp_path, ASSISTANT_CHROMA_URL=url)
    one_line_error(result, f"cannot reach the Chroma server at {url}", "ASSISTANT_CHROMA_URL")
    assert not (tmp_path / "chroma" / "chroma.sqlite3").exists()  # no silent embedded store


def test_a_server_that_accepts_and_never_answers_is_a_clear_error_not_a_hang(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        held: list[socket.socket] = []  # accepted, read from never, answered never
        threading.Thread(target=lambda: held.append(listener.accept()[0]), daemon=True).start()
        url = f"http://127.0.0.1:{listener.getsockname()[1]}"
        parts = Components(make_settings(tmp_path, chroma_url=url, chroma_read_timeout=0.5))
        started = time.monotonic()
        with pytest.raises(BackendUnavailable) as error:
            parts.retriever.retrieve(QUESTIONS[0])
        assert time.monotonic() - started < 10  # generous: it gave up instead of hanging
        assert held, "the test server never got the connection"
        for needle in (url, "did not answer within 0.5 s", "ASSISTANT_CHROMA_READ_TIMEOUT"):
            assert needle in str(error.value)
        for conn in held:
            conn.close()


@pytest.mark.slow
def test_a_server_that_hangs_mid_question_times_out_with_a_clear_error(tmp_path, chroma):
    """The client connected and wrote fine; then the server stops answering queries."""
    release = threading.Event()

    def hang_on_query(path: str) -> None:
        if path.endswith("/query"):
            release.wait(60)

    proxy = Proxy(chroma.url, before=hang_on_query)
    try:
        settings = make_settings(tmp_path, chroma_url=proxy.url, chroma_read_timeout=1.0)
        parts = Components(settings)
        meta = {"source": "/a.txt", "doc_hash": "h1", "title": "A"}
        parts.store.add([Chunk("a-0", "Llama 2 was released in July 2023.", meta)])
        started = time.monotonic()
        with pytest.raises(BackendUnavailable) as error:
            parts.retriever.retrieve(QUESTIONS[0])
        assert time.monotonic() - started < 15
        assert proxy.url in str(error.value) and "ASSISTANT_CHROMA_READ_TIMEOUT" in str(error.value)
    finally:
        release.set()
        proxy.close()


@pytest.mark.slow
def test_replicas_share_the_server_and_survive_it_dying_mid_question(tmp_path, chroma):
    a, b = tmp_path / "replica-a", tmp_path / "replica-b"
    env = {"ASSISTANT_CHROMA_URL": chroma.url}

    first = run(["ingest", "--json", str(SEEDS)], a, **env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["counts"]["added"] == 5

    # replica b, another process with another data dir, sees the same documents ...
    listed = json.loads(run(["docs", "--json"], b, **env).stdout)
    assert sorted(Path(d["source"]).name for d in listed) == sorted(p.name for p in SEEDS.iterdir())
    # ... and re-ingesting them there finds nothing to embed
    again = json.loads(run(["ingest", "--json", str(SEEDS)], b, **env).stdout)
    assert again["counts"]["unchanged"] == 5 and again["chunks"] == 0
    for replica in (a, b):  # the documents live in the server; a replica keeps only its
        # keyword index (no PostgreSQL here), which it derives from them
        assert {p.name for p in replica.rglob("*.sqlite3")} <= {"keywords.sqlite3"}

    asked = run(["ask", "--json", QUESTIONS[0]], b, **env)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert answer["sources"] and not answer["refused"]
    assert {Path(s["source"]).parent for s in answer["sources"]} == {SEEDS}

    gone = SEEDS / "003_28e6aa56330e3488.txt"
    removed = run(["docs", "rm", str(gone)], a, **env)
    assert removed.returncode == 0 and "removed 1" in removed.stdout, removed.stderr
    listed = json.loads(run(["docs", "--json"], b, **env).stdout)
    assert len(listed) == 4 and str(gone) not in {d["source"] for d in listed}

    # the server dies the moment the question's vector query reaches it (once)
    kills: list[str] = []

    def kill_on_query(path: str) -> None:
        if path.endswith("/query") and not kills:
            kills.append(path)
            chroma.kill()

    proxy = Proxy(chroma.url, before=kill_on_query)
    try:
        env = {"ASSISTANT_CHROMA_URL": proxy.url}
        died = run(["ask", "--json", QUESTIONS[2]], b, **env)
        one_line_error(died, f"Chroma server at {proxy.url}", "ASSISTANT_CHROMA_URL")
        assert kills  # it died mid-question, after the first requests of it had succeeded

        chroma.start()  # the same path: nothing stored may be lost
        listed = json.loads(run(["docs", "--json"], a, **env).stdout)
        assert len(listed) == 4 and str(gone) not in {d["source"] for d in listed}
        asked = run(["ask", "--json", QUESTIONS[2]], b, **env)
        assert asked.returncode == 0, asked.stderr
        sources = {s["source"] for s in json.loads(asked.stdout)["sources"]}
        assert sources and str(gone) not in sources
    finally:
        proxy.close()


@pytest.mark.slow
def test_a_replica_recovers_when_the_server_comes_back(tmp_path):
    chroma = ChromaProcess(tmp_path / "server")  # not started yet
    parts = served(tmp_path / "replica", chroma.url)
    with pytest.raises(BackendUnavailable, match=f"cannot reach the Chroma server at {chroma.url}"):
        parts.store.documents()
    chroma.start()
    try:
        seed(parts)  # the same Store object connects once the server is up
        retriever = parts.retriever
        before = [h.chunk.id for h in retriever.retrieve(QUESTIONS[2]).hits]
        assert before
        chroma.kill()
        with pytest.raises(BackendUnavailable, match="ASSISTANT_CHROMA_URL"):
            retriever.retrieve(QUESTIONS[2])
        chroma.start()
        assert [h.chunk.id for h in retriever.retrieve(QUESTIONS[2]).hits] == before
        assert len(parts.store.documents()) == 5
    finally:
        chroma.stop()


@pytest.mark.slow
def test_embedded_and_server_stores_retrieve_the_same_sources(seeded, tmp_path, chroma):
    server = served(tmp_path / "replica", chroma.url)
    seed(server)
    assert [(d.source, d.doc_hash, d.chunks) for d in server.store.documents()] == [
        (d.source, d.doc_hash, d.chunks) for d in seeded.store.documents()
    ]
    for question in QUESTIONS:
        embedded = seeded.retriever.retrieve(question).hits
        remote = server.retriever.retrieve(question).hits
        assert [h.chunk.id for h in remote] == [h.chunk.id for h in embedded], question
        assert [h.similarity for h in remote] == pytest.approx(
            [h.similarity for h in embedded], abs=1e-4
        )


def test_a_question_asks_the_server_for_the_manifest_once(tmp_path, chroma):
    """A replica checks the manifest's generation to know its caches are current; one
    question does so once for all its collections, not before each read (each one an
    HTTP round trip)."""
    writer = served(tmp_path / "writer", chroma.url)
    seed(writer)
    notes = "Llama 2 was released in July 2023 under a community licence, the notes say."
    writer.store.add([Chunk("n1", notes, {"source": "/notes.txt", "doc_hash": "n"})], "notes")
    manifest = chromadb.HttpClient(port=chroma.port).get_collection(MANIFEST_COLLECTION)
    proxy = Proxy(chroma.url)
    try:
        replica = served(tmp_path / "replica", proxy.url)
        both = ["documents", "notes"]
        replica.retriever.retrieve_many(QUESTIONS[0], both)  # opens them, builds their BM25
        for question in QUESTIONS:
            proxy.seen.clear()
            assert replica.retriever.retrieve_many(question, both).hits, question
            paths = [path for path, _ in proxy.seen]
            assert sum(p.endswith("/query") for p in paths) == 2, paths  # one a collection
            assert sum(f"/{manifest.id}/" in p for p in paths) == 1, paths
            # the rest: reading the candidates' texts and vectors, at most once a collection
            assert len(paths) <= 5, paths
    finally:
        proxy.close()


def test_a_replica_reads_only_its_hits_records_of_the_manifest(tmp_path, chroma, postgres_url):
    """A replica's first question, and its first after a change, look up the active
    versions of their own hits, not the whole collection's manifest (here 1,000 documents;
    100,000 at 1M chunks): a new replica answers at once at any size."""
    settings = {"chroma_url": chroma.url, "database_url": postgres_url}
    writer = Components(make_settings(tmp_path / "writer", **settings))

    def memo(i: int) -> Chunk:
        meta = {"source": f"/memos/{i}.txt", "doc_hash": f"h{i}", "title": f"Memo {i}"}
        return Chunk(f"m{i}", f"Memo {i}: the northern office budget, item {i}.", meta)

    writer.store.add([memo(i) for i in range(1000)])
    proxy = Proxy(chroma.url)
    try:
        replica = Components(
            make_settings(tmp_path / "replica", **{**settings, "chroma_url": proxy.url})
        )
        question = "What is the northern office budget?"
        received = []
        for change in (None, None, memo(1000), None):  # first, again, after a change, again
            if change is not None:
                writer.store.add([change])
            proxy.received = 0
            assert replica.retriever.retrieve(question).hits
            received.append(proxy.received)
        first, steady, after_change, _ = received
        proxy.received = 0
        assert len(replica.store.documents()) == 1001
        listing = proxy.received  # what reading the whole manifest costs
        assert first - steady < listing / 4, (received, listing)
        assert after_change - steady < listing / 4, (received, listing)
    finally:
        proxy.close()


@pytest.mark.parametrize("listed", [1000, 2])
def test_a_replica_catching_up_on_changes_sees_what_a_fresh_one_sees(
    tmp_path, chroma, monkeypatch, listed
):
    """A replica keeps the active versions it has read, and after a change reads only the
    records of the sources changed since (the manifest lists the latest `MAX_RECENT`);
    when the list no longer reaches back to its state, it reads them all again."""
    monkeypatch.setattr(chroma_manifest, "MAX_RECENT", listed)
    writer = served(tmp_path / "writer", chroma.url).store

    def memo(i: int, version: str = "v1") -> Chunk:
        meta = {"source": f"/memos/{i}.txt", "doc_hash": f"{version}-{i}", "title": f"{i}"}
        return Chunk(f"{version}-m{i}", f"Memo {i} ({version}) on the office budget.", meta)

    writer.add([memo(i) for i in range(6)])
    replica = served(tmp_path / "replica", chroma.url).store
    sources = [f"/memos/{i}.txt" for i in range(8)]
    assert replica.held(sources) == set(sources[:6])  # read, and kept
    writer.add([memo(2, "v2")])  # one flip each: replaced, removed, two added
    writer.remove(["/memos/4.txt"])
    writer.add([memo(6), memo(7)])
    fresh = served(tmp_path / "fresh", chroma.url).store
    expected = set(sources) - {"/memos/4.txt"}
    assert replica.held(sources) == fresh.held(sources) == expected
    for store in (replica, fresh):
        assert [c.id for c, _ in store.read_document("/memos/2.txt")] == ["v2-m2"]
        assert [c.id for c, _ in store.read_document("/memos/3.txt")] == ["v1-m3"]


@pytest.mark.slow
def test_a_second_writer_on_another_replica_is_refused_while_one_runs(tmp_path, chroma):
    a = served(tmp_path / "a", chroma.url).store
    b = served(tmp_path / "b", chroma.url).store  # another data dir: no shared flock
    with a.writer():
        with pytest.raises(AssistantError, match="another ingest into collection 'documents'"):
            b.writer()
        with pytest.raises(AssistantError, match="another ingest"):
            b.remove(["/docs/x.txt"])
    with b.writer() as w:  # released: the other replica may write now
        w.begin("/docs/x.txt", "h1", "X")
        w.end("/docs/x.txt")
    assert a.collections() == ["documents"]  # the manifest's own collection is hidden


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["batch:1", "flip:1", "delete-old:1", "remove-flip"])
def test_a_killed_ingest_against_the_server_leaves_whole_documents(
    tmp_path, chroma, monkeypatch, kill_at
):
    """test_ingest_crash's scenario with the manifest in the server: a SIGKILL at a step of
    the replace protocol, then the next run (whose lease takes over from the dead one)."""
    monkeypatch.setenv("ASSISTANT_CHROMA_URL", chroma.url)  # for check_consistent's Settings
    env = {"ASSISTANT_CHROMA_URL": chroma.url}
    data, files = tmp_path / "data", tmp_path / "files"
    files.mkdir()
    for topic in ("leave", "travel", "expenses", "security"):
        (files / f"{topic}.md").write_text(crash.policy_text(topic, 1))
    assert crash.ingest(data, str(files), **env).returncode == 0
    for topic in ("leave", "travel"):
        (files / f"{topic}.md").write_text(crash.policy_text(topic, 2, paragraphs=8))
    (files / "security.md").unlink()

    killed = crash.ingest(data, "--prune", str(files), ASSISTANT_TEST_CRASH_AFTER=kill_at, **env)
    assert killed.returncode == -9, (killed.stdout, killed.stderr)
    crash.check_consistent(data)
    again = crash.ingest(data, "--prune", str(files), **env)
    assert again.returncode == 0, again.stderr
    crash.check_consistent(data, files)


@pytest.mark.slow
@pytest.mark.parametrize("header", ["Authorization", "X-Chroma-Token"])
def test_the_token_is_sent_in_the_configured_header(tmp_path, chroma, header):
    proxy = Proxy(chroma.url, token="s3cret", header=header)
    try:
        env = {
            "ASSISTANT_CHROMA_URL": proxy.url,
            "ASSISTANT_CHROMA_TOKEN": "s3cret",
            "ASSISTANT_CHROMA_AUTH_HEADER": header,
            "ASSISTANT_AUTO_SEED": "false",
        }
        listed = run(["docs", "--json"], tmp_path, **env)
        assert listed.returncode == 0, listed.stderr
        assert json.loads(listed.stdout) == []
        assert proxy.seen and all(h.get(header.lower()) == proxy.expected() for _, h in proxy.seen)

        wrong = run(["docs"], tmp_path, **{**env, "ASSISTANT_CHROMA_TOKEN": "guess"})
        one_line_error(wrong, f"Chroma server at {proxy.url}", "ASSISTANT_CHROMA_TOKEN")
        assert "guess" not in wrong.stderr and "s3cret" not in wrong.stderr

        shown = json.loads(run(["config", "--json"], tmp_path, **env).stdout)["settings"]
        assert shown["chroma_url"] == proxy.url and "s3cret" not in json.dumps(shown)
    finally:
        proxy.close()


@pytest.mark.slow
def test_doctor_checks_the_server_and_its_collections(tmp_path, chroma):
    seed(served(tmp_path / "writer", chroma.url))
    result = run(["doctor", "--json"], tmp_path / "replica", ASSISTANT_CHROMA_URL=chroma.url)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    detail = checks["store"]["detail"]
    assert f"Chroma server at {chroma.url}: 1 collection(s)" in detail
    keywords = tmp_path / "replica" / "chroma" / "keywords.sqlite3"
    assert f"keyword index in {keywords}, this data dir's own" in detail
    down = f"http://127.0.0.1:{free_port()}"
    failed = run(["doctor", "--json"], tmp_path / "replica", ASSISTANT_CHROMA_URL=down)
    assert failed.returncode == 1
    store = {c["name"]: c for c in json.loads(failed.stdout)["checks"]}["store"]
    assert not store["ok"] and "ASSISTANT_CHROMA_URL" in store["detail"]
