"""Sources as readers see them: a record's `source` is an identifier
(`feeds.nos.nl`, `aleqtisadiya`), which filters match; what is shown is the
name a record gives in `source_name`, else a clean form of the identifier."""

from __future__ import annotations

import re
from collections import Counter

_PREFIXES = re.compile(r"^(?:https?://)?(?:(?:www|feeds?|rss|m|mobile)\.)?", re.I)


def clean_name(identifier: str) -> str:
    """`identifier` made readable: a host without its scheme and its www.,
    feeds. or rss. (`feeds.nos.nl` -> `nos.nl`); a bare word capitalized,
    its underscores and hyphens spaces (`al_riyadh` -> `Al Riyadh`)."""
    name = _PREFIXES.sub("", identifier.strip()).rstrip("/")
    if "." in name:
        return name.lower()
    words = re.split(r"[_\-\s]+", name)
    return " ".join(w[:1].upper() + w[1:] for w in words if w) or identifier


def display_names(sources: list[str], given: list[str]) -> dict[str, str]:
    """Each source identifier's name: the name its articles give most often
    (per article, "" for none; on a tie the first in alphabetical order),
    else its clean form."""
    counts = Counter((source, name) for source, name in zip(sources, given) if source and name)
    names = {source: clean_name(source) for source in set(sources) - {""}}
    for (source, name), _ in sorted(counts.items(), key=lambda item: (-item[1], item[0][1]), reverse=True):
        names[source] = name  # the most frequent comes last, and stays
    return names
