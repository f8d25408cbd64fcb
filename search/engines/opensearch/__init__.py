"""The OpenSearch engine: articles in an OpenSearch cluster, for collections
or traffic one machine cannot carry. The name in the address is an alias
(aliases.py) for the concrete index, so that a rebuild replaces it at once.

Its modules, one concern each: connection (address, client, errors),
mapping (fields and analysis), articles (documents), aliases (indexes and
rebuilds), lock (one writer), bulk and writing (updates), syntax and dsl
(the query language), searching (searches and facets), marks (highlights).
Every use of OpenSearch is in this package.

Unlike the Whoosh engine it does not search by meaning (no vectors: the
cluster has no k-NN plugin), nor fold near-duplicates, nor weigh
languages by the query's words.
"""

from __future__ import annotations

import math
import os
import time
from typing import Callable, Iterable

from ...dates import date_filters
from ...documents import Article
from ...engine import Engine, Health, Progress, Related, SearchRequest
from ...errors import SearchError
from ...languages import LANGUAGES, NEUTRAL
from ...limits import Deadline, Limits
from ...results import IndexReport, IndexStats, SearchResults
from ...sources import display_names
from . import aliases, marks
from .articles import doc_key, from_document
from .connection import connect, not_found, parse_address, translated
from .dsl import build
from .lock import writer_lock
from .searching import Search
from .syntax import parse
from .writing import Writer

__all__ = ["OpenSearchEngine"]

HEALTH_SECONDS = 5.0
SOURCE_NAMES_SECONDS = 60.0
SOURCES_PAGE = 1000


