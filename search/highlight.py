"""Snippets: the best passage of a text, escaped, with matched words in <mark>.

Matches are found by running the same analyzers over the stored text and
keeping the tokens whose analyzed form the query matched; their offsets point
into the original text, so the words are marked as written (never the stems)
and no word is cut in half.
"""

from __future__ import annotations

from html import escape
from typing import Iterable

Span = tuple[int, int]

SNIPPET_CHARS = 240


def match_spans(text: str, analyzers: Iterable[tuple[object, set[str]]]) -> list[Span]:
    """Character spans of the tokens of `text` that an analyzer turns into one
    of the given terms; `analyzers` pairs each analyzer with its matched terms."""
    spans: set[Span] = set()
    for analyzer, terms in analyzers:
        if terms:
            for t in analyzer(text, chars=True, mode="index"):
                if t.text in terms:
                    spans.add((t.startchar, t.endchar))
    return sorted(spans)


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
