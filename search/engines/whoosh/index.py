"""The index on disk: schema, generations, incremental updates and rebuilds.

Layout of an index folder:

    CURRENT        name of the live generation, replaced atomically
    gen-000001/    a complete Whoosh index plus meta.json (versions, times)
    .lock          held by the one process allowed to write

`--rebuild` writes a new generation beside the live one and switches CURRENT
only once it is complete, so searches never see a half-built index and an
interrupted rebuild leaves the previous one in place. The previous generation
is kept until the next switch, for searchers that still have it open.

This module, `segments.py` (building segments on every core), `query.py`,
`ranking.py` and `searching.py` are the only ones that know about Whoosh;
another engine would replace them behind the same functions.
"""

from __future__ import annotations

import errno
import fcntl
import json
import math
import os
import shutil
import sys
import time
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Iterator

import whoosh.index
from whoosh.fields import ID, STORED, TEXT, Schema
from whoosh.searching import Searcher

from ... import __version__
from . import analysis, vectors
from .analysis import ANALYZER_VERSION, WordTerms, analyzer_for, exact_analyzer, word_terms
from ...documents import (
    MAX_SKIPS_LISTED, POSTED, Article, article_language, FileRead, FileUnchanged, Skipped, Stamp, is_gone, read_articles, total_bytes,
)
from ...embedding import embed_all, passage_texts
from ...engine import Progress
from ...errors import IndexBusy, IndexNotFound, IndexOutdated, IndexWriteError
from ...languages import ANALYZED, LANGUAGES, NEUTRAL
from .ranking import LanguageBM25F
from ...results import IndexReport, IndexStats
from .segments import ParallelWriter
from .vectors import Key, Vectors

INDEX_FORMAT = 2
"""Bumped whenever the schema changes in a way older programs cannot read
(2: `published`, the sortable key of each article's date, and `source_name`)."""
# Whoosh keeps an index's schema pickled, its analyzers named by module: those
# of indexes written before the engine had its own package are read from here.
sys.modules.setdefault("search.analysis", analysis)


TITLE_BOOST = 2.0
INDEXED_LANGUAGES = (*ANALYZED, NEUTRAL)


def build_schema() -> Schema:
    """Each language has its own title and body fields, analyzed by its own
    analyzer, so that every language keeps its own term statistics; `exact`
    holds every article's words unstemmed, for exact phrases, prefixes and
    spelling suggestions."""
    fields = dict(
        id=ID(stored=True, unique=True, sortable=True),
        lang=ID(stored=True, sortable=True),
        source=ID(stored=True, sortable=True),
        date=ID(stored=True, sortable=True),
        published=ID(sortable=True),
        source_name=ID(sortable=True),
        url=STORED(),
        title=STORED(),
        body=STORED(),
        extra=STORED(),
        origin=ID(sortable=True),
        fingerprint=ID(sortable=True),
        exact=TEXT(analyzer=exact_analyzer(), phrase=True),
    )
    for code in INDEXED_LANGUAGES:
        fields[f"title_{code}"] = TEXT(analyzer=analyzer_for(code), phrase=True, field_boost=TITLE_BOOST)
        fields[f"body_{code}"] = TEXT(analyzer=analyzer_for(code), phrase=True)
    return Schema(**fields)


LOCK_POLL_SECONDS = 0.05
"""How often a writer that waits for the lock tries again."""

EMBED_SAVE_SECONDS = 60.0
"""How often a run that computes vectors saves those done so far."""

