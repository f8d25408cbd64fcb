"""One family of errors, translated at the edges (CLI messages, HTTP 4xx)."""


class SearchError(Exception):
    """Base class: a problem the user can understand and fix. `code` names
    the kind of problem for programs (the JSON API's error code)."""

    code = "error"
    worker_seconds = 0.0
    """Computing a failed search took outside the calling thread (see
    SearchResults.worker_seconds): a search stopped at its deadline cost
    the most of all, and is charged too."""


class UnknownLanguage(SearchError, ValueError):
    pass


class BadQuery(SearchError, ValueError):
    """The query cannot be run as written (the message says why)."""

    code = "bad_query"


class EmptyQuery(BadQuery):
    code = "empty_query"


class QueryTooLong(BadQuery):
    code = "query_too_long"


class IndexNotFound(SearchError):
    pass


class IndexOutdated(SearchError):
    """The index was built by another analyzer or program version."""


class IndexBusy(SearchError):
    """Another process is writing the index."""


class IndexWriteError(SearchError):
    """The index folder cannot be written (disk full, read-only, ...)."""


class SearchTimeout(BadQuery):
    """A search ran past its deadline and was stopped (too costly as asked)."""

    code = "search_timeout"


class EngineUnavailable(SearchError):
    """The engine cannot answer now (restarting, a worker lost, a cluster
    unreachable): try again in a moment."""
    code = "unavailable"
