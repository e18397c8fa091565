"""`ingest --watch` (issue 16.8): a real watcher on a real folder keeps a collection matching
it as files are added, changed, renamed and removed; a folder briefly gone deletes nothing."""

import shutil
import threading
import time
from pathlib import Path

from ingest.indexer import ingest_paths
from ingest.watch import watch_paths


class Watcher:
    """watch_paths in a thread, syncing `fresh`'s store; every pass's report recorded."""

    def __init__(self, parts, folder: Path) -> None:
        self.parts, self.reports, self.said = parts, [], []
        self.stop = threading.Event()
        s = parts.settings

        def sync(prune: bool):
            report = ingest_paths(
                [folder], parts.store, chunk_size=s.chunk_size, chunk_overlap=s.chunk_overlap,
                prune=prune,
            )  # fmt: skip
            self.reports.append(report)
            return report

        self.thread = threading.Thread(
            target=watch_paths,
            args=([folder], sync),
            kwargs={"say": self.said.append, "stop": self.stop, "debounce_ms": 300, "poll_s": 0.5},
            daemon=True,
        )

    def sources(self) -> dict[str, int]:
        return {Path(d.source).name: d.chunks for d in self.parts.store.documents()}

    def until(self, check, timeout: float = 180.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if check():
                return
            time.sleep(0.2)
        raise AssertionError(f"not reached: {self.sources()}, said {self.said}")


def test_watch_follows_adds_changes_renames_and_removals(fresh, tmp_path):
    folder = tmp_path / "policies"
    folder.mkdir()
    (folder / "leave.md").write_text("# Leave\n\nStaff get 25 days of leave a year.\n")
    w = Watcher(fresh, folder)
    w.thread.start()
    try:
        w.until(lambda: "leave.md" in w.sources())
        (folder / "travel.md").write_text("# Travel\n\nSecond class on trains.\n")
        w.until(lambda: "travel.md" in w.sources())
        (folder / "leave.md").write_text("# Leave\n\nStaff get 30 days of leave a year.\n")
        w.until(lambda: any("30 days" in c.text for c in fresh.store.chunks()))
        assert not any("25 days" in c.text for c in fresh.store.chunks())

        (folder / "travel.md").rename(folder / "trips.md")

        def moved():
            return [r for rep in w.reports for r in rep.results if r.path.endswith("trips.md")]

        w.until(lambda: moved() and set(w.sources()) == {"leave.md", "trips.md"})
        reason = moved()[-1].reason
        assert reason.startswith("renamed from ") and reason.endswith("nothing re-embedded")
        (folder / "trips.md").unlink()
        w.until(lambda: set(w.sources()) == {"leave.md"})
    finally:
        w.stop.set()
        w.thread.join(30)
    assert not w.thread.is_alive()


def test_a_folder_briefly_missing_deletes_nothing(fresh, tmp_path):
    folder = tmp_path / "share"
    folder.mkdir()
    (folder / "a.txt").write_text("The canteen opens at eight.\n")
    (folder / "b.txt").write_text("The library closes at six.\n")
    w = Watcher(fresh, folder)
    w.thread.start()
    try:
        w.until(lambda: set(w.sources()) == {"a.txt", "b.txt"})
        aside = tmp_path / "aside"
        folder.rename(aside)  # an unmounted share
        w.until(lambda: any("missing or empty" in line for line in w.said))
        time.sleep(2)  # several polls while it is gone
        assert set(w.sources()) == {"a.txt", "b.txt"}
        folder.mkdir()  # back, but empty for a moment: still nothing removed
        w.until(lambda: sum("missing or empty" in line for line in w.said) >= 2)
        assert set(w.sources()) == {"a.txt", "b.txt"}
        shutil.rmtree(folder)
        aside.rename(folder)
        (folder / "c.txt").write_text("Parking is free after six.\n")
        w.until(lambda: set(w.sources()) == {"a.txt", "b.txt", "c.txt"})
    finally:
        w.stop.set()
        w.thread.join(30)
