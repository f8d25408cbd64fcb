"""Multilingual full-text search for news articles.

What a library user needs, engine-independent:

    from search import SearchRequest, open_engine

    with open_engine("index") as engine:   # or "opensearch+https://host:9200/articles"
        engine.update(["articles/"])
        for hit in engine.search(SearchRequest("Truppenabzug")).results:
            print(hit.lang, hit.title)
"""

__version__ = "0.1.0"

from .dates import DateRange, between  # noqa: E402  (after __version__, which the engines import)
from .documents import Article  # noqa: E402
from .engine import SORTS, Engine, Health, Related, SearchRequest, open_engine  # noqa: E402
from .errors import (  # noqa: E402
    BadQuery, EngineUnavailable, IndexBusy, IndexNotFound, IndexOutdated, SearchError, SearchTimeout,
)
from .languages import LANGUAGES  # noqa: E402
from .limits import Deadline, Limits  # noqa: E402
from .results import Counterpart, Hit, IndexReport, IndexStats, SearchResults  # noqa: E402

__all__ = [
    "Article", "BadQuery", "Counterpart", "DateRange", "Deadline", "Engine", "EngineUnavailable", "Health", "Hit",
    "IndexBusy", "IndexNotFound", "IndexOutdated", "IndexReport", "IndexStats", "LANGUAGES", "Limits", "Related",
    "SORTS", "SearchError", "SearchRequest", "SearchResults", "SearchTimeout", "between", "open_engine",
]
