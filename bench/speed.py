#!/usr/bin/env python3
"""Speed of indexing, search and the web service, next to two baselines (issue #5).

Why: the targets of issue #5 (a full build 3x faster than Whoosh used the
obvious way, 100 changed articles re-indexed in under 5 s, /api/search p95
under 50 ms at 4 clients, search cost growing sublinearly) can only be checked
on the real corpora, and only as ratios measured in the same run: the machines
this runs on are shared and noisy. Absolute times are printed too, with the
machine they were measured on.

On subsets of `../shared/corpora/` (every k-th article of each language, 5,000
and 20,000 articles, and all of them) it measures:
- indexing through the real CLI (`search index DIR --rebuild`, then plain
  `search index` after changing 0, 1, 100 and 1,000 articles), and the same
  full build by stock Whoosh (StemmingAnalyzer, one writer) and SQLite FTS5
  (porter unicode61), each in a child process: wall and CPU time, peak memory,
  size on disk;
- search latency in-process, per language and query type, with and without
  snippets, for ours and both baselines, interleaved so that noise hits all
  engines alike;
- `/api/search` of `search serve` under 4 concurrent connections of `wrk`.

Tables go to stdout, progress to stderr, every figure to
bench/results/speed.json (git-ignored).

    python3 bench/speed.py                  # all three sizes, about 20-30 minutes on 2 cores
    python3 bench/speed.py --sizes 5000 --duration 5
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import platform
import re
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # measure this checkout, whatever is installed

from whoosh import index as whoosh_index  # noqa: E402
from whoosh.analysis import StemmingAnalyzer  # noqa: E402
from whoosh.fields import ID, TEXT, Schema  # noqa: E402
from whoosh.qparser import MultifieldParser, OrGroup  # noqa: E402
from whoosh.query import Term  # noqa: E402

from search.engines.whoosh.index import Index  # noqa: E402
from search.engines.whoosh.searching import search  # noqa: E402

DEFAULT_CORPORA = REPO.parent / "shared" / "corpora"
DEFAULT_WORK = REPO / "bench" / "results" / "speed"
DEFAULT_OUT = REPO / "bench" / "results" / "speed.json"
LANGS = ("ar", "de", "nl", "en")
TOP = 10
INCREMENTAL_CHANGES = (0, 1, 100, 1000)
CHANGED_SENTENCE = " This paragraph was added by the speed benchmark."
WEB_CLIENTS = 4
SERVER_THREADS = 8
"""`search serve`'s default number of worker threads, given explicitly."""
SLOWEST = 5
"""Slowest queries listed per size."""
ENGINES = ("ours", "whoosh", "fts5")
ENGINE_NAMES = {"ours": "ours", "whoosh": "obvious Whoosh", "fts5": "SQLite FTS5"}

# -- the queries -------------------------------------------------------------------

QUERIES_FILE = Path(__file__).with_name("speed-queries.json")
"""Real queries per language and type: words common in the corpora (they find
articles in the 5,000-article subset too), names, phrases from the news.
Filtered queries are objects: {"q": text, "lang" or "source": filter}."""
QUERY_TABLE: dict[str, dict[str, list]] = json.loads(QUERIES_FILE.read_text("utf-8"))
KINDS = tuple(QUERY_TABLE["en"])
WEB_KINDS = ("one-word", "two-word")
"""The query types of the issue's /api/search target."""


@dataclass(frozen=True)
class Query:
    lang: str  # the language it is written in (for grouping; not a filter)
    kind: str
    text: str
    filter_lang: str | None = None
    filter_source: str | None = None

    @property
    def label(self) -> str:
        filters = [f"{k}:{v}" for k, v in (("lang", self.filter_lang), ("source", self.filter_source)) if v]
        return " ".join([self.text, *(f"[{f}]" for f in filters)])


def all_queries() -> list[Query]:
    out = []
    for lang, kinds in QUERY_TABLE.items():
        for kind, entries in kinds.items():
            for e in entries:
                e = e if isinstance(e, dict) else {"q": e}
                out.append(Query(lang, kind, e["q"], e.get("lang"), e.get("source")))
    return out


# -- the machine and the code measured ---------------------------------------------


def machine() -> dict:
    """What absolute times mean: they are only comparable on the same machine."""
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    ram_kb = re.search(r"^MemTotal:\s*(\d+)", meminfo, re.MULTILINE)
    return {
        "cores": os.cpu_count(),
        "cpu": model.group(1).strip() if model else platform.processor(),
        "ram_gb": round(int(ram_kb.group(1)) / 1024**2, 1) if ram_kb else None,
        "python": platform.python_version(),
        "system": f"{platform.system()} {platform.release()}",
        "load_average_at_start": round(os.getloadavg()[0], 2),
    }


