"""Snippets: the best passage of a text, escaped, with matched words in <mark>.

Matches are found by analyzing the words of the stored text as the index
did and marking the words the query looks for: its words, its phrases (only
where the whole phrase stands, so "die Truppen" does not mark every "die"),
and its wildcards. Spans point into the original text, so words are marked as
written (never the stems) and no word is cut in half.
"""

from __future__ import annotations

import fnmatch
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from itertools import accumulate
from typing import Callable, Collection

from .analysis import TOKEN_PATTERN
from ...limits import Deadline
from ...marks import Span, mark
from .phrases import occurrences


SNIPPET_CHARS = 240
_SPLIT = re.compile(f"({TOKEN_PATTERN})")
"""Words as the analyzers' tokenizer finds them, kept when a text is split
at them: re.split makes strings in C where re.finditer makes a match object
a word (4 times as slow: 2 of a search's 10 ms at 50k articles)."""


@dataclass
class Wanted:
    """What a query looks for in one field."""

    terms: set[str] = field(default_factory=set)
    phrases: list[tuple[tuple[str, ...], int]] = field(default_factory=list)
    """Each phrase's terms, and its slop."""
    patterns: list[re.Pattern] = field(default_factory=list)

    def add_pattern(self, glob: str) -> None:
        self.patterns.append(re.compile(fnmatch.translate(glob)))

    def matches(self, terms: Collection[str]) -> bool:
        """Whether a word with these terms is one the query looks for
        (on its own: phrases are matched where they stand)."""
        if not self.terms.isdisjoint(terms):
            return True
        return bool(self.patterns) and any(p.match(t) for p in self.patterns for t in terms)

    def __bool__(self) -> bool:
        return bool(self.terms or self.phrases or self.patterns)


Words = tuple[list[int], list[str]]
"""A text's words: where each begins and ends (the n-th word's at 2n and
2n + 1), and the words."""


def split(text: str) -> Words:
    """A text's words, as the analyzers' tokenizer finds them."""
    parts = _SPLIT.split(text)  # text between words, a word, text between, ...
    return list(accumulate(map(len, parts[:-1]))), parts[1::2]


class WordFinder:
    """Finds where the words a query looks for stand in texts; `terms_of`
    gives a word's indexed terms (see searching.terms_of). The texts of one
    search share most of their words, so each word is judged once.

    An article may have a million characters of words never seen before, or
    one word 250,000 times for a phrase to look through: past `deadline`,
    `spans` raises SearchTimeout rather than finish."""

    JUDGE_CHECK = 1024
    """New words judged between deadline checks (analyzing one takes ~30 µs)."""

    def __init__(self, terms_of: Callable[[str], Collection[str]], wanted: Wanted, deadline: Deadline | None = None):
        self.terms_of = terms_of
        self.wanted = wanted
        self.deadline = deadline or Deadline(math.inf)
        self.judged: set[str] = set()
        self.found: set[str] = set()

    def spans(self, text: str, words: Words | None = None) -> list[Span]:
        """Character spans of the words of `text` that the query looks for
        (`words`: the text's words, when they are known already)."""
        if not self.wanted:
            return []
        bounds, words = words or split(text)
        new = set(words) - self.judged
        for n, word in enumerate(new):
            if n % self.JUDGE_CHECK == 0:
                self.deadline.check()
            if self.wanted.matches(self.terms_of(word)):
                self.found.add(word)
        self.judged |= new
        found = self.found
        spans = {(bounds[2 * n], bounds[2 * n + 1]) for n, w in enumerate(words) if w in found}
        if self.wanted.phrases:
            where = self._phrase_terms(words)
            for phrase, slop in self.wanted.phrases:
                at = occurrences([where[term] for term in phrase], slop, self.deadline)
                spans.update((bounds[2 * n], bounds[2 * n + 1]) for n in at)
        return sorted(spans)

    def _phrase_terms(self, words: list[str]) -> dict[str, list[int]]:
        """Where each term of the query's phrases stands among `words`: one
        pass over the text, however long the phrases."""
        where: dict[str, list[int]] = {term: [] for phrase, _ in self.wanted.phrases for term in phrase}
        wanted_terms = {w: [t for t in set(self.terms_of(w)) if t in where] for w in set(words)}
        for i, word in enumerate(words):
            for term in wanted_terms[word]:
                where[term].append(i)
        return where


SCAN_CHARS = 100_000
"""Characters of an article searched for its snippet: the opening of a very
long article, so a snippet costs the same whatever an article's length."""


def scanned(text: str) -> str:
    """The part of `text` a snippet is taken from, ending at a word boundary."""
    if len(text) <= SCAN_CHARS:
        return text
    cut = text.rfind(" ", 0, SCAN_CHARS)
    return text[: cut if cut > 0 else SCAN_CHARS]


def snippet(text: str, spans: list[Span], size: int = SNIPPET_CHARS, unmatched: int = 0) -> str:
    """The passage of about `size` characters with the most distinct matched
    words (then the most matches), cut at word boundaries, as safe HTML;
    without `spans`, the one starting at character `unmatched`."""
    start = _best_window(text, spans, size) if spans else unmatched
    end = min(len(text), start + size)
    if end < len(text):
        cut = text.rfind(" ", start, end)
        end = cut if cut > start else end
    window = [(s - start, e - start) for s, e in spans if s >= start and e <= end]
    html = mark(text[start:end].replace("\n", " "), window)
    return ("…" if start > 0 else "") + html.strip() + ("…" if end < len(text) else "")


def _best_window(text: str, spans: list[Span], size: int) -> int:
    """Where the best passage starts: at the matched word that begins the
    window of `size` characters with the most distinct matched words, then
    the most matches. One pass: the window's far end only moves forward."""
    if not spans:
        return 0
    words = [text[s:e].casefold() for s, e in spans]
    inside: Counter[str] = Counter()
    best, best_key, far = spans[0][0], (-1, -1), 0
    for i, (first, _) in enumerate(spans):
        while far < len(spans) and spans[far][1] <= first + size:
            inside[words[far]] += 1
            far += 1
        key = (len(inside), far - i)
        if key > best_key:
            best, best_key = first, key
        if far > i:  # the word at `first` leaves the window before the next start
            inside[words[i]] -= 1
            if not inside[words[i]]:
                del inside[words[i]]
        else:
            far = i + 1
    # Start a little before the first match, at the start of a word.
    lead = max(0, best - size // 5)
    if lead > 0:
        space = text.find(" ", lead, best)
        lead = space + 1 if space != -1 else best
    return lead