WRITE_COST = 0.9
"""What writing a segment out costs per byte of input, relative to reading
and analyzing it: measured on a full build of the corpora (CPU seconds per
worker: 50 analyzing, 45 writing segments). Progress weighs the two so."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class Index:
    """An index folder. Cheap to create: nothing is opened until needed.
    Its path is made absolute, so every message names it plainly."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path).absolute()

    # -- generations ---------------------------------------------------

    def _current(self) -> Path | None:
        try:
            name = (self.path / "CURRENT").read_text("utf-8").strip()
        except FileNotFoundError:
            return None
        gen = self.path / name
        return gen if (gen / "meta.json").exists() else None

    def exists(self) -> bool:
        return self._current() is not None

    def _generation(self) -> Path:
        gen = self._current()
        if gen is None:
            raise IndexNotFound(
                f"No index at {self.path}. Build one with: search index PATH --index-dir {self.path}"
            )
        return gen

    def meta(self) -> dict:
        return json.loads((self._generation() / "meta.json").read_text("utf-8"))

    def check_version(self) -> None:
        """Refuse an index this program would misread, saying how to fix it."""
        meta = self.meta()
        rebuild = f"search index PATH ... --rebuild --index-dir {self.path}"
        if meta.get("format", 0) > INDEX_FORMAT:
            raise IndexOutdated(
                f"The index at {self.path} was written by a newer version of this program "
                f"({meta.get('program_version')}, index format {meta.get('format')}); this is "
                f"{__version__} (format {INDEX_FORMAT}). Upgrade, or rebuild it with: {rebuild}"
            )
        if meta.get("format") != INDEX_FORMAT or meta.get("analyzer_version") != ANALYZER_VERSION:
            raise IndexOutdated(
                f"The index at {self.path} was built with analyzer {meta.get('analyzer_version')} "
                f"(format {meta.get('format')}); this program analyzes text with {ANALYZER_VERSION} "
                f"(format {INDEX_FORMAT}). Rebuild it with: {rebuild}"
            )

    def open(self) -> whoosh.index.Index:
        self.check_version()
        return whoosh.index.open_dir(str(self._generation()))

    def generation_name(self) -> str:
        return self._generation().name

    def open_searcher(self) -> Searcher:
        """A searcher the caller must close (see `searcher()` for a managed one)."""
        return self.open().searcher(weighting=LanguageBM25F())

    def vectors(self) -> Vectors | None:
        """The live generation's vectors (see vectors.py), None without them."""
        return vectors.load(self._generation())

    @contextmanager
    def searcher(self) -> Iterator[Searcher]:
        with self.open_searcher() as searcher:
            yield searcher

    # -- writing -------------------------------------------------------

    def _write_lock(self, wait: float = 0.0):
        """One writer of the keyword index at a time (a `search index` run or
        an HTTP write), for up to `wait` seconds of waiting; IndexBusy after."""
        return self._lock(".lock", wait)

    def _vectors_lock(self):
        """One run computing vectors at a time, waiting for another as long as
        it takes: the second finds little left to do."""
        return self._lock(".vectors-lock", math.inf)

    @contextmanager
    def _lock(self, name: str, wait: float) -> Iterator[None]:
        """The lock file `name`, held for the block. A lock taken on a file
        that was removed meanwhile (_remove_folder) is not the lock: taken again."""
        until = time.monotonic() + wait
        while True:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                handle = open(self.path / name, "a+")
            except OSError as exc:
                raise _storage_error(exc, self.path) from None
            with handle:
                while True:
                    try:
                        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        break
                    except BlockingIOError:
                        if time.monotonic() >= until:
                            raise IndexBusy(f"Another writer (`search index`, or a write over HTTP) is writing "
                                            f"{self.path}; wait for it to finish.") from None
                        time.sleep(LOCK_POLL_SECONDS)
                try:
                    current = os.stat(self.path / name).st_ino == os.fstat(handle.fileno()).st_ino
                except FileNotFoundError:
                    current = False
                if current:
                    yield
                    return

    def put(self, articles: list[Article], wait: float = 0.0) -> IndexReport:
        """Add `articles`, or replace the articles with their ids (the last
        given of an id): what an HTTP write does. They belong to no file
        (their origin is POSTED), so no `search index` run removes them and a
        rebuild keeps them, unless a file read has an article of that id. They get
        vectors from the next `search index` run; until then keywords find them."""
        started = time.monotonic()
        report = IndexReport()
        with self._write_lock(wait):
            gen, ix, writer = self._live_for_writing()
            articles = list({article.id: article for article in articles}.values())  # the last of the same id
            with self._committed(writer):
                existing, seen = _existing(ix, [article.id for article in articles]), {}
                for article in articles:
                    article.origin = POSTED
                    self._index_article(writer, article, existing, seen, report)
            report.languages = dict(writer.counts())
            if report.changed:
                self._write_meta(gen, fresh=False)
        report.seconds = round(time.monotonic() - started, 3)
        return report

    def delete(self, ids: list[str], wait: float = 0.0) -> list[str]:
        """Remove the articles with these ids; the ids that were there."""
        with self._write_lock(wait):
            gen, ix, writer = self._live_for_writing()
            existing = _existing(ix, ids)
            gone = [doc_id for doc_id in dict.fromkeys(ids) if doc_id in existing]
            if gone:
                with self._committed(writer):
                    for doc_id in gone:
                        writer.get().delete_by_term("id", doc_id)
                self._write_meta(gen, fresh=False)
        return gone

    @contextmanager
    def _committed(self, writer: _LazyWriter) -> Iterator[_LazyWriter]:
        """`writer`, committed when the block ends; cancelled, and nothing
        written, if it fails (a full disk said as such)."""
        try:
            yield writer
            writer.commit()
        except OSError as exc:
            writer.cancel()
            raise _storage_error(exc, self.path) from None
        except BaseException:
            writer.cancel()
            raise

    def _live_for_writing(self) -> tuple[Path, whoosh.index.Index, _LazyWriter]:
        """The live generation, its index, and a writer for a few articles
        (opened on first use, building here); IndexNotFound without one."""
        self._remove_half_built()
        gen = self._generation()
        self.check_version()
        ix = whoosh.index.open_dir(str(gen))
        return gen, ix, _LazyWriter(ix, 1, lambda phase: None)

    def update(
        self,
        paths: Iterable[str | os.PathLike],
        rebuild: bool = False,
        on_progress: Callable[[Progress], None] | None = None,
        workers: int | None = None,
        embeddings: bool = False,
        wait: float = 0.0,
    ) -> IndexReport:
        """Bring the index in line with the articles under `paths`: add new
        ones, update changed ones, remove those no longer in their file or
        whose file is gone. With `rebuild`, build a fresh generation and
        switch to it when complete. `workers` processes build the index
        (default: one per core). `on_progress` hears how far the run is, a
        few times a second.

        Then, with `embeddings` (what `search index` does unless told not
        to), the articles without a vector (new, changed, or left by an
        interrupted run) get one (see `embed`): the keyword index is
        searchable before this starts, and writable (by HTTP writes) while
        it goes on. Another writer holding the index is waited for up to
        `wait` seconds (then IndexBusy)."""
        started = time.monotonic()
        paths = [Path(p) for p in paths]
        progress = _RunProgress(total_bytes(paths) if on_progress else 0, on_progress)
        created = not self.path.exists()
        with self._write_lock(wait):
            try:
                report = self._update(paths, rebuild, progress, workers)
            finally:
                if created and self._current() is None:
                    self._remove_folder()  # nothing was indexed: leave no empty index behind
        if embeddings and self._current() is not None:
            with self._vectors_lock():  # writes to the keyword index go on meanwhile
                self._embed(report, progress, workers)
        report.seconds = round(time.monotonic() - started, 3)
        progress.report("done")
        return report

    def _update(self, paths: list[Path], rebuild: bool, progress: _RunProgress, workers: int | None) -> IndexReport:
        self._remove_half_built()
        live = self._current()
        if live is not None and not rebuild:
            self.check_version()
        fresh = rebuild or live is None
        gen = self._new_generation() if fresh else live
        try:
            report = self._write(gen, paths, fresh, progress, workers, carry_from=live if fresh else None)
        except BaseException:
            if fresh:
                shutil.rmtree(gen, ignore_errors=True)
            raise
        if fresh:
            if not (report.added or report.updated):
                shutil.rmtree(gen, ignore_errors=True)
                return report  # nothing readable: keep the index we have, or have none
            self._switch_to(gen, live)
            report.rebuilt = True
        return report

    def embed(self, workers: int | None = None, on_progress: Callable[[Progress], None] | None = None) -> IndexReport:
        """Compute the vectors the index lacks (see vectors.py), without
        reading any file: what `update` does after indexing."""
        started = time.monotonic()
        report = IndexReport()
        with self._vectors_lock():
            self._embed(report, _RunProgress(0, on_progress), workers)
        report.seconds = round(time.monotonic() - started, 3)
        return report

    def _embed(self, report: IndexReport, progress: _RunProgress, workers: int | None) -> None:
        """Give every live article a vector: reuse those of unchanged articles
        (from this generation, or the previous one after a rebuild), compute
        the others on every core, and save as it goes (every
        EMBED_SAVE_SECONDS), so that an interrupted run keeps its work."""
        started = time.monotonic()
        gen = self._generation()
        own = vectors.load(gen)
        old = own
        if old is None:  # a new generation: the one it replaced may have them
            older = {number: path for number, path in self._generations().items() if number < int(gen.name[4:])}
            old = (vectors.load(older[max(older)]) if older else None) or Vectors.empty()
        reused: list[tuple[Key, int]] = []
        missing: list[tuple[Key, str]] = []
        ix = whoosh.index.open_dir(str(gen))
        with ix.reader() as reader:
            live = list(reader.all_doc_ids()) if reader.doc_count_all() else []
            columns = [list(reader.column_reader(name)) for name in ("id", "fingerprint", "lang")] if live else [[], [], []]
            for d in live:
                doc_id, fingerprint, lang = (column[d] for column in columns)
                if kept := _reusable(old, doc_id, fingerprint):
                    reused += kept
                    continue
                texts = passage_texts(*(reader.stored_fields(d).get(f, "") for f in ("title", "body")))
                for passage, text in enumerate(texts):
                    key = Key(doc_id, fingerprint, lang, passage, len(texts))
                    row = old.known.get((doc_id, fingerprint, passage))
                    if row is None:
                        missing.append((key, text))
                    else:
                        reused.append((key, row))
        recounted = any(old.counts[row] != key.passages for key, row in reused)  # vectors saved before passages
        if not missing and own is not None and len(reused) == len(own) and not recounted and own.counterparts is not None:
            return
        done = [Vectors.of([key for key, _ in reused], old.matrix[[row for _, row in reused]])]
        progress.phase, progress.count = "embedding", (0, len(missing))
        progress.report()
        saved = time.monotonic()
        at = 0

        def save() -> None:
            nonlocal old
            old = vectors.linked(vectors.joined(done), old)
            old.save(gen)
            done[:] = [old]

        for batch in embed_all([text for _, text in missing], workers, progress.embedded):
            done.append(Vectors.of([key for key, _ in missing[at:at + len(batch)]], batch))
            at += len(batch)
            if time.monotonic() - saved > EMBED_SAVE_SECONDS:
                save()
                saved = time.monotonic()
        save()
        report.embedded = len({key.id for key, _ in missing})
        report.embedding_seconds = round(time.monotonic() - started, 3)

    def create(self) -> None:
        """Create an empty index, unless there is one: for a server asked to
        start before any article is indexed (`search serve --allow-empty`)."""
        with self._write_lock():
            if self._current() is None:
                gen = self._new_generation()
                self._write_meta(gen, fresh=True)
                self._switch_to(gen, None)

    def _remove_folder(self) -> None:
        """Remove the index folder this run created, while still holding its
        lock: a run that starts meanwhile makes its own lock file, and then
        the folder is not empty and stays."""
        try:
            (self.path / ".lock").unlink()
            self.path.rmdir()
        except OSError:
            pass

    def _generations(self) -> dict[int, Path]:
        return {int(p.name[4:]): p for p in self.path.glob("gen-*") if p.name[4:].isdigit()}

    def _remove_half_built(self) -> None:
        """Remove the generations a rebuild killed outright (SIGKILL, SIGTERM,
        a power cut) had no chance to: those newer than the one CURRENT
        names, which no searcher has ever read. Called with the write lock held."""
        try:
            current = (self.path / "CURRENT").read_text("utf-8").strip()
        except FileNotFoundError:
            current = None  # no index yet: whatever is here is a first build's
        if current is not None and not current[4:].isdigit():
            return  # not ours to judge
        live = int(current[4:]) if current else 0
        for number, gen in self._generations().items():
            if number > live:
                shutil.rmtree(gen, ignore_errors=True)

    def _new_generation(self) -> Path:
        gen = self.path / f"gen-{max(self._generations(), default=0) + 1:06d}"
        try:
            gen.mkdir()
            whoosh.index.create_in(str(gen), build_schema())
        except OSError as exc:
            shutil.rmtree(gen, ignore_errors=True)
            raise _storage_error(exc, self.path) from None
        return gen

    def _switch_to(self, gen: Path, previous: Path | None) -> None:
        """Make `gen` live. The previous generation stays for searchers that
        still read it; any other (older, or left half-built by an interrupted
        rebuild) is removed."""
        tmp = self.path / "CURRENT.tmp"
        tmp.write_text(gen.name + "\n", "utf-8")
        os.replace(tmp, self.path / "CURRENT")
        keep = {gen.name, previous.name if previous else None}
        for old in self.path.glob("gen-*"):
            if old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)

    def _write(
        self,
        gen: Path,
        roots: list[Path],
        fresh: bool,
        progress: _RunProgress,
        workers: int | None,
        carry_from: Path | None = None,
    ) -> IndexReport:
        """Index the articles under `roots` into `gen`. A rebuild (`carry_from`
        the live generation) keeps the articles of the files and folders it
        could not read."""
        report = IndexReport()
        ix = whoosh.index.open_dir(str(gen))
        existing = {} if fresh else _existing(ix)
        known = {} if fresh else _read_stamps(gen)
        stamps = {path: stamp for path, stamp in known.items() if not is_gone(path)}
        by_origin: dict[str, list[str]] | None = None
        seen: dict[str, str] = {}
        files_read: set[str] = set()
        unread: set[str] = set()
        duplicates: Counter[str] = Counter()  # per file
        writer = progress.writer = _LazyWriter(ix, workers, progress.report)  # opened only once something changes
        carried: Counter = Counter()
        with self._committed(writer):
            for item in read_articles(roots, progress.read, known):
                if isinstance(item, Skipped):
                    report.skipped.append((item.path, item.reason))
                    if item.unread:
                        unread.add(item.unread)
                elif isinstance(item, FileUnchanged):
                    report.files_unchanged += 1
                    by_origin = by_origin or _ids_by_origin(existing)
                    for doc_id in by_origin.get(item.path, ()):
                        seen.setdefault(doc_id, item.path)
                        report.unchanged += 1
                elif isinstance(item, FileRead):
                    files_read.add(item.path)
                    if item.stamp:
                        stamps[item.path] = item.stamp
                elif item.id in seen:
                    duplicates[item.origin] += 1
                    if duplicates[item.origin] <= MAX_SKIPS_LISTED:
                        report.skipped.append((item.origin, f"duplicate id {item.id!r} (first seen in {seen[item.id]})"))
                else:
                    self._index_article(writer, item, existing, seen, report)
            report.skipped += [(origin, f"{count - MAX_SKIPS_LISTED:,} more duplicate ids (the first "
                                        f"{MAX_SKIPS_LISTED} are listed)")
                               for origin, count in duplicates.items() if count > MAX_SKIPS_LISTED]
            if carry_from is not None:
                for article, fingerprint in _articles_from(carry_from, unread | {POSTED}, seen):
                    writer.add((article, fingerprint, article.published_key()))
                    carried[article.lang] += 1
                    report.unchanged += 1
            for doc_id in _removed(existing, seen, files_read, roots):
                writer.get().delete_by_term("id", doc_id)
                report.removed += 1
        indexed = writer.counts() - carried
        report.languages = {code: indexed[code] for code in LANGUAGES if indexed[code]}
        if report.changed or fresh:
            self._write_meta(gen, fresh)
        if stamps != known:
            _write_json(gen / STAMPS, {path: list(stamp) for path, stamp in stamps.items()})
        return report

    def _index_article(self, writer, article: Article, existing: dict, seen: dict, report: IndexReport) -> None:
        seen[article.id] = article.origin
        fingerprint = article.fingerprint()
        old = existing.get(article.id)
        if old == (fingerprint, article.origin):
            report.unchanged += 1
            return
        if old is None:
            report.added += 1
        else:
            writer.get().delete_by_term("id", article.id)
            report.updated += 1
        published = article.published_key()
        report.count_written(article.title, article.body, article.date, published)
        writer.add((article, fingerprint, published))

    def _write_meta(self, gen: Path, fresh: bool) -> None:
        path = gen / "meta.json"
        meta = {} if fresh else json.loads(path.read_text("utf-8"))
        now = _now()
        meta.update(
            format=INDEX_FORMAT,
            analyzer_version=ANALYZER_VERSION,
            program_version=__version__,
            languages=list(INDEXED_LANGUAGES),
            updated=now,
        )
        meta.setdefault("created", now)
        _write_json(path, meta)

    # -- reading -------------------------------------------------------

    def stats(self) -> IndexStats:
        meta = self.meta()
        gen = self._generation()
        with self.searcher() as searcher:
            reader = searcher.reader()
            counts: dict[str, int] = {}
            if reader.doc_count_all():  # an empty index has no columns
                langs = reader.column_reader("lang")
                for docnum in reader.all_doc_ids():
                    code = langs[docnum]
                    counts[code] = counts.get(code, 0) + 1
            total = reader.doc_count()
        size = sum(p.stat().st_size for p in gen.iterdir() if p.is_file())
        return IndexStats(
            documents=total,
            languages={code: counts[code] for code in LANGUAGES if code in counts},
            size_bytes=size,
            analyzer_version=meta.get("analyzer_version", ""),
            created=meta.get("created", ""),
            updated=meta.get("updated", ""),
            path=str(self.path),
        )

    def get(self, doc_id: str) -> Article | None:
        with self.searcher() as searcher:
            return article_by_id(searcher, doc_id)


