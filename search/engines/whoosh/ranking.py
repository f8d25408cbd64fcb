"""How articles are scored: BM25F with per-language statistics, a best-of
query, how much each language's articles count for a query, and scoring every
match of a query at once.

Whoosh-specific, like index.py, query.py and searching.py.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_left
from functools import partial
from collections import OrderedDict
from itertools import accumulate
from pickle import loads
from typing import Callable, Hashable, Iterator, Mapping

import numpy as np
from whoosh import query as wq
from whoosh import scoring
from whoosh.codec.whoosh3 import LENGTHS_COLUMN
from whoosh.util.numeric import byte_to_length
from whoosh.matching import FilterMatcher, NullMatcher, UnionMatcher, WrappingMatcher
from whoosh.searching import Searcher

from ...limits import Deadline
from .phrases import occurrences
from .proximity import WINDOW, closeness


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


class Proximity(wq.Query):
    """A bonus for documents where consecutive words of a query stand close
    together in field `fieldname` (see proximity.py): for each pair of them,
    the closeness of their nearest occurrences, times the mean of the two
    words' scores there. `words` holds each word's terms (its alternative
    stems), in the order typed.

    Only ever the bonus side of an AndMaybe: it is worked out for the
    PROXIMITY_DOCS best documents of the other side (a second ranking
    phase), so reading positions costs the same whatever a query matches."""

    def __init__(self, fieldname: str, words: tuple[tuple[str, ...], ...], boost: float = 1.0):
        self.fieldname, self.words, self.boost = fieldname, words, boost

    def __eq__(self, other) -> bool:
        return type(other) is type(self) and (self.fieldname, self.words, self.boost) == (other.fieldname, other.words, other.boost)

    def __hash__(self) -> int:
        return hash((self.fieldname, self.words, self.boost))

    def __repr__(self) -> str:
        return f"Proximity({self.fieldname!r}, {self.words!r}, boost={self.boost:g})"


PROXIMITY_DOCS = 50
"""Documents, best first, whose word positions are read for the proximity
bonus: a full page at most. Reading positions costs a posting block per
document and word (on 50k articles, +4 ms a two-word search at 50
documents, +7 ms at 200), and the first results are where order matters;
the evaluations gave the same figures for 30 to 200."""


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


class Scores(Mapping[int, float]):
    """Every document a query matches and its score: the document numbers in
    increasing order and their scores, as numpy arrays, so that a query node
    combines whole posting lists in numpy rather than a document at a time
    in Python (a common word matches a quarter of the articles: 12,000 at
    50k). A Mapping for the lookups of single documents."""

    __slots__ = ("docs", "scores")

    def __init__(self, docs: np.ndarray, scores: np.ndarray):
        self.docs, self.scores = docs, scores

    @classmethod
    def of(cls, found: dict[int, float]) -> Scores:
        """From a dictionary of document numbers and scores, in any order."""
        docs = np.fromiter(found, np.int64, len(found))
        order = np.argsort(docs)
        return cls(docs[order], np.fromiter(found.values(), np.float64, len(found))[order])

    def __len__(self) -> int:
        return len(self.docs)

    def __iter__(self) -> Iterator[int]:
        return iter(self.docs.tolist())

    def __getitem__(self, doc: int) -> float:
        at = self._index(doc)
        if at is None:
            raise KeyError(doc)
        return float(self.scores[at])

    def __contains__(self, doc: object) -> bool:
        return self._index(doc) is not None

    def _index(self, doc: object) -> int | None:
        """Where `doc` is in the arrays, if there."""
        at = int(np.searchsorted(self.docs, doc))
        return at if at < len(self.docs) and self.docs[at] == doc else None

    def where(self, keep: np.ndarray) -> Scores:
        """Those documents for which `keep` (one bool each) is true."""
        return Scores(self.docs[keep], self.scores[keep])

    def without(self, docs: np.ndarray) -> Scores:
        """All but `docs` (sorted)."""
        return self.where(~locate(self.docs, docs)[1])

    def boosted(self, boost: float) -> Scores:
        return self if boost == 1.0 else Scores(self.docs, self.scores * boost)

    def at(self, docs: np.ndarray) -> np.ndarray:
        """The scores of `docs` (sorted), every one of which is here."""
        return self.scores[np.searchsorted(self.docs, docs)]

    def best(self, k: int) -> np.ndarray:
        """The `k` best documents, best first; equal scores in index order,
        as Whoosh ranks them."""
        scores = self.scores
        if len(scores) > k:  # only those as good as the k-th best are sorted
            kth = np.partition(scores, len(scores) - k)[len(scores) - k]
            candidates = np.flatnonzero(scores >= kth)
        else:
            candidates = np.arange(len(scores))
        return self.docs[candidates[np.lexsort((self.docs[candidates], -scores[candidates]))]][:k]


NOTHING = Scores(np.empty(0, np.int64), np.empty(0, np.float64))
NOTHING.docs.flags.writeable = NOTHING.scores.flags.writeable = False  # shared by every search


def locate(docs: np.ndarray, sorted_docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `docs` stands in `sorted_docs`, and whether it is there."""
    at = np.searchsorted(sorted_docs, docs)
    found = at < len(sorted_docs)
    found[found] = sorted_docs[at[found]] == docs[found]
    return at, found


