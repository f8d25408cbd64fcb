"""Matched words marked: the highlighter's requests, and its answers made
into our safe HTML (the text escaped, matched words in <mark>).

Each language's fields are highlighted with that language's part of the
query only (dsl.Built.marked), so that an English "die" is not marked in a
German text. The stemmed field marks words and phrases; its `exact`
subfield marks what wildcards matched as written: their marks are joined.
The highlighter's own escaping is undone and done again here, so that the
HTML is exactly what the Whoosh engine makes of the same marks.
"""

from __future__ import annotations

import re
from html import unescape

from ...languages import LANGUAGES
from ...marks import Span, mark


SNIPPET_CHARS = 240
SCAN_CHARS = 100_000
"""Characters of an article searched for its snippet: the opening of a very
long article, so a snippet costs the same whatever an article's length."""
_TAGS = {"pre_tags": ["<mark>"], "post_tags": ["</mark>"], "encoder": "html", "type": "unified"}
_SENTENCE_END = re.compile(r"[.!?؟…»\"”')]$")


def highlight(marked: dict[str, dict]) -> dict:
    """The highlight part of a search: titles whole, and the body's best
    passage, or its opening when nothing in it matched."""
    fields: dict[str, dict] = {}
    for lang in LANGUAGES:
        query = marked.get(lang)
        body = {"fragment_size": SNIPPET_CHARS, "number_of_fragments": 1,
                "highlight_query": query or {"match_none": {}}}
        fields[f"body_{lang}"] = body | {"no_match_size": SNIPPET_CHARS}
        if query is not None:
            fields[f"body_{lang}.exact"] = body
            for name in (f"title_{lang}", f"title_{lang}.exact"):
                fields[name] = {"number_of_fragments": 0, "highlight_query": query}
    return _TAGS | {"require_field_match": False, "max_analyzer_offset": SCAN_CHARS, "fields": fields}


def whole(marked: dict, lang: str) -> dict:
    """The highlight part of a request for one article's whole title and body."""
    fields = {name: {"number_of_fragments": 0, "highlight_query": marked}
              for part in ("title", "body") for name in (f"{part}_{lang}", f"{part}_{lang}.exact")}
    return _TAGS | {"require_field_match": False, "fields": fields}


def spans(marked_html: str) -> tuple[str, list[Span]]:
    """The plain text of the highlighter's HTML, and where its marks are."""
    text: list[str] = []
    found: list[Span] = []
    at = 0
    start = None
    for piece in re.split(r"(</?mark>)", marked_html):
        if piece == "<mark>":
            start = at
        elif piece == "</mark>":
            if start is not None:
                found.append((start, at))
            start = None
        else:
            plain = unescape(piece)
            text.append(plain)
            at += len(plain)
    return "".join(text), found


def marked_text(text: str, highlighted: dict, names: list[str]) -> str:
    """`text` (an article's title or body) as safe HTML with the marks of the
    highlighter's answers for the fields `names` (each the whole text)."""
    found: set[Span] = set()
    for name in names:
        for fragment in highlighted.get(name, [])[:1]:
            plain, where = spans(fragment)
            if plain == text:  # anything else is not a mark we can place
                found.update(where)
    return mark(text, sorted(found))


def snippet(highlighted: dict, lang: str) -> str:
    """The body's best passage as safe HTML: the stemmed field's, joined
    with the exact one's marks when both chose the same passage, else the one
    with more distinct words marked."""
    candidates = [spans(fragment) for name in (f"body_{lang}", f"body_{lang}.exact")
                  for fragment in highlighted.get(name, [])[:1]]
    if not candidates:
        return ""
    plain, where = candidates[0]
    for other, other_where in candidates[1:]:
        if other == plain:
            where = sorted(set(where) | set(other_where))
        elif _distinct(other, other_where) > _distinct(plain, where):
            plain, where = other, other_where
    return _passage(plain, where)


def _distinct(text: str, where: list[Span]) -> int:
    return len({text[s:e].casefold() for s, e in where})


def _passage(plain: str, where: list[Span]) -> str:
    """A passage on one line, with an ellipsis where it evidently does not
    end its text (the highlighter does not say where the passage stands:
    one that begins in the middle of a sentence, in lower case, is marked so too)."""
    lead = len(plain) - len(plain.lstrip())
    text = plain.strip().replace("\n", " ")
    where = [(s - lead, e - lead) for s, e in where if s >= lead and e - lead <= len(text)]
    start = 0
    if len(text) > 2 * SNIPPET_CHARS:  # one word longer than a passage: the highlighter cannot split it
        start = max(0, (where[0][0] if where else 0) - SNIPPET_CHARS // 4)
        end = start + SNIPPET_CHARS
        where = [(max(s, start) - start, min(e, end) - start) for s, e in where if s < end and e > start]
        text = text[start:end]
    begins = "…" if start or text[:1].islower() else ""
    ends = "" if _SENTENCE_END.search(text) else "…"
    return begins + mark(text, where) + ends


