"""Hybrid ranking: one ranking from the keyword ranking and the ranking by
meaning (embedding.py), by weighted reciprocal-rank fusion.

Each ranking gives an article weight / (K + its rank there), and the sums
rank. Ranks rather than scores, because a BM25 score and a cosine similarity
have nothing in common in scale (and e5's similarities crowd into 0.75-0.9);
it is also what OpenSearch's and Elasticsearch's hybrid search offer.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

K = 60
"""The usual constant (Cormack et al. 2009): the top few ranks of either
ranking count about alike."""
TIE = 1e-9
"""The keyword ranking counts this much more, so that it decides between
articles the two rankings place crosswise (1st and 2nd, 2nd and 1st)."""

def fused(docs: np.ndarray, scores: np.ndarray, meaning: Sequence[int], weight: float
          ) -> tuple[np.ndarray, np.ndarray]:
    """Fused scores of every article of either ranking: the keyword
    ranking's `docs` (sorted) and their `scores` (equal scores rank in
    document order), and `meaning` document numbers best first, worth
    `weight` as much. The articles, sorted, and their fused scores."""
    ranks = np.empty(len(docs), np.float64)
    ranks[np.lexsort((docs, -scores))] = np.arange(1, len(docs) + 1)
    near = np.asarray(meaning, np.int64)
    bonus = weight / (K + np.arange(1, len(near) + 1))
    everyone = np.union1d(docs, near)
    out = np.zeros(len(everyone))
    out[np.searchsorted(everyone, docs)] = (1.0 + TIE) / (K + ranks)
    out[np.searchsorted(everyone, near)] += bonus
    return everyone, out
