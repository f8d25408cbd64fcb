"""Where a phrase stands in a text: its words in order, each at most `slop`
positions after the one before ("words"~slop; 1: side by side).

One definition for ranking (does an article have the phrase?) and snippets
(which words to mark), the same as Whoosh's own phrase matcher (SpanNear2,
ordered, mindist 1), which the tests compare it with. Whoosh builds every
partial occurrence, which grows with the square of the slop; here each word's
positions are passed over twice, whatever the slop.

That is still a pass per word of the phrase over all its positions: in an
article of one word repeated 250,000 times, a phrase of 64 of that word is
32 million steps. A `deadline` is checked after each pass, so a search
stops within one pass (a fraction of a second) of it.
"""

from __future__ import annotations

from bisect import bisect_left

from ...limits import Deadline


def occurrences(positions: list[list[int]], slop: int = 1, deadline: Deadline | None = None) -> set[int]:
    """The positions of the words of every occurrence of a phrase, given each
    word's positions (ascending); empty where the phrase does not occur.
    Raises SearchTimeout once past `deadline`."""
    check = deadline.check if deadline else lambda: None
    # Forward: where each word can stand, after the words before it.
    reached = [positions[0]]
    for following in positions[1:]:
        check()
        before = reached[-1]
        reached.append([p for p in following if _any_between(before, p - slop, p - 1)])
    if not reached[-1]:
        return set()
    # Backward: of those, where the words after it can still follow.
    found = set(reached[-1])
    after = reached[-1]
    for layer in reversed(reached[:-1]):
        check()
        after = [p for p in layer if _any_between(after, p + 1, p + slop)]
        found.update(after)
    return found


def _any_between(ascending: list[int], low: int, high: int) -> bool:
    i = bisect_left(ascending, low)
    return i < len(ascending) and ascending[i] <= high