def _reusable(old: Vectors, doc_id: str, fingerprint: str) -> list[tuple[Key, int]]:
    """The keys and rows of every passage of an unchanged article, if `old`
    has them all; [] when one is missing or their number is not known."""
    lead = old.known.get((doc_id, fingerprint, 0))
    if lead is None or not old.counts[lead]:
        return []
    rows = [old.known.get((doc_id, fingerprint, passage)) for passage in range(old.counts[lead])]
    return [] if None in rows else [(old.key(row), row) for row in rows]


def article_by_id(searcher: Searcher, doc_id: str) -> Article | None:
    stored = searcher.document(id=doc_id)
    return None if stored is None else stored_article(stored)


class _LazyWriter:
    """A writer opened on first use, so a run that changes nothing leaves the
    index files untouched."""

    def __init__(self, ix: whoosh.index.Index, workers: int | None, tick: Callable[[str | None], None]):
        self.ix = ix
        self.workers = workers
        self.tick = tick
        self.writer: ParallelWriter | None = None
        self.adding = False  # whether articles were added since input bytes were last counted

    def get(self) -> ParallelWriter:
        if self.writer is None:
            self.writer = ParallelWriter(self.ix, _prepared, _field_analysis, "exact", self.workers, "lang", self.tick)
        return self.writer

    def add(self, item: tuple[Article, str, str]) -> None:
        self.get().add(item)
        self.adding = True

    def count_bytes(self, nbytes: int) -> bool:
        """Give the writer the input bytes just read if articles were added
        from them, so they count as built with those; say whether it took them."""
        taken, self.adding = self.adding, False
        if taken:
            self.get().count_bytes(nbytes)
        return taken

    def progress(self) -> tuple[float, float, bool]:
        """See segments.BuildProgress.totals."""
        return self.writer.progress.totals() if self.writer else (0.0, 0.0, False)

    def counts(self) -> Counter:
        """Articles written, by language."""
        return self.writer.counts if self.writer else Counter()

    def commit(self) -> None:
        if self.writer is not None:
            self.writer.commit()

    def cancel(self) -> None:
        if self.writer is not None:
            self.writer.cancel()