class OpenSearchEngine(Engine):
    """The index `name` of the cluster at `address` (`http(s)://host:port/name`,
    see connection.Address). New indexes get `shards` primary shards, each
    with `replicas` copies on other nodes."""

    def __init__(self, address: str, limits: Limits = Limits(), shards: int = 2, replicas: int = 1):
        try:
            self.address = parse_address(address)
        except ValueError as exc:
            raise SearchError(str(exc)) from None
        self.alias = self.address.name
        self.location = self.address.location
        self.limits = limits
        self.client = connect(self.address)
        self.writer = Writer(self.client, self.alias, self.location, shards, replicas, grace=limits.seconds)
        self._checked = False  # whether the live index was found of this program's version
        self._source_names: tuple[float, dict[str, str]] = (-math.inf, {})

    def exists(self) -> bool:
        with translated(self.location):
            return bool(self.client.indices.exists(index=self.alias))

    def create(self) -> None:
        with translated(self.location):
            if aliases.live(self.client, self.alias) is None:
                with writer_lock(self.client, self.alias, self.location):
                    if aliases.live(self.client, self.alias) is None:
                        aliases.new_index(self.client, self.alias, self.writer.shards, self.writer.replicas,
                                          aliased=True)
            self._check()

    def _check(self) -> None:
        """Refuse (IndexOutdated) an index this program would misread; once."""
        if not self._checked:
            self.writer.live()
            self._checked = True

    def search(self, request: SearchRequest, deadline: Deadline | None = None) -> SearchResults:
        deadline = deadline or Deadline(self.limits.seconds)
        with translated(self.location, searching=True):
            self._check()
        return Search(self.client, self.alias, self.location, request, self.limits, deadline).run()

    def article(self, doc_id: str) -> Article | None:
        with translated(self.location):
            found = self.client.get(index=self.alias, id=doc_key(doc_id), ignore=404)
        if "index_not_found" in str(found.get("error")):
            raise not_found(self.location)
        doc = found.get("_source") if found.get("found") else None
        return from_document(doc) if doc and doc.get("id") == doc_id else None

    def marked(self, article: Article, text: str) -> tuple[str, str]:
        """The article's title and body escaped, the query's words marked by
        the highlighter over the indexed article; unmarked when the query
        marks nothing or cannot be run."""
        lang = article.lang if article.lang in LANGUAGES else NEUTRAL
        try:
            built = build(parse(date_filters(text)[0], self.limits), (lang,)) if text.strip() else None
            query = built.marked.get(lang) if built else None
            highlighted = self._highlighted(article.id, query, lang) if query else {}
        except SearchError:
            highlighted = {}
        return (marks.marked_text(article.title, highlighted, [f"title_{lang}", f"title_{lang}.exact"]),
                marks.marked_text(article.body, highlighted, [f"body_{lang}", f"body_{lang}.exact"]))

    def _highlighted(self, doc_id: str, query: dict, lang: str) -> dict:
        body = {"query": {"ids": {"values": [doc_key(doc_id)]}}, "_source": False,
                "highlight": marks.whole(query, lang)}
        with translated(self.location, searching=True):
            found = self.client.search(index=self.alias, body=body, request_timeout=self.limits.seconds)
        hits = found["hits"]["hits"]
        return hits[0].get("highlight", {}) if hits else {}

    def related(self, doc_id: str) -> Related | None:
        return None  # no search by meaning in this engine (yet)

    def update(self, paths: Iterable[str | os.PathLike], rebuild: bool = False,
               on_progress: Callable[[Progress], None] | None = None, workers: int | None = None,
               embeddings: bool = True, wait: float = 0.0) -> IndexReport:
        """See Engine.update; `workers` and `embeddings` do not apply (the
        cluster analyzes; there are no vectors)."""
        with translated(self.location), writer_lock(self.client, self.alias, self.location, wait):
            report = self.writer.update(paths, rebuild, on_progress)
        self._checked = False
        return report

    def put(self, articles: list[Article], wait: float = 0.0) -> IndexReport:
        with translated(self.location):
            self.writer.live()  # IndexNotFound before any lock is taken
            with writer_lock(self.client, self.alias, self.location, wait):
                return self.writer.put(articles)

    def delete(self, ids: list[str], wait: float = 0.0) -> list[str]:
        with translated(self.location):
            self.writer.live()
            with writer_lock(self.client, self.alias, self.location, wait):
                return self.writer.delete(ids)

    def stats(self) -> IndexStats:
        with translated(self.location):
            live = self.writer.live()
            meta = aliases.meta(self.client, live)
            found = self.client.search(index=live, body={
                "size": 0, "track_total_hits": True, "aggs": {"langs": {"terms": {"field": "lang", "size": 10}}}})
            store = self.client.indices.stats(index=live, metric="store")["indices"][live]["primaries"]["store"]
        counts = {b["key"]: b["doc_count"] for b in found["aggregations"]["langs"]["buckets"]}
        return IndexStats(
            documents=found["hits"]["total"]["value"],
            languages={code: counts[code] for code in LANGUAGES if code in counts},
            size_bytes=store["size_in_bytes"],
            analyzer_version=meta.get("analysis", ""),
            created=meta.get("created", ""),
            updated=meta.get("updated", ""),
            path=self.location,
        )

    def health(self) -> Health:
        """Ok when the cluster can serve every shard (green or yellow) and the index exists."""
        try:
            with translated(self.location):
                status = self.client.cluster.health(request_timeout=HEALTH_SECONDS)["status"]
                live = aliases.live(self.client, self.alias)
                if live is None:
                    return Health(False, detail=f"cluster {status}, no index {self.alias}")
                documents = self.client.count(index=self.alias, request_timeout=HEALTH_SECONDS)["count"]
        except SearchError as exc:
            return Health(False, detail=str(exc))
        return Health(status in ("green", "yellow"), documents, f"cluster {status}, index {live}")

    def source_names(self) -> dict[str, str]:
        """Each source's name to show (see sources.display_names), as read at
        most SOURCE_NAMES_SECONDS ago: every article page shows one, and
        reading them pages through every source (a second at 30,000)."""
        read_at, names = self._source_names
        if time.monotonic() - read_at > SOURCE_NAMES_SECONDS:
            names = self._read_source_names()
            self._source_names = (time.monotonic(), names)
        return names

    def _read_source_names(self) -> dict[str, str]:
        """The name each source's articles give most often, a page of sources at a time."""
        sources: list[str] = []
        given: list[str] = []
        after = None
        by_count = [{"_count": "desc"}, {"_key": "asc"}]
        with translated(self.location):
            while True:
                composite = {"size": SOURCES_PAGE, "sources": [{"source": {"terms": {"field": "source"}}}]}
                if after:
                    composite["after"] = after
                found = self.client.search(index=self.alias, body={"size": 0, "aggs": {"sources": {
                    "composite": composite,
                    "aggs": {"name": {"terms": {"field": "source_name", "size": 1, "order": by_count}}}}}})
                page = found["aggregations"]["sources"]
                for bucket in page["buckets"]:
                    sources.append(bucket["key"]["source"])
                    names = bucket["name"]["buckets"]
                    given.append(names[0]["key"] if names else "")
                after = page.get("after_key")
                if not page["buckets"] or after is None:
                    return display_names(sources, given)

    def close(self) -> None:
        self.client.close()