CACHED_POSTINGS = 2_000_000
"""Scored postings kept for later searches (16 bytes each; a term's entry
counts as 16 more, so that words no article has cannot fill memory)."""


def score_all(searcher: Searcher, q: wq.Query, deadline: Deadline | None = None) -> Scores:
    """Every document `q` matches, with the score Whoosh gives it.

    Whoosh scores a query one document at a time through a tree of matchers,
    several Python calls per document and tree node: for our queries, which
    search every word in each language's fields, that was most of a search's
    time (10-20 µs per matching document). Here each term's postings are
    scored in one pass and kept for later searches, and a query node
    combines whole arrays of scores. Phrases are checked from their
    words' scores and positions; wildcards and other rarer nodes are scored
    by Whoosh's own matchers. Only the order in which some scores are added
    up can differ from Whoosh's.

    Raises SearchTimeout once past `deadline`.
    """
    return _Scoring(searcher, deadline or Deadline(math.inf)).scores(q)


def index_version(searcher: Searcher) -> Hashable:
    """What identifies the documents and statistics a searcher sees: its
    segments, which never change once written, and their deletions."""
    version = []
    for reader, _ in searcher.reader().leaf_readers():
        segment = reader.segment()
        if segment is None:  # an empty index: no segment, nothing to cache
            return id(searcher)
        version.append((segment.segment_id(), segment.deleted_count()))
    return tuple(version)


class VersionCache:
    """Values computed from one version of an index, kept for later searches
    by any thread; the least recently used go once their total size passes
    `capacity`."""

    def __init__(self, capacity: int, size: Callable[[object], int] = lambda value: 1):
        self.capacity = capacity
        self.size = size
        self._values: OrderedDict[Hashable, object] = OrderedDict()
        self._total = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable, compute: Callable[[], object]):
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
                return value
        value = compute()  # outside the lock: another thread may compute the same, harmlessly
        with self._lock:
            if key not in self._values:
                self._values[key] = value
                self._total += self.size(value)
                while self._total > self.capacity and len(self._values) > 1:
                    self._total -= self.size(self._values.popitem(last=False)[1])
        return value


_term_scores = VersionCache(CACHED_POSTINGS, size=lambda value: len(value[0]) + 16)

CACHED_POSITIONS = 32 * 2**20
"""Bytes of decoded posting blocks (documents and their words' positions)
kept for later searches: the proximity bonus reads a block per document and
word of a query's first PROXIMITY_DOCS, 60-100 µs each (Whoosh pickles them),
a third of a two- or three-word search at 50k articles. A common word's
blocks serve every query that has it."""

