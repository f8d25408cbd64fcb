"""The index on disk: incremental updates, rebuilds that swap only when done,
version checks and one writer at a time."""

import fcntl
import gzip
import json
import os
import signal
import subprocess
import sys
import time
from itertools import groupby

import pytest
import whoosh.index

from search import documents
from search.engines.whoosh import segments
from search.engines.whoosh import index as index_module
from search.errors import IndexBusy, IndexNotFound, IndexOutdated
from search.engine import Progress
from search.engines.whoosh.index import Index, _prepared, build_schema
from search.engines.whoosh.searching import search

from .conftest import SEEDS, index_command, write_jsonl


def ids(ix: Index, text: str = "Irak OR العراق OR Irak*") -> set[str]:
    with ix.searcher() as s:
        return {h.id for h in search(s, text, per_page=50).results}


def all_ids(ix: Index) -> set[str]:
    with ix.searcher() as s:
        return {fields["id"] for fields in s.all_stored_fields()}


def test_first_run_adds_everything_and_a_rerun_changes_nothing(tmp_path, articles_dir):
    ix = Index(tmp_path / "ix")
    first = ix.update([articles_dir])
    assert (first.added, first.skipped, first.rebuilt) == (5, [], True)
    updated = ix.meta()["updated"]
    files = sorted(p.name for p in ix._generation().iterdir())
    again = ix.update([articles_dir])
    assert (again.added, again.updated, again.removed, again.unchanged) == (0, 0, 0, 5)
    assert not again.changed
    assert sorted(p.name for p in ix._generation().iterdir()) == files
    assert ix.meta()["updated"] == updated


def test_incremental_run_adds_updates_and_removes(tmp_path, articles_dir):
    ix = Index(tmp_path / "ix")
    ix.update([articles_dir])
    (articles_dir / "000_7267d5031a40e129.txt").unlink()
    changed = articles_dir / "003_3692841fd95a15da.txt"
    changed.write_text("Nieuwe kop over vredesbesprekingen\nDe onderhandelaars spraken over vrede.", "utf-8")
    (articles_dir / "new.txt").write_text("Brand news\nA brand new English article about elections.", "utf-8")
    report = ix.update([articles_dir])
    assert (report.added, report.updated, report.removed, report.unchanged) == (1, 1, 1, 3)
    assert "000_7267d5031a40e129" not in all_ids(ix)
    assert ids(ix, "vredesbesprekingen") == {"003_3692841fd95a15da"}
    assert ids(ix, "troepen") == set()
    assert ids(ix, "elections") == {"new"}


