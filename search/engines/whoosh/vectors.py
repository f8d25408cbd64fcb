"""The articles' vectors (see embedding.py), kept beside the keyword index in
its generation folder, and the ones nearest a query or an article.

One file, `vectors.npz`: the model's name, and a row for each passage of each
article (see embedding.PASSAGES): the article's id, fingerprint (a vector is
reused while its article is unchanged) and language, which passage it is and
how many the article has, and its vector, stored as float16 (half the disk;
the ranking does not change). Vectors saved before articles had more than
one passage are read as their first. It is
written whole to a temporary file and renamed, so readers see the old file or
the new one, and a run stopped while embedding keeps the vectors saved so far.

Each lead also records its counterparts: the nearest lead in each other
language, found when the vectors are saved (incrementally: only rows new
since the last save, or whose counterpart is gone, are compared with every
lead), so that a search shows the same story in other languages without
comparing its results with every article (50,752 articles: 19 ms a search).

Searching scans every vector (see `scan`): exact, with no index to build or
tune. An approximate index was tried (usearch's HNSW, on the 58,976 passages
of 50,752 articles and bench/meaning.py's 432 queries): at 0.6-2.8 ms a query
it found 0.91-0.97 of the exact ten nearest, and took 11-23 s to build, while
the scan in two threads takes 6 ms for 101,504 passages and finds them all.
"""

from __future__ import annotations

import os
import threading
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ...embedding import DIMENSIONS, MODEL, centered

FILE = "vectors.npz"


class Key(NamedTuple):
    """What a row of the vectors is the vector of."""
    id: str
    fingerprint: str
    lang: str
    passage: int
    passages: int
    """How many passages the article has: 0 when not known (vectors saved
    before there were more than one)."""


@dataclass(frozen=True, eq=False)
class Counterparts:
    """Each lead's nearest lead in each language (see `linked`)."""
    langs: np.ndarray
    """The languages, a column each."""
    rows: np.ndarray
    """The nearest lead's row in each language, -1 in the lead's own
    language and where none is (int32, a row per lead)."""
    similarity: np.ndarray
    """How alike each is (float32, -inf where none is)."""


@dataclass(frozen=True, eq=False)
class Vectors:
    ids: np.ndarray
    fingerprints: np.ndarray
    langs: np.ndarray
    passages: np.ndarray
    """Which of its article's passages each row is (0, the lead, first)."""
    counts: np.ndarray
    """How many passages each row's article has (see Key.passages)."""
    matrix: np.ndarray
    """One vector per row, as the model gives it (float16 once loaded: only
    saving again needs it); `centered` (float32) is what similarities are
    taken on."""
    model: str = MODEL
    counterparts: Counterparts | None = None
    """None until `linked` finds them."""

    @classmethod
    def empty(cls) -> Vectors:
        return cls.of([], np.zeros((0, DIMENSIONS), np.float32))

    @classmethod
    def of(cls, keys: list[Key], matrix: np.ndarray) -> Vectors:
        """Vectors from the Key of each row of `matrix`."""
        columns = list(zip(*keys)) or [()] * len(Key._fields)
        return cls(*(np.array(column, str) for column in columns[:3]),
                   *(np.array(column, np.int8) for column in columns[3:]), matrix)

    def __len__(self) -> int:
        """Rows: passages, not articles (see `articles`)."""
        return len(self.ids)

    @property
    def articles(self) -> int:
        return len(self.rows)

    @cached_property
    def leads(self) -> np.ndarray:
        """The articles' lead vectors (centered), what they are compared with
        one another by: the first rows, as the vectors are kept in order of
        passage (see `load`)."""
        return self.centered[: int(np.count_nonzero(self.passages == 0))]

    @cached_property
    def centered(self) -> np.ndarray:
        """The vectors less their language's mean (see embedding.centered)."""
        return centered(self.matrix, self.langs.tolist())

    @cached_property
    def rows(self) -> dict[str, int]:
        """Each article's row (its lead's), by id."""
        pairs = enumerate(zip(self.ids.tolist(), self.passages.tolist()))
        return {doc_id: row for row, (doc_id, passage) in pairs if passage == 0}

    @cached_property
    def known(self) -> dict[tuple[str, str, int], int]:
        """Each passage's row, by id, fingerprint and passage: what can be reused."""
        keys = zip(self.ids.tolist(), self.fingerprints.tolist(), self.passages.tolist())
        return {key: row for row, key in enumerate(keys)}

    def key(self, row: int) -> Key:
        return Key(str(self.ids[row]), str(self.fingerprints[row]), str(self.langs[row]),
                   int(self.passages[row]), int(self.counts[row]))

    def save(self, folder: Path) -> None:
        """Write the vectors into `folder` atomically (see the module's docstring)."""
        near = self.counterparts or Counterparts(np.zeros(0, str), np.zeros((0, 0), np.int32), np.zeros((0, 0), np.float32))
        tmp = folder / f".{FILE}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as f:
                np.savez(f, ids=self.ids, fingerprints=self.fingerprints, langs=self.langs,
                         passages=self.passages, counts=self.counts,
                         matrix=self.matrix.astype(np.float16), model=np.array(self.model),
                         near_langs=near.langs, near_rows=near.rows, near_similarity=near.similarity)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, folder / FILE)
        finally:
            tmp.unlink(missing_ok=True)


