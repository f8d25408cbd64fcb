"""Searchers for the web app: one per worker thread, kept open between requests
and reopened when the index changes, so new articles appear without a restart
and no request sees a half-written index."""

from __future__ import annotations

import threading
import time

from flask import Flask, current_app
from whoosh.searching import Searcher

from search.index import Index


class SearcherCache:
    def __init__(self, index: Index, refresh_seconds: float = 1.0):
        self.index = index
        self.refresh_seconds = refresh_seconds
        self._local = threading.local()

    def get(self) -> Searcher:
        local = self._local
        now = time.monotonic()
        searcher: Searcher | None = getattr(local, "searcher", None)
        if searcher is not None and now - local.checked < self.refresh_seconds:
            return searcher
        generation = self.index.generation_name()
        changed = searcher is None or generation != local.generation or not searcher.up_to_date()
        # Reopen rather than Whoosh's refresh(), which shares segment readers
        # between old and new searchers and so cannot close the old one safely.
        fresh = self.index.open_searcher() if changed else searcher
        if searcher is not None and fresh is not searcher:
            searcher.close()
        local.searcher, local.generation, local.checked = fresh, generation, now
        return fresh


def init_app(app: Flask) -> None:
    index = Index(app.config["INDEX_DIR"])
    app.extensions["searchers"] = SearcherCache(index, float(app.config["REFRESH_SECONDS"]))


def get_searcher() -> Searcher:
    return current_app.extensions["searchers"].get()


def get_index() -> Index:
    return current_app.extensions["searchers"].index
