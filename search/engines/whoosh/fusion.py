"""Hybrid ranking: one ranking from the keyword ranking and the ranking by
meaning (embedding.py), by weighted reciprocal-rank fusion.

Each ranking gives an article weight / (K + its rank there), and the sums
rank. Ranks rather than scores, because a BM25 score and a cosine similarity
have nothing in common in scale (and e5's similarities crowd into 0.75-0.9);
it is also what OpenSearch's and Elasticsearch's hybrid search offer.
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

K = 60
"""The usual constant (Cormack et al. 2009): the top few ranks of either
ranking count about alike."""
TIE = 1e-9
"""The keyword ranking counts this much more, so that it decides between
articles the two rankings place crosswise (1st and 2nd, 2nd and 1st)."""

def fused(keyword: Mapping[int, float], meaning: Sequence[int], weight: float) -> dict[int, float]:
    """Fused scores of every article of either ranking: `keyword` scores by
    document number (ranked best first, equal scores in document order) and
    `meaning` document numbers best first, worth `weight` as much."""
    docs = np.fromiter(keyword.keys(), np.int64, len(keyword))
    scores = np.fromiter(keyword.values(), np.float64, len(keyword))
    ranks = np.empty(len(docs), np.float64)
    ranks[np.lexsort((docs, -scores))] = np.arange(1, len(docs) + 1)
    out = dict(zip(docs.tolist(), ((1.0 + TIE) / (K + ranks)).tolist()))
    for rank, doc in enumerate(meaning, 1):
        out[doc] = out.get(doc, 0.0) + weight / (K + rank)
    return out
