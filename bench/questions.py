#!/usr/bin/env python3
"""Real questions: how well the search answers questions people ask, in their
own language and across languages, next to plain BM25 (issues #10 and #11).

Why: the question-style set of evaluate.py is made of the articles' own
sentences, which flatters every engine (the words are the article's). The
questions in bench/questions/ were written by people-like readers for 300
articles per language: natural questions ("Warum hat Porsche einem Lehrling
gekündigt?"), mostly in other words than the article's, each with the article
that answers it and the same question as a speaker of each other language
would ask it. Sets:
- Q: a question in the article's own language (monolingual);
- X: the same question in another language (cross-lingual: an English
  question for an Arabic article...);
- P: the question against passages instead of articles: each question
  article is cut into passages of about PASSAGE_WORDS words, each with the
  article's title, and the right answer is the passage holding the answer.
  The other passages of the same article are on the same subject with the
  same title, so words shared with the whole story do not help: this is the
  harder set, like Wikipedia reading-comprehension sets (XQuAD).

The articles are the first --docs of each language's corpus after the seeded
shuffle of evaluate.py (seed 1, the sample the questions were written for),
all four languages in one index, as in production. Engines: ours (search()
as users run it: keywords and meaning, issue #11), keywords (ours without
meaning), stock Whoosh (evaluate.py's baseline) and SQLite FTS5 with plain
BM25, the reference. Metrics: success@10 (recall@10 for X) and MRR@10.

    python3 bench/questions.py                 # about 35 minutes on 2 cores (20 of them embedding)
    python3 bench/questions.py --no-meaning    # keywords only, about 10 minutes
    python3 bench/questions.py --docs 1000 --langs de,en

Tables go to stdout, progress to stderr, every query's ranks to
bench/results/questions.json (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Sequence

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from evaluate import (  # noqa: E402  (also puts this checkout first on sys.path)
    DEFAULT_CORPORA, LANGS, SENTENCE_END, TOP, WORD, Query, Timer, baseline, build_baseline, build_ours, cell, fts5,
    library_state, load_sample, ours, paired, rank, summary, write_jsonl, write_results,
)

QUESTIONS = BENCH / "questions"
DEFAULT_OUT = BENCH / "results" / "questions.json"
SEED = 1
"""The sample the questions were written for (evaluate.py's load_sample)."""
MAX_EXAMPLES = 5
PASSAGE_WORDS = 120
"""About the length of a paragraph of a Wikipedia article."""


def load_questions(lang: str) -> list[dict]:
    with open(QUESTIONS / f"{lang}.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def question_sets(langs: Sequence[str], present: set[str]) -> dict[str, list[Query]]:
    """Set name -> queries, for the questions whose article is in the index.
    X queries are in the question's language; their kind is the article's."""
    sets: dict[str, list[Query]] = {"Q": [], "X": []}
    for lang in langs:
        for q in load_questions(lang):
            if q["id"] not in present:
                continue
            sets["Q"].append(Query("Q", lang, q["question"], q["answer"], q["id"], [lang]))
            for other, text in q["translations"].items():
                if other in langs:
                    sets["X"].append(Query("X", other, text, q["answer"], q["id"], [lang]))
    return sets


def passages(article: dict) -> list[dict]:
    """The article cut into passages of about PASSAGE_WORDS words, at
    paragraph ends where it has them, else at sentence ends; each is a
    document with the article's title and language."""
    pieces = [p for para in article["body"].split("\n") for p in SENTENCE_END.split(para) if p.strip()]
    out: list[list[str]] = [[]]
    for piece in pieces:
        if out[-1] and len(WORD.findall(" ".join(out[-1]))) + len(WORD.findall(piece)) > PASSAGE_WORDS:
            out.append([])
        out[-1].append(piece.strip())
    return [{"id": f"{article['id']}/p{n}", "lang": article["lang"], "title": article["title"], "body": " ".join(text)}
            for n, text in enumerate(out) if text]


def passage_set(langs: Sequence[str], articles: dict[str, dict]) -> tuple[list[dict], list[Query]]:
    """The passages of every question's article, and the questions whose
    answer stands, as written, in exactly one of its passages."""
    docs: list[dict] = []
    queries: list[Query] = []
    for lang in langs:
        for q in load_questions(lang):
            article = articles.get(q["id"])
            if article is None:
                continue
            cut = passages(article)
            docs += cut
            holding = [p["id"] for p in cut if q["answer"].strip() in p["body"]]
            if len(holding) == 1:
                queries.append(Query("P", lang, q["question"], q["answer"], holding[0], [lang]))
    return docs, queries


def run_all(top, queries: Sequence[Query]) -> list:
    return [rank(q.target, top(q)) for q in queries]


def evaluate(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    timer = Timer()
    library = library_state()
    with timer("sample"):
        samples = {lang: load_sample(args.corpora, lang, args.docs, SEED) for lang in args.langs}
    articles = {d["id"]: d for docs in samples.values() for d in docs}
    sets = question_sets(args.langs, set(articles))
    docs = [d for sample in samples.values() for d in sample]
    passage_docs, sets["P"] = passage_set(args.langs, articles)
    ranks: dict[str, dict[str, list]] = {"Q": {}, "X": {}, "P": {}}
    article_sets = {name: qs for name, qs in sets.items() if name != "P"}
    with tempfile.TemporaryDirectory(prefix="questions-") as tmpdir:
        tmp = Path(tmpdir)
        files = {"articles": [write_jsonl(tmp / f"{lang}.jsonl", samples[lang]) for lang in args.langs],
                 "passages": [write_jsonl(tmp / "passages.jsonl", passage_docs)]}
        for kind, paths in files.items():
            with timer(f"index ours ({kind}{', with vectors' if args.meaning else ''})"):
                build_ours(tmp / f"ours-{kind}", paths, embeddings=args.meaning)
        with timer("index baseline"):
            build_baseline(tmp / "baseline-articles", docs)
            build_baseline(tmp / "baseline-passages", passage_docs)
        engines = {
            "ours": lambda kind: ours(tmp / f"ours-{kind}", meaning=args.meaning),
            "keywords": lambda kind: ours(tmp / f"ours-{kind}"),
            "baseline": lambda kind: baseline(tmp / f"baseline-{kind}"),
            "fts5": lambda kind: fts5(docs if kind == "articles" else passage_docs),
        }
        if not args.meaning:
            del engines["keywords"]  # the same as ours
        for engine, opened in engines.items():
            with timer(f"query {engine}"):
                with opened("articles") as top:
                    for name, qs in article_sets.items():
                        ranks[name][engine] = run_all(top, qs)
                with opened("passages") as top:
                    ranks["P"][engine] = run_all(top, sets["P"])

    def table(name: str, group) -> dict:
        """summary per group of queries (a language, a language pair) and engine."""
        out: dict[str, dict] = {}
        for i, q in enumerate(sets[name]):
            out.setdefault(group(q), []).append(i)
        return {key: {engine: summary([rs[i] for i in idx]) for engine, rs in ranks[name].items()} for key, idx in sorted(out.items())}

    def paired_by_language(name: str) -> dict:
        """ours against fts5 and against keywords alone, question by question, per language."""
        def of(engine: str, lang: str) -> list:
            return [ranks[name][engine][i] for i, q in enumerate(sets[name]) if q.lang == lang]
        return {lang: {other: paired(of("ours", lang), of(other, lang)) for other in ("fts5", "keywords") if other in ranks[name]}
                for lang in args.langs}

    def losses(name: str) -> list[dict]:
        """Questions the reference finds and ours misses."""
        qs, mine, ref = sets[name], ranks[name]["ours"], ranks[name]["fts5"]
        return [{"lang": q.lang, "article": q.kinds[0], "question": q.text, "answer": q.original, "fts5": r}
                for q, m, r in zip(qs, mine, ref) if m is None and r is not None]

    return {
        "config": {"docs": args.docs, "langs": list(args.langs), "seed": SEED, "top": TOP, "meaning": args.meaning},
        "library": library,
        "articles": {lang: len(samples[lang]) for lang in args.langs},
        "passages": {lang: sum(p["lang"] == lang for p in passage_docs) for lang in args.langs},
        "Q": table("Q", lambda q: q.lang),
        "Q_paired": paired_by_language("Q"),
        "P": table("P", lambda q: q.lang),
        "P_paired": paired_by_language("P"),
        "X": table("X", lambda q: f"{q.lang}->{q.kinds[0]}"),
        "X_by_query_language": table("X", lambda q: q.lang),
        "losses": {name: losses(name) for name in sets},
        "queries": {name: [{"lang": q.lang, "article_lang": q.kinds[0], "text": q.text, "target": q.target,
                            "ranks": {e: rs[i] for e, rs in ranks[name].items()}} for i, q in enumerate(qs)]
                    for name, qs in sets.items()},
        "timings_s": timer.stages,
        "runtime_s": round(time.perf_counter() - started, 1),
    }


def print_report(results: dict) -> None:
    lib = results["library"]
    print(f"\nQuestions people ask: {sum(results['articles'].values())} articles "
          f"({', '.join(f'{k} {v}' for k, v in results['articles'].items())}) in one index; "
          f"success@{TOP} and MRR@{TOP}; commit {lib['commit']}{' + uncommitted changes' if lib['search_modified'] else ''}, "
          f"analyzer {lib['analyzer_version']}")
    engines = [e for e in ("ours", "keywords", "baseline", "fts5") if e in next(iter(results["Q"].values()))]
    titles = {"Q": "Q: the question in the article's language, against articles",
              "P": f"P: the question against passages of about {PASSAGE_WORDS} words "
                   f"({', '.join(f'{k} {v}' for k, v in results['passages'].items())} passages)"}
    print("ours: search() as users run it" + (" (keywords and meaning); keywords: without meaning"
                                            if results["config"]["meaning"] else " (keywords only: --no-meaning)"))
    for name, title in titles.items():
        print(f"\n{title}")
        versus = list(next(iter(results[f"{name}_paired"].values())))
        print(f"{'lang':<6}{'n':>5}   " + "   ".join(f"{e + ' S@10':>14} {'MRR':>5}" for e in engines)
              + "".join(f"   ours vs {other} +/-" for other in versus))
        for lang, row in results[name].items():
            pairs = results[f"{name}_paired"][lang]
            print(f"{lang:<6}{row['ours']['n']:>5}   " + "   ".join(f"{cell(row[e]):>20}" for e in engines)
                  + "".join(f"   {'+%d/-%d' % (p['better'], p['worse']):>{len(other) + 12}}" for other, p in pairs.items()))
    print("\nX: the question in another language than the article's (query language -> article language)")
    print(f"{'pair':<10}{'n':>5}   " + "   ".join(f"{e + ' R@10':>14} {'MRR':>5}" for e in engines))
    for key, row in {**results["X"], **{f"{k}->*": v for k, v in results["X_by_query_language"].items()}}.items():
        print(f"{key:<10}{row['ours']['n']:>5}   " + "   ".join(f"{cell(row[e]):>20}" for e in engines))
    every = [q["ranks"]["ours"] for q in results["queries"]["X"]]
    print(f"{'all':<10}{len(every):>5}   recall@{TOP} of ours {sum(r is not None for r in every) / max(len(every), 1):.3f}")
    for name in ("Q", "P", "X"):
        lost = results["losses"][name]
        print(f"\n{name}: {len(lost)} questions FTS5 finds and ours misses; e.g.")
        for ex in lost[:MAX_EXAMPLES]:
            print(f"    [{ex['lang']}->{ex['article']}] {ex['question']!r} (fts5 rank {ex['fts5']})")
    stages = ", ".join(f"{k} {v}" for k, v in results["timings_s"].items())
    print(f"\nRun time {results['runtime_s']} s ({stages})")


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--docs", type=int, default=3000, help="articles per language (at least 301 to hold every question's)")
    p.add_argument("--langs", default=",".join(LANGS), help="comma-separated languages (default ar,de,nl,en)")
    p.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    p.add_argument("--no-meaning", dest="meaning", action="store_false",
                   help="keywords only: no vectors (saves embedding the articles and passages, ~20 min on 2 cores)")
    args = p.parse_args(argv)
    args.langs = tuple(x.strip() for x in args.langs.split(",") if x.strip())
    if not all((args.corpora / f"{lang}.jsonl.gz").is_file() for lang in args.langs):
        print(f"Not measured: no corpora in {args.corpora}.", file=sys.stderr)
        return 0
    results = evaluate(args)
    print_report(results)
    write_results(results, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
