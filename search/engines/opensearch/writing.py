"""Writing articles: updates and rebuilds from files, and writes over HTTP,
with the Whoosh engine's semantics (engines/whoosh/index.py): an update adds
new articles, replaces changed ones (their fingerprint or file differs) and
removes those no longer in a file that was read, or whose file is gone;
files that cannot be read are skipped and keep their articles; articles
posted over HTTP belong to no file, so no update removes them and a rebuild
carries them over. A rebuild fills a new concrete index and switches the
alias to it only once complete (aliases.py).

Callers hold the writer lock (lock.py).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from pathlib import Path
from typing import Callable, Iterable, Iterator

from opensearchpy import OpenSearch, helpers
from opensearchpy.exceptions import TransportError

from ...documents import (
    MAX_SKIPS_LISTED, POSTED, Article, FileRead, Skipped, article_language, is_gone, read_articles, total_bytes,
)
from ...languages import LANGUAGES
from ...engine import Progress
from ...results import IndexReport
from . import aliases, bulk
from .articles import doc_key, to_document
from .connection import not_found

SCAN_SIZE = 5000
"""Documents read per round trip when reading what an index holds."""
MGET_SIZE = 1000

Existing = dict[str, tuple[str, str]]
"""Article id -> (fingerprint, origin) of the articles an index holds."""
Note = tuple[str, str, str]
"""What a bulk action was, for the report should it be refused: (origin,
article id, what it counted as: "added", "updated", "unchanged", "removed")."""


class _Progress:
    REPORT_SECONDS = 0.1

    def __init__(self, total: int, on_progress: Callable[[Progress], None] | None):
        self.total, self.on_progress = total, on_progress
        self.done = 0
        self.shown = ("", 0.0)

    def read(self, nbytes: int) -> None:
        """read_articles' `on_bytes`."""
        self.done += nbytes
        self.report("reading")

    def report(self, phase: str) -> None:
        now = time.monotonic()
        if self.on_progress is None or (phase == self.shown[0] and now - self.shown[1] < self.REPORT_SECONDS):
            return
        self.shown = (phase, now)
        done = self.total if phase == "done" else min(self.done, self.total)
        self.on_progress(Progress(phase, done, self.total))