class _RunProgress:
    """Tells `on_progress` how far a run is (see Progress): at most every
    REPORT_SECONDS, and at each change of phase."""

    REPORT_SECONDS = 0.1

    def __init__(self, total_bytes: int, on_progress: Callable[[Progress], None] | None):
        self.total = (1 + WRITE_COST) * total_bytes
        self.on_progress = on_progress
        self.writer: _LazyWriter | None = None
        self.unwritten = 0.0  # bytes read whose articles need no writing
        self.phase = "reading"
        self.count = (0, 0)  # while embedding: articles done, of how many
        self.shown: tuple[str, float] = ("", 0.0)  # the phase last reported, and when

    def read(self, nbytes: int) -> None:
        """read_articles' `on_bytes`."""
        if not self.writer.count_bytes(nbytes):
            self.unwritten += nbytes
        self.report()

    def embedded(self, passages: int) -> None:
        """embed_all's `on_batch` (progress counts passages, see embedding.PASSAGES)."""
        self.count = (self.count[0] + passages, self.count[1])
        self.report()

    def report(self, phase: str | None = None) -> None:
        """Report, now in `phase` if given (the writer calls this while it waits)."""
        self.phase = phase or self.phase
        if self.on_progress is None:
            return
        if self.phase == "embedding":  # counted in articles
            self.on_progress(Progress("embedding", *self.count))
            return
        analyzed, written, writing = self.writer.progress() if self.writer else (0.0, 0.0, False)
        shown = "writing" if writing and self.phase == "reading" else self.phase
        now = time.monotonic()
        if shown == self.shown[0] and now - self.shown[1] < self.REPORT_SECONDS:
            return
        self.shown = (shown, now)
        done = self.total if shown == "done" else (1 + WRITE_COST) * self.unwritten + analyzed + WRITE_COST * written
        self.on_progress(Progress(shown, int(min(done, self.total)), int(self.total)))


