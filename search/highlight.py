"""Snippets: the best passage of a text, escaped, with matched words in <mark>.

Matches are found by running the same analyzers over the stored text and
marking the tokens the query looks for: its words, its phrases (only where the
whole phrase stands, so "die Truppen" does not mark every "die"), and its
wildcards. Token offsets point into the original text, so words are marked as
written (never the stems) and no word is cut in half.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from html import escape

Span = tuple[int, int]

SNIPPET_CHARS = 240


@dataclass
class Wanted:
    """What a query looks for in one field."""

    terms: set[str] = field(default_factory=set)
    phrases: list[tuple[str, ...]] = field(default_factory=list)
    patterns: list[re.Pattern] = field(default_factory=list)

    def add_pattern(self, glob: str) -> None:
        self.patterns.append(re.compile(fnmatch.translate(glob)))

    def __bool__(self) -> bool:
        return bool(self.terms or self.phrases or self.patterns)


def match_spans(text: str, analyzer, wanted: Wanted) -> list[Span]:
    """Character spans of the tokens of `text` that the query looks for."""
    if not wanted:
        return []
    tokens = list(_tokens(text, analyzer))
    spans = {
        (start, end)
        for _, words, (start, end) in tokens
        if words & wanted.terms or any(p.match(w) for p in wanted.patterns for w in words)
    }
    if wanted.phrases:
        for i in range(len(tokens)):
            for phrase in wanted.phrases:
                window = tokens[i : i + len(phrase)]
                if len(window) == len(phrase) and all(w in ws for w, (_, ws, _) in zip(phrase, window)):
                    spans.update(span for _, _, span in window)
    return sorted(spans)


def _tokens(text: str, analyzer):
    """(position, {terms at that position}, span): alternative stems share a position."""
    current = None
    for t in analyzer(text, positions=True, chars=True, mode="index"):
        if current is not None and current[0] == t.pos:
            current[1].add(t.text)
            continue
        if current is not None:
            yield current
        current = (t.pos, {t.text}, (t.startchar, t.endchar))
    if current is not None:
        yield current


def mark(text: str, spans: list[Span]) -> str:
    """The whole text, escaped, with the spans wrapped in <mark>."""
    out: list[str] = []
    pos = 0
    for start, end in spans:
        if start < pos:
            continue
        out.append(escape(text[pos:start]))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        pos = end
    out.append(escape(text[pos:]))
    return "".join(out)


def snippet(text: str, spans: list[Span], size: int = SNIPPET_CHARS) -> str:
    """The passage of about `size` characters with the most distinct matched
    words (then the most matches), cut at word boundaries, as safe HTML."""
    start = _best_window(text, spans, size)
    end = min(len(text), start + size)
    if end < len(text):
        cut = text.rfind(" ", start, end)
        end = cut if cut > start else end
    window = [(s - start, e - start) for s, e in spans if s >= start and e <= end]
    html = mark(text[start:end].replace("\n", " "), window)
    return ("…" if start > 0 else "") + html.strip() + ("…" if end < len(text) else "")


def _best_window(text: str, spans: list[Span], size: int) -> int:
    if not spans:
        return 0
    best, best_key = spans[0][0], (-1, -1)
    for i, (first, _) in enumerate(spans):
        inside = [s for s in spans[i:] if s[1] <= first + size]
        distinct = {text[s:e].casefold() for s, e in inside}
        key = (len(distinct), len(inside))
        if key > best_key:
            best, best_key = first, key
    # Start a little before the first match, at the start of a word.
    lead = max(0, best - size // 5)
    if lead > 0:
        space = text.find(" ", lead, best)
        lead = space + 1 if space != -1 else best
    return lead
