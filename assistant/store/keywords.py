"""The keyword (BM25) index: on disk, in the embedded store's SQLite manifest file or the
shared PostgreSQL database (keyword_db.py), updated with every write instead of rebuilt in
memory after every change.

Scoped per collection: each has its own tables (`kw_<tag>_*`), so its statistics (chunk
count, document frequencies, average length) are its own and dropping it drops them.

Versions follow the manifest's protocol exactly as the chunks in Chroma do: a new version's
rows are written with its chunks (before the flip), readers keep only hits whose (source,
doc_hash) is the active version, and the old version's rows are deleted after the flip (or
by `Store.recover` after a kill). So the index flips with the manifest row, all or nothing.

Ranking is Okapi BM25 (k1 1.5, b 0.75, as the in-memory index). Each posting stores its
term-frequency part (the "impact", fixed at write time against the average length then);
a query reads only the `TOP_PER_TERM` highest-impact postings of each of its terms from a
B-tree ordered by impact, and sums idf x impact. That is exact whenever no query term is
in more than `TOP_PER_TERM` chunks, and a bounded-cost approximation beyond (score-at-a-
time early termination): SQLite FTS5's own `bm25()` scores every matching row, 0.6 s per
query at 100k chunks whose words are all common (bench/README.md).

A process keeps the top postings of the terms it was last asked about, and their ids and
document frequencies, keyed by their collection's state (`Recent`): a question made of words
asked before reads no postings, and its search (`top`) and the rows of more chunks for it
(`rows`) are one statement each, outside a transaction, which reads the collection's state
beside the rows (to a PostgreSQL index: one round trip each instead of about five).
"""

from __future__ import annotations

import hashlib
import math
import secrets
import threading
from array import array
from collections import Counter, OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import numpy as np

from assistant.store.keyword_db import KeywordDb
from assistant.store.types import Chunk
from assistant.store.words import ANALYZER, tokenize

TOP_PER_TERM = 1000  # postings read per query term, highest impact first
RESCORED = 100  # best candidates scored exactly from their own postings
TOP_LISTS_CACHED = 2048  # terms' top postings a process keeps parsed (<= 12 KB each)
TERMS_CACHED = 8192  # terms' ids and document frequencies a process keeps
K1, B = 1.5, 0.75
SCALE = 1000  # impacts are stored as integers, x SCALE
_VARS = 900  # SQLite host parameters per statement, with room to spare
ROW_COLUMNS = ("chunk_id", "source", "doc_hash", "postings")  # what a `KeywordRow` is made of
SEQS_SUMMED = 4_000_000  # up to this seq, candidates' scores are summed in an array by seq


def idf(chunks: int, df: int) -> float:
    return math.log(1 + (chunks - df + 0.5) / (df + 0.5))