def stored_article(stored: dict) -> Article:
    return Article(
        id=stored["id"],
        title=stored.get("title", ""),
        body=stored.get("body", ""),
        lang=stored.get("lang", NEUTRAL),
        source=stored.get("source", ""),
        url=stored.get("url", ""),
        date=stored.get("date", ""),
        extra=stored.get("extra") or {},
    )


def _prepared(item: tuple[Article, str, str]) -> dict:
    """The field values of an (article, fingerprint, publication key)
    triple. Runs in the indexing workers: language detection is the costly part."""
    article, fingerprint, published = item
    lang = article_language(article)
    fields = dict(
        id=article.id,
        lang=lang,
        url=article.url,
        title=article.title,
        body=article.body,
        extra=article.extra,
        origin=article.origin,
        fingerprint=fingerprint,
        exact=(article.title, article.body),
    )
    fields[f"title_{lang}"] = article.title
    fields[f"body_{lang}"] = article.body
    if article.source:
        fields["source"] = article.source
        if isinstance(name := article.extra.get("source_name"), str) and name.strip():
            fields["source_name"] = name.strip()
    if article.date:
        fields["date"] = article.date
    if published:
        fields["published"] = published
    return fields


def _field_analysis(name: str) -> WordTerms:
    """The index-time analysis of a text field: the analyzer build_schema
    gives it, word by word."""
    return word_terms(NEUTRAL if name == "exact" else name.split("_", 1)[1])