class Writer:
    """Writes to the index `alias` names. After a rebuild the old index is
    deleted `grace` seconds after the switch: searches that began on it
    (each within its deadline) finish first rather than fail."""

    def __init__(self, client: OpenSearch, alias: str, location: str, shards: int, replicas: int, grace: float):
        self.client, self.alias, self.location = client, alias, location
        self.shards, self.replicas, self.grace = shards, replicas, grace

    def live(self) -> str:
        """The concrete index written by put and delete; IndexNotFound without one."""
        live = aliases.live(self.client, self.alias)
        if live is None:
            raise not_found(self.location)
        aliases.check_version(self.client, live, self.location)
        return live

    def update(self, paths: Iterable[str | os.PathLike], rebuild: bool,
               on_progress: Callable[[Progress], None] | None) -> IndexReport:
        started = time.monotonic()
        roots = [Path(p) for p in paths]
        progress = _Progress(total_bytes(roots) if on_progress else 0, on_progress)
        aliases.remove_unaliased(self.client, self.alias)
        live = aliases.live(self.client, self.alias)
        if live is not None and not rebuild:
            aliases.check_version(self.client, live, self.location)
        fresh = rebuild or live is None
        target = aliases.new_index(self.client, self.alias, self.shards, self.replicas) if fresh else live
        switched = False
        try:
            report = self._write(target, roots, fresh, progress, carry_from=live if fresh else None)
            progress.report("committing")
            self.client.indices.refresh(index=target)  # searchable on return
            self.client.indices.flush(index=target)  # and on disk: a rebuild is durable before it goes live
            if not fresh:
                if report.changed:
                    aliases.touch(self.client, target)
            elif report.added or report.updated:
                aliases.switch(self.client, self.alias, live, target)
                report.rebuilt = switched = True
        finally:
            if fresh and not switched:
                self._drop(target)  # interrupted, or nothing readable: keep the index we have, or have none
        if switched and live is not None:
            time.sleep(self.grace)
            self._drop(live)
        report.seconds = round(time.monotonic() - started, 3)
        progress.report("done")
        return report

    def _drop(self, index: str) -> None:
        try:
            self.client.indices.delete(index=index, ignore_unavailable=True)
        except TransportError:
            pass  # the next writer removes it (aliases.remove_unaliased)

    def _write(self, target: str, roots: list[Path], fresh: bool, progress: _Progress,
               carry_from: str | None) -> IndexReport:
        """Index the articles under `roots` into `target`. A rebuild
        (`carry_from` the live index) keeps the articles posted over HTTP and
        those of the files and folders it could not read."""
        report = IndexReport()
        existing = {} if fresh else self._existing(target)
        written: Counter[str] = Counter()

        def actions() -> Iterator[tuple[dict, Note]]:
            seen: dict[str, str] = {}
            files_read: set[str] = set()
            unread: set[str] = set()
            duplicates: Counter[str] = Counter()  # per file
            for item in read_articles(roots, progress.read):
                if isinstance(item, Skipped):
                    report.skipped.append((item.path, item.reason))
                    if item.unread:
                        unread.add(item.unread)
                elif isinstance(item, FileRead):
                    files_read.add(item.path)
                elif not isinstance(item, Article):
                    continue  # FileUnchanged: not asked for (no stamps are kept)
                elif item.id in seen:
                    duplicates[item.origin] += 1
                    if duplicates[item.origin] <= MAX_SKIPS_LISTED:
                        report.skipped.append(
                            (item.origin, f"duplicate id {item.id!r} (first seen in {seen[item.id]})"))
                elif (action := self._indexed(target, item, existing, seen, report, written)) is not None:
                    yield action
            report.skipped += [(origin, f"{count - MAX_SKIPS_LISTED:,} more duplicate ids (the first "
                                        f"{MAX_SKIPS_LISTED} are listed)")
                               for origin, count in duplicates.items() if count > MAX_SKIPS_LISTED]
            if carry_from is not None:
                for found in self._carried(carry_from, unread | {POSTED}, seen):
                    report.unchanged += 1
                    yield ({"_op_type": "index", "_index": target, "_id": found["_id"], "_source": found["_source"]},
                           (found["_source"].get("origin", ""), found["_source"]["id"], "unchanged"))
            for doc_id, origin in _removed(existing, seen, files_read, roots):
                report.removed += 1
                yield {"_op_type": "delete", "_index": target, "_id": doc_key(doc_id)}, (origin, doc_id, "removed")

        for (origin, doc_id, counted), reason in bulk.write(self.client, actions(), self.location):
            setattr(report, counted, getattr(report, counted) - 1)
            report.skipped.append((origin, f"article {doc_id!r} not written: {reason}"))
        report.languages = {code: written[code] for code in LANGUAGES if written[code]}
        return report

    def _indexed(self, target: str, article: Article, existing: Existing, seen: dict[str, str], report: IndexReport,
                 written: Counter[str]) -> tuple[dict, Note] | None:
        """The bulk action that writes `article`, counted in the report;
        None when the index has it as it is."""
        seen[article.id] = article.origin
        fingerprint = article.fingerprint()
        old = existing.get(article.id)
        if old == (fingerprint, article.origin):
            report.unchanged += 1
            return None
        counted = "added" if old is None else "updated"
        setattr(report, counted, getattr(report, counted) + 1)
        published = article.published_key()
        report.count_written(article.title, article.body, article.date, published)
        lang = article_language(article)
        written[lang] += 1
        source = to_document(article, lang, fingerprint, published)
        return ({"_op_type": "index", "_index": target, "_id": doc_key(article.id), "_source": source},
                (article.origin, article.id, counted))

    def put(self, articles: list[Article]) -> IndexReport:
        """Add or replace `articles` (the last given of an id), as posted over
        HTTP; searchable on return."""
        started = time.monotonic()
        report = IndexReport()
        live = self.live()
        articles = list({article.id: article for article in articles}.values())
        existing = self._existing(live, [article.id for article in articles])
        seen: dict[str, str] = {}
        written: Counter[str] = Counter()
        actions = []
        for article in articles:
            article.origin = POSTED
            if (action := self._indexed(live, article, existing, seen, report, written)) is not None:
                actions.append(action)
        for (_, doc_id, counted), reason in bulk.write(self.client, actions, self.location, refresh="wait_for"):
            setattr(report, counted, getattr(report, counted) - 1)
            report.skipped.append((doc_id, f"not written: {reason}"))
        report.languages = {code: written[code] for code in LANGUAGES if written[code]}
        if report.changed:
            aliases.touch(self.client, live)
        report.seconds = round(time.monotonic() - started, 3)
        return report

    def delete(self, ids: list[str]) -> list[str]:
        """Remove the articles with these ids; the ids that were there."""
        live = self.live()
        existing = self._existing(live, ids)
        gone = [doc_id for doc_id in dict.fromkeys(ids) if doc_id in existing]
        if gone:
            actions = [({"_op_type": "delete", "_index": live, "_id": doc_key(doc_id)}, doc_id) for doc_id in gone]
            bulk.write(self.client, actions, self.location, refresh="wait_for")
            aliases.touch(self.client, live)
        return gone

    def _existing(self, index: str, ids: list[str] | None = None) -> Existing:
        """What `index` holds of every article (or of those with `ids`: a
        write over HTTP looks up its few articles rather than read every id)."""
        fields = ["id", "fingerprint", "origin"]
        if ids is None:
            found = (hit["_source"] for hit in helpers.scan(self.client, index=index, size=SCAN_SIZE, scroll="5m",
                                                            query={"_source": fields, "query": {"match_all": {}}}))
        else:
            keys = list(dict.fromkeys(map(doc_key, ids)))
            found = (doc["_source"] for start in range(0, len(keys), MGET_SIZE)
                     for doc in self.client.mget(index=index, body={"ids": keys[start:start + MGET_SIZE]},
                                                 _source_includes=fields)["docs"] if doc.get("found"))
        return {doc["id"]: (doc.get("fingerprint", ""), doc.get("origin", "")) for doc in found}

    def _carried(self, index: str, paths: set[str], skip_ids: dict[str, str]) -> Iterator[dict]:
        """The documents of `index` that came from the files `paths`, or from
        files under the folders `paths`, but those with ids in `skip_ids`."""
        wanted = [{"terms": {"origin": sorted(paths)}},
                  *({"prefix": {"origin": path + os.sep}} for path in sorted(paths))]
        query = {"query": {"bool": {"should": wanted, "minimum_should_match": 1}}}
        for hit in helpers.scan(self.client, index=index, size=SCAN_SIZE, scroll="5m", query=query):
            if hit["_source"]["id"] not in skip_ids:
                yield hit


def _removed(existing: Existing, seen: dict[str, str], files_read: set[str], roots: list[Path]
             ) -> list[tuple[str, str]]:
    """(id, origin) of the articles no longer in the file they came from, or
    whose file is gone (under a folder that was indexed). Articles of files
    that could not be read, or not even checked (in a folder that cannot be
    listed), stay; so do those posted over HTTP."""
    real = [(os.path.realpath(root), os.path.isdir(root)) for root in roots]
    folders = tuple(path + os.sep for path, folder in real if folder)
    files = {path for path, folder in real if not folder}
    gone: list[tuple[str, str]] = []
    for doc_id, (_, origin) in existing.items():
        if doc_id in seen or origin == POSTED:
            continue
        under_roots = origin.startswith(folders) or origin in files
        if origin in files_read or (under_roots and is_gone(origin)):
            gone.append((doc_id, origin))
    return gone
