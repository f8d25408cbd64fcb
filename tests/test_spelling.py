"""Spelling tables: the words an edit or two from a typed word, found by keys
rather than by comparing with every word, checked against the definitions."""

from __future__ import annotations

import time

from hypothesis import given, settings, strategies as st

from search.engines.whoosh.spelling import COMMON_FROM, SpellingTable, completions, respellings, within, write_table


def distance(a: str, b: str) -> int:
    """Optimal string alignment distance, the textbook table."""
    d = [[i + j if not i * j else 0 for j in range(len(b) + 1)] for i in range(len(a) + 1)]
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] != b[j - 1]))
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


short_words = st.text(alphabet="abcd", max_size=8)


@settings(max_examples=1000)
@given(short_words, short_words, st.integers(0, 3))
def test_within_is_the_edit_distance_bound(a, b, limit):
    assert within(a, b, limit) == (distance(a, b) <= limit)


def build(tmp_path, words: list[str], documents: int = 10) -> SpellingTable:
    path = tmp_path / "t.spelling"
    write_table(path, [(w, 2) for w in words], documents)
    return SpellingTable(path)


vocabularies = st.lists(st.text(alphabet="abcdeé", min_size=2, max_size=9), min_size=1, max_size=60, unique=True)


@settings(max_examples=150, deadline=None)
@given(vocabularies, st.text(alphabet="abcdeé", min_size=3, max_size=10))
def test_every_word_one_edit_away_is_found_and_nothing_further(tmp_path_factory, vocabulary, typed):
    table = build(tmp_path_factory.mktemp("spelling"), vocabulary)
    expected = {w for w in vocabulary if w != typed and distance(typed, w) <= 1}
    assert respellings(typed, [table], 1) == expected
    assert all(distance(typed, w) <= 2 for w in respellings(typed, [table], 2))


def test_typical_typos_find_their_word(tmp_path):
    table = build(tmp_path, ["truppen", "soldaten", "bundestag", "bundesregierung", "القوات", "الأمريكية", "troepen"])
    assert respellings("trupen", [table], 1) == {"truppen"}  # a letter missing
    assert respellings("soldatne", [table], 1) == {"soldaten"}  # two letters swapped
    assert respellings("bundesregirung", [table], 2) == {"bundesregierung"}
    assert respellings("القوت", [table], 1) == {"القوات"}
    assert respellings("tropen", [table], 1) == {"troepen"}
    assert respellings("truppen", [table], 1) == set()  # not itself


def test_words_that_cannot_be_misspellings_cost_nothing(tmp_path):
    table = build(tmp_path, [f"a{'a' * n}" for n in range(1, 29)])
    started = time.perf_counter()
    for word in ("a" * 500, "ا" * 9000, "2500", "us-soldaten", "x"):
        assert respellings(word, [table], 2) == set()
    assert time.perf_counter() - started < 0.5


def test_large_segments_leave_out_words_found_once(tmp_path):
    path = tmp_path / "t.spelling"
    write_table(path, [("truppen", 40), ("trupen", 1)], COMMON_FROM)
    assert respellings("trupen", [SpellingTable(path)], 1) == {"truppen"}
    assert respellings("truppen", [SpellingTable(path)], 1) == set()  # the typo found once is no suggestion
    write_table(path, [("truppen", 40), ("trupen", 1)], COMMON_FROM - 1)
    assert respellings("truppen", [SpellingTable(path)], 1) == {"trupen"}


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.text(alphabet="abcé", min_size=2, max_size=7), st.integers(1, 50)), min_size=1, max_size=60,
                unique_by=lambda wd: wd[0]),
       st.text(alphabet="abcé", min_size=1, max_size=3), st.integers(1, 5))
def test_completions_are_the_most_frequent_words_with_the_prefix(tmp_path_factory, counted, prefix, n):
    path = tmp_path_factory.mktemp("completions") / "t.spelling"
    write_table(path, counted, 10)
    expected = sorted((w for w, _ in counted if w.startswith(prefix)), key=lambda w: (-dict(counted)[w], w))[:n]
    assert completions(prefix, [SpellingTable(path)], n) == expected


def test_completions_add_up_the_counts_of_every_segment(tmp_path):
    write_table(tmp_path / "a.spelling", [("bundesregierung", 3), ("bundesrat", 5)], 10)
    write_table(tmp_path / "b.spelling", [("bundesregierung", 4), ("bundesliga", 6)], 10)
    tables = [SpellingTable(tmp_path / "a.spelling"), SpellingTable(tmp_path / "b.spelling")]
    assert completions("bundesr", tables, 5) == ["bundesregierung", "bundesrat"]  # 7 articles, then 5
    assert completions("bundes", tables, 2) == ["bundesregierung", "bundesliga"]
