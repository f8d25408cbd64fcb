"""Searchers for the web app: one per thread, kept open between requests and
reopened when the index changes, so new articles appear without a restart
and no request sees a half-written index; and worker processes that run the
searches themselves, which stop the moment the server does."""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import os
import signal
import threading
import time
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from flask import Flask, current_app, g
from werkzeug.exceptions import ServiceUnavailable
from whoosh.searching import Searcher

from search.errors import SearchError
from search.index import Index
from search.results import SearchResults
from search.searching import search
from search.processes import die_with_parent, worker_count


class SearcherCache:
    """Checking the index costs about 30 µs (a read of CURRENT and a directory
    listing), so by default it happens before every search: once `search
    index` has returned, every thread and worker sees its articles, and no
    page goes back to the old index after another has shown the new one.
    `refresh_seconds` spaces the checks out for slow (network) file systems."""

    def __init__(self, index: Index, refresh_seconds: float = 0.0):
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

    def search(self, meaning: bool, **params) -> SearchResults:
        """`search.searching.search` with this thread's searcher, and the
        index's vectors when `meaning` is wanted."""
        def run(searcher: Searcher) -> SearchResults:
            return search(searcher, vectors=self.index.vectors() if meaning else None, **params)

        searcher = self.get()
        try:
            return run(searcher)
        except SearchError:
            raise
        except Exception:
            if searcher.up_to_date():
                raise
            # A commit (a write over HTTP, an indexing run) merged away segments
            # whose files this searcher had yet to open: search the new index.
            self._local.checked = -math.inf
            return run(self.get())


def default_workers() -> int:
    """One search process per core; none on a single core, where one would
    only add the cost of handing searches over."""
    cores = worker_count()
    return cores if cores > 1 else 0


class SearchPool:
    """Runs searches in worker processes.

    Searching is Python computing, and with the GIL the threads of one
    process search one at a time, on one core. Worker processes, one per
    core, search in parallel; each search goes to whichever worker is free.
    Serving processes that each accepted their own connections would keep a
    client's keep-alive connection on one busy process while another idles,
    and would count rate limits apart: here requests, rate limits and pages
    stay in the serving process, and only the search is handed over. Each
    worker keeps its own searcher and caches.
    """

    def __init__(self, index_dir: str, refresh_seconds: float, workers: int):
        self.index_dir = index_dir
        self.refresh_seconds = refresh_seconds
        self.workers = workers
        self._lock = threading.Lock()
        self._executor: ProcessPoolExecutor | None = None
        self._stopped = False

    def search(self, **params) -> tuple[SearchResults | SearchError, float]:
        """The results (or the error that stopped the search), and the seconds
        of computing the search took in its worker."""
        executor = self._get_executor()
        try:
            return executor.submit(_search, **params).result()
        except BrokenProcessPool:  # a worker died (killed, out of memory...): start new ones, once
            self._replace(executor)
            return self._get_executor().submit(_search, **params).result()
        except CancelledError:  # only stop() cancels
            raise self._stopping() from None

    def stop(self) -> None:
        """Kill the workers now, whatever they are running: a server told to
        stop must not wait for searches that may take seconds. Searches not
        finished are answered 503."""
        with self._lock:
            self._stopped = True
            executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = list(executor._processes.values())  # no public way to kill them before Python 3.14
        with contextlib.suppress(OSError):  # 3.11 raises if its manager thread has already seen a worker die
            executor.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.kill()

    def start(self) -> None:
        """Start the workers and open their searchers now rather than on the
        first searches."""
        executor = self._get_executor()
        for future in [executor.submit(_open_searcher) for _ in range(self.workers)]:
            future.result()

    def _get_executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._stopped:
                raise self._stopping()
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.workers,
                    mp_context=multiprocessing.get_context("spawn"),  # forking a process with threads is unsafe
                    initializer=_start_worker,
                    initargs=(self.index_dir, self.refresh_seconds, os.getpid()),
                )
            return self._executor

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is broken:
                self._executor = None
        broken.shutdown(wait=False)

    @staticmethod
    def _stopping() -> ServiceUnavailable:
        return ServiceUnavailable("The service is restarting; please try again in a moment.")


_worker_searchers: SearcherCache | None = None
"""In a worker process: its searcher."""


def _start_worker(index_dir: str, refresh_seconds: float, server: int) -> None:
    global _worker_searchers
    die_with_parent(server)  # a server killed outright leaves no worker behind
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches every process: the server alone decides, and stops us
    _worker_searchers = SearcherCache(Index(index_dir), refresh_seconds)


def _open_searcher() -> None:
    _worker_searchers.get()


def _search(meaning: bool, **params) -> tuple[SearchResults | SearchError, float]:
    """The results (or the error that stopped the search) and their cost:
    this worker's computing time, which does not include the time the search
    waited for a free worker. A search stopped at its deadline cost the most
    of all, and is charged too. The time is the whole process's: a worker
    runs one search at a time, and embedding its query (meaning.py) runs in
    a thread of its own."""
    started = time.process_time()
    try:
        outcome: SearchResults | SearchError = _worker_searchers.search(meaning, **params)
    except SearchError as exc:
        outcome = exc
    return outcome, time.process_time() - started


def init_app(app: Flask) -> None:
    index = Index(app.config["INDEX_DIR"])
    refresh = float(app.config["REFRESH_SECONDS"])
    app.extensions["searchers"] = SearcherCache(index, refresh)
    workers = int(app.config["WORKERS"])
    app.extensions["search_pool"] = SearchPool(app.config["INDEX_DIR"], refresh, workers) if workers else None


def start_workers(app: Flask) -> None:
    """Start the app's search processes, if it has them, before serving."""
    if app.extensions["search_pool"]:
        app.extensions["search_pool"].start()


def stop_workers(app: Flask) -> None:
    """Kill the app's search processes, if it has them, at once."""
    if app.extensions["search_pool"]:
        app.extensions["search_pool"].stop()


def get_searcher() -> Searcher:
    return current_app.extensions["searchers"].get()


def get_index() -> Index:
    return current_app.extensions["searchers"].index


def run_search(**params) -> SearchResults:
    """`search.searching.search` with the app's index, in a worker process
    when the app has them. A worker's computing time is added to
    `g.search_seconds`, which the time budget charges (limits.py); a search
    run here is counted with this thread's own time."""
    pool: SearchPool | None = current_app.extensions["search_pool"]
    meaning = bool(current_app.config["MEANING"])
    if not pool:
        return current_app.extensions["searchers"].search(meaning, **params)
    outcome, seconds = pool.search(meaning=meaning, **params)
    g.search_seconds = g.get("search_seconds", 0.0) + seconds
    if isinstance(outcome, SearchError):
        raise outcome
    return outcome