def code_state() -> dict:
    """Commit, uncommitted edits of search/ and web/, and a digest of their
    sources: taken at start and end, to tell when the code changed mid-run
    (child processes run the code as it is when they start, while the
    in-process searches run what was imported at the start)."""
    digest = hashlib.blake2b(digest_size=6)
    for path in sorted([*(REPO / "search").rglob("*.py"), *(REPO / "web").rglob("*.py")]):
        digest.update(path.read_bytes())

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=10, check=False).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {"commit": git("rev-parse", "--short", "HEAD") or None,
            "modified": git("status", "--porcelain", "--", "search", "web").splitlines(), "digest": digest.hexdigest()}


# -- subsets -------------------------------------------------------------------------


def read_corpora(corpora: Path) -> dict[str, list[str]]:
    """Each language's records as JSON lines, in file order."""
    out = {}
    for lang in LANGS:
        with gzip.open(corpora / f"{lang}.jsonl.gz", "rt", encoding="utf-8") as f:
            out[lang] = [line.rstrip("\n") for line in f if line.strip()]
    return out


def take_subset(corpus: dict[str, list[str]], size: int | None) -> dict[str, list[str]]:
    """`size` records, each language's share proportional to its corpus, taken
    evenly spaced through each file (files are grouped by source and date):
    the same subset on every run. None: everything."""
    total = sum(len(lines) for lines in corpus.values())
    if size is None or size >= total:
        return dict(corpus)
    exact = {lang: len(lines) * size / total for lang, lines in corpus.items()}
    counts = {lang: int(x) for lang, x in exact.items()}
    for lang in sorted(exact, key=lambda lang: counts[lang] - exact[lang])[: size - sum(counts.values())]:
        counts[lang] += 1  # largest remainders, so that the counts add up to `size`
    return {lang: spaced(lines, counts[lang]) for lang, lines in corpus.items()}


