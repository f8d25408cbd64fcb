"""How articles are scored: BM25F with per-language statistics, a best-of
query, and how much each language's articles count for a query.

Whoosh-specific, like index.py, query.py and searching.py.
"""

from __future__ import annotations

import math

from whoosh import query as wq
from whoosh import scoring
from whoosh.matching import NullMatcher, UnionMatcher, WrappingMatcher


class LanguageBM25F(scoring.BM25F):
    """BM25F with each language's own statistics.

    Whoosh computes IDF and average field length over all documents, but a
    field like `body_de` only ever holds German ones: with 29,000 Arabic and
    2,000 German articles every German word would look rare and every German
    article short. Counting per language keeps scores comparable, so one
    language's articles do not drown another's in mixed results.
    """

    def scorer(self, searcher, fieldname, text, qf=1):
        if not searcher.schema[fieldname].scorable:
            return scoring.WeightScorer.for_(searcher, fieldname, text)
        B = self._field_B.get(fieldname, self.B)
        return _LanguageBM25FScorer(searcher, fieldname, text, B, self.K1, qf)


class _LanguageBM25FScorer(scoring.BM25FScorer):
    def __init__(self, searcher, fieldname, text, B, K1, qf=1):
        parent = searcher.get_parent()
        lang = fieldname.rsplit("_", 1)[1] if "_" in fieldname else None
        docs = max(parent.doc_frequency("lang", lang) if lang else parent.doc_count_all(), 1)
        self.idf = math.log(docs / (parent.doc_frequency(fieldname, text) + 1)) + 1.0
        self.avgfl = (parent.field_length(fieldname) / docs) or 1
        self.B = B
        self.K1 = K1
        self.qf = qf
        self.setup(searcher, fieldname, text)


class BestOf(wq.DisjunctionMax):
    """Scores a document by its best-matching sub-query, plus `tiebreak` times
    the others: one word found in both title and body, or under two stems,
    counts once (with a little extra), not twice.

    Whoosh's own DisjunctionMax cannot be used: its matcher ignores
    `tiebreak`, may add up scores of different documents, and stops matching
    when one of its sub-matchers runs out.
    """

    def _matcher(self, subs, searcher, context):
        matchers = [s.matcher(searcher, context) for s in subs]
        matchers = [m for m in matchers if m.is_active()]
        if not matchers:
            return NullMatcher()
        combined = matchers[0]
        for m in matchers[1:]:
            combined = _BestOfMatcher(combined, m, self.tiebreak)
        return WrappingMatcher(combined, self.boost) if self.boost != 1.0 else combined

    def apply(self, fn):
        return BestOf([fn(q) for q in self.subqueries], boost=self.boost, tiebreak=self.tiebreak)

    def normalize(self):
        """Normalizes the sub-queries but never merges a nested BestOf into
        this one (Whoosh's would, changing what the tiebreak applies to)."""
        subs = [q for q in (s.normalize() for s in self.subqueries) if q is not wq.NullQuery]
        if not subs:
            return wq.NullQuery
        if len(subs) == 1:
            return subs[0].with_boost(subs[0].boost * self.boost)
        return BestOf(subs, boost=self.boost, tiebreak=self.tiebreak)


class _BestOfMatcher(UnionMatcher):
    def __init__(self, a, b, tiebreak: float = 0.0):
        super().__init__(a, b)
        self.tiebreak = tiebreak

    def copy(self):
        return _BestOfMatcher(self.a.copy(), self.b.copy(), self.tiebreak)

    def supports_block_quality(self) -> bool:
        return False  # a max is not a sum: keep Whoosh from skipping blocks by quality

    def replace(self, minquality=0):
        a_active, b_active = self.a.is_active(), self.b.is_active()
        if not (a_active or b_active):
            return NullMatcher()
        if not a_active:
            return self.b.replace()
        if not b_active:
            return self.a.replace()
        a, b = self.a.replace(), self.b.replace()
        if a is not self.a or b is not self.b:
            return _BestOfMatcher(a, b, self.tiebreak)
        return self

    def max_quality(self):
        return max(self.a.max_quality(), self.b.max_quality()) * (1 + self.tiebreak)

    def score(self):
        a, b = self.a, self.b
        if not a.is_active():
            return b.score()
        if not b.is_active():
            return a.score()
        if a.id() != b.id():
            return (a if a.id() < b.id() else b).score()
        sa, sb = a.score(), b.score()
        return max(sa, sb) + self.tiebreak * min(sa, sb)


STOPWORD_LIKELIHOOD = 0.5
"""How likely a query word that is a stopword of a language is in that
language's articles: function words are strong evidence of a language."""


def language_weights(likelihoods: dict[str, list[float]]) -> dict[str, float]:
    """How much each language's articles count for a query, from how likely
    each typed word is in that language's articles (its document frequency
    there, or STOPWORD_LIKELIHOOD for a stopword).

    The weight is the geometric mean of a language's likelihoods over the best
    language's: an English question ("we are delighted to be back") then
    counts fully for English articles and little for a Dutch one that happens
    to contain "We Are Here". No language is guessed for a query of one
    word, where every language with a match counts fully.
    """
    if not likelihoods or max(len(v) for v in likelihoods.values()) < 2:
        return {lang: 1.0 for lang in likelihoods}
    mean_logs = {
        lang: sum(math.log(p) for p in ps) / len(ps) if ps else -math.inf
        for lang, ps in likelihoods.items()
    }
    best = max(mean_logs.values())
    return {lang: math.exp(m - best) if m > -math.inf else 0.0 for lang, m in mean_logs.items()}
