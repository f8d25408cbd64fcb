"""The engines side by side on the same articles (issue #13): a full keyword
build of each, timed, and the same searches through the engine interface,
as the web app runs them, e.g.

    tests/opensearch/cluster start 2 19200 /tmp/os          # or any cluster
    python3 bench/engines.py ../shared/corpora --engine /tmp/ix-bench \\
        --engine opensearch+http://127.0.0.1:19200,127.0.0.1:19201/bench

Each engine is rebuilt from the articles (without vectors: OpenSearch has no
search by meaning here, and vectors take hours), then every query of
bench/speed-queries.json and 200 of bench/questions/ runs --repeat times on
each engine in turns, so the machine's noise falls on all alike. Prints the
build's wall time, articles/s and index size, and search p50/p95 per engine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from meaning import queries  # noqa: E402  (bench/meaning.py: the same queries)

from search import BadQuery, SearchRequest, open_engine  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("paths", nargs="+", type=Path, help="article files and folders")
    p.add_argument("--engine", action="append", required=True, help="an index folder or opensearch+ address (repeat)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--no-build", action="store_true", help="search the engines as they are")
    args = p.parse_args(argv)
    engines = {where: open_engine(where) for where in args.engine}
    for where, engine in engines.items():
        if args.no_build:
            continue
        started, cpu = time.perf_counter(), time.process_time()
        report = engine.update(args.paths, rebuild=True, embeddings=False)
        wall = time.perf_counter() - started
        stats = engine.stats()
        print(f"{where}: built {stats.documents:,} articles in {wall:.1f} s wall ({stats.documents / wall:,.0f}/s; "
              f"this process's CPU {time.process_time() - cpu:.1f} s), {len(report.skipped)} skipped, "
              f"index {stats.size_bytes / 1e6:,.0f} MB ({stats.size_bytes / max(stats.documents, 1):,.0f} bytes an article)")
    kinds = queries()
    seconds: dict[tuple[str, str], list[float]] = {(where, kind): [] for where in engines for kind in kinds}
    for kind, texts in kinds.items():
        for text in texts:  # once, untimed: caches, connections
            for engine in engines.values():
                _search(engine, text)
        for repeat in range(args.repeat):
            for n, text in enumerate(texts):
                order = list(engines.items())
                shift = (n + repeat) % len(order)  # each engine runs first equally often
                for where, engine in order[shift:] + order[:shift]:
                    started = time.perf_counter()
                    _search(engine, text)
                    seconds[where, kind].append(time.perf_counter() - started)
    for kind in kinds:
        print(f"{kind}:")
        for where in engines:
            ms = np.array(seconds[where, kind]) * 1000
            print(f"  {where:<60} p50 {np.percentile(ms, 50):6.1f} ms   p95 {np.percentile(ms, 95):6.1f} ms")
    for engine in engines.values():
        engine.close()
    return 0


def _search(engine, text: str) -> None:
    try:
        engine.search(SearchRequest(text, meaning=False))
    except BadQuery:
        pass


if __name__ == "__main__":
    sys.exit(main())