def joined(parts: list[Vectors]) -> Vectors:
    """The rows of every part, leads first (what `leads` counts on), without
    counterparts (see `linked`)."""
    names = ("ids", "fingerprints", "langs", "passages", "counts", "matrix")
    columns = [np.concatenate([getattr(p, name) for p in parts]) for name in names]
    order = np.argsort(columns[3], kind="stable")
    return Vectors(*(column[order] for column in columns))


LINK_BLOCK = 256
"""Leads compared with every lead at a time by `linked` (256 x 50,000
similarities: 51 MB)."""


def linked(vectors: Vectors, previous: Vectors | None) -> Vectors:
    """`vectors` with each lead's counterparts. Those `previous` found are
    kept for unchanged articles whose counterparts are still there, and
    compared only with the new leads: the nearest of a set that lost none
    of its members is the nearer of its old nearest and the nearest of the
    new members. The other leads are compared with every lead."""
    leads = vectors.leads
    count = len(leads)
    lead_langs = vectors.langs[:count]
    langs = np.unique(lead_langs)
    rows = np.full((count, len(langs)), -1, np.int32)
    sims = np.full((count, len(langs)), -np.inf, np.float32)
    todo = np.ones(count, bool)
    if previous is not None and previous.counterparts is not None:
        _keep(vectors, previous, previous.counterparts, langs, rows, sims, todo)
    in_lang = [np.flatnonzero(lead_langs == lang) for lang in langs]
    pending = np.flatnonzero(todo)
    for start in range(0, len(pending), LINK_BLOCK):
        block = pending[start:start + LINK_BLOCK]
        alike = leads[block] @ leads.T
        block_langs = lead_langs[block]
        for column, (lang, members) in enumerate(zip(langs, in_lang)):
            among = alike[:, members]
            at = among.argmax(axis=1)
            rows[block, column] = members[at]
            sims[block, column] = among[np.arange(len(block)), at]
            own = block[block_langs == lang]
            if len(own):  # every lead's nearest among the block's leads in `lang`
                mine = alike[block_langs == lang]
                at = mine.argmax(axis=0)
                nearest = mine[at, np.arange(count)]
                better = nearest > sims[:, column]
                rows[better, column] = own[at[better]]
                sims[better, column] = nearest[better]
    for column, lang in enumerate(langs):
        rows[lead_langs == lang, column] = -1
        sims[lead_langs == lang, column] = -np.inf
    return replace(vectors, counterparts=Counterparts(langs, rows, sims))


def _keep(vectors: Vectors, previous: Vectors, near: Counterparts, langs: np.ndarray,
          rows: np.ndarray, sims: np.ndarray, todo: np.ndarray) -> None:
    """Fill `rows` and `sims` with what `previous` found for the leads it had
    unchanged, their counterparts still there (marked done in `todo`)."""
    now = {key: row for key, row in vectors.known.items() if key[2] == 0}
    moved = np.full(len(near.rows), -1, np.int64)  # each old lead's row now, -1 if gone or changed
    for key, old in previous.known.items():
        if key[2] == 0:
            moved[old] = now.get(key, -1)
    was = np.flatnonzero(moved >= 0)
    lost = np.zeros(len(was), bool)  # a counterpart is gone or has changed
    columns = {lang: column for column, lang in enumerate(near.langs.tolist())}
    for column, lang in enumerate(langs.tolist()):
        if lang not in columns:  # a language new since: its leads are all new
            continue
        old_rows = near.rows[was, columns[lang]]
        now_rows = np.where(old_rows >= 0, moved[old_rows], -1)
        lost |= (old_rows >= 0) & (now_rows < 0)
        rows[moved[was], column] = now_rows
        sims[moved[was], column] = np.where(now_rows >= 0, near.similarity[was, columns[lang]], -np.inf)
    todo[moved[was]] = lost


