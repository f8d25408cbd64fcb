"""What one search may ask for and spend: the limits, declared once, and the
deadline that bounds a search's time from start to finish.

Every limit is measured on what the search actually works on (the query
after Unicode normalization, where one character can become eighteen), and
every step of a search (parsing, wildcard expansion, scoring, facets,
snippets, spelling suggestions) runs under one Deadline, so no query can
cost much more than `Limits.seconds`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, fields

from .errors import SearchTimeout


def _limit(default, help: str):
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class Limits:
    query_chars: int = _limit(500, "Longest query, counted after Unicode (NFKC) normalization.")
    words: int = _limit(64, "Most words in one query, as analyzed (each word of a phrase or a hyphenated word counts), wildcards and filters included.")
    per_page: int = _limit(50, "Most results on one page.")
    depth: int = _limit(1000, "No page may reach past this many results (deep pages cost a full sort).")
    expansions: int = _limit(1000, "Most different words a wildcard may stand for.")
    seconds: float = _limit(5.0, "Time a search may take from start to finish before it is stopped.")

    @classmethod
    def help(cls) -> dict[str, str]:
        """Each limit's meaning, for help texts and the API description."""
        return {f.name: f.metadata["help"] for f in fields(cls)}


class Deadline:
    """A point in time (on the system-wide monotonic clock, so a search
    handed to a worker process keeps the deadline its request started) after
    which a search stops with SearchTimeout."""

    def __init__(self, seconds: float, start: float | None = None):
        self.seconds = seconds
        self.at = (time.monotonic() if start is None else start) + seconds

    def passed(self) -> bool:
        return time.monotonic() > self.at

    def check(self) -> None:
        """Raise SearchTimeout once the deadline has passed."""
        if time.monotonic() > self.at:
            raise SearchTimeout(
                f"The search took longer than {self.seconds:g} s and was stopped; "
                "use fewer or more specific words."
            )
