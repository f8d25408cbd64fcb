"""Spelling suggestions and completions: the indexed words within an edit or
two of a typed word, found through a deletion neighbourhood instead of a scan
of the vocabulary, and the most frequent words a half-typed one may become.

Each index segment gets a `SpellingTable` when it is written (segments.py):
its words, and as keys the first PREFIX letters of each word with and without
each one of those letters (SymSpell's "symmetric deletes", Garbe 2012). A
typed word's own prefix, with up to two letters deleted, is looked up among
the keys: a typo one edit away shares a key with the word it misspells, as
does most of one two edits away. So the work per typed word is a few dozen
binary searches and an edit-distance check of the few words found, however
large the vocabulary; nothing is ever compared with every word.

The same tables complete half-typed words for searching as you type: the
words are stored sorted, with the number of articles each is in, so the
most frequent words with a prefix are two binary searches away.

Tables are plain arrays in one file per segment, memory-mapped when read, so
every search process shares them through the page cache.
"""

from __future__ import annotations

import os
import zlib
from bisect import bisect_left
from pathlib import Path
from typing import Iterable

import numpy as np

PREFIX = 6
"""Letters of a word that its keys are made from."""
MAX_WORD = 30
"""Longer words are neither suggested nor looked up (no one mistypes a
40-letter word, and checking one would cost more)."""
MAX_CANDIDATES = 300
"""Words checked per typed word at most, so a key shared by many words
cannot make a lookup slow."""
COMMON_FROM = 1000
"""Segments of at least this many articles leave out words found in only one."""
SUFFIX = ".spelling"
"""A segment's table is the file `<segment id>.spelling` beside its other files."""

_MAGIC = b"SPELL002"


def is_word(term: str) -> bool:
    """Whether an indexed term can be a suggestion: letters only, of a
    plausible length (no numbers, no hyphenated or glued forms)."""
    return 2 <= len(term) <= MAX_WORD and term.isalpha()


def _deletes(text: str, depth: int) -> set[str]:
    """`text` and every string made by deleting up to `depth` of its letters."""
    found = {text}
    layer = {text}
    for _ in range(depth):
        layer = {s[:i] + s[i + 1:] for s in layer if len(s) > 1 for i in range(len(s))}
        found |= layer
    return found


def _key(text: str) -> int:
    data = text.encode("utf-8")
    return zlib.crc32(data) << 32 | zlib.adler32(data)


def write_table(path: str | os.PathLike, vocabulary: Iterable[tuple[str, int]], documents: int) -> None:
    """Write the table of a segment of `documents` articles whose words, with
    the number of its articles each is in, are `vocabulary`. In a large
    segment a word found in one article only is left out: among thousands of
    articles it is as likely a typo as anything worth suggesting (and such
    words are half the vocabulary)."""
    least = 2 if documents >= COMMON_FROM else 1
    counted = sorted((w, df) for w, df in vocabulary if df >= least and is_word(w))
    words = [w for w, _ in counted]
    # Words sharing a prefix are neighbours once sorted: keys point at prefixes.
    prefixes: list[str] = []
    starts: list[int] = []
    for i, word in enumerate(words):
        if not prefixes or word[:PREFIX] != prefixes[-1]:
            prefixes.append(word[:PREFIX])
            starts.append(i)
    starts.append(len(words))
    variants = [_deletes(prefix, 1) for prefix in prefixes]
    owners = np.repeat(np.arange(len(prefixes), dtype=np.uint32), [len(v) for v in variants])
    keys = np.fromiter((_key(k) for v in variants for k in v), dtype=np.uint64, count=len(owners))
    order = np.argsort(keys, kind="stable")
    blob = "".join(words).encode("utf-8")
    ends = np.cumsum([len(w.encode("utf-8")) for w in words], dtype=np.uint64)
    dfs = np.array([df for _, df in counted], dtype=np.uint32)
    arrays = [keys[order], owners[order], np.array(starts, dtype=np.uint32), ends, dfs]
    header = np.array([len(a) for a in arrays] + [len(blob)], dtype=np.uint64)
    tmp = Path(f"{path}.tmp")
    with open(tmp, "wb") as out:
        out.write(_MAGIC)
        out.write(header.tobytes())
        for array in arrays:
            out.write(array.tobytes())
            out.write(b"\0" * (-array.nbytes % 8))  # keep every array 8-byte aligned
        out.write(blob)
    os.replace(tmp, path)


_ARRAYS = (np.uint64, np.uint32, np.uint32, np.uint64, np.uint32)
"""keys, their prefixes, each prefix's first word, each word's end in the
blob of words, each word's article count."""


