"""Writing Whoosh segments fast, on every core.

Whoosh's own writer analyzes each field with the token pipeline, sends every
posting through a sorting pool and looks up each document's field length again
when it writes the postings out. Profiling a build showed those steps, not our
analyzers, to be most of the time. Here text fields are analyzed a word at a
time through `WordTerms` (one dictionary lookup per word), postings are
gathered per term in memory, and each term is written out in one go.

Segments are left as separate files, not assembled into Whoosh's compound
file: whoosh-reloaded reads a compound file's parts through BytesIO, which
copies the whole index into memory for every searcher that opens it.

Whole segments are built by worker processes, one per core, and added to the
index together when the run commits: until then the index does not list them,
so an interrupted run leaves it as it was. Small runs (an incremental update of
a few articles) build their segment in the calling process instead.

Whoosh is known here and in `index.py`, `query.py`, `ranking.py` and
`searching.py` only.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import zlib
from array import array
from collections import Counter, defaultdict
from pickle import dumps
from typing import Any, Callable, Iterator, NamedTuple

import whoosh.codec
import whoosh.index
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3FieldWriter, W3Segment, W3TermInfo
from whoosh.reading import SegmentReader
from whoosh.system import pack_int, pack_uint, pack_ushort
from whoosh.util.numeric import length_to_byte
from whoosh.writing import MERGE_SMALL

from .analysis import WordTerms, words
from ...processes import die_with_parent, worker_count
from .spelling import SUFFIX as SPELLING_SUFFIX, SpellingTable, table, write_table

BATCH = 200
"""Articles sent to a worker at a time: large enough to amortize pickling,
small enough to keep the workers evenly busy."""
WAIT = 0.2
"""Seconds between checks (and progress reports) while waiting for workers."""
SEGMENT_POSTINGS = 8_000_000
"""A worker starts a new segment after this many postings (about 20,000
articles, 1 GB of memory), so memory stays bounded on any corpus size while
a 50,000-article corpus still makes only a few segments."""


BLOCK_LIMIT = 128
"""Postings per block, as Whoosh's default codec writes them."""
COMPRESSION = 3
"""zlib level of Whoosh's default codec."""
COMPRESS_FROM = 1024
"""Blocks under this many bytes are written uncompressed."""