_position_blocks = VersionCache(CACHED_POSITIONS, size=lambda block: 64 * len(block[0]) + sum(map(len, block[1])))


class _Scoring:
    """One query's scoring: sub-queries that appear twice in its tree (the
    words of a short query, searched both all together and each alone) are
    scored once."""

    WALK_CHECK = 1024
    """Documents between deadline checks in a loop over documents."""

    def __init__(self, searcher: Searcher, deadline: Deadline):
        self.searcher = searcher
        self.deadline = deadline
        self.version = index_version(searcher)
        self.done: dict[int, Scores] = {}
        self.walked: dict[wq.Query, Scores] = {}
        self.terms: dict[tuple, Scores] = {}

    def scores(self, q: wq.Query) -> Scores:
        found = self.done.get(id(q))
        if found is None:
            found = self.done[id(q)] = self._score(q)
            self.deadline.check()
        return found

    def _score(self, q: wq.Query) -> Scores:
        """The scores of the matchers Whoosh builds for `q` (see each query
        type's `matcher`), computed a node at a time."""
        if isinstance(q, wq.Term):
            return self._term(q)
        if q is wq.NullQuery or (isinstance(q, wq.CompoundQuery) and not q.subqueries):
            return NOTHING
        if type(q) in (wq.And, wq.Or, BestOf) and len(q.subqueries) == 1:
            return self.scores(q.subqueries[0])  # Whoosh ignores the boost of a single-child compound
        if isinstance(q, BestOf):
            return _best_of([self.scores(s) for s in q.subqueries], q.tiebreak).boosted(q.boost)
        if type(q) is wq.Or and not any(isinstance(s, wq.Not) for s in q.subqueries):
            return _sum([self.scores(s) for s in q.subqueries]).boosted(q.boost)
        if type(q) is wq.And and not all(isinstance(s, wq.Not) for s in q.subqueries):
            return self._and(q.subqueries).boosted(q.boost)
        if type(q) is wq.AndMaybe:
            a = self.scores(q.a)
            b = self._bonus(q.b, among=a)
            if not len(b):
                return a
            at, found = locate(b.docs, a.docs)
            scores = a.scores.copy()
            scores[at[found]] += b.scores[found]
            return Scores(a.docs, scores)
        if type(q) is wq.AndNot:
            return self.scores(q.a).without(self.scores(q.b).docs)
        if isinstance(q, wq.Phrase):
            return self._phrase(q)
        return self._walk(q)

    def _and(self, subqueries: list[wq.Query]) -> Scores:
        """Documents matching every sub-query; each excluded one (NOT x)
        adds 1.0, the score of Whoosh's InverseMatcher."""
        required = [self.scores(s) for s in subqueries if not isinstance(s, wq.Not)]
        excluded = [self._docs(s.query) for s in subqueries if isinstance(s, wq.Not)]
        common = _common(required)
        for docs in excluded:
            common = common[~locate(common, docs)[1]]
        totals = required[0].at(common)
        for part in required[1:]:
            totals = totals + part.at(common)
        return Scores(common, totals + len(excluded) if excluded else totals)

    def _docs(self, q: wq.Query) -> np.ndarray:
        """The documents `q` matches (sorted), where their scores do not
        matter (what a NOT excludes): words' documents straight from their
        postings, without building their scores, the title/body choice or
        exact-form bonuses."""
        if isinstance(q, wq.Term):
            return self._term_arrays(q.fieldname, q.text)[0]
        if type(q) is wq.AndMaybe:
            return self._docs(q.a)
        if type(q) in (wq.Or, BestOf) and not any(isinstance(s, wq.Not) for s in q.subqueries):
            return np.unique(np.concatenate([self._docs(sub) for sub in q.subqueries] or [NOTHING.docs]))
        return self.scores(q).docs

    def _term_arrays(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """A term's documents and unboosted scores, kept for later searches."""
        return _term_scores.get((self.version, fieldname, text), lambda: self._read_term(fieldname, text))

    def _term(self, q: wq.Term) -> Scores:
        """Each language's part of a query has the same `exact` terms: they
        are scored once."""
        key = (q.fieldname, q.text, q.boost)
        found = self.terms.get(key)
        if found is None:
            found = self.terms[key] = Scores(*self._term_arrays(q.fieldname, q.text)).boosted(q.boost)
        return found

    def _read_term(self, fieldname: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """A term's documents and unboosted scores, as Term.matcher scores
        them, a posting block at a time: the ids and weights of each block
        as Whoosh decodes them, then the BM25F formula over whole arrays
        (numpy), instead of Whoosh's Python call per posting (most of a
        search's time for a word not seen before)."""
        ids, scores = [NOTHING.docs], [NOTHING.scores]
        schema = self.searcher.schema
        if fieldname not in schema:
            return NOTHING.docs, NOTHING.scores
        try:
            btext = schema[fieldname].to_bytes(text)
        except ValueError:
            return NOTHING.docs, NOTHING.scores
        weighting = self.searcher.weighting
        for leaf, offset in self.searcher.leaf_searchers():
            reader = leaf.reader()
            if (fieldname, btext) not in reader:
                continue
            docs, weights = _postings(reader.postings(fieldname, btext))
            scorer = weighting.scorer(leaf, fieldname, text)
            if isinstance(scorer, _LanguageBM25FScorer):
                lengths = _field_lengths(reader, fieldname)[docs]
                B, K1 = scorer.B, scorer.K1
                found = scorer.idf * ((weights * (K1 + 1)) / (weights + K1 * ((1 - B) + B * lengths / scorer.avgfl)))
            else:  # not a text field: a filter, whose score is its weight
                found = weights
            ids.append(docs + offset)
            scores.append(found)
        ids, scores = np.concatenate(ids), np.concatenate(scores)
        ids.flags.writeable = scores.flags.writeable = False  # shared by every search that has the term
        return ids, scores

    def _phrase(self, q: wq.Phrase, among: Scores | None = None) -> Scores:
        """Documents with the phrase, scored as Whoosh scores it (the sum of
        its words' scores, times its boost). Whoosh's matcher walks every
        document holding all the words through span objects, 30 µs each:
        here the candidates come from the words' cached scores, and the
        positions of only those are read, a block at a time. With `among`,
        only those documents are looked at."""
        word_scores = [self._term(wq.Term(q.fieldname, word)) for word in q.words]
        if not all(map(len, word_scores)):
            return NOTHING
        docs = _common(word_scores if among is None else [*word_scores, among])
        if not len(docs):
            return NOTHING
        listed = docs.tolist()
        positions = {word: self._positions(q.fieldname, word, listed) for word in set(q.words)}
        keep = np.zeros(len(listed), bool)
        for n, d in enumerate(listed):  # one article can hold a word 250,000 times: the deadline is checked within each
            decoded = {word: _decoded(encoded[d]) for word, encoded in positions.items()}
            keep[n] = bool(occurrences([decoded[word] for word in q.words], q.slop, self.deadline))
        docs = docs[keep]
        total = np.zeros(len(docs))
        for scores in word_scores:
            total += scores.at(docs)
        return Scores(docs, q.boost * total)

    def _bonus(self, q: wq.Query, among: Scores) -> Scores:
        """What `q` adds to the documents of `among` (the bonus side of an
        AndMaybe): phrases and proximity only need checking there."""
        if isinstance(q, wq.Phrase):
            return self._phrase(q, among=among)
        if isinstance(q, Proximity):
            return self._proximity(q, among=among)
        if type(q) is wq.Or and all(isinstance(s, (wq.Phrase, Proximity)) for s in q.subqueries):
            return _sum([self._bonus(s, among) for s in q.subqueries]).boosted(q.boost)
        return self.scores(q)

    def _proximity(self, q: Proximity, among: Scores) -> Scores:
        """The proximity bonus of the best PROXIMITY_DOCS documents of `among`."""
        docs = np.sort(among.best(PROXIMITY_DOCS))
        words = [self._word_in(q.fieldname, terms, docs) for terms in q.words]
        self.deadline.check()
        found: dict[int, float] = {}
        for (first, first_scores), (second, second_scores) in zip(words, words[1:]):
            for d in first.keys() & second.keys():
                near = closeness(first[d], second[d], WINDOW)
                if near:
                    found[d] = found.get(d, 0.0) + near * (first_scores[d] + second_scores[d]) / 2
        return Scores.of(found).boosted(q.boost)

    def _word_in(self, fieldname: str, terms: tuple[str, ...], docs: np.ndarray
                 ) -> tuple[dict[int, list[int]], dict[int, float]]:
        """Where a word (any of its terms) stands in each of `docs` (sorted)
        that has it in `fieldname`, and its score there."""
        positions: dict[int, list[int]] = {}
        scores: dict[int, float] = {}
        for term in terms:
            term_scores = self._term(wq.Term(fieldname, term))
            at, found = locate(docs, term_scores.docs)
            holding = docs[found].tolist()
            encoded = self._positions(fieldname, term, holding)
            for d, score in zip(holding, term_scores.scores[at[found]].tolist()):
                positions[d] = sorted(positions.get(d, []) + _decoded(encoded[d]))
                scores[d] = max(scores.get(d, 0.0), score)
        return positions, scores

    def _positions(self, fieldname: str, word: str, docs: list[int]) -> dict[int, bytes]:
        """The encoded positions of a word in each of `docs` (sorted; each
        holds the word), in that order, reading only the posting blocks that
        have them. Every index is written in Whoosh's default (W3) format,
        whose matcher's blocks are read here directly."""
        out: dict[int, bytes] = {}
        btext = self.searcher.schema[fieldname].to_bytes(word)
        for leaf, offset in self.searcher.leaf_searchers():
            start, end = bisect_left(docs, offset), bisect_left(docs, offset + leaf.doc_count_all())
            if start == end:
                continue
            m = leaf.reader().postings(fieldname, btext)
            if isinstance(m, FilterMatcher):  # deleted documents: none is among `docs`
                m = m.child
            segment = leaf.reader().segment().segment_id()
            wanted = [d - offset for d in docs[start:end]]
            i = 0
            while i < len(wanted) and m.is_active():
                if wanted[i] <= m.block_max_id():
                    ids, values = _position_blocks.get((segment, fieldname, btext, m._dataoffset), partial(_block, m))
                    while i < len(wanted) and wanted[i] <= ids[-1]:
                        out[wanted[i] + offset] = values[bisect_left(ids, wanted[i])]
                        i += 1
                m._next_block()
        return out

    def _walk(self, q: wq.Query) -> Scores:
        """Scores from Whoosh's own matchers, as its collectors get them; once
        per query (each language's part of a query has the same `exact`
        patterns)."""
        found = self.walked.get(q)
        if found is None:
            walked: dict[int, float] = {}
            context = self.searcher.context()
            for leaf, offset in self.searcher.leaf_searchers():
                m = q.matcher(leaf, context)
                while m.is_active():
                    walked[offset + m.id()] = m.score()
                    m.next()
                    if len(walked) % self.WALK_CHECK == 0:
                        self.deadline.check()
            found = self.walked[q] = Scores.of(walked)
        return found


def _block(m) -> tuple[tuple[int, ...], tuple[bytes, ...]]:
    """The documents and values (encoded positions) of the posting block a
    W3 block matcher stands at."""
    m.id(), m.value()  # load the block's ids and values
    return m._ids, m._values


def _postings(m) -> tuple[np.ndarray, np.ndarray]:
    """The document numbers and weights of a segment's posting list, read a
    block at a time (from Whoosh's W3 block matcher, as _positions does)."""
    deleted = None
    if isinstance(m, FilterMatcher):  # the segment has deletions: skip them
        deleted, m = m._ids, m.child  # (the child may stand past deleted postings of its block: read whole blocks)
    ids: list = []
    weights: list = []
    while m.is_active():
        m.id(), m.weight()  # load the block's ids and weights
        ids.append(np.asarray(m._ids, dtype=np.int64))
        weights.append(np.asarray(m._weights, dtype=np.float64))
        m._next_block()
    if not ids:  # every posting was of a deleted document
        return np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float64)
    docs, found = np.concatenate(ids), np.concatenate(weights)
    if deleted:
        keep = ~np.isin(docs, np.fromiter(deleted, dtype=np.int64, count=len(deleted)))
        docs, found = docs[keep], found[keep]
    return docs, found


_BYTE_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_lengths: dict[tuple, np.ndarray] = {}


def _field_lengths(reader, fieldname: str) -> np.ndarray:
    """Every document's length in a field of one segment, as Whoosh decodes
    it for scoring (its column of one byte a document), kept for the life
    of the process: segments never change."""
    key = (reader.segment().segment_id(), fieldname)
    found = _lengths.get(key)
    if found is None:
        column = f"_{fieldname}_len"  # W3's own column, known to its per-document reader only
        count, perdoc = reader.doc_count_all(), reader._perdoc
        if perdoc.has_column(column):
            raw = np.fromiter(perdoc.column_reader(column, LENGTHS_COLUMN), dtype=np.uint8, count=count)
        else:
            raw = np.zeros(count, dtype=np.uint8)
        found = _BYTE_LENGTHS[raw]
        if len(_lengths) > 4096:  # segments merged away leave their lengths behind
            _lengths.clear()
        _lengths[key] = found
    return found


def _decoded(value: bytes) -> list[int]:
    """Positions as Whoosh's `Positions` format encodes them: a 4-byte count,
    then the pickled gaps."""
    return list(accumulate(loads(value[4:])))


def _common(parts: list[Scores]) -> np.ndarray:
    """The documents in every one of `parts`, from the smallest down."""
    common = min(parts, key=len).docs
    for part in parts:
        if part.docs is not common:
            common = common[locate(common, part.docs)[1]]
    return common


def _union(parts: list[Scores]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every document of `parts` once, sorted; and the scores of all parts,
    document by document, in the parts' order; and where each document's
    scores begin in them."""
    docs = np.concatenate([part.docs for part in parts])
    order = np.argsort(docs, kind="stable")  # runs of sorted numbers: a merge
    docs = docs[order]
    starts = np.flatnonzero(np.concatenate(([True], docs[1:] != docs[:-1])))
    return docs[starts], np.concatenate([part.scores for part in parts])[order], starts


def _sum(parts: list[Scores]) -> Scores:
    """Union, adding up the scores of documents in several parts (UnionMatcher)."""
    parts = [part for part in parts if len(part)]
    if len(parts) < 2:
        return parts[0] if parts else NOTHING
    docs, scores, starts = _union(parts)
    return Scores(docs, np.add.reduceat(scores, starts))


def _best_of(parts: list[Scores], tiebreak: float) -> Scores:
    """Union, scoring each document as _BestOfMatcher does, folding the
    parts left to right: max(a, b) + tiebreak * min(a, b)."""
    parts = [part for part in parts if len(part)]
    if len(parts) < 2:
        return parts[0] if parts else NOTHING
    found = parts[0]
    for part in parts[1:]:
        docs, scores, starts = _union([found, part])
        twice = np.diff(starts, append=len(scores)) == 2
        best = scores[starts]  # a document in one part only: its score
        first, second = scores[starts[twice]], scores[starts[twice] + 1]
        best[twice] = np.maximum(first, second) + tiebreak * np.minimum(first, second)
        found = Scores(docs, best)
    return found