class SpellingTable:
    """One segment's words, with their article counts, and keys, read from its file."""

    def __init__(self, path: str | os.PathLike):
        data = np.memmap(path, dtype=np.uint8, mode="r")
        if bytes(data[:8]) != _MAGIC:
            raise ValueError(f"{path} is not a spelling table of this version")
        counts = np.frombuffer(data, dtype=np.uint64, count=len(_ARRAYS) + 1, offset=8)
        offset = 8 + counts.nbytes
        parts = []
        for count, dtype in zip(counts, _ARRAYS):
            array = np.frombuffer(data, dtype=dtype, count=int(count), offset=offset)
            parts.append(array)
            offset += array.nbytes + (-array.nbytes % 8)
        self.keys, self.owners, self.starts, self.ends, self.dfs = parts
        self.blob = data[offset: offset + int(counts[-1])]

    def _word(self, i: int) -> str:
        start = int(self.ends[i - 1]) if i else 0
        return bytes(self.blob[start: int(self.ends[i])]).decode("utf-8")

    def completions(self, prefix: str, n: int) -> list[tuple[str, int]]:
        """Up to `n` of the words that begin with `prefix`, most frequent
        first, with their article counts: two binary searches for where such
        words stand (the words are sorted), then the counts of those."""
        every = range(len(self.dfs))
        low = bisect_left(every, prefix, key=self._word)
        high = bisect_left(every, prefix + "\U0010ffff", lo=low, key=self._word)
        counts = self.dfs[low:high]
        best = np.argsort(-counts.astype(np.int64), kind="stable")[:n]  # ties in word order
        return [(self._word(low + int(i)), int(counts[i])) for i in best]

    def candidates(self, word: str, depth: int) -> list[str]:
        """The words whose keys meet those of `word` with up to `depth`
        letters of its prefix deleted (then to be checked by edit distance)."""
        wanted = np.array(sorted(_key(v) for v in _deletes(word[:PREFIX], depth)), dtype=np.uint64)
        lows = np.searchsorted(self.keys, wanted, "left")
        highs = np.searchsorted(self.keys, wanted, "right")
        prefixes = sorted({int(p) for low, high in zip(lows, highs) for p in self.owners[low:high]})
        found: list[str] = []
        for p in prefixes:
            for i in range(int(self.starts[p]), int(self.starts[p + 1])):
                if len(found) >= MAX_CANDIDATES:
                    return found
                found.append(self._word(i))
        return found


_opened: dict[str, SpellingTable] = {}


def table(path: str) -> SpellingTable | None:
    """The table in `path`, or None where a segment has none (an index
    written before tables existed, until a `search index` run changes it).
    Segments never change, so each table is opened once per process."""
    found = _opened.get(path)
    if found is None:
        try:
            found = SpellingTable(path)
        except (OSError, ValueError):
            return None
        if len(_opened) >= 256:  # segments merged away leave their tables behind
            _opened.clear()
        _opened[path] = found
    return found


def within(a: str, b: str, limit: int) -> bool:
    """Whether `a` and `b` are at most `limit` edits apart (insertions,
    deletions, substitutions and swaps of neighbours: optimal string
    alignment distance). Only cells within `limit` of the diagonal are
    computed, and it stops as soon as every path is over the limit."""
    if abs(len(a) - len(b)) > limit:
        return False
    over = limit + 1
    before: list[int] | None = None
    previous = [j if j <= limit else over for j in range(len(b) + 1)]
    for i in range(1, len(a) + 1):
        low, high = max(1, i - limit), min(len(b), i + limit)
        current = [over] * (len(b) + 1)
        current[0] = i if i <= limit else over
        for j in range(low, high + 1):
            value = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] != b[j - 1]))
            if before is not None and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                value = min(value, before[j - 2] + 1)
            current[j] = min(value, over)
        if min(current[low - 1: high + 1]) > limit:
            return False
        before, previous = previous, current
    return previous[-1] <= limit


def completions(prefix: str, tables: Iterable[SpellingTable], n: int) -> list[str]:
    """The `n` most frequent words of `tables` that begin with `prefix`
    (what a half-typed word may become), counted over every segment."""
    counts: dict[str, int] = {}
    for t in tables:
        for word, count in t.completions(prefix, n):
            counts[word] = counts.get(word, 0) + count
    return sorted(counts, key=lambda w: (-counts[w], w))[:n]


def respellings(word: str, tables: Iterable[SpellingTable], distance: int) -> set[str]:
    """The words of `tables` at most `distance` edits from `word` (empty for
    words that cannot be looked up: too short, too long, not letters)."""
    if not (3 <= len(word) <= MAX_WORD and word.isalpha()):
        return set()
    found: set[str] = set()
    for t in tables:
        found.update(c for c in t.candidates(word, distance) if c != word and within(word, c, distance))
    return found