def test_records_gone_from_their_file_are_removed_but_unreadable_files_lose_nothing(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    feed = write_jsonl(folder / "feed.jsonl", [{"id": "a", "title": "Alpha", "body": "one"}, {"id": "b", "title": "Beta", "body": "two"}])
    other = folder / "other.jsonl.gz"
    other.write_bytes(gzip.compress(b'{"id": "c", "title": "Gamma", "body": "three"}\n'))
    ix = Index(tmp_path / "ix")
    ix.update([folder])
    write_jsonl(feed, [{"id": "a", "title": "Alpha", "body": "one"}])
    other.write_bytes(other.read_bytes()[:20])  # truncated, as by a copy still in progress
    report = ix.update([folder])
    assert report.removed == 1
    assert [p for p, _ in report.skipped] == [str(other)]
    assert all_ids(ix) == {"a", "c"}


def test_rebuild_swaps_in_a_complete_index_and_an_interrupted_one_leaves_the_old(tmp_path, articles_dir, monkeypatch):
    ix = Index(tmp_path / "ix")
    ix.update([articles_dir])
    before = all_ids(ix)
    old_gen = ix._generation()

    def explode(*args, **kwargs):
        yield from original(*args, **kwargs)
        raise KeyboardInterrupt

    original = documents.read_articles
    monkeypatch.setattr("search.engines.whoosh.index.read_articles", explode)
    with pytest.raises(KeyboardInterrupt):
        ix.update([articles_dir], rebuild=True)
    monkeypatch.undo()
    assert ix._generation() == old_gen
    assert all_ids(ix) == before
    assert sorted(p.name for p in ix.path.glob("gen-*")) == [old_gen.name]  # the half-built one is gone

    (articles_dir / "001_c8f3a0fc2298736b.txt").unlink()
    report = ix.update([articles_dir], rebuild=True)
    assert report.rebuilt and report.added == 4
    assert ix._generation() != old_gen
    assert all_ids(ix) == before - {"001_c8f3a0fc2298736b"}


def test_rebuild_with_nothing_readable_keeps_the_index(tmp_path, articles_dir):
    ix = Index(tmp_path / "ix")
    ix.update([articles_dir])
    empty = tmp_path / "empty"
    empty.mkdir()
    report = ix.update([empty], rebuild=True)
    assert not report.rebuilt
    assert len(all_ids(ix)) == 5


def test_an_index_from_another_analyzer_or_a_newer_program_is_explained(tmp_path, articles_dir):
    ix = Index(tmp_path / "ix")
    ix.update([articles_dir])
    meta_path = ix._generation() / "meta.json"
    meta = json.loads(meta_path.read_text())
    meta_path.write_text(json.dumps({**meta, "analyzer_version": "0-old"}))
    with pytest.raises(IndexOutdated, match="built with analyzer 0-old.*--rebuild"):
        ix.searcher().__enter__()
    with pytest.raises(IndexOutdated):
        ix.update([articles_dir])
    meta_path.write_text(json.dumps({**meta, "format": 99, "program_version": "9.0"}))
    with pytest.raises(IndexOutdated, match="newer version of this program"):
        ix.stats()
    assert ix.update([articles_dir], rebuild=True).rebuilt
    assert len(all_ids(ix)) == 5


def test_a_missing_index_says_how_to_build_one(tmp_path):
    with pytest.raises(IndexNotFound, match="search index PATH"):
        Index(tmp_path / "nothing").stats()


def test_a_second_writer_is_told_the_index_is_busy(tmp_path, articles_dir):
    ix = Index(tmp_path / "ix")
    ix.update([articles_dir])
    with open(ix.path / ".lock", "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(IndexBusy, match="Another writer"):
            ix.update([articles_dir])
    assert ix.update([articles_dir]).unchanged == 5


def test_stats_count_documents_per_language(seed_index):
    stats = seed_index.stats()
    assert stats.documents == 5
    assert stats.languages == {"ar": 2, "de": 2, "nl": 1}
    assert stats.size_bytes > 0 and stats.analyzer_version and stats.updated


def test_articles_in_none_of_our_languages_are_indexed_as_neutral(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [
        {"id": "fr", "title": "Les élections municipales", "body": "Les électeurs se rendent aux urnes dimanche pour choisir leurs représentants dans toutes les communes du pays."},
        {"id": "tagged", "title": "Tagged", "body": "Hallo", "lang": "deutsch"},
    ])
    ix = Index(tmp_path / "ix")
    ix.update([folder])
    assert ix.get("fr").lang == "und"
    assert ix.get("tagged").lang == "de"
    assert ids(ix, "élections") == {"fr"}


def test_a_rebuild_keeps_the_articles_of_files_it_cannot_read(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [{"id": "a", "lang": "en", "title": "Alpha", "body": "one"}])
    packed = folder / "b.jsonl.gz"
    packed.write_bytes(gzip.compress(b'{"id": "b", "lang": "en", "title": "Beta", "body": "two"}\n'))
    ix = Index(tmp_path / "ix")
    ix.update([folder])
    packed.write_bytes(packed.read_bytes()[:20])  # corrupt now
    report = ix.update([folder], rebuild=True)
    assert report.rebuilt and report.added == 1 and report.unchanged == 1
    assert [p for p, _ in report.skipped] == [str(packed)]
    assert all_ids(ix) == {"a", "b"}
    assert ids(ix, "Beta") == {"b"}


def _index_contents(path) -> dict:
    """Everything an index holds, by article id rather than document number:
    stored fields, field lengths, term statistics, and every posting's weight
    and positions."""
    contents: dict = {}
    with whoosh.index.open_dir(str(path)).reader() as reader:
        id_of = {d: reader.stored_fields(d)["id"] for d in reader.all_doc_ids()}
        for d, doc_id in id_of.items():
            lengths = {name: reader.doc_field_length(d, name) for name in reader.indexed_field_names()}
            contents[doc_id] = (reader.stored_fields(d), lengths)
        for name, btext in reader.all_terms():
            info = reader.term_info(name, btext)
            contents[(name, btext)] = (info.weight(), info.doc_frequency(), info.min_length(),
                                       info.max_length(), info.max_weight())
            matcher = reader.postings(name, btext)
            while matcher.is_active():
                contents[(name, btext, id_of[matcher.id()])] = (matcher.weight(), matcher.value())
                matcher.next()
    return contents


def test_parallel_build_writes_exactly_what_whooshs_own_writer_writes(tmp_path):
    """Workers analyze a word at a time and write their own segments; the
    index must hold the same postings, weights, positions, lengths and stored
    fields as Whoosh's writer makes from the same articles."""
    seeds = [path.read_text("utf-8").splitlines() for path in sorted(SEEDS.glob("*.txt"))]
    records = [
        {"id": f"{n}-{i}", "title": f"{n} {lines[0]}", "body": f"{lines[n % len(lines)]} {n * 7}. {lines[-1]}",
         **({"lang": "nl"} if n % 3 == 0 else {}), "source": f"s{n % 4}", "date": "2020-01-02"}
        for n in range(90) for i, lines in enumerate(seeds)
    ]  # 450 articles: three batches, so both workers build segments
    source = write_jsonl(tmp_path / "a.jsonl", records)
    ours = Index(tmp_path / "ours")
    ours.update([source], workers=2)
    with ours.searcher() as s:
        assert len(s.reader().leaf_readers()) == 2  # one segment per worker

    reference = tmp_path / "whoosh"
    reference.mkdir()
    ix = whoosh.index.create_in(str(reference), build_schema())
    with ix.writer() as writer:
        for article in documents.read_articles([source]):
            if isinstance(article, documents.Article):
                fields = _prepared((article, article.fingerprint(), article.published_key()))
                fields["exact"] = "\n".join(fields["exact"])
                writer.add_document(**fields)

    assert _index_contents(ours._generation()) == _index_contents(reference)

    # The same articles and workers make the same document numbers (which
    # break ties between equal scores), however the workers were scheduled.
    again = Index(tmp_path / "again")
    again.update([source], workers=2)
    assert _ids_by_docnum(again) == _ids_by_docnum(ours)


def _ids_by_docnum(ix: Index) -> list[str]:
    with ix.searcher() as s:
        return [s.stored_fields(d)["id"] for d in s.reader().all_doc_ids()]


def test_reruns_read_only_files_that_changed(tmp_path, articles_dir):
    ix = Index(tmp_path / "ix")
    ix.update([articles_dir])
    again = ix.update([articles_dir])
    assert (again.files_unchanged, again.unchanged, again.changed) == (5, 5, False)

    first = sorted(articles_dir.glob("*.txt"))[0]
    first.write_text(first.read_text("utf-8") + "\nNachtrag Zeitenwende.", "utf-8")
    edited = ix.update([articles_dir])
    assert (edited.files_unchanged, edited.updated, edited.unchanged) == (4, 1, 4)
    assert ids(ix, "Zeitenwende") == {first.stem}


def test_an_edit_that_keeps_size_and_modification_time_is_still_seen(tmp_path, articles_dir):
    ix = Index(tmp_path / "ix")
    ix.update([articles_dir])
    path = sorted(articles_dir.glob("*.txt"))[1]
    before = path.stat()
    text = path.read_text("utf-8")
    path.write_text(text.replace("a", "o", 1) if "a" in text else "x" + text[1:], "utf-8")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    report = ix.update([articles_dir])
    assert (report.files_unchanged, report.updated) == (4, 1)


def _eight_batches(tmp_path):
    """A file of 8 batches of articles, numbered from 0: 4 for each of 2 workers."""
    return write_jsonl(tmp_path / "numbered.jsonl", [
        {"id": str(n), "lang": "en", "title": f"Report {n}", "body": f"Troops left the base on day {n}."}
        for n in range(8 * segments.BATCH)])


def test_a_worker_that_finishes_first_while_another_is_busy_is_no_failure(tmp_path, monkeypatch):
    """Under load one worker can still be analyzing two queued batches when
    the other has been told to stop, has handed over its segments and
    exited: the run waits for the busy one rather than taking the exit for
    a crash."""
    def prepared(item):
        if int(item[0].id) // segments.BATCH % 2:  # the second worker's batches, half a second each
            time.sleep(0.5 / segments.BATCH)
        return _prepared(item)

    monkeypatch.setattr(index_module, "_prepared", prepared)
    report = Index(tmp_path / "ix").update([_eight_batches(tmp_path)], workers=2)
    assert report.added == 8 * segments.BATCH


def test_a_worker_killed_mid_run_fails_the_run_and_the_index_stays_as_it_was(tmp_path, monkeypatch):
    def prepared(item):
        if item[0].id == str(3 * segments.BATCH):  # in the second worker's second batch: killed, as by the OOM killer
            os.kill(os.getpid(), signal.SIGKILL)
        return _prepared(item)

    ix = Index(tmp_path / "ix")
    ix.update([SEEDS])
    monkeypatch.setattr(index_module, "_prepared", prepared)
    with pytest.raises(RuntimeError, match="stopped unexpectedly"):
        ix.update([SEEDS, _eight_batches(tmp_path)], workers=2)
    assert ix.stats().documents == 5
    with ix.searcher() as searcher:
        assert search(searcher, "Truppen").total == 2


def test_a_worker_gone_without_its_segments_fails_the_run_rather_than_hanging_it(tmp_path, monkeypatch):
    def prepared(item):
        if item[0].id == str(8 * segments.BATCH - 1):  # the second worker's last article: it leaves, exit code 0
            os._exit(0)
        return _prepared(item)

    monkeypatch.setattr(index_module, "_prepared", prepared)
    with pytest.raises(RuntimeError, match="stopped unexpectedly"):
        Index(tmp_path / "ix").update([_eight_batches(tmp_path)], workers=2)


def test_one_worker_builds_the_same_index_as_two(tmp_path):
    """With one worker (or on one core) the indexing process builds the
    segments itself, batch by batch as it reads; the index holds the same."""
    records = [{"id": f"a{n}", "lang": "en", "title": f"Title {n}", "body": f"Body words {n} troops {n % 7}"}
               for n in range(450)]
    source = write_jsonl(tmp_path / "a.jsonl", records)
    one, two = Index(tmp_path / "one"), Index(tmp_path / "two")
    assert one.update([source], workers=1).added == 450
    two.update([source], workers=2)
    assert _index_contents(one._generation()) == _index_contents(two._generation())


def _records(n: int) -> list[dict]:
    langs = ("en", "de", "nl", "ar")
    return [{"id": f"a{i}", "lang": langs[i % 4], "title": f"Title {i}",
             "body": " ".join(f"w{i}x{j}" for j in range(60)) + " نص"} for i in range(n)]


def test_progress_covers_the_whole_build_and_the_report_counts_languages(tmp_path, monkeypatch):
    monkeypatch.setattr(segments, "SEGMENT_POSTINGS", 3000)  # each worker writes segments while reading
    records = _records(450)
    (tmp_path / "in").mkdir()
    for part in range(3):
        write_jsonl(tmp_path / f"in/{part}.jsonl", records[part::3])
    events: list[Progress] = []
    report = Index(tmp_path / "ix").update([tmp_path / "in"], workers=2, on_progress=events.append)
    assert report.languages == {"ar": 112, "de": 113, "nl": 112, "en": 113}  # counted by the workers
    assert report.text_bytes == sum(len((r["title"] + r["body"]).encode()) for r in records) and report.seconds > 0
    total = events[0].total
    assert total > 0 and all(e.total == total for e in events)
    assert all(a.done <= b.done for a, b in zip(events, events[1:]))  # never goes back
    phases = [p for p, _ in groupby(e.phase for e in events)]
    assert phases[0] == "reading" and phases[-3:] == ["writing", "committing", "done"]
    committing = next(e for e in events if e.phase == "committing")
    assert committing.done >= total - 1  # every byte read, analyzed and written before the commit
    assert events[-1] == Progress("done", total, total)


def test_progress_moves_while_a_segment_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(index_module._RunProgress, "REPORT_SECONDS", 0)
    (tmp_path / "in").mkdir()
    write_jsonl(tmp_path / "in/a.jsonl", _records(300))
    events: list[Progress] = []
    Index(tmp_path / "ix").update([tmp_path / "in"], workers=1, on_progress=events.append)
    writing = [e.done for e in events if e.phase == "writing"]
    assert len(set(writing)) >= 10 and writing == sorted(writing)
    again: list[Progress] = []
    Index(tmp_path / "ix").update([tmp_path / "in"], on_progress=again.append)  # unchanged: nothing to write
    assert again[-1].done == again[-1].total and [e.phase for e in again][-1] == "done"


def test_articles_stay_unless_their_file_is_certainly_gone(tmp_path):
    """A file that cannot even be checked (here a folder on its path turned
    into a link that loops; an unreadable folder does the same for a user
    other than root, see test_hostile_corpus) keeps its articles, through a
    rebuild too; once the file is gone for certain they are removed."""
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    write_jsonl(folder / "sub" / "a.jsonl", [{"id": "a", "lang": "en", "title": "Alpha", "body": "Quay walls."}])
    write_jsonl(folder / "b.jsonl", [{"id": "b", "lang": "en", "title": "Beta", "body": "Dock gates."}])
    ix = Index(tmp_path / "ix")
    ix.update([folder])
    (folder / "sub").rename(tmp_path / "away")
    os.symlink("sub", folder / "sub")  # stat: "Too many levels of symbolic links"
    for rebuild in (False, True):
        report = ix.update([folder], rebuild=rebuild)
        assert report.skipped == [(str(folder / "sub"), "symbolic link loop")]
        assert all_ids(ix) == {"a", "b"}, rebuild
    os.unlink(folder / "sub")
    assert ix.update([folder]).removed == 1
    assert all_ids(ix) == {"b"}


def test_duplicate_ids_of_one_file_are_listed_up_to_a_limit_then_counted(tmp_path):
    """A small .gz of one record repeated would otherwise make a report line
    per copy: gigabytes of report."""
    source = write_jsonl(tmp_path / "a.jsonl", [{"id": "x", "lang": "en", "title": f"T{n}", "body": "b"}
                                                for n in range(350)])
    report = Index(tmp_path / "ix").update([source])
    assert report.added == 1
    assert len(report.skipped) == 101
    assert report.skipped[0] == (str(source), f"duplicate id 'x' (first seen in {source})")
    assert report.skipped[-1] == (str(source), "249 more duplicate ids (the first 100 are listed)")


def test_a_rebuild_killed_outright_leaves_nothing_behind_once_the_index_is_next_updated(tmp_path, articles_dir):
    """SIGKILL (or SIGTERM, whose default is the same) gives a rebuild no
    chance to remove what it half built, which can be a whole index's worth
    of disk: the next run, whatever it is, removes it."""
    ix_dir = tmp_path / "ix"
    index_command(str(articles_dir), "--index-dir", str(ix_dir), "--no-embeddings")
    live = Index(ix_dir).generation_name()
    write_jsonl(articles_dir / "many.jsonl", [{"id": f"m{i}", "lang": "en", "title": f"Report {i}",
                                               "body": " ".join(f"word{(i * k) % 997}" for k in range(300))}
                                              for i in range(3000)])
    rebuild = subprocess.Popen([sys.executable, "-m", "search", "index", str(articles_dir), "--index-dir", str(ix_dir), "--rebuild",
                                "--no-embeddings"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while rebuild.poll() is None and len(list(ix_dir.glob("gen-*"))) < 2:
            time.sleep(0.01)
    finally:
        rebuild.kill()
        rebuild.wait()
    assert len(list(ix_dir.glob("gen-*"))) == 2, "the rebuild ended before it could be killed"
    index_command(str(articles_dir), "--index-dir", str(ix_dir), "--no-embeddings")  # an ordinary, incremental run
    assert [p.name for p in ix_dir.glob("gen-*")] == [live]
    assert "m2999" in all_ids(Index(ix_dir))


def test_updating_every_article_again_and_again_does_not_grow_the_index(tmp_path):
    """Each run that updates a segment's articles deletes them there and
    writes them anew: a segment with nothing left (or little) must go, or
    the index grows by its whole size with every such run (six runs over a
    feed rewritten each time: six times the size, every search reading
    them all)."""
    ix = Index(tmp_path / "ix")
    folder = tmp_path / "feed"
    folder.mkdir()
    sizes = []
    for version in range(4):
        write_jsonl(folder / "feed.jsonl", [{"id": f"a{i}", "lang": "en", "title": f"Report {i} version{version}",
                                             "body": " ".join(f"word{(i * k + version) % 997}" for k in range(100))}
                                            for i in range(300)])
        ix.update([folder])
        gen = ix._generation()
        sizes.append(sum(f.stat().st_size for f in gen.iterdir() if f.is_file()))
    with ix.searcher() as s:
        assert (search(s, "version3").total, search(s, "version2").total, s.doc_count()) == (300, 0, 300)
    assert sizes[-1] < 1.3 * sizes[0], sizes
