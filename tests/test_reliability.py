"""Index integrity when processes die, run at once, or meet a full or read-only disk.

Everything here runs the real `search index` command in its own process and
kills it with SIGKILL, as an OOM killer or a power cut would.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from search.engines.whoosh.index import INDEX_FORMAT, Index
from search.engines.whoosh.searching import search

from .conftest import SEEDS, search_command, write_jsonl

PER_FILE = 10


def write_corpus(folder: Path, files: range, version: int) -> None:
    """PER_FILE articles per file; every article says which version it is."""
    folder.mkdir(exist_ok=True)
    for i in files:
        write_jsonl(folder / f"{i:03d}.jsonl", [
            {"id": f"{i}-{j}", "lang": "en" if j % 2 else "de",
             "title": f"Report {i}-{j} version{version}",
             "body": f"Common marker text version{version}. " + " ".join(f"word{(i * 7 + j * 3 + k) % 500}" for k in range(120))}
            for j in range(PER_FILE)
        ])


def state(ix: Index) -> dict[str, str]:
    """id -> version of every article, asserting the index opens, answers and has no duplicate."""
    with ix.searcher() as s:
        stored = list(s.all_stored_fields())
        assert search(s, "marker").total == len(stored)
    ids = [d["id"] for d in stored]
    assert len(ids) == len(set(ids)), "duplicate articles"
    return {d["id"]: d["title"].rsplit(" ", 1)[1] for d in stored}


def expected(files: range, version: int) -> dict[str, str]:
    return {f"{i}-{j}": f"version{version}" for i in files for j in range(PER_FILE)}


def start_index(*args: str) -> subprocess.Popen:
    """`search index` of keywords only: what is killed here is the keyword
    index (test_meaning.py interrupts the embedding)."""
    return subprocess.Popen([sys.executable, "-m", "search", "index", "--no-embeddings", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run_index(*args: str) -> subprocess.CompletedProcess:
    return search_command("index", "--no-embeddings", *args)


def kill_after(args: tuple[str, ...], seconds: float) -> bool:
    """Start `search index`, SIGKILL it after `seconds`; True if it was still running."""
    process = start_index(*args)
    time.sleep(seconds)
    alive = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.communicate()
    return alive


@pytest.mark.slow
@pytest.mark.parametrize("rebuild", [False, True], ids=["incremental", "rebuild"])
def test_sigkill_at_any_moment_leaves_a_searchable_index_and_a_rerun_completes_it(tmp_path, rebuild):
    folder, ix_dir = tmp_path / "articles", tmp_path / "ix"
    write_corpus(folder, range(30), 1)
    assert run_index(str(folder), "--index-dir", str(ix_dir)).returncode == 0
    ix = Index(ix_dir)
    before = expected(range(30), 1)
    assert state(ix) == before
    # The change: 15 files rewritten, 5 deleted, 15 new (400 articles in the end).
    write_corpus(folder, range(15), 2)
    for i in range(25, 30):
        (folder / f"{i:03d}.jsonl").unlink()
    write_corpus(folder, range(30, 45), 2)
    after = {k: v for k, v in before.items() if int(k.split("-")[0]) < 25}
    after.update(expected(range(15), 2) | expected(range(30, 45), 2))
    args = (str(folder), "--index-dir", str(ix_dir), *(["--rebuild"] if rebuild else []))

    timing = tmp_path / "timing"
    write_corpus(timing, range(45), 2)
    started = time.monotonic()
    assert run_index(str(timing), "--index-dir", str(tmp_path / "timing-ix")).returncode == 0
    duration = time.monotonic() - started

    kills = 0
    for fraction in (0.15, 0.35, 0.55, 0.75, 0.9):
        kills += kill_after(args, duration * fraction)
        assert state(ix) in (before, after)  # all of the old or all of the new, never a mix
    assert kills >= 3, "the runs ended before they could be killed"
    done = run_index(*args)
    assert done.returncode == 0, done.stderr
    assert state(ix) == after
    assert len(list(ix_dir.glob("gen-*"))) <= 2  # half-built generations are cleaned up


def test_two_index_runs_at_once_neither_corrupts_nor_loses(tmp_path):
    folder, ix_dir = tmp_path / "articles", tmp_path / "ix"
    write_corpus(folder, range(40), 1)
    first = start_index(str(folder), "--index-dir", str(ix_dir))
    time.sleep(1.0)
    second = run_index(str(folder), "--index-dir", str(ix_dir))
    first.communicate(timeout=300)
    assert first.returncode == 0
    assert second.returncode == 0, second.stderr  # it waited for the first to finish (--wait, 60 s by default)
    assert state(Index(ix_dir)) == expected(range(40), 1)


@contextmanager
def small_filesystem(path: Path, size: str):
    """A real tmpfs of `size` at `path` (needs root, as CI has); skips otherwise."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def big_articles(folder: Path, megabytes: int, articles: int) -> None:
    """About `megabytes` of distinct words, in few articles (built in-process)
    or many (built by the worker processes)."""
    folder.mkdir()
    words = 120_000 * megabytes // articles
    for i in range(articles):
        body = " ".join(f"unique{i}x{n}" for n in range(words))
        write_jsonl(folder / f"big{i}.jsonl", [{"id": f"big{i}", "lang": "en", "title": f"Big {i}", "body": body}])


@pytest.mark.parametrize("articles", [8, 450], ids=["in-process", "workers"])
@pytest.mark.parametrize("rebuild", [False, True], ids=["incremental", "rebuild"])
def test_a_full_disk_gives_a_clear_error_and_the_index_stays_searchable(tmp_path, rebuild, articles):
    with small_filesystem(tmp_path / "disk", "3m") as disk:
        ix_dir = disk / "ix"
        assert run_index(str(SEEDS), "--index-dir", str(ix_dir)).returncode == 0
        big_articles(tmp_path / "big", 4, articles)
        failed = run_index(str(SEEDS), str(tmp_path / "big"), "--index-dir", str(ix_dir), *(["--rebuild"] if rebuild else []))
        assert failed.returncode == 1
        assert "disk is full" in failed.stderr and "previous index is unchanged" in failed.stderr
        assert "Traceback" not in failed.stderr
        with Index(ix_dir).searcher() as s:
            assert s.doc_count() == 5 and search(s, "Truppen").total == 2


def test_a_read_only_index_gives_a_clear_error_and_stays_searchable(tmp_path):
    with small_filesystem(tmp_path / "disk", "8m") as disk:
        ix_dir = disk / "ix"
        assert run_index(str(SEEDS), "--index-dir", str(ix_dir)).returncode == 0
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        extra = tmp_path / "extra"
        write_corpus(extra, range(1), 1)
        failed = run_index(str(SEEDS), str(extra), "--index-dir", str(ix_dir))
        assert failed.returncode == 1 and "not writable" in failed.stderr and "Traceback" not in failed.stderr
        with Index(ix_dir).searcher() as s:
            assert s.doc_count() == 5 and search(s, "troepen").total == 1


def test_a_newer_programs_index_is_refused_with_an_explanation(tmp_path):
    ix_dir = tmp_path / "ix"
    assert run_index(str(SEEDS), "--index-dir", str(ix_dir)).returncode == 0
    meta_path = Index(ix_dir)._generation() / "meta.json"
    meta_path.write_text(json.dumps({**json.loads(meta_path.read_text()), "format": INDEX_FORMAT + 1, "program_version": "9.9"}))
    done = search_command("query", "Truppen", "--index-dir", str(ix_dir))
    assert done.returncode == 1 and "newer version of this program (9.9" in done.stderr
    assert "Traceback" not in done.stderr
