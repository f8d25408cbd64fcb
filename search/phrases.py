"""Where a phrase stands in a text: its words in order, each at most `slop`
positions after the one before ("words"~slop; 1: side by side).

One definition for ranking (does an article have the phrase?) and snippets
(which words to mark), the same as Whoosh's own phrase matcher (SpanNear2,
ordered, mindist 1), which the tests compare it with. Whoosh builds every
partial occurrence, which grows with the square of the slop; here each word's
positions are passed over twice, whatever the slop.
"""

from __future__ import annotations

from bisect import bisect_left


def occurrences(positions: list[list[int]], slop: int = 1) -> set[int]:
    """The positions of the words of every occurrence of a phrase, given each
    word's positions (ascending); empty where the phrase does not occur."""
    # Forward: where each word can stand, after the words before it.
    reached = [positions[0]]
    for following in positions[1:]:
        before = reached[-1]
        reached.append([p for p in following if _any_between(before, p - slop, p - 1)])
    if not reached[-1]:
        return set()
    # Backward: of those, where the words after it can still follow.
    found = set(reached[-1])
    after = reached[-1]
    for layer in reversed(reached[:-1]):
        after = [p for p in layer if _any_between(after, p + 1, p + slop)]
        found.update(after)
    return found


def _any_between(ascending: list[int], low: int, high: int) -> bool:
    i = bisect_left(ascending, low)
    return i < len(ascending) and ascending[i] <= high