class SegmentBuilder:
    """Builds one new segment of `ix` from documents (dicts of field values,
    as for Whoosh's `add_document`), keeping its postings in memory.

    A text field's value may also be a tuple of texts, indexed one after the
    other as if joined: each text is then split into words only once.
    `analysis` gives the index-time analysis of each text field; it must be
    the field's own analyzer's. The words of field `spelling` get the
    segment's spelling table (see spelling.py).
    """

    def __init__(self, ix: whoosh.index.Index, analysis: Callable[[str], WordTerms], spelling: str):
        self.storage = ix.storage
        self.schema = ix.schema
        self.analysis = analysis
        self.spelling = spelling
        self.codec = whoosh.codec.default_codec()
        self.segment: W3Segment = self.codec.new_segment(self.storage, ix.indexname)
        self.perdoc = self.codec.per_document_writer(self.storage, self.segment)
        self.docs = 0
        self.postings = 0
        # field -> term -> [docnum, frequency, encoded positions, docnum, ...]
        self.pool: defaultdict[str, defaultdict[str, list]] = defaultdict(lambda: defaultdict(list))
        self.lengths: defaultdict[str, array] = defaultdict(lambda: array("I"))

    def add(self, fields: dict[str, Any]) -> None:
        docnum = self.docs
        perdoc = self.perdoc
        split: dict[str, list[str]] = {}  # text -> its words, for this document
        perdoc.start_doc(docnum)
        for name in sorted(fields):
            value = fields[name]
            if value is None:
                continue
            field = self.schema[name]
            length = 0
            if field.scorable:  # text: analyzed here, a word at a time
                texts = value if isinstance(value, tuple) else (value,)
                tokens = []
                for text in texts:
                    if text not in split:
                        split[text] = words(text)
                    tokens += split[text]
                length = self._add_postings(name, docnum, self.analysis(name).postings(tokens))
            elif field.indexed:  # ids: one term each, as Whoosh indexes them
                for btext, _, _, _ in field.index(value):
                    self.pool[name][btext.decode("utf-8")] += docnum, 1, b""
                    self.postings += 1
            perdoc.add_field(name, field, value if field.stored else None, length)
            if field.column_type:
                perdoc.add_column_value(name, field.column_type, field.to_column_value(value))
        perdoc.finish_doc()
        self.docs += 1

    def _add_postings(self, name: str, docnum: int, postings: dict[str, list[int]]) -> int:
        """Add one document's postings for a text field; return the field's
        length in the document."""
        terms = self.pool[name]
        single = _SINGLE
        for term, positions in postings.items():
            if len(positions) == 1:
                terms[term] += docnum, 1, single[positions[0]]
            else:
                terms[term] += docnum, len(positions), _encode_positions(positions)
        self.postings += len(postings)
        length = sum(map(len, postings.values()))
        if not length:
            return 0
        lengths = self.lengths[name]
        lengths.extend(bytes(docnum + 1 - len(lengths)))
        lengths[docnum] = length
        return length

    def finish(self, on_written: Callable[[float], None] | None = None) -> W3Segment:
        """Write the postings out and close the segment's files, telling
        `on_written` now and then which fraction of the postings is written."""
        self.perdoc.close()
        writer = _FieldWriter(self.codec, self.storage, self.segment)
        written, step = 0, max(self.postings // 100, 1)
        report = step
        for name in sorted(self.pool):
            field = self.schema[name]
            writer.start_field(name, field)
            terms = self.pool[name]
            boost = field.format.field_boost
            lengths = self.lengths.get(name)
            for term in sorted(terms):
                postings = terms[term]
                weights = [freq * boost for freq in postings[1::3]]
                writer.add_term(term.encode("utf-8"), postings[0::3], weights, postings[2::3], lengths)
                written += len(weights)
                if on_written and written >= report:
                    on_written(written / self.postings)
                    report += step
            writer.finish_field()
        writer.close()
        vocabulary = ((term, len(postings) // 3) for term, postings in self.pool[self.spelling].items())
        write_table(spelling_path(self.storage, self.segment), vocabulary, self.docs)
        self.pool.clear()
        self.segment.set_doc_count(self.docs)
        return self.segment

    def remove_files(self) -> None:
        _remove_segment(self.storage, self.segment)


class _FieldWriter(W3FieldWriter):
    """Whoosh's field writer, given each term's whole posting list at once.

    The blocks are laid out exactly as `W3PostingsWriter._write_block` lays
    them out and W3's reader reads them, but without a call per posting, and
    only blocks large enough to shrink are compressed (each block's header
    says whether it is). Most terms occur in a document or two, and
    compressing their few bytes cost a third of the writing time.
    """

    def start_field(self, fieldname: str, fieldobj) -> None:
        super().start_field(fieldname, fieldobj)
        self._offset = self._postfile.tell()  # then counted, rather than asking the file per term
        self._write = self._postfile.file.write
        self._has_values = self._format.fixed_value_size() is None  # positions; ids have none

    def add_term(
        self, btext: bytes, docnums: list[int], weights: list[float], values: list[bytes], lengths: array | None
    ) -> None:
        start = self._offset
        count = len(docnums)
        minlength = maxlength = None
        out = [WHOOSH3_HEADER_MAGIC]
        for first in range(0, count, BLOCK_LIMIT):
            if count <= BLOCK_LIMIT:  # nearly every term: one block, no slicing
                ids, block_weights, block_values = docnums, weights, values
            else:
                end = first + BLOCK_LIMIT
                ids, block_weights, block_values = docnums[first:end], weights[first:end], values[first:end]
            if lengths is None:
                low, high = None, 0
            else:
                doc_lengths = [lengths[d] for d in ids]
                low, high = min(doc_lengths), max(doc_lengths)
                minlength = low if minlength is None else min(minlength, low)
                maxlength = high if maxlength is None else max(maxlength, high)
            gaps = tuple(b - a for a, b in zip((0, *ids), ids))
            if block_weights.count(1.0) == len(block_weights):
                mini_weights = None
            elif block_weights.count(block_weights[0]) == len(block_weights):
                mini_weights = block_weights[0]
            else:
                mini_weights = tuple(block_weights)
            data = dumps((gaps, mini_weights, tuple(block_values) if self._has_values else None), 2)
            compression = COMPRESSION if len(data) >= COMPRESS_FROM else 0
            if compression:
                data = zlib.compress(data, compression)
            info = dumps((len(ids), ids[-1], max(block_weights), compression,
                          length_to_byte(low), length_to_byte(high)), 2)
            size = len(info) + len(data)
            out += pack_int(-size if first + BLOCK_LIMIT >= count else size), info, data
        block = b"".join(out)
        self._write(block)
        self._offset += len(block)
        terminfo = W3TermInfo(sum(weights), count, minlength, maxlength or 0, max(weights), docnums[0], docnums[-1])
        terminfo.set_extent(start, len(block))
        self._tindex.add(pack_ushort(self._fieldid) + btext, terminfo.to_bytes())


def _encode_positions(positions: list[int]) -> bytes:
    """Whoosh's `Positions` encoding: a count, then the pickled gaps."""
    gaps = [positions[0]]
    gaps.extend(b - a for a, b in zip(positions, positions[1:]))
    return pack_uint(len(gaps)) + dumps(gaps, 2)


class _SingleTable(dict):
    """position -> the encoding of a word found there alone: most postings."""

    def __missing__(self, pos: int) -> bytes:
        value = self[pos] = _encode_positions([pos])
        return value


_SINGLE = _SingleTable()


def spelling_path(storage, segment) -> str:
    """Where a segment's spelling table is: named like its other files, so
    Whoosh removes it with them once the segment is merged away."""
    return os.path.join(storage.folder, segment.segment_id() + SPELLING_SUFFIX)


def _segments(reader) -> Iterator[tuple[Any, W3Segment]]:
    """Each segment of an index with its reader (an empty index has none)."""
    for leaf, _ in reader.leaf_readers():
        segment = leaf.segment()
        if segment is not None:
            yield leaf, segment


def spelling_tables(reader) -> list[SpellingTable]:
    """The spelling tables of an index's segments (see spelling.py)."""
    found = (table(spelling_path(leaf.storage(), segment)) for leaf, segment in _segments(reader))
    return [t for t in found if t is not None]


def add_missing_tables(ix: whoosh.index.Index, fieldname: str) -> None:
    """Give every segment without a spelling table one, from its words in
    `fieldname`: segments Whoosh merged (it writes merged segments itself),
    and those of indexes written before tables existed."""
    with ix.reader() as reader:
        for leaf, segment in _segments(reader):
            path = spelling_path(ix.storage, segment)
            if not os.path.exists(path):
                vocabulary = ((term.decode("utf-8"), info.doc_frequency()) for term, info in leaf.iter_field(fieldname))
                write_table(path, vocabulary, leaf.doc_count_all())


def _merged(writer, segments: list[W3Segment]) -> list[W3Segment]:
    """The segments an index keeps at a commit (Whoosh's merge policy).
    Updating an article deletes it from its segment and writes it anew, and
    Whoosh keeps a segment as long as it has documents, deleted or not: each
    run that updated every article added the index's whole size again. So a
    segment with nothing left goes, one more than half deleted has the rest
    of its documents copied into this run's segment, and small ones are
    merged as Whoosh does (MERGE_SMALL)."""
    kept = []
    for segment in segments:
        deleted, count = segment.deleted_count(), segment.doc_count_all()
        if deleted == count:
            continue
        if deleted * 2 > count:
            with SegmentReader(writer.storage, writer.schema, segment) as reader:
                writer.add_reader(reader)
        else:
            kept.append(segment)
    return MERGE_SMALL(writer, kept)


def _remove_segment(storage, segment: W3Segment) -> None:
    prefix = segment.segment_id()
    for name in storage.list():
        if name.startswith(prefix):
            try:
                storage.delete_file(name)
            except OSError:
                pass


Tick = Callable[[str | None], None]
"""Called as building goes on; with a phase's name when one starts."""


class BuildProgress:
    """How far the segment builders are, in bytes of input: for each builder
    (a worker process, or this one), the bytes whose articles it has
    analyzed, the bytes whose segments it has written out, and whether it is
    writing one now. Kept in memory shared with the workers, one slot each
    that only its own builder writes, so the parent can read it at any time
    without messages or locks."""

    def __init__(self, builders: int):
        self.values = multiprocessing.get_context("fork").RawArray("d", 3 * builders)

    def analyzed(self, slot: int, nbytes: float) -> None:
        self.values[3 * slot] += nbytes

    def written(self, slot: int, nbytes: float, writing: bool) -> None:
        self.values[3 * slot + 1] = nbytes
        self.values[3 * slot + 2] = writing

    def totals(self) -> tuple[float, float, bool]:
        """(bytes analyzed, bytes written, whether a segment is being written)."""
        values = self.values[:]
        return sum(values[0::3]), sum(values[1::3]), any(values[2::3])


class ParallelWriter:
    """A writer for one run over an index: deletions go through Whoosh's own
    writer (which also holds Whoosh's lock); documents are built into new
    segments by worker processes, or here when the run is small.

    `prepare` turns each added item into a dict of field values. It runs in
    the workers, so costly preparation (language detection) is spread too.
    `counts` tells, after the commit, how many documents were added with each
    value of the field `count_by`. `progress` follows the building, counted in
    the bytes of input given with `count_bytes`; `tick` is called whenever
    this process waits for the workers or sends them a batch, so that the
    caller can show progress, and with the name of each phase of the commit
    as it starts: "writing" (the last segments), then "committing".
    """

    def __init__(
        self,
        ix: whoosh.index.Index,
        prepare: Callable[[Any], dict],
        analysis: Callable[[str], WordTerms],
        spelling: str,
        workers: int | None = None,
        count_by: str | None = None,
        tick: Tick = lambda phase: None,
    ):
        self.ix = ix
        self.build = Build(prepare, analysis, spelling, count_by)
        self.workers = worker_count() if workers is None else workers
        self.writer = ix.writer(compound=False)
        self.pending: list = []
        self.pending_bytes = 0.0
        self.progress = BuildProgress(max(self.workers, 1))
        self.tick = tick
        self.pool: _WorkerPool | None = None
        self.local: _Segments | None = None  # built here: small runs, or one worker
        self.built: list[W3Segment] = []
        self.counts: Counter = Counter()

    def add(self, item: Any) -> None:
        self.pending.append(item)
        if len(self.pending) >= BATCH:
            self._send()

    def count_bytes(self, nbytes: float) -> None:
        """Input bytes behind the items added since the last call, for
        `progress`: they count as analyzed (and later written) with them."""
        self.pending_bytes += nbytes

    def _send(self) -> None:
        if self.workers > 1:
            self.pool = self.pool or _WorkerPool(self.ix, self.build, self.workers, self.progress, self.tick)
            self.pool.send((self.pending, self.pending_bytes))
        else:
            self._local().add(self.pending, self.pending_bytes)
        self.pending, self.pending_bytes = [], 0.0
        self.tick(None)

    def _local(self) -> _Segments:
        self.local = self.local or _Segments(self.ix, self.build, self.progress, 0, self.tick)
        return self.local

    def delete_by_term(self, fieldname: str, text: str) -> None:
        self.writer.delete_by_term(fieldname, text)

    def commit(self) -> None:
        self.tick("writing")
        if self.pool is not None:
            if self.pending:
                self.pool.send((self.pending, self.pending_bytes))
            self.built, self.counts = self.pool.finish()
        elif self.pending or self.local:  # a run smaller than a batch is not worth starting workers for
            self._local().add(self.pending, self.pending_bytes)
            self.built, self.counts = self.local.finish()
        self.pending = []
        built = self.built
        self.tick("committing")
        self.writer.commit(mergetype=lambda writer, segments: _merged(writer, segments) + built)
        add_missing_tables(self.ix, self.build.spelling)

    def cancel(self) -> None:
        """Drop everything this run wrote. Cancelling Whoosh's writer can fail
        the same way the write did (a full disk): then remove its files and
        unlock by hand."""
        if self.pool is not None:
            self.pool.terminate()
        if self.local is not None:
            self.local.remove_files()
        for segment in self.built:
            _remove_segment(self.ix.storage, segment)
        try:
            self.writer.cancel()
        except OSError:
            _remove_segment(self.writer.storage, self.writer.newsegment)
            self.writer._finish()


class Build(NamedTuple):
    """What a builder needs to know to build segments (see ParallelWriter)."""

    prepare: Callable[[Any], dict]
    analysis: Callable[[str], WordTerms]
    spelling: str
    """The field whose words get each segment's spelling table."""
    count_by: str | None


class _Segments:
    """Segments built in this process from batches of items, a new one
    whenever the current one holds SEGMENT_POSTINGS; progress goes to slot
    `slot` of `progress`."""

    def __init__(self, ix: whoosh.index.Index, build: Build, progress: BuildProgress, slot: int,
                 tick: Tick = lambda phase: None):
        self.ix = ix
        self.build = build
        self.progress, self.slot, self.tick = progress, slot, tick
        self.builders = [SegmentBuilder(ix, build.analysis, build.spelling)]
        self.finished: list[W3Segment] = []
        self.counts: Counter = Counter()
        self.bytes = 0.0  # input bytes behind the current builder's documents
        self.written = 0.0  # input bytes behind the segments written

    def add(self, batch: list, nbytes: float) -> None:
        current = self.builders[-1]
        prepare, count_by = self.build.prepare, self.build.count_by
        for item in batch:
            fields = prepare(item)
            current.add(fields)
            if count_by:
                self.counts[fields.get(count_by)] += 1
        self.bytes += nbytes
        self.progress.analyzed(self.slot, nbytes)
        if current.postings >= SEGMENT_POSTINGS:
            self._write(current)
            self.builders.append(SegmentBuilder(self.ix, self.build.analysis, self.build.spelling))

    def _write(self, builder: SegmentBuilder) -> None:
        def on_written(fraction: float) -> None:
            self.progress.written(self.slot, self.written + fraction * self.bytes, True)
            self.tick(None)

        self.finished.append(builder.finish(on_written))
        self.written += self.bytes
        self.bytes = 0.0
        self.progress.written(self.slot, self.written, False)

    def finish(self) -> tuple[list[W3Segment], Counter]:
        if self.builders[-1].docs:
            self._write(self.builders[-1])
        return self.finished, self.counts

    def remove_files(self) -> None:
        """Remove what was written, after an error."""
        for builder in self.builders:
            builder.remove_files()


class _WorkerPool:
    """Worker processes that each build segments from the batches they are
    sent, and hand back the finished segments at the end.

    Batches go round in turn and segments come back in worker order, so the
    same articles with the same number of workers always make the same index
    (the same document numbers, which break ties between equal scores)."""

    def __init__(self, ix: whoosh.index.Index, build: Build, workers: int, progress: BuildProgress, tick: Tick):
        context = multiprocessing.get_context("fork")  # workers inherit the loaded analyzers
        self.jobs = [context.Queue(maxsize=2) for _ in range(workers)]
        self.results = context.Queue()
        self.processes = [
            context.Process(target=_work, args=(ix, build, n, jobs, self.results, progress, os.getpid()), daemon=True)
            for n, jobs in enumerate(self.jobs)
        ]
        for process in self.processes:
            process.start()
        self.sent = 0
        self.tick = tick

    def send(self, batch: tuple[list, float] | None) -> None:
        """Send a batch (items, and the input bytes behind them) to the next
        worker in turn, or None: the end."""
        worker = self.sent % len(self.jobs)
        self.sent += 1
        while True:
            try:
                self.jobs[worker].put(batch, timeout=WAIT)
                return
            except queue.Full:  # the worker is busy, or dead; another may have finished (told to stop) and left
                if not self.processes[worker].is_alive() or any(p.exitcode not in (None, 0) for p in self.processes):
                    raise self._failure() from None
                self.tick(None)

    def finish(self) -> tuple[list[W3Segment], Counter]:
        """Wait for every worker to hand over its segments and counts; raise
        the first worker error, if any."""
        for _ in self.processes:
            self.send(None)
        built: dict[int, list[W3Segment]] = {}
        counts: Counter = Counter()
        silent: set[int] = set()  # workers gone without an answer at the last wait
        while len(built) < len(self.processes):
            try:
                status, worker, payload = self.results.get(timeout=WAIT)
            except queue.Empty:  # a worker that was killed (say, out of memory) never answers, nor one
                # that left without sending it; one that sent it has, before leaving: read by the next wait
                gone = {n for n, p in enumerate(self.processes) if n not in built and p.exitcode is not None}
                if gone & silent or any(p.exitcode not in (None, 0) for p in self.processes):
                    raise self._failure() from None
                silent = gone
                self.tick(None)
                continue
            if status == "error":
                self.terminate()
                raise payload
            built[worker], worker_counts = payload
            counts.update(worker_counts)
        for process in self.processes:
            process.join()
        return [segment for worker in sorted(built) for segment in built[worker]], counts

    def _failure(self) -> BaseException:
        """The error of a worker that stopped early, stopping the others."""
        self.terminate()
        try:
            status, _, payload = self.results.get(timeout=1)
        except queue.Empty:
            status, payload = "error", None
        if status == "error" and payload is not None:
            return payload
        return RuntimeError("An indexing worker process stopped unexpectedly.")

    def terminate(self) -> None:
        for process in self.processes:
            process.kill()
            process.join()
        for jobs in self.jobs:
            jobs.cancel_join_thread()  # batches still queued for the dead: do not wait to deliver them at exit


def _work(ix: whoosh.index.Index, build: Build, worker: int, jobs, results, progress: BuildProgress, parent: int) -> None:
    """Worker number `worker`: build segments from batches until told to stop
    (None), and put them with the counts, or the error, on `results`."""
    die_with_parent(parent)

    def batches():
        while True:
            try:
                batch = jobs.get(timeout=1)
            except queue.Empty:
                if os.getppid() != parent:
                    raise SystemExit(1) from None  # the parent died: leave nothing behind
                continue
            if batch is None:
                return
            yield batch

    segments = None
    try:
        segments = _Segments(ix, build, progress, worker)
        for items, nbytes in batches():
            segments.add(items, nbytes)
        results.put(("ok", worker, segments.finish()))
    except BaseException as exc:
        if segments is not None:
            segments.remove_files()
        results.put(("error", worker, _picklable(exc)))


def _picklable(exc: BaseException) -> BaseException:
    try:
        dumps(exc)
        return exc
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
