"""Text as safe HTML with the words a query matched marked: what every
engine's snippets, titles and article pages show."""

from __future__ import annotations

from html import escape

Span = tuple[int, int]
"""Where a matched word stands in a text: its first character and the one after its last."""


def mark(text: str, spans: list[Span]) -> str:
    """The whole text, escaped, with the spans (sorted) wrapped in <mark>;
    a span overlapping an earlier one is left out."""
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
