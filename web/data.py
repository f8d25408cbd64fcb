"""One function per page of data, used by both the HTML views and the JSON API."""

from __future__ import annotations

import time
from typing import Mapping

from flask import current_app, g

from search.dates import between
from search.errors import SearchError, UnknownLanguage
from search.languages import resolve
from search.engine import SORTS, Related, SearchRequest
from search.limits import Deadline
from search.results import SearchResults

from .errors import RequestError, from_library
from .engine import get_engine


def _int(args: Mapping[str, str], name: str, default: int, low: int, high: int | None = None) -> int:
    raw = args.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RequestError(f"{name} must be a whole number, not {raw!r}.", f"bad_{name}") from None
    if value < low or (high is not None and value > high):
        limit = f"between {low} and {high}" if high is not None else f"{low} or more"
        raise RequestError(f"{name} must be {limit}; got {value}.", f"bad_{name}")
    return value


def search_request(args: Mapping[str, str]) -> SearchRequest:
    """Validated search parameters from a query string (the query itself is
    checked by the library, after normalization)."""
    config = current_app.config
    q = args.get("q", "")
    lang = args.get("lang", "").strip() or None
    try:  # a code or a name, as everywhere: "de", "Deutsch", "german"
        lang = resolve(lang) if lang else None
    except UnknownLanguage as exc:
        raise RequestError(str(exc), "bad_lang") from None
    page = _int(args, "page", 1, 1)
    per_page = _int(args, "per_page", config["PER_PAGE"], 1, config["MAX_PER_PAGE"])
    if (page - 1) * per_page >= config["MAX_DEPTH"]:  # the page would start past the limit
        raise RequestError(f"Results are shown up to the {config['MAX_DEPTH']:,}th; refine the query instead.", "page_too_deep")
    sort = args.get("sort", "").strip() or SORTS[0]
    if sort not in SORTS:
        raise RequestError(f"sort must be one of: {', '.join(SORTS)}; got {sort!r}.", "bad_sort")
    try:
        dates = between(args.get("from", "").strip() or None, args.get("to", "").strip() or None)
    except SearchError as exc:
        raise RequestError(f"from and to: {from_library(exc).message}", "bad_date") from None
    return SearchRequest(
        text=q,
        lang=lang,
        source=args.get("source", "").strip() or None,
        page=page,
        per_page=per_page,
        typing=args.get("typing", "").strip().lower() in ("1", "true", "yes"),
        collapse=args.get("collapse", "").strip().lower() not in ("0", "false", "no"),
        dates=dates,
        sort=sort,
        meaning=bool(config["MEANING"]),
    )


def search_data(args: Mapping[str, str]) -> tuple[SearchResults, float]:
    """Run a search; returns the results and the time taken in milliseconds.
    Computing done elsewhere (a worker process, a cluster) is added to
    `g.search_seconds`, which the time budget charges (limits.py) besides
    this thread's own, whether the search succeeded or not."""
    request = search_request(args)
    engine = get_engine()
    started = time.perf_counter()
    try:  # one deadline for the whole search, wherever it runs
        results = engine.search(request, Deadline(engine.limits.seconds))
    except SearchError as exc:
        _charge(exc.worker_seconds)
        raise from_library(exc) from None
    _charge(results.worker_seconds)
    return results, round((time.perf_counter() - started) * 1000, 1)


def _charge(seconds: float) -> None:
    g.search_seconds = g.get("search_seconds", 0.0) + seconds


def related_articles(doc_id: str) -> Related | None:
    """An article's counterparts in other languages and its nearest articles
    in meaning; None when search by meaning is off or the article has no
    vector yet."""
    return get_engine().related(doc_id) if current_app.config["MEANING"] else None
