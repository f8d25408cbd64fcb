"""The web service's settings, declared once: defaults, environment variables
and help all come from this table (the README's web-service section lists
them too)."""

from __future__ import annotations

import math
import os
from typing import Any, NamedTuple

from search.errors import SearchError
from search.limits import Limits

_LIMITS = Limits()
_HELP = Limits.help()


class Setting(NamedTuple):
    name: str
    default: Any
    env: str
    help: str


SETTINGS = (
    Setting("INDEX_DIR", "index", "SEARCH_INDEX_DIR", "Where the index is: a folder (Whoosh), or an OpenSearch cluster and index as opensearch+https://host:9200/articles."),
    Setting("KEYS_DIR", "", "SEARCH_KEYS_DIR", "Folder of the keys that allow writes (search keys create); empty: the index folder (with OpenSearch: ./keys)."),
    Setting("CORS_ORIGINS", "*", "SEARCH_CORS_ORIGINS", "Origins allowed to call the API: * or a comma-separated list."),
    Setting("PER_PAGE", 10, "SEARCH_PER_PAGE", "Results per page unless a request asks otherwise."),
    Setting("MAX_PER_PAGE", _LIMITS.per_page, "SEARCH_MAX_PER_PAGE", _HELP["per_page"]),
    Setting("MAX_QUERY_CHARS", _LIMITS.query_chars, "SEARCH_MAX_QUERY_CHARS", _HELP["query_chars"]),
    Setting("MAX_DEPTH", _LIMITS.depth, "SEARCH_MAX_DEPTH", _HELP["depth"]),
    Setting("SEARCH_SECONDS", _LIMITS.seconds, "SEARCH_SECONDS", _HELP["seconds"]),
    Setting("READ_NEEDS_KEY", 0, "SEARCH_READ_NEEDS_KEY", "1: searching and reading articles (pages and API) need a key too, as Bearer or as the password of HTTP Basic authentication; 0: reading is open (writes always need one)."),
    Setting("MAX_WRITE_BYTES", 16 * 1024 * 1024, "SEARCH_MAX_WRITE_BYTES", "Largest body of a write (POST or PUT of articles), in bytes; other requests may carry 64 KB."),
    Setting("REFRESH_SECONDS", 0.0, "SEARCH_REFRESH_SECONDS", "Seconds a searcher may go without checking the index for changes; 0: before every search."),
    Setting("MEANING", 1, "SEARCH_MEANING", "1: plain-word queries are also searched by meaning, across languages, where the index has vectors (search index computes them); 0: keywords only."),
    Setting("WORKERS", 0, "SEARCH_WORKERS", "Processes that run searches; 0: the serving process searches (search serve starts one per core)."),
    # What one client may use: searches cost compute, not keystrokes (limits.py).
    Setting("RATE_LIMIT", "600 per minute", "SEARCH_RATE_LIMIT", "Requests per client to the pages and API calls that search, against floods (empty: no limit), e.g. '600 per minute; 5000 per hour'."),
    Setting("TIME_BUDGET", 30.0, "SEARCH_TIME_BUDGET", "Seconds of search computing per client per minute (0: no limit)."),
    Setting("CONCURRENT_SEARCHES", 2, "SEARCH_CONCURRENT_SEARCHES", "Searches one client may have running at once (0: no limit); with several search workers, at most one fewer than them."),
    # Connections (server.py).
    Setting("MAX_CONNECTIONS", 1000, "SEARCH_MAX_CONNECTIONS", "Open connections in all; when full, the one waiting longest for its client is closed."),
    Setting("CONNECTIONS_PER_CLIENT", 32, "SEARCH_CONNECTIONS_PER_CLIENT", "Open connections per client address (0: no limit; not applied behind trusted proxies)."),
    Setting("REQUEST_TIMEOUT", 10.0, "SEARCH_REQUEST_TIMEOUT", "Seconds a client has to send a whole request, and to take each part of the answer."),
    Setting("IDLE_TIMEOUT", 30.0, "SEARCH_IDLE_TIMEOUT", "Seconds a kept-alive connection may stay idle between requests."),
    # Who is asking, and under which name (security.py).
    Setting("PUBLIC_URL", "", "SEARCH_PUBLIC_URL", "The address readers reach the service at, e.g. https://search.example.org; links in /opensearch.xml, /openapi.json and /embed use it (empty: the request's own host, once trusted)."),
    Setting("ALLOWED_HOSTS", "", "SEARCH_ALLOWED_HOSTS", "Host names the service answers to besides localhost, the address it listens on and PUBLIC_URL's host (comma-separated; '.example.org': it and its subdomains)."),
    Setting("TRUSTED_PROXIES", 0, "SEARCH_TRUSTED_PROXIES", "Reverse proxies in front of the service whose X-Forwarded-For/-Host/-Proto headers are believed (0: the headers are ignored)."),
)


class SettingError(SearchError, ValueError):
    """An environment variable that cannot be read as its setting's type
    (a SearchError, so `search serve` reports it in one line)."""


def from_environment() -> dict[str, Any]:
    """Defaults, overridden by environment variables (converted to the default's type)."""
    config = {}
    for s in SETTINGS:
        raw = os.environ.get(s.env)
        config[s.name] = s.default if raw is None else _parse(s, raw)
    return config


def _parse(setting: Setting, raw: str) -> Any:
    """A variable's value as its setting's type; numbers must be finite and 0 or more."""
    if isinstance(setting.default, str):
        return raw
    try:
        value = type(setting.default)(raw.strip())
    except ValueError:
        value = -1
    if not (0 <= value < math.inf):
        kind = "a whole number" if isinstance(setting.default, int) else "a number"
        raise SettingError(f"{setting.env} must be {kind}, 0 or more; not {raw!r}. ({setting.help})")
    return value
