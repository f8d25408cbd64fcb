"""Searchers: one per thread, kept open between searches and reopened when
the index changes, so new articles appear without a restart and no search
sees a half-written index; and worker processes that run the searches
themselves, which stop the moment the server does."""

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

from whoosh.searching import Searcher

from ...engine import SearchRequest
from ...errors import EngineUnavailable, SearchError
from ...limits import Deadline, Limits
from ...processes import die_with_parent
from ...results import SearchResults
from .index import Index
from .searching import search


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

    def search(self, request: SearchRequest, limits: Limits, deadline: Deadline) -> SearchResults:
        """The request's results with this thread's searcher."""
        def run(searcher: Searcher) -> SearchResults:
            return search(searcher, request.text, lang=request.lang, source=request.source, page=request.page,
                          per_page=request.per_page, snippets=request.snippets, limits=limits, deadline=deadline,
                          typing=request.typing, vectors=self.index.vectors() if request.meaning else None,
                          collapse=request.collapse, dates=request.dates, sort=request.sort)

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

    def close(self) -> None:
        """Close this thread's searcher (the next search opens another)."""
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None:
            searcher.close()
            self._local.searcher = None


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

    def search(self, *args) -> tuple[SearchResults | SearchError, float]:
        """The results of SearcherCache.search(*args) in a worker (or the
        error that stopped the search), and the seconds of computing the
        search took there."""
        executor = self._get_executor()
        try:
            return executor.submit(_search, *args).result()
        except BrokenProcessPool:  # a worker died (killed, out of memory...): start new ones, once
            self._replace(executor)
            return self._get_executor().submit(_search, *args).result()
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
    def _stopping() -> EngineUnavailable:
        return EngineUnavailable("The service is restarting; please try again in a moment.")


_worker_searchers: SearcherCache | None = None
"""In a worker process: its searcher."""


def _start_worker(index_dir: str, refresh_seconds: float, server: int) -> None:
    global _worker_searchers
    die_with_parent(server)  # a server killed outright leaves no worker behind
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl+C reaches every process: the server alone decides, and stops us
    _worker_searchers = SearcherCache(Index(index_dir), refresh_seconds)


def _open_searcher() -> None:
    _worker_searchers.get()


def _search(*args) -> tuple[SearchResults | SearchError, float]:
    """The results (or the error that stopped the search) and their cost:
    this worker's computing time, which does not include the time the search
    waited for a free worker. A search stopped at its deadline cost the most
    of all, and is charged too. The time is the whole process's: a worker
    runs one search at a time, and embedding its query (meaning.py) runs in
    a thread of its own."""
    started = time.process_time()
    try:
        outcome: SearchResults | SearchError = _worker_searchers.search(*args)
    except SearchError as exc:
        outcome = exc
    return outcome, time.process_time() - started
