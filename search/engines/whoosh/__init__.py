"""The embedded engine: a Whoosh index in a folder (index.py), scored,
highlighted and searched by meaning by our own code (searching.py and the
modules it uses). Every use of Whoosh is in this package."""

from __future__ import annotations

import os
from typing import Callable, Iterable

from ...documents import Article
from ...engine import Engine, Health, Progress, Related, SearchRequest
from ...errors import SearchError
from ...limits import Deadline, Limits
from ...results import IndexReport, IndexStats, SearchResults
from .index import Index, article_by_id
from .meaning import related
from .searching import mark_article, source_names
from .workers import SearchPool, SearcherCache

__all__ = ["WhooshEngine", "Index"]


class WhooshEngine(Engine):
    """A Whoosh index in the folder `path`. Searches run in `workers`
    processes (one per core is what `search serve` starts; 0: in the
    calling thread); each searcher looks for changes to the index before a
    search, or every `refresh_seconds`."""

    def __init__(self, path: str | os.PathLike, workers: int = 0, refresh_seconds: float = 0.0,
                 limits: Limits = Limits()):
        self.index = Index(path)
        self.limits = limits
        self.location = str(self.index.path)
        self.searchers = SearcherCache(self.index, refresh_seconds)
        self.pool = SearchPool(str(path), refresh_seconds, workers) if workers else None

    def exists(self) -> bool:
        return self.index.exists()

    def create(self) -> None:
        self.index.create()
        self.index.check_version()

    def search(self, request: SearchRequest, deadline: Deadline | None = None) -> SearchResults:
        deadline = deadline or Deadline(self.limits.seconds)
        if self.pool is None:
            return self.searchers.search(request, self.limits, deadline)
        outcome, seconds = self.pool.search(request, self.limits, deadline)
        outcome.worker_seconds = seconds
        if isinstance(outcome, SearchError):
            raise outcome
        return outcome

    def article(self, doc_id: str) -> Article | None:
        return article_by_id(self.searchers.get(), doc_id)

    def marked(self, article: Article, text: str) -> tuple[str, str]:
        return mark_article(article, text, self.limits)

    def related(self, doc_id: str) -> Related | None:
        vectors = self.index.vectors()
        found = related(self.searchers.get(), vectors, doc_id) if vectors is not None else None
        return None if found is None else Related(**found)

    def update(self, paths: Iterable[str | os.PathLike], rebuild: bool = False,
               on_progress: Callable[[Progress], None] | None = None, workers: int | None = None,
               embeddings: bool = True, wait: float = 0.0) -> IndexReport:
        return self.index.update(paths, rebuild=rebuild, on_progress=on_progress, workers=workers,
                                 embeddings=embeddings, wait=wait)

    def embed(self, workers: int | None = None, on_progress: Callable[[Progress], None] | None = None
              ) -> IndexReport:
        return self.index.embed(workers, on_progress)

    def put(self, articles: list[Article], wait: float = 0.0) -> IndexReport:
        return self.index.put(articles, wait=wait)

    def delete(self, ids: list[str], wait: float = 0.0) -> list[str]:
        return self.index.delete(ids, wait=wait)

    def stats(self) -> IndexStats:
        return self.index.stats()

    def health(self) -> Health:
        try:
            return Health(True, self.searchers.get().doc_count(), self.index.generation_name())
        except SearchError as exc:
            return Health(False, detail=str(exc))

    def source_names(self) -> dict[str, str]:
        return source_names(self.searchers.get())

    def start(self) -> None:
        if self.pool is not None:
            self.pool.start()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.stop()
        self.searchers.close()