STAMPS = "files.json"
"""In each generation: the stamp of every file as it was when indexed, so a
later run need not read files that have not changed (see documents.Stamp).
Written after the index commits: a stamp never vouches for a change that was
not committed."""


def _read_stamps(gen: Path) -> dict[str, Stamp]:
    try:
        data = json.loads((gen / STAMPS).read_text("utf-8"))
    except (OSError, ValueError):
        return {}  # none yet, or unreadable: every file is read
    return {path: tuple(stamp) for path, stamp in data.items()}


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2), "utf-8")
    os.replace(tmp, path)


def _ids_by_origin(existing: dict[str, tuple[str, str]]) -> dict[str, list[str]]:
    ids: dict[str, list[str]] = {}
    for doc_id, (_, origin) in existing.items():
        ids.setdefault(origin, []).append(doc_id)
    return ids


def _existing(ix: whoosh.index.Index, ids: Iterable[str] | None = None) -> dict[str, tuple[str, str]]:
    """id -> (fingerprint, origin) of every live document (or of those with
    `ids`: a write over HTTP looks up its few articles rather than read
    every id), read from columns (fast: no stored fields are unpickled;
    each column is read in one go)."""
    with ix.reader() as reader:
        if not reader.doc_count_all():  # an empty index (`create`) has no columns
            return {}
        if ids is not None:
            prints, origins = (reader.column_reader(name) for name in ("fingerprint", "origin"))
            found = {doc_id: next((d for d in reader.postings("id", doc_id).all_ids() if not reader.is_deleted(d)), None)
                     for doc_id in ids if reader.doc_frequency("id", doc_id)}
            return {doc_id: (prints[d], origins[d]) for doc_id, d in found.items() if d is not None}
        live = list(reader.all_doc_ids())
        every_id, prints, origins = ([column[d] for d in live] for column in
                                     (list(reader.column_reader(name)) for name in ("id", "fingerprint", "origin")))
        return dict(zip(every_id, zip(prints, origins)))


