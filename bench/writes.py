#!/usr/bin/env python3
"""What a write over HTTP costs a newsroom's index (issue #12): the write
itself (Index.put: one article, committed) and the first search after it,
which opens a new searcher and reads what changed, next to the same search
once more (the steady state), in the same run.

    search index ../shared/corpora --index-dir /tmp/ix50 --no-embeddings
    python3 bench/writes.py --index-dir /tmp/ix50 --writes 30

It writes articles with ids `bench-write-N` into the index and deletes them
at the end.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search.documents import Article  # noqa: E402
from search.engines.whoosh.index import Index  # noqa: E402
from search.engines.whoosh.searching import search  # noqa: E402

QUERIES = ["Regierung", "kabinet", "government", "الحكومة", "Mosul date:2019"]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--index-dir", type=Path, required=True)
    p.add_argument("--writes", type=int, default=40)
    args = p.parse_args(argv)
    ix = Index(args.index_dir)
    times: dict[str, list[float]] = {"write": [], "first search after": [], "same search again": []}
    with ix.searcher() as searcher:
        for query in QUERIES:
            search(searcher, query)  # caches warm, as on a running server
    for n in range(args.writes):
        article = Article(f"bench-write-{n}", f"Harbour {n} reopens", "The harbour reopened after repairs.", "en",
                          source="bench", date="2026-12-03")
        started = time.perf_counter()
        ix.put([article])
        times["write"].append(time.perf_counter() - started)
        query = QUERIES[n % len(QUERIES)]
        with ix.searcher() as searcher:
            for name in ("first search after", "same search again"):
                started = time.perf_counter()
                search(searcher, query)
                times[name].append(time.perf_counter() - started)
    ix.delete([f"bench-write-{n}" for n in range(args.writes)])
    documents = ix.stats().documents
    print(f"{documents:,} articles; {args.writes} writes of one article, each followed by a search")
    for name, seconds in times.items():
        ms = np.array(seconds) * 1000
        print(f"  {name:<20} p50 {np.percentile(ms, 50):7.1f} ms   p95 {np.percentile(ms, 95):7.1f} ms")
    ratio = np.array(times["first search after"]) / np.array(times["same search again"])
    print(f"  first search after a write / again: median {np.median(ratio):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
