"""phrases.occurrences against its definition, spelled out by brute force."""

from itertools import product

from hypothesis import given, settings, strategies as st

from search.engines.whoosh.phrases import occurrences

positions = st.lists(st.integers(0, 30), min_size=0, max_size=6, unique=True).map(sorted)


@settings(max_examples=400)
@given(st.lists(positions, min_size=1, max_size=4), st.integers(1, 6))
def test_marks_exactly_the_words_of_every_occurrence(words, slop):
    """An occurrence: one position per word, each 1 to `slop` after the one before."""
    expected = set()
    for chain in product(*words):
        if all(1 <= b - a <= slop for a, b in zip(chain, chain[1:])):
            expected.update(chain)
    assert occurrences(words, slop) == expected


def test_a_huge_slop_over_a_long_text():
    every = list(range(0, 20_000, 2))
    assert len(occurrences([every, every, every, every], 10_000)) == len(every)
