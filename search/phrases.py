"""Where a phrase stands in a text: its words in order, each at most `slop`
positions after the one before ("words"~slop; 1: side by side).

One definition for ranking (does an article have the phrase?) and snippets
(which words to mark), the same as Whoosh's own phrase matcher (SpanNear2,
ordered, mindist 1), which the tests compare it with.
"""

from __future__ import annotations

from bisect import bisect_right


def occurrences(positions: list[list[int]], slop: int = 1) -> set[int]:
    """The positions of the words of every occurrence of a phrase, given each
    word's positions (ascending); empty where the phrase does not occur."""
    # (start, end) of each partial occurrence -> the positions of its words
    found: dict[tuple[int, int], set[int]] = {(p, p): {p} for p in positions[0]}
    for following in positions[1:]:
        joined: dict[tuple[int, int], set[int]] = {}
        for (start, end), words in found.items():
            for p in following[bisect_right(following, end) : bisect_right(following, end + slop)]:
                joined.setdefault((start, p), set()).update(words, (p,))
        if not joined:
            return set()
        found = joined
    return set().union(*found.values())
