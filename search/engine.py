"""The engine interface: everything the CLI and the web app ask of a search
engine, in plain request and result types, so that another engine can serve
behind them. Two engines implement it: the embedded default, a Whoosh index
in a folder with our own scoring (engines/whoosh), and OpenSearch, for
collections or traffic one machine cannot carry (engines/opensearch).

`open_engine` picks one from where the index is: a folder for Whoosh,
`opensearch+https://host:9200/name` (or `+http`) for OpenSearch.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .dates import DateRange
from .documents import Article
from .limits import Deadline, Limits
from .results import Counterpart, IndexReport, IndexStats, SearchResults

SORTS = ("relevance", "newest")
"""How results may be ordered: best match first, or latest first."""


@dataclass(frozen=True)
class SearchRequest:
    """One search, as a reader or a program asks for it."""
    text: str
    lang: str | None = None
    """Only articles in this language (a code: see languages.resolve)."""
    source: str | None = None
    """Only articles from this source (matched case-insensitively)."""
    page: int = 1
    per_page: int = 10
    sort: str = SORTS[0]
    dates: DateRange = DateRange()
    """Only articles published in this range (and the query's `date:` filters)."""
    typing: bool = False
    """Results as the reader types: a last word not followed by a space also
    stands for the longer words it begins."""
    collapse: bool = True
    """Fold near-duplicates (the same story republished) into one result."""
    snippets: bool = True
    """Snippets with the matched words marked (without: ids and scores only)."""
    meaning: bool = True
    """Also search by meaning, across languages, where the engine can."""


@dataclass(frozen=True)
class Progress:
    """How far an `update` is, for a progress display: `done` of `total`
    units of work in the phase under way: "reading" files and analyzing
    their articles, "writing" them (Whoosh: segments, also while reading),
    "committing" (making them searchable), "embedding" (vectors, counted in
    passages), and "done" at the end. A unit of the first phases is a byte
    of input files (Whoosh weighs writing it out WRITE_COST more)."""
    phase: str
    done: int
    total: int


@dataclass
class Related:
    """An article's counterparts (the same story in each other language) and
    the articles nearest it in meaning."""
    counterparts: list[Counterpart] = field(default_factory=list)
    related: list[Counterpart] = field(default_factory=list)


@dataclass
class Health:
    """Whether the engine answers, for monitoring."""
    ok: bool
    documents: int = 0
    detail: str = ""
    """The generation or cluster status when ok, else what is wrong."""


class Engine(ABC):
    """A search engine holding articles in the four languages."""

    limits: Limits = Limits()
    """What one search may ask for and spend (see limits.py)."""
    location: str = ""
    """Where the index is, for messages: a folder, or a cluster and index name."""

    @abstractmethod
    def exists(self) -> bool:
        """Whether there is an index (perhaps empty) to search."""

    @abstractmethod
    def create(self) -> None:
        """Make an empty index if there is none, so that a service can start
        before any article is indexed; an existing one is checked to be of
        this program's version (IndexOutdated)."""

    @abstractmethod
    def search(self, request: SearchRequest, deadline: Deadline | None = None) -> SearchResults:
        """The request's page of results, facets and suggestion, within
        `deadline` (by default `limits.seconds` from now). Raises BadQuery
        (or SearchTimeout) for a query that cannot be run as asked."""

    @abstractmethod
    def article(self, doc_id: str) -> Article | None:
        """The article with this id, or None."""

    @abstractmethod
    def marked(self, article: Article, text: str) -> tuple[str, str]:
        """The article's title and body as safe HTML, the words of query
        `text` marked, for an article page reached from a result."""

    @abstractmethod
    def related(self, doc_id: str) -> Related | None:
        """The article's counterparts and nearest articles in meaning; None
        when the engine has no meaning for it (yet)."""

    @abstractmethod
    def update(self, paths: Iterable[str | os.PathLike], rebuild: bool = False,
               on_progress: Callable[[Progress], None] | None = None, workers: int | None = None,
               embeddings: bool = True, wait: float = 0.0) -> IndexReport:
        """Index the article files under `paths`: add new articles, update
        changed ones, remove those gone from their files; with `rebuild`, a
        fresh index that replaces the old one only once complete. Files that
        cannot be read are skipped and reported; the rest are indexed."""

    def embed(self, workers: int | None = None, on_progress: Callable[[Progress], None] | None = None
              ) -> IndexReport:
        """Compute what search by meaning needs for the articles that lack it
        (`update` does this unless told not to); engines that do not search
        by meaning have nothing to do."""
        return IndexReport()

    @abstractmethod
    def put(self, articles: list[Article], wait: float = 0.0) -> IndexReport:
        """Add or replace these articles (HTTP writes); searchable on return."""

    @abstractmethod
    def delete(self, ids: list[str], wait: float = 0.0) -> list[str]:
        """Remove these articles; the ids that were there."""

    @abstractmethod
    def stats(self) -> IndexStats:
        """Articles by language, size and dates of the index."""

    @abstractmethod
    def health(self) -> Health:
        """Whether searches can be answered now."""

    @abstractmethod
    def source_names(self) -> dict[str, str]:
        """The name to show for each source (see sources.py)."""

    def start(self) -> None:
        """Make ready to answer (open searchers, start workers) before the
        first request rather than during it."""

    def close(self) -> None:
        """Let go of what the engine holds (worker processes, connections)."""

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


OPENSEARCH = "opensearch+"
"""How an OpenSearch address begins: opensearch+https://host:9200/articles."""


def open_engine(where: str | os.PathLike, workers: int = 0, refresh_seconds: float = 0.0,
                limits: Limits = Limits()) -> Engine:
    """The engine for `where`: an OpenSearch address (see OPENSEARCH), else
    the folder of a Whoosh index. `workers`: processes that run searches
    (Whoosh; 0: the calling process searches); `refresh_seconds`: how long a
    searcher may go without looking for changes to the index."""
    if str(where).startswith(OPENSEARCH):
        from .engines.opensearch import OpenSearchEngine
        return OpenSearchEngine(str(where)[len(OPENSEARCH):], limits=limits)
    from .engines.whoosh import WhooshEngine
    return WhooshEngine(where, workers=workers, refresh_seconds=refresh_seconds, limits=limits)
