"""The web app's settings, declared once: defaults, environment variables and
help all come from this table."""

from __future__ import annotations

import os
from typing import Any, NamedTuple

from search.limits import Limits

_LIMITS = Limits()
_HELP = Limits.help()


class Setting(NamedTuple):
    name: str
    default: Any
    env: str
    help: str


SETTINGS = (
    Setting("INDEX_DIR", "index", "SEARCH_INDEX_DIR", "Folder of the search index."),
    Setting("CORS_ORIGINS", "*", "SEARCH_CORS_ORIGINS", "Origins allowed to call the API: * or a comma-separated list."),
    Setting("PER_PAGE", 10, "SEARCH_PER_PAGE", "Results per page unless a request asks otherwise."),
    Setting("MAX_PER_PAGE", _LIMITS.per_page, "SEARCH_MAX_PER_PAGE", _HELP["per_page"]),
    Setting("MAX_QUERY_CHARS", _LIMITS.query_chars, "SEARCH_MAX_QUERY_CHARS", _HELP["query_chars"]),
    Setting("RATE_LIMIT", "120 per minute", "SEARCH_RATE_LIMIT", "Searches per client (empty: no limit), e.g. '120 per minute; 2000 per hour'."),
    Setting("MAX_DEPTH", _LIMITS.depth, "SEARCH_MAX_DEPTH", _HELP["depth"]),
    Setting("SEARCH_SECONDS", _LIMITS.seconds, "SEARCH_SECONDS", _HELP["seconds"]),
    Setting("REFRESH_SECONDS", 0.0, "SEARCH_REFRESH_SECONDS", "Seconds a searcher may go without checking the index for changes; 0: before every search."),
    Setting("WORKERS", 0, "SEARCH_WORKERS", "Processes that run searches; 0: the serving process searches (search serve starts one per core)."),
)


def from_environment() -> dict[str, Any]:
    """Defaults, overridden by environment variables (converted to the default's type)."""
    config = {}
    for s in SETTINGS:
        raw = os.environ.get(s.env)
        config[s.name] = s.default if raw is None else type(s.default)(raw)
    return config