def spaced(items: Sequence, n: int) -> list:
    """`n` items evenly spaced through `items` (every k-th, k fractional)."""
    return [items[i * len(items) // n] for i in range(n)] if n else []


def write_articles(folder: Path, subset: dict[str, list[str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for lang, lines in subset.items():
        (folder / f"{lang}.jsonl").write_text("".join(line + "\n" for line in lines), "utf-8")


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size


# -- running a child process, with its peak memory -------------------------------------


GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").is_file() else None
"""GNU time (Debian package `time`), the wrapper that measures a child's peak memory."""


@dataclass
class ChildRun:
    seconds: float
    cpu_seconds: float  # user + system, the child and its waited-for children
    max_rss_mb: float | None  # the largest single process (exact, from the kernel; None without GNU time)
    peak_tree_mb: float  # the process and its descendants together (PSS, sampled)
    stdout: str


class TreeMemory(threading.Thread):
    """Samples the summed proportional set size (PSS) of a process and all its
    descendants. Why both this and the maximum RSS: the kernel's maximum RSS is
    exact but per process (the largest one), while an indexer that uses several
    worker processes needs the total; PSS splits pages shared after a fork
    between the processes, so the sum does not count them twice. Sampling can
    miss a peak shorter than the interval."""

    def __init__(self, pid: int, interval: float = 0.2):
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kb = pid, interval, 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            self.peak_kb = max(self.peak_kb, sum(map(_pss_kb, _descendants(self.pid))))
            self._stop_event.wait(self.interval)

    def stop(self) -> float:
        self._stop_event.set()
        self.join()
        return self.peak_kb / 1024


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo.extend(children.get(p, ()))
    return found


def _pss_kb(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    m = re.search(r"^Pss:\s+(\d+)", text, re.MULTILINE)
    return int(m.group(1)) if m else 0


NO_CLIENT_LIMITS = {"SEARCH_RATE_LIMIT": "", "SEARCH_TIME_BUDGET": "0", "SEARCH_CONCURRENT_SEARCHES": "0"}


def child_env(**extra: str) -> dict[str, str]:
    """The environment of our child processes: this checkout first on the path."""
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def run_child(cmd: Sequence[str]) -> ChildRun:
    """Run `cmd` to completion: wall time, CPU time, and peak memory. Fails on
    a non-zero exit.

    Peak memory comes from GNU time, which forks the command from its own tiny
    process: the kernel's maximum RSS of a forked child starts at its parent's
    RSS at the fork, so measuring the child from this process (which holds the
    corpus) would report this process's size whenever the child stays smaller.
    CPU time comes from wait4(2), which reports on this child alone, where
    getrusage(RUSAGE_CHILDREN) would mix in every earlier child."""
    with tempfile.TemporaryDirectory(prefix="speed-") as tmp:
        out_path, err_path, rss_path = (Path(tmp) / name for name in ("out", "err", "rss"))
        wrapped = [GNU_TIME, "-f", "%M", "-o", str(rss_path), *cmd] if GNU_TIME else list(cmd)
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            start = time.perf_counter()
            proc = subprocess.Popen(wrapped, stdout=out, stderr=err, cwd=REPO, env=child_env())
            sampler = TreeMemory(proc.pid)
            sampler.start()
            _, status, usage = os.wait4(proc.pid, 0)
            seconds = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
            peak_tree = sampler.stop()
        if proc.returncode:
            raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}): {err_path.read_text(errors='replace')[-2000:]}")
        max_rss = int(rss_path.read_text().split()[-1]) / 1024 if GNU_TIME else None
        return ChildRun(seconds, usage.ru_utime + usage.ru_stime, max_rss, peak_tree, out_path.read_text("utf-8", errors="replace"))


# -- indexing ------------------------------------------------------------------------------


def cli(*args: str) -> list[str]:
    """The `search` command of this checkout (`python -m search` is the same CLI)."""
    return [sys.executable, "-m", "search", *args]


def rounded(mb: float | None) -> float | None:
    return None if mb is None else round(mb, 1)


def index_figures(run: ChildRun, articles: int, input_bytes: int, index_path: Path) -> dict:
    return {
        "articles": articles,
        "input_mb": round(input_bytes / 1e6, 2),
        "seconds": round(run.seconds, 2),
        "cpu_seconds": round(run.cpu_seconds, 2),
        "articles_per_s": round(articles / run.seconds, 1),
        "mb_per_s": round(input_bytes / 1e6 / run.seconds, 3),
        "max_rss_mb": rounded(run.max_rss_mb),
        "peak_tree_mb": round(run.peak_tree_mb, 1),
        "index_mb": round(folder_bytes(index_path) / 1e6, 1),
    }


def build_all(work: Path, articles_dir: Path, articles: int, engines: Sequence[str]) -> dict[str, dict]:
    """A full build by each engine, from scratch, each in a child process."""
    input_bytes = folder_bytes(articles_dir)
    builds = {}
    for engine in engines:
        target = work / ("fts5.db" if engine == "fts5" else engine)
        shutil.rmtree(target, ignore_errors=True) if target.is_dir() else target.unlink(missing_ok=True)
        if engine == "ours":
            cmd = cli("index", str(articles_dir), "--index-dir", str(target), "--rebuild", "--json")
        else:
            cmd = [sys.executable, __file__, "--build-baseline", engine, str(target), str(articles_dir)]
        progress(f"  full build: {ENGINE_NAMES[engine]}")
        run = run_child(cmd)
        builds[engine] = index_figures(run, articles, input_bytes, target)
        progress(f"    {builds[engine]['seconds']} s, {builds[engine]['articles_per_s']} articles/s")
    return builds


def read_jsonl_folder(folder: Path) -> Iterator[dict]:
    for path in sorted(folder.glob("*.jsonl")):
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    yield json.loads(line)


def build_whoosh(target: Path, articles_dir: Path) -> None:
    """Whoosh the obvious way: StemmingAnalyzer, one writer with its default
    settings (one process), one add_document per article."""
    target.mkdir(parents=True)
    analyzer = StemmingAnalyzer()
    schema = Schema(id=ID(stored=True, unique=True), lang=ID(stored=True), source=ID(stored=True),
                    title=TEXT(analyzer=analyzer, stored=True), body=TEXT(analyzer=analyzer, stored=True))
    writer = whoosh_index.create_in(str(target), schema).writer()
    for d in read_jsonl_folder(articles_dir):
        writer.add_document(id=d["id"], lang=d.get("lang", ""), source=d.get("source", ""), title=d["title"], body=d["body"])
    writer.commit()


def build_fts5(target: Path, articles_dir: Path) -> None:
    """SQLite FTS5 with the porter stemmer over unicode61, inserts in one transaction."""
    db = sqlite3.connect(target)
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(title, body, lang UNINDEXED, id UNINDEXED, source UNINDEXED, "
               "tokenize='porter unicode61 remove_diacritics 2')")
    with db:
        db.executemany("INSERT INTO docs VALUES (?, ?, ?, ?, ?)",
                       ((d["title"], d["body"], d.get("lang", ""), d["id"], d.get("source", "")) for d in read_jsonl_folder(articles_dir)))
    db.close()


def touched(line: str) -> str:
    """The record with a sentence appended to its body: a changed article."""
    record = json.loads(line)
    record["body"] += CHANGED_SENTENCE
    return json.dumps(record, ensure_ascii=False)


def incremental(articles_dir: Path, index_dir: Path, subset: dict[str, list[str]], counts: Sequence[int]) -> list[dict]:
    """`search index` over the same files with N articles changed (evenly
    spread over the subset), timed; then the files are restored and indexed
    again (timed apart as `restore`), so every run starts from the content of
    the full build. Only files holding a changed article are rewritten."""
    positions = [(lang, i) for lang in LANGS for i in range(len(subset[lang]))]
    runs = []
    for n in counts:
        chosen = spaced(positions, n)
        changed = {lang: list(subset[lang]) for lang in {lang for lang, _ in chosen}}
        for lang, i in chosen:
            changed[lang][i] = touched(changed[lang][i])
        write_articles(articles_dir, changed)
        progress(f"  incremental: {n} changed")
        run = run_child(cli("index", str(articles_dir), "--index-dir", str(index_dir), "--json"))
        report = json.loads(run.stdout)
        write_articles(articles_dir, {lang: subset[lang] for lang in changed})
        restore = run_child(cli("index", str(articles_dir), "--index-dir", str(index_dir), "--json")) if n else None
        if report["updated"] != n:
            progress(f"    warning: {n} articles changed but the index reports {report['updated']} updated")
        runs.append({
            "changed": n, "seconds": round(run.seconds, 2), "cpu_seconds": round(run.cpu_seconds, 2),
            "max_rss_mb": rounded(run.max_rss_mb), "updated": report["updated"], "unchanged": report["unchanged"],
            "restore_seconds": round(restore.seconds, 2) if restore else None,
            "index_mb_after": round(folder_bytes(index_dir) / 1e6, 1),
        })
        progress(f"    {run.seconds:.2f} s")
    return runs


# -- search engines, in-process -------------------------------------------------------------

Engine = Callable[[Query, bool], int]
"""Runs a query, with or without snippets, and returns how many results it showed."""


class Ours:
    """Our library as the CLI and the web app call it."""

    def __init__(self, path: Path):
        self.searcher = Index(path).open_searcher()

    def __call__(self, q: Query, snippets: bool) -> int:
        found = search(self.searcher, q.text, lang=q.filter_lang, source=q.filter_source, per_page=TOP, snippets=snippets)
        return len(found.results)

    def close(self) -> None:
        self.searcher.close()


class ObviousWhoosh:
    """Whoosh's query parser over title and body, any word matching (OrGroup),
    top 10 by BM25F; the snippet is Whoosh's highlighter on the stored body."""

    def __init__(self, path: Path):
        ix = whoosh_index.open_dir(str(path))
        self.parser = MultifieldParser(["title", "body"], ix.schema, group=OrGroup)
        self.searcher = ix.searcher()

    def __call__(self, q: Query, snippets: bool) -> int:
        filters = [Term(name, value) for name, value in (("lang", q.filter_lang), ("source", q.filter_source)) if value]
        hits = self.searcher.search(self.parser.parse(q.text), limit=TOP, filter=filters[0] if filters else None)
        for hit in hits:
            _ = hit["title"], (hit.highlights("body") if snippets else None)
        return hits.scored_length()

    def close(self) -> None:
        self.searcher.close()


class Fts5:
    """FTS5 MATCH ordered by bm25(), top 10; the snippet is FTS5's snippet()."""

    def __init__(self, path: Path):
        self.db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)

    def __call__(self, q: Query, snippets: bool) -> int:
        columns = "id, title" + (", snippet(docs, 1, '<mark>', '</mark>', '…', 24)" if snippets else "")
        where, params = ["docs MATCH ?"], [fts5_match(q.text)]
        for column, value in (("lang", q.filter_lang), ("source", q.filter_source)):
            if value:
                where.append(f"{column} = ?")
                params.append(value)
        sql = f"SELECT {columns} FROM docs WHERE {' AND '.join(where)} ORDER BY bm25(docs) LIMIT {TOP}"
        return len(self.db.execute(sql, params).fetchall())

    def close(self) -> None:
        self.db.close()


def fts5_match(text: str) -> str:
    """Our query syntax in FTS5's: phrases stay phrases, `word*` a prefix
    query, other words joined by OR (as Whoosh's OrGroup, and ours, match any)."""
    parts = []
    for phrase, word in re.findall(r'"([^"]+)"|(\S+)', text):
        if phrase:
            parts.append('"' + phrase.replace('"', '""') + '"')
        elif word.endswith("*"):
            parts.append('"' + word[:-1].replace('"', '""') + '"*')
        else:
            parts.append('"' + word.replace('"', '""') + '"')
    return " OR ".join(parts)


def open_engines(work: Path, engines: Sequence[str]) -> dict[str, Engine]:
    openers = {"ours": lambda: Ours(work / "ours"), "whoosh": lambda: ObviousWhoosh(work / "whoosh"),
               "fts5": lambda: Fts5(work / "fts5.db")}
    return {name: openers[name]() for name in engines}


# -- latency ------------------------------------------------------------------------------

Samples = dict[str, dict[str, list[float]]]  # "engine/snippets" -> query label -> milliseconds


def mode(engine: str, snippets: bool) -> str:
    return f"{engine}/{'snippets' if snippets else 'plain'}"


def measure_search(engines: dict[str, Engine], queries: Sequence[Query], repeat: int) -> tuple[Samples, dict]:
    """Every query `repeat` times on every engine, with and without snippets,
    after one untimed round (caches, lazily loaded structures). Rounds are
    interleaved (query by query, engine by engine) so that a burst of load on
    the machine hits all engines, not the one that happened to be running."""
    samples: Samples = {mode(e, s): {q.label: [] for q in queries} for e in engines for s in (True, False)}
    shown = {e: {q.label: engine(q, True) for q in queries} for e, engine in engines.items()}  # the warm-up round
    for r in range(repeat):
        progress(f"  search round {r + 1}/{repeat}", end="\r")
        for q in queries:
            for name, engine in engines.items():
                for snippets in (True, False):
                    start = time.perf_counter()
                    engine(q, snippets)
                    samples[mode(name, snippets)][q.label].append((time.perf_counter() - start) * 1000)
    progress("")
    for name, counts in shown.items():
        empty = [label for label, n in counts.items() if not n]
        if empty:
            progress(f"  note: {ENGINE_NAMES[name]} shows no result for {', '.join(empty)}")
    return samples, shown


def percentiles(values: Sequence[float]) -> dict:
    """p50/p95/p99 (interpolated between samples) and the mean, in ms."""
    if len(values) < 2:
        v = values[0] if values else float("nan")
        return {"n": len(values), "mean": v, "p50": v, "p95": v, "p99": v}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"n": len(values), "mean": round(statistics.fmean(values), 2),
            "p50": round(cuts[49], 2), "p95": round(cuts[94], 2), "p99": round(cuts[98], 2)}


def latency_tables(samples: Samples, queries: Sequence[Query]) -> dict:
    """Percentiles per mode, for every (language, type), every type, and all queries."""
    groups: dict[str, list[Query]] = {"all": list(queries)}
    for q in queries:
        groups.setdefault(f"{q.lang}/{q.kind}", []).append(q)
        groups.setdefault(f"*/{q.kind}", []).append(q)
    return {m: {g: percentiles([t for q in qs for t in by_query[q.label]]) for g, qs in groups.items()}
            for m, by_query in samples.items()}


# -- the web service under load ----------------------------------------------------------------

WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_RESULT {"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p95_us": %%d, "p99_us": %%d, "max_us": %%d, ' ..
    '"mean_us": %%.1f, "http_errors": %%d, "socket_errors": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    latency.max, latency.mean, e.status, e.connect + e.read + e.write + e.timeout))
end
"""
"""Rotates over the scenario's request paths; done() prints the figures as
JSON (wrk's latencies are in microseconds). `http_errors` counts responses with
a status of 400 or more (wrk's "Non-2xx or 3xx responses")."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api_path(q: Query) -> str:
    params = {"q": q.text, **({"lang": q.filter_lang} if q.filter_lang else {}),
              **({"source": q.filter_source} if q.filter_source else {})}
    return "/api/search?" + urllib.parse.urlencode(params)


def wait_until_up(base: str, server: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"search serve exited with status {server.returncode}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"search serve did not answer /healthz within {timeout:.0f} s")


def wrk(base: str, paths: Sequence[str], connections: int, duration: float, script: Path) -> dict:
    """One wrk run rotating over `paths`; its figures in ms."""
    script.write_text(WRK_SCRIPT % ", ".join(f'"{p}"' for p in paths), "utf-8")
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{duration:g}s", "--timeout", "10s", "-s", str(script), base],
                         capture_output=True, text=True, check=True).stdout
    raw = json.loads(out.split("WRK_RESULT ", 1)[1].splitlines()[0])
    return {
        "queries": len(paths), "requests": raw["requests"],
        "requests_per_s": round(raw["requests"] / (raw["duration_us"] / 1e6), 1),
        **{k.replace("_us", "_ms"): round(raw[k] / 1000, 2) for k in ("p50_us", "p95_us", "p99_us", "max_us", "mean_us")},
        "http_errors": raw["http_errors"], "socket_errors": raw["socket_errors"],
    }


def load_test(work: Path, queries: Sequence[Query], duration: float) -> dict:
    """`search serve` on the index just built, the limits per client switched
    off (every request comes from 127.0.0.1, and the default 600 requests,
    30 s of search time and 2 searches at once per client would turn most
    into 429s), then wrk with
    WEB_CLIENTS connections for `duration` seconds per scenario.

    First every query is asked once (checking the answers are JSON), then an
    untimed wrk run with one connection per server thread: each worker
    (thread or process) opens its own searcher when first used, which a
    long-running server has long done, so the scenarios measure the steady
    state."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = cli("serve", "--index-dir", str(work / "ours"), "--port", str(port), "--threads", str(SERVER_THREADS))
    with open(work / "serve.log", "wb") as log:
        server = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=child_env(**NO_CLIENT_LIMITS))
        try:
            wait_until_up(base, server)
            paths = {kind: [api_path(q) for q in queries if q.kind == kind] for kind in WEB_KINDS}
            for path in (p for kind_paths in paths.values() for p in kind_paths):
                with urllib.request.urlopen(base + path, timeout=60) as response:
                    json.load(response)
            progress(f"  wrk: warm-up, {SERVER_THREADS} connections")
            wrk(base, [p for kind_paths in paths.values() for p in kind_paths], SERVER_THREADS, min(duration, 5), work / "wrk-warm-up.lua")
            scenarios = {}
            for kind, kind_paths in paths.items():
                progress(f"  wrk: {kind} queries, {WEB_CLIENTS} connections, {duration:g} s")
                scenarios[kind] = wrk(base, kind_paths, WEB_CLIENTS, duration, work / f"wrk-{kind}.lua")
            # PSS of the server and its worker processes: RSS would count the index files they all map once each.
            server_mb = round(sum(map(_pss_kb, _descendants(server.pid))) / 1024, 1)
        finally:
            server.terminate()
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    return {"clients": WEB_CLIENTS, "server_threads": SERVER_THREADS, "duration_s": duration,
            "rate_limit": f"off ({NO_CLIENT_LIMITS})", "server_pss_mb_after": server_mb, "scenarios": scenarios}


# -- one size, all sizes ---------------------------------------------------------------------


def bench_size(label: str, subset: dict[str, list[str]], args: argparse.Namespace, queries: Sequence[Query]) -> dict:
    work = args.work_dir / label
    articles_dir = work / "articles"
    shutil.rmtree(articles_dir, ignore_errors=True)
    write_articles(articles_dir, subset)
    articles = sum(map(len, subset.values()))
    progress(f"\n== {articles} articles ({', '.join(f'{lang} {len(lines)}' for lang, lines in subset.items())}) in {work}")
    engines = ENGINES[:1] if args.skip_baselines else ENGINES
    result: dict = {"label": label, "articles": articles, "per_language": {lang: len(v) for lang, v in subset.items()}}
    result["build"] = build_all(work, articles_dir, articles, engines)
    opened = open_engines(work, engines)
    try:
        samples, shown = measure_search(opened, queries, args.repeat)
    finally:
        for engine in opened.values():
            engine.close()
    result["search"] = latency_tables(samples, queries)
    result["search_samples_ms"] = {m: {k: [round(t, 3) for t in v] for k, v in by_q.items()} for m, by_q in samples.items()}
    result["results_shown"] = shown
    if not args.skip_web:
        result["web"] = load_test(work, queries, args.duration)
    result["incremental"] = incremental(articles_dir, work / "ours", subset, args.changes)
    return result


def run(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    results: dict = {"machine": machine(), "code": code_state(), "queries": [asdict(q) for q in all_queries()],
                     "config": {"sizes": [s or "all" for s in args.sizes], "repeat": args.repeat, "duration_s": args.duration,
                                "changes": list(args.changes), "baselines": not args.skip_baselines, "web": not args.skip_web,
                                "input_mb": "uncompressed UTF-8 JSON lines (the files indexed)"}}
    progress("reading the corpora")
    corpus = read_corpora(args.corpora)
    queries = all_queries()
    results["sizes"] = [bench_size(str(size or "all"), take_subset(corpus, size), args, queries) for size in args.sizes]
    results["machine"]["load_average_at_end"] = round(os.getloadavg()[0], 2)
    results["code_at_end"] = code_state()
    results["runtime_s"] = round(time.perf_counter() - started, 1)
    return results


# -- report ----------------------------------------------------------------------------------------


def ratio(baseline: float | None, ours: float | None) -> str:
    """Baseline time / our time: above 1 ours is faster ("3.1x")."""
    return f"{baseline / ours:.2f}x" if baseline and ours else "-"


def versus(lat: dict, engine: str, group: str) -> str:
    """A baseline's p50 over ours, with snippets / without."""
    return " / ".join(ratio(lat[mode(engine, s)][group]["p50"], lat[mode("ours", s)][group]["p50"]) for s in (True, False))


def table(head: Sequence[str], rows: Sequence[Sequence], widths: Sequence[int]) -> None:
    """Left-aligned first column(s) (width < 0), right-aligned figures."""
    def fmt(cells: Sequence) -> str:
        shown = ["-" if c is None else str(c) for c in cells]
        return " ".join(f"{c:<{-w}}" if w < 0 else f"{c:>{w}}" for c, w in zip(shown, widths))
    line = fmt(head)
    print(line)
    print("-" * len(line))
    for row in rows:
        print(fmt(row))


def print_report(results: dict) -> None:
    m, code = results["machine"], results["code"]
    print(f"\nSpeed benchmark: {m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, Python {m['python']}, {m['system']}; "
          f"load average {m['load_average_at_start']} at start, {m['load_average_at_end']} at end")
    print(f"Code: commit {code['commit']}" + (f" + uncommitted changes in {len(code['modified'])} file(s) of search/ or web/"
                                               if code["modified"] else ""))
    end = results["code_at_end"]
    if end["digest"] != code["digest"]:
        print(f"WARNING: search/ or web/ changed during the run (commit {code['commit']} -> {end['commit']}): builds and "
              "the server ran the code of their time, in-process searches the code of the start; rerun to compare.")
    print("Ratios are baseline time / our time, measured in the same run: above 1x ours is faster.")
    sizes = results["sizes"]

    print("\nFull build (a child process each; ours = `search index DIR --rebuild`; MB = uncompressed JSON input)")
    rows = []
    for s in sizes:
        ours = s["build"]["ours"]["seconds"]
        for engine, b in s["build"].items():
            rows.append([s["articles"], ENGINE_NAMES[engine], b["seconds"], b["articles_per_s"], b["mb_per_s"],
                         round(b["cpu_seconds"] / b["seconds"], 2), b["max_rss_mb"], b["peak_tree_mb"], b["index_mb"],
                         "" if engine == "ours" else ratio(b["seconds"], ours)])
    table(["articles", "engine", "seconds", "art/s", "MB/s", "cpu/wall", "maxRSS MB", "tree MB", "index MB", "ours vs it"],
          rows, [-9, -15, 8, 8, 7, 9, 10, 8, 9, 11])

    print("\nIncremental `search index` after changing N articles (files restored and re-indexed after each run)")
    table(["articles", "changed", "seconds", "updated", "cpu/wall", "maxRSS MB", "restore s"],
          [[s["articles"], r["changed"], r["seconds"], r["updated"], round(r["cpu_seconds"] / r["seconds"], 2),
            r["max_rss_mb"], r["restore_seconds"]]
           for s in sizes for r in s["incremental"]],
          [-9, 8, 8, 8, 9, 10, 10])

    for s in sizes:
        lat = s["search"]
        have = [e for e in ENGINES if mode(e, True) in lat]
        print(f"\nSearch latency in ms, {s['articles']} articles, in-process, top {TOP} "
              f"(n = timed runs: queries x repeats; p99 of few runs is close to the maximum)")
        head = ["lang/type", "n", "ours p50", "p95", "p99", "plain p50", "p95", "p99"]
        widths = [-17, 4, 9, 7, 7, 10, 7, 7]
        for e in have[1:]:
            head += [f"{e} p50", "p95"]
            widths += [len(e) + 5, 7]
        rows = []
        for group in [g for g in lat[mode("ours", True)] if g != "all" and not g.startswith("*")] + \
                     [g for g in lat[mode("ours", True)] if g.startswith("*")] + ["all"]:
            snip, plain = lat[mode("ours", True)][group], lat[mode("ours", False)][group]
            row = [group, snip["n"], snip["p50"], snip["p95"], snip["p99"], plain["p50"], plain["p95"], plain["p99"]]
            for e in have[1:]:
                row += [lat[mode(e, True)][group]["p50"], lat[mode(e, True)][group]["p95"]]
            rows.append(row)
        table(head, rows, widths)
        snip, plain = s["search_samples_ms"][mode("ours", True)], s["search_samples_ms"][mode("ours", False)]
        slowest = sorted(snip, key=lambda label: -statistics.median(snip[label]))[:SLOWEST]
        print("Our slowest queries (p50 ms with snippets / without): "
              + "; ".join(f"{label} {statistics.median(snip[label]):.0f}/{statistics.median(plain[label]):.0f}" for label in slowest))
        if len(have) > 1:
            print("Ours against the baselines: their p50 / our p50 per type (all languages), with snippets / without")
            groups = [(k, f"*/{k}") for k in KINDS] + [("all", "all")]
            table(["type", *(f"vs {ENGINE_NAMES[e]}" for e in have[1:])],
                  [[k, *(versus(lat, e, g) for e in have[1:])] for k, g in groups], [-12, *(22 for _ in have[1:])])

    if len(sizes) > 1:
        print("\nGrowth with corpus size: mean latency over all queries with snippets, and its factor over the smallest size")
        first = sizes[0]
        rows = []
        for s in sizes:
            row = [s["articles"], f"{s['articles'] / first['articles']:.1f}x"]
            for e in ENGINES:
                if mode(e, True) in s["search"]:
                    mean, base = s["search"][mode(e, True)]["all"]["mean"], first["search"][mode(e, True)]["all"]["mean"]
                    row += [mean, f"{mean / base:.2f}x", s["search"][mode(e, True)]["all"]["p50"]]
            rows.append(row)
        head = ["articles", "corpus"]
        for e in ENGINES:
            if mode(e, True) in first["search"]:
                head += [f"{e} mean", "growth", "p50"]
        table(head, rows, [-9, 7] + [12, 7, 8] * (len(head) // 3))

    webs = [s for s in sizes if "web" in s]
    if webs:
        w0 = webs[0]["web"]
        print(f"\n/api/search under load: wrk, {w0['clients']} connections, {w0['duration_s']:g} s per scenario, "
              f"queries of all languages in rotation, snippets on; rate limit {w0['rate_limit']}; "
              f"{w0['server_threads']} server threads; server MB = PSS of the server and its workers after the load")
        table(["articles", "type", "req/s", "p50 ms", "p95 ms", "p99 ms", "max ms", "errors", "server MB"],
              [[s["articles"], kind, w["requests_per_s"], w["p50_ms"], w["p95_ms"], w["p99_ms"], w["max_ms"],
                w["http_errors"] + w["socket_errors"], s["web"]["server_pss_mb_after"]]
               for s in webs for kind, w in s["web"]["scenarios"].items()],
              [-9, -9, 8, 8, 8, 8, 8, 7, 14])

    print_targets(results)
    print(f"\nRun time {results['runtime_s']} s")


def print_targets(results: dict) -> None:
    """The issue's targets, checked on the largest size measured (they are set for 50,000 articles)."""
    s = results["sizes"][-1]
    checks = []
    if "whoosh" in s["build"]:
        r = s["build"]["whoosh"]["seconds"] / s["build"]["ours"]["seconds"]
        checks.append(("full build >= 3x faster than obvious Whoosh", f"{r:.2f}x", r >= 3))
    inc = {r["changed"]: r for r in s["incremental"]}
    if 100 in inc:
        checks.append(("100 changed articles re-indexed in < 5 s", f"{inc[100]['seconds']} s", inc[100]["seconds"] < 5))
    for kind, w in s.get("web", {}).get("scenarios", {}).items():
        checks.append((f"/api/search {kind}: p95 < 50 ms, p99 < 150 ms, no errors",
                       f"{w['p95_ms']} / {w['p99_ms']} ms, {w['http_errors'] + w['socket_errors']} errors",
                       w["p95_ms"] < 50 and w["p99_ms"] < 150 and not w["http_errors"] + w["socket_errors"]))
    if len(results["sizes"]) > 1:
        first = results["sizes"][0]
        corpus = s["articles"] / first["articles"]
        cost = s["search"][mode("ours", True)]["all"]["mean"] / first["search"][mode("ours", True)]["all"]["mean"]
        checks.append((f"search cost grows sublinearly ({first['articles']} -> {s['articles']})",
                       f"{cost:.2f}x for {corpus:.1f}x articles", cost < corpus))
    print(f"\nTargets of issue #5 on {s['articles']} articles (set for 50,000 on 2 cores)")
    for what, value, ok in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {what}: {value}")


# -- command line ----------------------------------------------------------------------------------


def progress(message: str, end: str = "\n") -> None:
    print(message, end=end, file=sys.stderr, flush=True)


def save(results: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, ensure_ascii=False, indent=1), "utf-8")
    print(f"All figures in {path}")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", default="5000,20000,all", help="comma-separated subset sizes, 'all' for every article (default 5000,20000,all)")
    p.add_argument("--repeat", type=int, default=10, help="timed runs of every query per engine and mode (default 10)")
    p.add_argument("--duration", type=float, default=20, help="seconds of load per web scenario (default 20)")
    p.add_argument("--changes", default=",".join(map(str, INCREMENTAL_CHANGES)),
                   help="articles changed in each incremental run (default 0,1,100,1000)")
    p.add_argument("--skip-baselines", action="store_true", help="measure ours only")
    p.add_argument("--skip-web", action="store_true", help="no load test of the web service")
    p.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA, help=f"corpus folder (default {DEFAULT_CORPORA})")
    p.add_argument("--work-dir", type=Path, default=DEFAULT_WORK, help="subsets and indexes (default bench/results/speed/, git-ignored)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results (default bench/results/speed.json)")
    p.add_argument("--build-baseline", nargs=3, metavar=("ENGINE", "TARGET", "ARTICLES_DIR"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    try:
        args.sizes = [None if s.strip() == "all" else int(s) for s in args.sizes.split(",") if s.strip()]
        args.changes = [int(n) for n in args.changes.split(",") if n.strip()]
    except ValueError:
        p.error("--sizes takes numbers or 'all', --changes numbers, comma-separated")
    args.sizes.sort(key=lambda s: float("inf") if s is None else s)
    if args.repeat < 1:
        p.error("--repeat must be 1 or more")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.build_baseline:  # the child process that builds a baseline index (see build_all)
        engine, target, articles_dir = args.build_baseline
        {"whoosh": build_whoosh, "fts5": build_fts5}[engine](Path(target), Path(articles_dir))
        return 0
    missing = [lang for lang in LANGS if not (args.corpora / f"{lang}.jsonl.gz").is_file()]
    if missing:  # machines without the corpora (CI) skip the benchmark
        print(f"Speed not measured: {args.corpora} has no {', '.join(f'{lang}.jsonl.gz' for lang in missing)} "
              "(the corpora live beside the repository, in ../shared/corpora/; or give --corpora).", file=sys.stderr)
        return 0
    if not GNU_TIME:
        print("GNU time is not installed, so the peak memory of single processes is not measured "
              "(Debian: apt-get install time); the sampled total of each process tree is.", file=sys.stderr)
    if not args.skip_web and not shutil.which("wrk"):
        print("wrk is not installed, so the web service is not measured (Debian: apt-get install wrk).", file=sys.stderr)
        args.skip_web = True
    results = run(args)
    print_report(results)
    save(results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
