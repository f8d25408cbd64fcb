#!/usr/bin/env python3
"""The costliest queries we can craft, next to ordinary ones (issue #9).

Why: a search service is only as available as its most expensive query. Every
search runs under one deadline (search/limits.py); this measures, on the real
corpora, what hostile queries actually cost: a fixed list of crafted families
(ligatures that normalization multiplies, long words, many words, wildcards,
phrases of the commonest words with a huge slop, nesting...) and a seeded
random search over combinations of them, each timed against ordinary one-
and two-word queries in the same run (these machines are noisy: compare the
ratios). The last lines name the worst query found and whether it stayed
within the deadline plus a little.

    python3 bench/crafted.py                        # builds bench/results/crafted/index from ../shared/corpora first (~2 min)
    python3 bench/crafted.py --index-dir /tmp/ix50k --random 300

Tables go to stdout, progress to stderr, every timing to
bench/results/crafted.json (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(REPO))  # measure this checkout, whatever is installed

from speed import DEFAULT_CORPORA, LANGS, QUERY_TABLE, code_state, machine  # noqa: E402

from search.errors import BadQuery  # noqa: E402
from search.engines.whoosh.index import Index  # noqa: E402
from search.limits import Limits  # noqa: E402
from search.engines.whoosh.searching import search  # noqa: E402

DEFAULT_WORK = BENCH / "results" / "crafted"
DEFAULT_OUT = BENCH / "results" / "crafted.json"
MARGIN_S = 1.0
"""What "the deadline plus a little" allows: the work between two checks."""


def common_words(index: Index, n: int) -> list[str]:
    """The `n` words in most articles of the index (from a sample of bodies)."""
    counts: Counter[str] = Counter()
    with index.searcher() as s:
        reader = s.reader()
        for docnum in list(reader.all_doc_ids())[::25]:
            counts.update(set(reader.stored_fields(docnum)["body"].split()))
    return [w for w, _ in counts.most_common(n)]


def crafted(common: list[str]) -> dict[str, str]:
    """Named families of costly queries; `common` are the commonest words."""
    top = [w for w in common if w.isalpha()]
    return {
        "ligatures normalizing to 487 letters": "ا" + "\ufdfa" * 27,
        "one word of 500 letters": "a" * 500,
        "500 letters of Arabic": "ال" * 250,
        "64 unknown words": " ".join(f"zq{i}vx" for i in range(64)),
        "62 unknown words OR-ed": " OR ".join(f"x{i}q" for i in range(62)),
        "64 commonest words": " ".join(top[:64]),
        "commonest words OR-ed": " OR ".join(top[:60])[:500],
        "commonest words AND-ed": " AND ".join(top[:60])[:500],
        "phrase of commonest words, slop 100000": '"' + " ".join(top[:50]) + '"~100000',
        "phrase of commonest words, exact": '"' + " ".join(top[:60]) + '"',
        "the commonest word 60 times": " ".join([top[0]] * 60),
        "wildcards over two-letter starts": " ".join(f"{w[:2]}*" for w in top[:30]),
        "wildcards testing every word": " ".join(f"{w[:2]}?*{w[-1]}" for w in top[:20]),
        "Arabic article wildcard": "ال?*ة",
        "exclusions of common words": top[0] + " " + " ".join(f"-{w}" for w in top[1:60]),
        "nested brackets": "(" * 240 + top[0] + ")" * 240,
        "question with many common words": " ".join(top[:40]) + "?",
        "misspelt common words": " ".join(w[:-1] + "x" for w in top[:64] if len(w) > 3),
    }


BLOCKS = ["\ufdfa", "a" * 40, "ال?*", "*", "?", '"', "(", ")", "AND", "OR", "NOT", "-", "~100000", "lang:ar", "title:",
          "٢٥٠٠", "2.500", "US-Soldaten", "Truppen", "القوات", "troepen", "troops"]


def random_queries(common: list[str], n: int, seed: int) -> list[str]:
    """Seeded random mixtures of syntax, hostile pieces and common words."""
    rng = random.Random(seed)
    pieces = BLOCKS + common[:200]
    out = []
    for _ in range(n):
        words = [rng.choice(pieces) for _ in range(rng.randint(1, 80))]
        out.append((" " if rng.random() < 0.7 else "").join(words)[:rng.choice([100, 300, 500, 2000])])
    return out


def timed(searcher, query: str, limits: Limits, runs: int) -> tuple[float, str]:
    """Median seconds of `runs` searches, and what came of them."""
    times, outcome = [], ""
    for _ in range(runs):
        started = time.perf_counter()
        try:
            results = search(searcher, query, limits=limits)
            outcome = f"{results.total} results"
        except BadQuery as exc:
            outcome = f"{exc.code}: {exc}"[:70]
        times.append(time.perf_counter() - started)
    return statistics.median(times), outcome


def ensure_index(args: argparse.Namespace) -> Index:
    index = Index(args.index_dir)
    if not index.exists():
        print(f"building {args.index_dir} from {args.corpora}", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "search", "index", str(args.corpora), "--index-dir", str(args.index_dir)],
                       cwd=REPO, check=True)
    return index


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--index-dir", type=Path, default=DEFAULT_WORK / "index", help="index of the corpora (built if missing)")
    p.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    p.add_argument("--random", type=int, default=200, help="random hostile queries to try (default 200)")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--runs", type=int, default=3, help="timed runs of each crafted query (default 3)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    if not all((args.corpora / f"{lang}.jsonl.gz").is_file() for lang in LANGS) and not Index(args.index_dir).exists():
        print(f"Not measured: no corpora in {args.corpora} and no index at {args.index_dir}.", file=sys.stderr)
        return 0
    index = ensure_index(args)
    limits = Limits()
    results: dict = {"machine": machine(), "code": code_state(), "deadline_s": limits.seconds}
    with index.searcher() as searcher:
        ordinary = [q for lang in LANGS for kind in ("one-word", "two-word") for q in QUERY_TABLE[lang][kind]]
        for q in ordinary:
            search(searcher, q, limits=limits)  # caches warm, as in a running server
        normal = statistics.median(timed(searcher, q, limits, args.runs)[0] for q in ordinary)
        print(f"ordinary one- and two-word queries: median {normal * 1000:.1f} ms ({len(ordinary)} queries)", file=sys.stderr)
        common = common_words(index, 300)
        rows = []
        for name, query in crafted(common).items():
            seconds, outcome = timed(searcher, query, limits, args.runs)
            rows.append({"family": name, "query": query, "ms": round(seconds * 1000, 1), "outcome": outcome})
            print(f"  {name}: {seconds * 1000:.0f} ms", file=sys.stderr)
        randoms = []
        for query in random_queries(common, args.random, args.seed):
            seconds, outcome = timed(searcher, query, limits, 1)
            randoms.append({"family": "random", "query": query, "ms": round(seconds * 1000, 1), "outcome": outcome})
    results.update(normal_ms=round(normal * 1000, 2), crafted=rows, random=randoms)
    report(results, limits)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, ensure_ascii=False, indent=1), "utf-8")
    print(f"All figures in {args.out}")
    return 0


def report(results: dict, limits: Limits) -> None:
    normal = results["normal_ms"]
    m = results["machine"]
    print(f"# Crafted queries: {m['cores']} cores, {m['cpu']}, Python {m['python']}, commit {results['code']['commit']}"
          f"{' (modified)' if results['code']['modified'] else ''}, load {m['load_average_at_start']}")
    print(f"ordinary query median: {normal:.1f} ms; deadline {limits.seconds:g} s\n")
    print("| family | ms | x ordinary | outcome |\n|---|---|---|---|")
    for row in sorted(results["crafted"], key=lambda r: -r["ms"]):
        print(f"| {row['family']} | {row['ms']:.0f} | {row['ms'] / normal:.0f}x | {row['outcome']} |")
    slow = sorted(results["random"], key=lambda r: -r["ms"])[:5]
    print(f"\nslowest of {len(results['random'])} random hostile queries:")
    for row in slow:
        print(f"  {row['ms']:.0f} ms  {row['outcome']}  {row['query'][:80]!r}")
    worst = max(results["crafted"] + results["random"], key=lambda r: r["ms"])
    held = worst["ms"] / 1000 <= limits.seconds + MARGIN_S
    print(f"\nworst: {worst['ms']:.0f} ms ({worst['ms'] / normal:.0f}x an ordinary query), {worst['family']}: {worst['query'][:60]!r}")
    print(f"deadline plus {MARGIN_S:g} s: {'held' if held else 'NOT HELD'}")


if __name__ == "__main__":
    sys.exit(main())