SCAN_THREADS = min(os.cpu_count() or 1, 4)
"""Threads a scan is split over: it is bound by memory, not arithmetic (one
thread 11 ms, two 6 ms, for 101,504 passages on 2 cores). Our own threads,
not BLAS's, which spin after each product (see meaning.BLAS_THREADS)."""
SCAN_PART = 16_384
"""Fewest rows worth a thread of their own."""
_scanners = ThreadPoolExecutor(SCAN_THREADS, thread_name_prefix="scan")


def scan(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """Every row of `matrix` against `vector`, in parts side by side."""
    parts = max(1, min(SCAN_THREADS, len(matrix) // SCAN_PART))
    if parts == 1:
        return matrix @ vector
    bounds = np.linspace(0, len(matrix), parts + 1).astype(int)
    done = [_scanners.submit(np.matmul, matrix[a:b], vector) for a, b in zip(bounds, bounds[1:])]
    return np.concatenate([part.result() for part in done])


def best(similarity: np.ndarray, k: int, allowed: np.ndarray | None = None) -> list[tuple[int, float]]:
    """The `k` rows of highest `similarity`, best first, as (row, similarity);
    only rows where `allowed` is True, when given."""
    if allowed is not None:
        similarity = np.where(allowed, similarity, -np.inf)
    k = min(k, len(similarity))
    if k <= 0:
        return []
    top = np.argpartition(-similarity, k - 1)[:k]
    top = top[np.argsort(-similarity[top], kind="stable")]
    return [(int(row), float(similarity[row])) for row in top if similarity[row] > -np.inf]


_cache: dict[Path, tuple[tuple[int, int], Vectors | None]] = {}
_cache_lock = threading.Lock()


def load(folder: Path) -> Vectors | None:
    """The vectors saved in `folder`, None if there are none, or they are of
    another model, or the file is damaged (cut short, not ours, arrays of the
    wrong shape): they are only a cache of what the model says, so searches
    then use keywords alone and the next `search index` computes them again.
    Kept in memory while the file is unchanged: checking costs one stat, so
    every search sees vectors as soon as they are saved."""
    path = folder / FILE
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    stamp = (st.st_mtime_ns, st.st_size)
    with _cache_lock:
        cached = _cache.get(folder)
        if cached and cached[0] == stamp:
            return cached[1]
    vectors = _read(path)
    with _cache_lock:
        for old in [f for f in _cache if not f.exists()]:  # generations removed since
            del _cache[old]
        _cache[folder] = (stamp, vectors)
    return vectors


def _counterparts(langs: np.ndarray | None, rows: np.ndarray | None, similarity: np.ndarray | None
                  ) -> Counterparts | None:
    """The counterparts as saved; None when they were not (saved while
    embedding, or before they were kept)."""
    if langs is None or rows is None or similarity is None or not len(langs):
        return None
    return Counterparts(langs, rows, similarity)


def _read(path: Path) -> Vectors | None:
    """The vectors in `path`, None if they are of another model or not
    whole and consistent."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["model"]) != MODEL:
                return None
            ids = data["ids"]
            unknown = np.zeros(ids.shape, np.int8)  # saved with one passage per article
            passages, counts = (data[name] if name in data.files else unknown for name in ("passages", "counts"))
            vectors = Vectors(ids, data["fingerprints"], data["langs"], passages, counts, data["matrix"], str(data["model"]),
                              _counterparts(*(data[name] if name in data.files else None
                                              for name in ("near_langs", "near_rows", "near_similarity"))))
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    count = len(vectors.ids)
    if (vectors.matrix.shape != (count, DIMENSIONS)
            or any(a.shape != (count,) or a.dtype.kind != "U" for a in (vectors.ids, vectors.fingerprints, vectors.langs))
            or any(a.shape != (count,) or a.dtype.kind != "i" for a in (vectors.passages, vectors.counts))
            or np.any(np.diff(vectors.passages) < 0)  # leads first, as saved
            or (near := vectors.counterparts) is not None and (
                near.rows.shape != (len(vectors.leads), len(near.langs)) or near.similarity.shape != near.rows.shape
                or near.langs.dtype.kind != "U" or near.rows.dtype.kind != "i" or near.similarity.dtype.kind != "f"
                or np.any(near.rows < -1) or np.any(near.rows >= len(vectors.leads)))):
        return None
    vectors.centered  # computed once, here, rather than by the first search
    return vectors
