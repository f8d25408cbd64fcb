"""Stand-in vectors for timing search by meaning at scale, e.g.

    search index ../shared/corpora --index-dir /tmp/ix50 --no-embeddings   # 100 s
    python3 bench/stand_in_vectors.py --index-dir /tmp/ix50                # a minute
    python3 bench/meaning.py --index-dir /tmp/ix50

Gives every article of an index as many vectors as a real build would (one
per passage, see embedding.passage_texts) and their counterparts, made of
random numbers rather than the model's (hours of embedding on 2 cores: see
README.md). A search's time by meaning does not depend on what the vectors
say, as long as as many articles come near a query: the scan, the best rows,
the fusion and the snippets of what meaning adds do the same work. Its
relevance does: never evaluate on these. The next `search index` keeps them
(they match the articles' fingerprints): remove the index's vectors.npz to
embed for real.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from search.embedding import DIMENSIONS, language_means, passage_texts  # noqa: E402
from search.engines.whoosh.index import Index  # noqa: E402
from search.engines.whoosh.vectors import Key, Vectors, joined, linked  # noqa: E402


def stand_ins(ix: Index, seed: int = 0) -> Vectors:
    """For each passage of each live article of `ix`, its language's mean
    vector plus a random one: centered (see embedding.centered), random unit
    vectors, about 0.05 alike with a query (the nearest of 100,000 about
    0.2), so that each query's ranking by meaning adds articles to the
    results as a real one does. Random rows alone, centered, all point away
    from the language's mean: no query came near any of them."""
    keys: list[Key] = []
    with ix.searcher() as searcher:
        reader = searcher.reader()
        columns = [list(reader.column_reader(name)) for name in ("id", "fingerprint", "lang")]
        for d in reader.all_doc_ids():
            doc_id, fingerprint, lang = (column[d] for column in columns)
            count = len(passage_texts(*(reader.stored_fields(d).get(f, "") for f in ("title", "body"))))
            keys += [Key(doc_id, fingerprint, lang, passage, count) for passage in range(count)]
    noise = np.random.default_rng(seed).standard_normal((len(keys), DIMENSIONS), np.float32)
    noise /= 2 * np.linalg.norm(noise, axis=1, keepdims=True)
    means = language_means()
    matrix = np.array([means[key.lang] for key in keys], np.float32) + noise
    return linked(joined([Vectors.of(keys, matrix)]), None)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--index-dir", type=Path, required=True)
    args = p.parse_args(argv)
    ix = Index(args.index_dir)
    made = stand_ins(ix)
    made.save(ix._generation())
    print(f"{len(made):,} stand-in vectors for {made.articles:,} articles saved in {args.index_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
