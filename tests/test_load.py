"""`search serve` under load while its index changes, and over a long soak.

Traffic goes only to the server this test starts on 127.0.0.1, in loops
bounded by request count and time. Figures are printed and written to
bench/results/load.json.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from .conftest import SEEDS, LiveServer, index_command, process_tree, write_jsonl

RESULTS = Path(__file__).resolve().parent.parent / "bench" / "results"
QUERIES = ["Truppen", "القوات الأمريكية", "troepen", "2500 Soldaten", "harbour", "ferry OR lighthouse",
           '"die Truppen"', "Milit*", "report version", "Irak -Basen", "lang:nl Irak", "word17 word230"]


class Load:
    """Threads sending searches until stopped, or until their budget runs out."""

    def __init__(self, server: LiveServer, threads: int = 4, max_requests: int = 100_000, max_seconds: float = 300):
        self.server, self.max_requests, self.deadline = server, max_requests, time.monotonic() + max_seconds
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._run, args=(random.Random(n),)) for n in range(threads)]

    def _run(self, rng: random.Random) -> None:
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            with self.lock:
                if len(self.latencies) + len(self.errors) >= self.max_requests:
                    return
            query = urllib.parse.quote(rng.choice(QUERIES))
            started = time.perf_counter()
            status, _, body = self.server.get(f"/api/search?q={query}&page={rng.randint(1, 3)}")
            elapsed = time.perf_counter() - started
            with self.lock:
                if status == 200:
                    self.latencies.append(elapsed)
                else:
                    self.errors.append(f"{status}: {body[:200]!r}")

    def __enter__(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        for t in self.threads:
            t.join()

    def wait(self) -> None:
        for t in self.threads:
            t.join()

    def figures(self) -> dict:
        ms = sorted(x * 1000 for x in self.latencies)
        pick = lambda p: round(ms[min(len(ms) - 1, int(len(ms) * p))], 1) if ms else None  # noqa: E731
        return {"requests": len(ms) + len(self.errors), "errors": len(self.errors),
                "p50_ms": pick(0.5), "p95_ms": pick(0.95), "p99_ms": pick(0.99), "max_ms": pick(1.0),
                "mean_ms": round(statistics.fmean(ms), 1) if ms else None}


def record(name: str, figures: dict) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "load.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = figures
    path.write_text(json.dumps(data, indent=2))
    print(f"\n{name}: {figures}")


def write_articles(folder: Path, start: int, count: int, tag: str) -> None:
    write_jsonl(folder / f"{tag}.jsonl", [
        {"id": f"{tag}-{i}", "lang": "en", "title": f"Report {i} {tag}",
         "body": f"{tag} report version text " + " ".join(f"word{(i * 13 + k) % 400}" for k in range(150))}
        for i in range(start, start + count)
    ])


def rss_kb(pid: int) -> int:
    """Resident memory of a process and its children (the search workers)."""
    total = 0
    for p in process_tree(pid):
        status = Path(f"/proc/{p}/status").read_text()
        total += int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS:")))
    return total


def open_files(pid: int) -> list[str]:
    """What each file descriptor of a process and its children points to."""
    targets = []
    for p in process_tree(pid):
        for fd in os.listdir(f"/proc/{p}/fd"):
            try:
                targets.append(os.readlink(f"/proc/{p}/fd/{fd}"))
            except OSError:
                pass  # closed meanwhile
    return targets


@pytest.fixture
def corpus_server(tmp_path):
    folder, ix_dir = tmp_path / "articles", tmp_path / "ix"
    folder.mkdir()
    write_articles(folder, 0, 600, "base")
    index_command("--no-embeddings", str(SEEDS), str(folder), "--index-dir", str(ix_dir))
    server = LiveServer(ix_dir, env={"SEARCH_REFRESH_SECONDS": "0.5"})
    yield server, folder
    server.stop()


@pytest.mark.slow
def test_no_request_fails_while_the_index_is_updated_and_rebuilt(corpus_server):
    server, folder = corpus_server
    seeds_and_folder = (str(SEEDS), str(folder), "--index-dir", str(server.index_dir))
    with Load(server, threads=4, max_seconds=240) as load:
        time.sleep(2)
        delays = []
        for n in range(3):  # incremental updates
            write_articles(folder, 1000 + n * 50, 50, f"update{n}")
            index_command("--no-embeddings", *seeds_and_folder)
            delays.append(server.seconds_until_found(f"update{n}", f"update{n}-{1000 + n * 50}"))
        write_articles(folder, 2000, 50, "rebuilt")
        index_command("--no-embeddings", *seeds_and_folder, "--rebuild")
        delays.append(server.seconds_until_found("rebuilt", "rebuilt-2000"))
        time.sleep(2)
    figures = load.figures() | {"visible_after_s": [round(d, 2) for d in delays]}
    record("updates_and_rebuild_under_load", figures)
    assert load.errors == []
    assert figures["requests"] > 200
    assert max(delays) < 5


@pytest.mark.slow
def test_memory_and_file_descriptors_stay_flat_over_a_soak(corpus_server):
    server, folder = corpus_server
    pid = server.process.pid
    searchers = 8 + len(process_tree(pid)) - 1  # `search serve` runs 8 threads, and at most a searcher in each child process

    def burst(requests: int) -> Load:
        with Load(server, threads=4, max_requests=requests, max_seconds=300) as load:
            load.wait()
        assert load.errors == []
        return load

    burst(1500)  # every worker has opened its searcher
    with Load(server, threads=4, max_requests=4000, max_seconds=300) as changing:
        for n in range(4):  # index changes make every worker reopen its searcher
            time.sleep(3)
            write_articles(folder, 5000 + n * 10, 10, f"soak{n}")
            index_command("--no-embeddings", str(SEEDS), str(folder), "--index-dir", str(server.index_dir))
        changing.wait()
    time.sleep(1)
    burst(800)  # every worker has reopened on the last change
    generation = server.index_dir / (server.index_dir / "CURRENT").read_text().strip()
    live_files = {str(p) for p in generation.iterdir()}
    before = open_files(pid)
    index_fds = [t for t in before if t.startswith(str(server.index_dir))]
    assert all(t in live_files for t in index_fds), "a closed searcher's or deleted file is still open"
    assert len(index_fds) <= searchers * len(live_files)
    rss_before = rss_kb(pid)
    steady = burst(4000)
    rss_after, after = rss_kb(pid), open_files(pid)
    figures = changing.figures() | {
        "steady": steady.figures(),
        "rss_before_mb": round(rss_before / 1024, 1), "rss_after_mb": round(rss_after / 1024, 1),
        "fds_before": len(before), "fds_after": len(after),
    }
    record("soak", figures)
    assert changing.figures()["requests"] + steady.figures()["requests"] >= 8000
    assert len(after) <= len(before) + 2, "file descriptors grow"
    assert rss_after - rss_before < 10 * 1024, "memory grows"
