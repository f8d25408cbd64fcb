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

Searching scans every vector (one matrix product, about 10 ms for the
100,000 passages of 50,000 articles on one core), exact, with no index to
build or tune.
"""

from __future__ import annotations

import os
import threading
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import NamedTuple

import numpy as np

from .embedding import DIMENSIONS, MODEL, centered

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
        order = np.argsort(self.passages, kind="stable")  # leads first
        tmp = folder / f".{FILE}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as f:
                np.savez(f, ids=self.ids[order], fingerprints=self.fingerprints[order], langs=self.langs[order],
                         passages=self.passages[order], counts=self.counts[order],
                         matrix=self.matrix[order].astype(np.float16), model=np.array(self.model))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, folder / FILE)
        finally:
            tmp.unlink(missing_ok=True)


def joined(parts: list[Vectors]) -> Vectors:
    """The rows of every part, in order."""
    names = ("ids", "fingerprints", "langs", "passages", "counts", "matrix")
    return Vectors(*(np.concatenate([getattr(p, name) for p in parts]) for name in names))


BLOCK = 4096
"""Rows multiplied at a time by `similarities`."""


def similarities(queries: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Each of a few `queries` (rows) against every row of `matrix`, one
    block of rows at a time: the block stays in the cache while every query
    meets it (ten results against 50,752 leads: 25 ms in one product, 18 ms
    in blocks)."""
    out = np.empty((len(queries), len(matrix)), np.float32)
    columns = np.ascontiguousarray(queries.T)
    for start in range(0, len(matrix), BLOCK):
        out[:, start:start + BLOCK] = (matrix[start:start + BLOCK] @ columns).T
    return out


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
            vectors = Vectors(ids, data["fingerprints"], data["langs"], passages, counts, data["matrix"], str(data["model"]))
    except (OSError, EOFError, ValueError, KeyError, zipfile.BadZipFile):
        return None
    count = len(vectors.ids)
    if (vectors.matrix.shape != (count, DIMENSIONS)
            or any(a.shape != (count,) or a.dtype.kind != "U" for a in (vectors.ids, vectors.fingerprints, vectors.langs))
            or any(a.shape != (count,) or a.dtype.kind != "i" for a in (vectors.passages, vectors.counts))
            or np.any(np.diff(vectors.passages) < 0)):  # leads first, as saved
        return None
    vectors.centered  # computed once, here, rather than by the first search
    return vectors
