"""Search by meaning at scale (issue #11): what it adds to a search's time,
and what vectors cost per article, on an index built with them, e.g.

    search index ../shared/corpora --index-dir /tmp/ix50   # prints the build's times
    python3 bench/meaning.py --index-dir /tmp/ix50

Each query of bench/speed-queries.json (plain words: the ones meaning is used
for) and 200 of bench/questions/ runs --repeat times with keywords only and
with meaning, alternately in the same process, so the machine's noise falls on
both alike, in turns; p50 and p95 of each, and their ratio. With meaning it runs as a
new query (its vector not cached, the usual case) and as a repeated one (the
next page, a popular query). Before those, each query's very first search is
timed too ("first time"): its words' postings and positions are read from
disk and scored unless an earlier query had them, as for a query never
searched since the service started.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH.parent))

from search.embedding import embed_query  # noqa: E402
from search.errors import BadQuery  # noqa: E402
from search.engines.whoosh.index import Index  # noqa: E402
from search.engines.whoosh.searching import search  # noqa: E402
from search.engines.whoosh.vectors import FILE  # noqa: E402

QUESTIONS = 50
"""Questions per language."""


def queries() -> dict[str, list[str]]:
    """The queries, by kind: search-box words, and questions."""
    speed = json.loads((BENCH / "speed-queries.json").read_text("utf-8"))
    plain = [q for kinds in speed.values() for kind, qs in kinds.items() if kind.endswith("word") for q in qs]
    asked = [json.loads(line)["question"] for lang in ("ar", "de", "nl", "en")
             for line in (BENCH / "questions" / f"{lang}.jsonl").read_text("utf-8").splitlines()[:QUESTIONS]]
    return {"1-3 words": plain, "questions": asked}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--index-dir", type=Path, required=True)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    ix = Index(args.index_dir)
    vectors = ix.vectors()
    if vectors is None:
        print(f"{args.index_dir} has no vectors: build it with `search index` (without --no-embeddings).")
        return 1
    kinds = queries()
    texts = [text for texts in kinds.values() for text in texts]
    seconds: dict[str, list[float]] = {"keywords": [], "meaning": [], "meaning, repeated": []}
    first: list[float] = []
    with ix.searcher() as searcher:
        search(searcher, "warm up", vectors=vectors)  # loads the model
        for text in texts:  # each query's first time: its words' postings are read unless another query had them
            started = time.perf_counter()
            search(searcher, text, vectors=vectors)
            first.append(time.perf_counter() - started)
        modes = list(seconds)
        for repeat in range(args.repeat):
            for n, text in enumerate(texts):
                shift = (n + repeat) % len(modes)  # each mode runs first, second and last equally often:
                for mode in modes[shift:] + modes[:shift]:  # a query's first run warms caches for the others
                    if mode == "meaning":
                        embed_query.cache_clear()
                    started = time.perf_counter()
                    try:
                        search(searcher, text, vectors=vectors if mode == "meaning" else None)
                    except BadQuery:
                        pass
                    seconds[mode].append(time.perf_counter() - started)
        documents = searcher.doc_count()
    size = (ix.path / ix.generation_name() / FILE).stat().st_size
    print(f"{documents:,} articles, {vectors.articles:,} with vectors ({len(vectors):,} passages); "
          f"{len(texts)} queries x {args.repeat}")
    print(f"vectors: {size / vectors.articles:,.0f} bytes per article on disk, "
          f"{(vectors.matrix.nbytes + vectors.centered.nbytes) / vectors.articles:,.0f} in each search process")
    kind_of = np.array([kind for kind, texts in kinds.items() for _ in texts] * args.repeat)
    for kind in ["all", *kinds]:
        print(f"{kind}:")
        chosen = np.ones(len(kind_of), bool) if kind == "all" else kind_of == kind
        for mode, times in [*seconds.items(), ("meaning, first time", first * args.repeat)]:
            ms = np.array(times)[chosen] * 1000
            print(f"  {mode:<19} p50 {np.percentile(ms, 50):6.1f} ms   p95 {np.percentile(ms, 95):6.1f} ms   mean {ms.mean():6.1f} ms")
        for mode in ("meaning", "meaning, repeated"):
            ratio = np.array(seconds[mode])[chosen] / np.array(seconds["keywords"])[chosen]
            print(f"  {mode} / keywords, query by query: median {np.median(ratio):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
