"""Snippets: the best passage, by its definition, at a cost that does not grow
with the square of an article's matches."""

from __future__ import annotations

import random
import time

from hypothesis import given, settings, strategies as st

from search.engines.whoosh.highlight import SCAN_CHARS, _best_window, scanned, snippet
from search.engines.whoosh.index import Index
from search.limits import Deadline
from search.engines.whoosh.searching import search

from .conftest import write_jsonl


def best_window_by_definition(text: str, spans: list[tuple[int, int]], size: int) -> int:
    """Every span's start tried as the window's start: the most distinct
    matched words within `size` characters, then the most matches, the
    earliest on ties; then moved back a little, to the start of a word."""
    if not spans:
        return 0
    best, best_key = spans[0][0], (-1, -1)
    for i, (first, _) in enumerate(spans):
        inside = [s for s in spans[i:] if s[1] <= first + size]
        key = (len({text[s:e].casefold() for s, e in inside}), len(inside))
        if key > best_key:
            best, best_key = first, key
    lead = max(0, best - size // 5)
    if lead > 0:
        space = text.find(" ", lead, best)
        lead = space + 1 if space != -1 else best
    return lead


@st.composite
def texts_with_spans(draw):
    words = draw(st.lists(st.sampled_from(["Irak", "irak", "Truppen", "der", "Abzug", "US-Soldaten", "x" * 30]), max_size=80))
    text, spans, pos = "", [], 0
    for word in words:
        if draw(st.booleans()):
            spans.append((pos, pos + len(word)))
        text += word + " "
        pos += len(word) + 1
    return text, spans


@settings(max_examples=500)
@given(texts_with_spans(), st.integers(5, 120))
def test_the_best_passage_is_the_one_the_definition_picks(text_spans, size):
    text, spans = text_spans
    assert _best_window(text, spans, size) == best_window_by_definition(text, spans, size)


def test_a_long_article_of_one_repeated_word_is_found_and_snippeted_at_once(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [
        {"id": "flood", "lang": "en", "title": "Flood", "body": "troops " * 40_000},
        {"id": "normal", "lang": "en", "title": "Troops leave", "body": "The troops leave the city."},
    ])
    ix = Index(tmp_path / "ix")
    ix.update([folder])
    with ix.searcher() as s:
        started = time.perf_counter()
        results = search(s, "troops")
        took = time.perf_counter() - started
    assert {h.id for h in results.results} == {"flood", "normal"}
    assert all("<mark>troops</mark>" in h.snippet for h in results.results)
    assert took < 2.0  # it took 6.9 s for 20,000 words when passages were scored in quadratic time


def test_only_the_opening_of_a_huge_text_is_searched_for_a_snippet():
    text = "word " * (SCAN_CHARS // 4)
    opening = scanned(text)
    assert len(opening) <= SCAN_CHARS and text.startswith(opening) and not opening.endswith("wor")
    assert scanned("short text") == "short text"


def test_when_the_deadline_passes_while_snippets_are_made_the_rest_show_their_openings(tmp_path):
    rng = random.Random(3)
    vocabulary = ["".join(rng.choice("abcdefghij") for _ in range(7)) for _ in range(10_000)]
    folder = tmp_path / "in"
    folder.mkdir()
    bodies = {f"long{i}": "troops " + " ".join(rng.choices(vocabulary, k=20_000)) for i in range(50)}
    write_jsonl(folder / "a.jsonl", [{"id": i, "lang": "en", "title": f"Report {i}", "body": b} for i, b in bodies.items()])
    ix = Index(tmp_path / "ix")
    ix.update([folder])
    with ix.searcher() as s:
        search(s, "troops", per_page=1)  # analyzers and caches ready: what follows is the search itself
        results = search(s, "troops", per_page=50, deadline=Deadline(0.25))  # scoring takes milliseconds, snippets a second
    assert results.total == 50 and len(results.results) == 50
    assert "<mark>troops</mark>" in results.results[0].snippet
    last = results.results[-1]
    assert last.snippet == snippet(bodies[last.id], [])  # its opening, unmarked
