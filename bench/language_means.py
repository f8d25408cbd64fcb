"""The mean article vector of each language (search/embedding.py centers
article vectors with them): made from the first --docs articles of each
corpus after evaluate.py's seeded shuffle, embedded as `search index`
embeds them. Run again when the model or what is embedded changes.

    python3 bench/language_means.py            # 1,000 per language: ~10 minutes on 2 cores
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from evaluate import DEFAULT_CORPORA, LANGS, load_sample  # noqa: E402  (also puts this checkout first on sys.path)
from search.embedding import LANGUAGE_MEANS, embed_all, passage_texts  # noqa: E402

SEED = 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--docs", type=int, default=1000, help="articles per language")
    p.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA)
    p.add_argument("--out", type=Path, default=LANGUAGE_MEANS)
    args = p.parse_args(argv)
    means = {}
    for lang in LANGS:
        texts = [passage_texts(a["title"], a["body"])[0] for a in load_sample(args.corpora, lang, args.docs, SEED)]
        means[lang] = np.vstack(list(embed_all(texts))).mean(axis=0).astype(np.float32)
        print(f"{lang}: {len(texts)} articles", file=sys.stderr)
    np.savez(args.out, **means)
    print(f"Written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