def _tag(collection: str) -> str:
    return "kw_" + hashlib.sha256(collection.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class KeywordRow:
    """A chunk as the index holds it: its version, and which of a query's terms it holds
    (what the relevance gate's keyword coverage needs, without tokenizing its text)."""

    chunk_id: str
    source: str
    doc_hash: str
    terms: frozenset[str]


@dataclass(frozen=True)
class KeywordHits:
    rows: list[KeywordRow]  # best first by BM25, of any version
    weights: dict[str, float]  # idf of each query term (a term no chunk holds: the highest)


class KeywordIndex:
    """The keyword tables of every collection in one SQLite file (see the module docstring)."""

    def __init__(self, db: KeywordDb) -> None:
        self._db = db
        self.top_lists: Recent[TopKey, TopList] = Recent(TOP_LISTS_CACHED)
        self.term_stats: Recent[TermKey, TermStat] = Recent(TERMS_CACHED)
        self._seen: dict[str, State] = {}  # each collection's state as last read here

    def close(self) -> None:
        self._db.close()

    def forget(self) -> None:
        """Drop what this process keeps of the index (a benchmark's cold questions)."""
        self.top_lists.clear()
        self.term_stats.clear()
        self._seen.clear()

    def _tx(self) -> AbstractContextManager[KeywordDb]:
        return self._db.tx()

    # --- lifecycle ---------------------------------------------------------------------
    def ready(self, collection: str) -> bool:
        """Whether the collection has an index, made with this version's `ANALYZER`."""
        with self._db.read() as db:
            return _analyzer(db, collection) == ANALYZER

    def build(self, collection: str, chunks: Iterable[Chunk]) -> bool:
        """Create the collection's index from its active chunks, in one transaction (a
        store written before this index existed, or an index whose terms another analyzer
        made: dropped in the same transaction). False if it was there already."""
        with self._tx() as db:
            made_by = _analyzer(db, collection)
            if made_by == ANALYZER:
                return False
            if made_by is not None:
                self._drop(db, collection)
            self._create(db, collection)
            batch: list[Chunk] = []
            for chunk in chunks:
                batch.append(chunk)
                if len(batch) >= 1000:
                    self._insert(db, collection, batch)
                    batch = []
            self._insert(db, collection, batch)
        return True

    def drop(self, collection: str) -> None:
        with self._tx() as db:
            self._drop(db, collection)

    @staticmethod
    def _drop(db: KeywordDb, collection: str) -> None:
        t = _tag(collection)
        for table in ("postings", "terms", "chunks"):
            db.execute(f"DROP TABLE IF EXISTS {t}_{table}")
        db.execute("DELETE FROM keyword_collections WHERE collection = ?", (collection,))

    @staticmethod
    def _create(db: KeywordDb, collection: str) -> None:
        for statement in db.tables(_tag(collection)):
            db.execute(statement)
        db.execute(
            "INSERT INTO keyword_collections (collection, analyzer) VALUES (?, ?)"
            " ON CONFLICT DO NOTHING",
            (collection, ANALYZER),
        )

    # --- writing -----------------------------------------------------------------------
    def add(self, collection: str, chunks: Sequence[Chunk]) -> None:
        """Index chunks of a version being written (invisible until its flip); a chunk
        already indexed (same content-derived id) is skipped, as Chroma's upsert is."""
        with self._tx() as db:
            self._create(db, collection)
            self._insert(db, collection, chunks)

    def _insert(self, db: KeywordDb, collection: str, chunks: Sequence[Chunk]) -> None:
        t = _tag(collection)
        have = {
            row[0]
            for part in _parts([c.id for c in chunks])
            for row in db.execute(
                f"SELECT chunk_id FROM {t}_chunks WHERE chunk_id IN ({_marks(part)})", part
            )
        }
        fresh = [c for c in chunks if c.id not in have]
        if not fresh:
            return
        counts = [Counter(tokenize(c.text)) for c in fresh]
        ids = self._term_ids(db, t, {term for tf in counts for term in tf})
        n, length = db.execute(
            "SELECT chunks, length FROM keyword_collections WHERE collection = ?", (collection,)
        ).fetchone()
        lengths = [sum(tf.values()) for tf in counts]
        n, length = n + len(fresh), length + sum(lengths)
        avg = max(length / n, 1.0)
        (last,) = db.execute(f"SELECT COALESCE(MAX(seq), 0) FROM {t}_chunks").fetchone()
        rows, postings = [], []
        df: Counter[str] = Counter()
        for seq, (c, tf, dl) in enumerate(zip(fresh, counts, lengths, strict=True), last + 1):
            norm = K1 * (1 - B + B * dl / avg)
            pairs = [(ids[w], _impact(f, norm), seq) for w, f in tf.items()]
            flat = array("i", [x for w, i, _ in pairs for x in (w, i)]).tobytes()
            meta = c.metadata
            rows.append((seq, c.id, str(meta.get("source")), str(meta.get("doc_hash")), dl, flat))
            postings += pairs
            df.update(tf.keys())
        db.executemany(f"INSERT INTO {t}_chunks VALUES (?, ?, ?, ?, ?, ?)", rows)
        postings.sort()  # in the B-tree's order: each page is visited once, not at random
        db.executemany(f"INSERT INTO {t}_postings VALUES (?, ?, ?)", postings)
        bumps = [(k, ids[w]) for w, k in df.items()]
        db.executemany(f"UPDATE {t}_terms SET df = df + ? WHERE id = ?", bumps)
        db.execute(
            "UPDATE keyword_collections SET chunks = ?, length = ?, generation = ?"
            " WHERE collection = ?",
            (n, length, _generation(), collection),
        )

    @staticmethod
    def _term_ids(db: KeywordDb, t: str, terms: set[str]) -> dict[str, int]:
        db.executemany(
            f"INSERT INTO {t}_terms (term, df) VALUES (?, 0) ON CONFLICT DO NOTHING",
            [(w,) for w in sorted(terms)],
        )
        out: dict[str, int] = {}
        for part in _parts(sorted(terms)):
            sql = f"SELECT term, id FROM {t}_terms WHERE term IN ({_marks(part)})"
            out.update(db.execute(sql, part).fetchall())
        return out

    def delete_version(self, collection: str, source: str, doc_hash: str) -> int:
        """Remove one version's rows; returns how many chunks it had."""
        t = _tag(collection)
        if not self.ready(collection):
            return 0
        with self._tx() as db:
            got = db.execute(
                f"SELECT seq, length, postings FROM {t}_chunks WHERE source = ? AND doc_hash = ?",
                (source, doc_hash),
            ).fetchall()
            if not got:
                return 0
            postings = []
            df: Counter[int] = Counter()  # by term id
            for seq, _, blob in got:
                pairs = np.frombuffer(blob, dtype=np.int32).reshape(-1, 2)
                postings += [(int(w), int(i), seq) for w, i in pairs]
                df.update(int(w) for w in pairs[:, 0])
            db.executemany(
                f"DELETE FROM {t}_postings WHERE term = ? AND impact = ? AND seq = ?", postings
            )
            db.executemany(
                f"UPDATE {t}_terms SET df = df - ? WHERE id = ?", [(k, w) for w, k in df.items()]
            )
            db.execute(
                f"DELETE FROM {t}_chunks WHERE source = ? AND doc_hash = ?", (source, doc_hash)
            )
            db.execute(
                "UPDATE keyword_collections SET chunks = chunks - ?, length = length - ?,"
                " generation = ? WHERE collection = ?",
                (len(got), sum(r[1] for r in got), _generation(), collection),
            )
        return len(got)

    # --- reading -----------------------------------------------------------------------
    def count(self, collection: str) -> int:
        """Rows indexed, of any version (equals the manifest's chunk total when in step)."""
        with self._db.read() as db:
            chunks, _, _ = self._term_stats(db, collection, [])
        return chunks or 0

    def versions(self, collection: str) -> dict[tuple[str, str], int]:
        """(source, doc_hash) -> chunks indexed, for every version in the index."""
        if not self.ready(collection):
            return {}
        with self._db.read() as db:
            got = db.execute(
                f"SELECT source, doc_hash, COUNT(*) FROM {_tag(collection)}_chunks"
                " GROUP BY source, doc_hash"
            ).fetchall()
        return {(s, h): int(n) for s, h, n in got}

    def versions_of(self, collection: str, sources: Sequence[str]) -> set[tuple[str, str]]:
        """The (source, doc_hash) versions the index holds of these sources."""
        t = _tag(collection)
        with self._db.read() as db:
            return {
                (str(row[0]), str(row[1]))
                for part in _parts(list(sources))
                for row in db.execute(
                    f"SELECT DISTINCT source, doc_hash FROM {t}_chunks"
                    f" WHERE source IN ({_marks(part)})",
                    part,
                )
            }

    def caught_up(self, collection: str) -> int | None:
        """The manifest generation at which this index last held every active version
        (`mark_caught_up`), or None if not known."""
        with self._db.read() as db:
            row = db.execute(
                "SELECT caught_up FROM keyword_collections WHERE collection = ?", (collection,)
            ).fetchone()
        return int(row[0]) if row is not None and int(row[0]) >= 0 else None

    def mark_caught_up(self, collection: str, generation: int) -> None:
        """Record that the index held every version active at `generation`. Kept true by
        everything that changes it later: writers add their versions and delete only the
        ones they replaced (named by the manifest's list of changes since), and a drop or
        a rebuild forgets it with the collection's row."""
        with self._tx() as db:
            db.execute(
                "UPDATE keyword_collections SET caught_up = ? WHERE collection = ?"
                " AND caught_up < ?",
                (generation, collection, generation),
            )

    def chunk_ids(self, collection: str) -> list[str]:
        with self._db.read() as db:
            got = db.execute(f"SELECT chunk_id FROM {_tag(collection)}_chunks").fetchall()
        return [r[0] for r in got]

    def top(self, collection: str, terms: Iterable[str], n: int) -> KeywordHits | None:
        """The n best chunks by BM25 over the terms, of any version (the caller keeps the
        active ones), and the terms' weights, from one snapshot; None if the collection has
        no index (yet).

        Candidates: the `TOP_PER_TERM` highest-impact postings of each term, summed by
        chunk. The best `RESCORED` of them are then scored exactly from
        their own postings (a chunk may hold a common term whose top list it missed), and
        ranked by that."""
        terms = sorted(set(terms))
        if not terms or n <= 0:
            return KeywordHits([], {})
        seen = self._seen.get(collection)
        if seen is not None:
            found = self._top_known(collection, terms, n, seen)
            if found is not None:
                return found
        t = _tag(collection)
        with self._db.read() as db:
            chunks, state, stats = self._term_stats(db, collection, terms)
            if chunks is None:
                return None
            self._seen[collection] = state
            weights, by_term = _weights(state, stats, terms)
            if not weights:
                return KeywordHits([], by_term)
            tops = {w: self._top_list(db, t, (collection, state, w)) for w in weights}
            best = _candidates(tops, weights, max(n, RESCORED))
            got = db.execute(
                f"SELECT seq, chunk_id, source, doc_hash, postings FROM {t}_chunks"
                f" WHERE seq IN ({_marks(best)})",
                best,
            ).fetchall()
        return _ranked(got, stats, weights, by_term, n)

    def _top_known(
        self, collection: str, terms: list[str], n: int, state: State
    ) -> KeywordHits | None:
        """`top` in one statement, from what this process keeps of the terms (ids, top
        postings) at the collection's state it saw last; the statement reads the state
        beside the candidates' rows. None if it keeps not all of that, or the state moved."""
        kept = [self.term_stats.get((collection, state, w)) for w in terms]
        stats = {w: ts for w, ts in zip(terms, kept, strict=True) if ts is not None and ts[0]}
        weights, by_term = _weights(state, stats, terms)
        if None in kept or not weights:
            return None
        tops: dict[int, TopList] = {}
        for w in weights:
            top = self.top_lists.get((collection, state, w))
            if top is None:
                return None
            tops[w] = top
        best = _candidates(tops, weights, max(n, RESCORED))
        got = self._with_state(collection, ("seq", *ROW_COLUMNS), best)
        if not got or _state(got[0]) != state or got[0][3] != ANALYZER:
            return None
        return _ranked([r[4:] for r in got if r[4] is not None], stats, weights, by_term, n)

    def _top_list(self, db: KeywordDb, t: str, key: TopKey) -> TopList:
        """A term's `TOP_PER_TERM` highest-impact postings, from the cache or the index:
        read as two comma-joined strings parsed by numpy, so the thousands of postings
        never become Python objects."""
        top = self.top_lists.get(key)
        if top is None:
            seqs, impacts = db.execute(
                f"SELECT {db.joined('seq')}, {db.joined('impact')} FROM (SELECT seq, impact"
                f" FROM {t}_postings WHERE term = ? ORDER BY impact DESC LIMIT ?) AS p",
                (key[2], TOP_PER_TERM),
            ).fetchone()
            top = (_ints(seqs, np.int64), _ints(impacts, np.int32))
            self.top_lists.put(key, top)
        return top

    def rows(
        self, collection: str, chunk_ids: Sequence[str], terms: Iterable[str]
    ) -> list[KeywordRow]:
        """The rows of these chunks (those indexed, of any version), with the terms of the
        query each holds: one statement when this process knows the terms' ids at the
        collection's current state (it does after `top` of the same question)."""
        terms = sorted(set(terms))
        if not chunk_ids:
            return []
        if len(chunk_ids) <= _VARS:
            quick = self._rows_known(collection, list(chunk_ids), terms)
            if quick is not None:
                return quick
        t = _tag(collection)
        with self._db.read() as db:
            chunks, _, stats = self._term_stats(db, collection, terms)
            if chunks is None:
                return []
            got = []
            for part in _parts(list(chunk_ids)):
                got += db.execute(
                    f"SELECT chunk_id, source, doc_hash, postings FROM {t}_chunks"
                    f" WHERE chunk_id IN ({_marks(part)})",
                    part,
                ).fetchall()
        return _rows(got, stats)

    def _rows_known(
        self, collection: str, chunk_ids: list[str], terms: list[str]
    ) -> list[KeywordRow] | None:
        """`rows` in one statement that reads the collection's state beside them; None if
        the terms' ids at that state are not all known here (or it has no tables)."""
        got = self._with_state(collection, ROW_COLUMNS, chunk_ids)
        if got is None:  # no tables: the long way says so
            return None
        if not got or got[0][3] != ANALYZER:
            return []
        state = _state(got[0])
        stats = {}
        for term in terms:
            known = self.term_stats.get((collection, state, term))
            if known is None:
                return None
            stats[term] = known
        return _rows([r[4:] for r in got if r[4] is not None], stats)

    def _with_state(
        self, collection: str, columns: Sequence[str], keys: Sequence[str] | Sequence[int]
    ) -> list[Any] | None:
        """One statement, outside a transaction: the collection's registry row (chunks,
        length, generation, analyzer) joined to these `columns` of its chunks whose first
        column (seq or chunk_id) is among `keys`; [] if it is not registered, None if its
        tables are gone (dropped, or never made)."""
        picked = ", ".join(f"c.{c}" for c in columns)
        key = columns[0]
        try:
            with self._db.read_one() as db:
                got: list[Any] = db.execute(
                    f"SELECT k.chunks, k.length, k.generation, k.analyzer, {picked}"
                    f" FROM keyword_collections k LEFT JOIN {_tag(collection)}_chunks c"
                    f" ON c.{key} IN ({_marks(keys)}) WHERE k.collection = ?",
                    [*keys, collection],
                ).fetchall()
        except self._db.no_table:
            return None
        return got

    def _term_stats(
        self, db: KeywordDb, collection: str, terms: list[str]
    ) -> tuple[int | None, State, dict[str, TermStat]]:
        """The collection's chunk count (None: it has no index, or one another analyzer
        made) and state, and term -> (term id, df) for the terms it holds; the terms' from
        this process's cache where it has them at this state."""
        row = db.execute(
            "SELECT chunks, length, generation, analyzer FROM keyword_collections"
            " WHERE collection = ?",
            (collection,),
        ).fetchone()
        if row is None or row[3] != ANALYZER:
            return None, (0, 0, 0), {}
        state = _state(row)
        stats = {w: self.term_stats.get((collection, state, w)) for w in terms}
        missing = [w for w, known in stats.items() if known is None]
        if missing:
            got = db.execute(
                f"SELECT term, id, df FROM {_tag(collection)}_terms"
                f" WHERE term IN ({_marks(missing)})",
                missing,
            ).fetchall()
            found = {term: (int(i), max(0, int(df))) for term, i, df in got}
            for w in missing:
                stats[w] = known = found.get(w, ABSENT)
                self.term_stats.put((collection, state, w), known)
        return int(row[0]), state, {w: ts for w, ts in stats.items() if ts and ts[0]}


def _state(row: Sequence[Any]) -> State:
    """A collection's state from its registry row's first three columns: chunks, length,
    generation."""
    return int(row[2]), int(row[0]), int(row[1])


def _weights(
    state: State, stats: dict[str, TermStat], terms: list[str]
) -> tuple[dict[int, float], dict[str, float]]:
    """The idf of each term the collection holds, by term id; and of every query term, by
    term (one it lacks: the highest)."""
    chunks = state[1]
    weights = {term_id: idf(chunks, df) for term_id, df in stats.values() if df > 0}
    return weights, {w: idf(chunks, stats.get(w, ABSENT)[1]) for w in terms}


def _ranked(
    got: Sequence[Sequence[Any]],
    stats: dict[str, TermStat],
    weights: dict[int, float],
    by_term: dict[str, float],
    n: int,
) -> KeywordHits:
    """The candidates' rows (seq, chunk_id, source, doc_hash, postings) scored exactly
    from their own postings; the n best."""
    exact = dict(zip([r[0] for r in got], _scores([r[4] for r in got], weights), strict=True))
    ranked = sorted(exact, key=lambda seq: (-exact[seq], seq))[:n]
    by_seq = {r[0]: (r[1], r[2], r[3], r[4]) for r in got}
    return KeywordHits(_rows([by_seq[seq] for seq in ranked], stats), by_term)  # the n only


def _rows(got: Iterable[Sequence[Any]], stats: dict[str, TermStat]) -> list[KeywordRow]:
    """(chunk_id, source, doc_hash, postings) rows as `KeywordRow`s, with the query's terms."""
    names = {term_id: term for term, (term_id, _) in stats.items() if term_id}
    return [_row(chunk_id, s, h, blob, names) for chunk_id, s, h, blob in got]


def _row(
    chunk_id: str, source: str, doc_hash: str, blob: bytes, names: dict[int, str]
) -> KeywordRow:
    """A chunk's row, with the query's terms (`names`: term id -> term) found in its postings."""
    held = names.keys() & np.frombuffer(blob, dtype=np.int32)[0::2].tolist()
    return KeywordRow(chunk_id, source, doc_hash, frozenset(names[w] for w in held))


def _analyzer(db: KeywordDb, collection: str) -> str | None:
    """The analyzer the collection's index was made with ('': before they were recorded);
    None if it has no index."""
    row = db.execute(
        "SELECT analyzer FROM keyword_collections WHERE collection = ?", (collection,)
    ).fetchone()
    return None if row is None else str(row[0])


def _generation() -> int:
    """A new generation for a collection being written: random, not counted, so that one
    dropped and indexed again never repeats a generation a reader has cached."""
    return secrets.randbits(62)


def _candidates(tops: dict[int, TopList], weights: dict[int, float], n: int) -> list[int]:
    """The n chunk seqs with the best summed idf x impact over each term's top postings."""
    lists = [(tops[w], weight) for w, weight in weights.items() if len(tops[w][0])]
    if not lists:
        return []
    seqs = np.concatenate([seq for (seq, _), _ in lists])
    scores = np.concatenate([impact * weight for (_, impact), weight in lists])
    if seqs.max() > SEQS_SUMMED:  # a long-lived index: its seqs are sparse, sort them
        unique, owner = np.unique(seqs, return_inverse=True)
        summed = np.bincount(owner, weights=scores)
    else:  # one slot per seq: no sort of the thousands of postings
        summed = np.bincount(seqs, weights=scores)
        unique = np.flatnonzero(summed)
        summed = summed[unique]
    if len(unique) > n:  # only the n best (and those tied with the n-th) are sorted
        cut = np.partition(summed, len(summed) - n)[len(summed) - n]
        keep = summed >= cut
        unique, summed = unique[keep], summed[keep]
    best: list[int] = unique[np.lexsort((unique, -summed))[:n]].tolist()  # ties: lower seq
    return best


TopList = tuple[np.ndarray, np.ndarray]  # a term's top postings: seqs, impacts
TermStat = tuple[int, int]  # a term's id and document frequency in a collection
ABSENT: TermStat = (0, 0)  # a term no chunk of the collection holds (ids start at 1)
# A collection's generation, chunk count and total length: the chunks and length change
# with (nearly) every write too, by a process of a version before generations as well.
State = tuple[int, int, int]
TopKey = tuple[str, State, int]  # collection, its state, term id
TermKey = tuple[str, State, str]  # collection, its state, term
K = TypeVar("K")
V = TypeVar("V")


class Recent(Generic[K, V]):
    """What a process keeps of the index while its collection is unchanged (terms' top
    postings, their ids): the same words come back question after question, and reading
    one term's list costs ~0.2 ms. Keyed by collection and its state; every write gives
    its collection a new generation, so a change by any process, in either database, is
    never served stale. Least recently used first out; shared by the threads of one
    process."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
            return found

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def _ints(joined: str | None, dtype: type[np.integer]) -> np.ndarray:
    return np.fromstring(joined or "", dtype=dtype, sep=",")


def _scores(blobs: list[bytes], weights: dict[int, float]) -> list[float]:
    """Each chunk's BM25 score over the weighted terms, from its own (term id, impact) pairs."""
    if not blobs:
        return []
    flat = np.frombuffer(b"".join(blobs), dtype=np.int32).reshape(-1, 2)  # one array, not 100
    ids = np.array(sorted(weights), dtype=np.int64)
    idf_of = np.array([weights[i] for i in ids.tolist()])
    at = np.minimum(np.searchsorted(ids, flat[:, 0]), len(ids) - 1)
    contrib = np.where(ids[at] == flat[:, 0], idf_of[at] * flat[:, 1], 0.0)
    owner = np.repeat(np.arange(len(blobs)), [len(b) // 8 for b in blobs])
    scores: list[float] = np.bincount(owner, weights=contrib, minlength=len(blobs)).tolist()
    return scores


def _impact(tf: int, norm: float) -> int:
    """BM25's term-frequency part, x SCALE (at least 1: a posting always counts); `norm` is
    k1 (1 - b + b length / average length)."""
    return max(1, round(tf * (K1 + 1) / (tf + norm) * SCALE))


def _parts(items: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(items), _VARS):
        yield items[start : start + _VARS]


def _marks(items: Sequence[object]) -> str:
    return ",".join("?" * len(items))
