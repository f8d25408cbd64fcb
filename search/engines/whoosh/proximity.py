"""How close two words of a query stand in a text, for ranking: articles
where the words of a query stand together rank above ones where they are
scattered, and the words side by side in the order typed (the phrase) first.

One definition, used by ranking.py; Whoosh-free, like phrases.py.
"""

from __future__ import annotations

from bisect import bisect_left

WINDOW = 8
"""Words further apart than this do not count as standing together."""


def closeness(first: list[int], second: list[int], window: int = WINDOW) -> float:
    """1.0 when `second` follows `first` directly somewhere (positions,
    ascending: the phrase), quickly less the further apart they stand, and
    less again in the other order: 1/d² in the order typed, 1/(d+1)² the
    other way round, for the closest pair of occurrences (as in BM25TP,
    Rasolofo and Savoy 2003); 0.0 when no pair stands within `window`."""
    best = 0.0
    for p in first:
        i = bisect_left(second, p - window)
        while i < len(second) and second[i] <= p + window:
            d = second[i] - p
            if d > 0:
                best = max(best, 1 / d**2)
            elif d < 0:
                best = max(best, 1 / (1 - d) ** 2)
            if best == 1.0:
                return best
            i += 1
    return best