def _articles_from(gen: Path, paths: set[str], skip_ids: dict) -> Iterator[tuple[Article, str]]:
    """The articles (with fingerprints) of a generation that came from the
    files `paths`, or from files under the folders `paths`."""
    folders = tuple(path + os.sep for path in paths)
    with whoosh.index.open_dir(str(gen)).reader() as reader:
        if not reader.doc_count_all():
            return
        origin_of = reader.column_reader("origin")
        fingerprint_of = reader.column_reader("fingerprint")
        for docnum in reader.all_doc_ids():
            if origin_of[docnum] in paths or origin_of[docnum].startswith(folders):
                article = stored_article(reader.stored_fields(docnum))
                if article.id not in skip_ids:
                    article.origin = origin_of[docnum]
                    yield article, fingerprint_of[docnum]


def _removed(existing: dict, seen: dict, files_read: set[str], roots: list[Path]) -> list[str]:
    """Ids no longer in the file they came from, or whose file is gone (under a
    folder that was indexed). Articles of files that could not be read, or
    not even checked (in a folder that cannot be listed), stay."""
    real = [(os.path.realpath(root), os.path.isdir(root)) for root in roots]
    folders = tuple(path + os.sep for path, folder in real if folder)
    files = {path for path, folder in real if not folder}
    gone: list[str] = []
    for doc_id, (_, origin) in existing.items():
        if doc_id in seen:
            continue
        under_roots = origin.startswith(folders) or origin in files
        if origin in files_read or (under_roots and is_gone(origin)):
            gone.append(doc_id)
    return gone


def _storage_error(exc: OSError, path: Path) -> IndexWriteError:
    if exc.errno == errno.ENOSPC:
        reason = "the disk is full"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        reason = "it is not writable"
    else:
        reason = exc.strerror or str(exc)
    return IndexWriteError(f"Cannot write the index at {path}: {reason}. The previous index is unchanged.")
