"""Searching by meaning beside the keywords: the articles whose vectors are
nearest the query's (in any language), and each result's counterparts in the
other languages.

The query is embedded, and compared with every passage, in a thread of its
own while the keywords are scored (the model's C engine and numpy release the
GIL), so meaning adds little to a search's time; past the deadline a search
goes on with its keywords alone.
Vectors are matched to the index's documents by id and fingerprint: an
article changed since its vector was computed is left out until the next
`search index` gives it a new one.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor, TimeoutError
from typing import Container, Hashable, NamedTuple

import numpy as np
from threadpoolctl import threadpool_limits
from whoosh.searching import Searcher

from ...embedding import PASSAGES, embed_query
from ...limits import Deadline
from .ranking import VersionCache, index_version
from ...results import Counterpart
from .vectors import Vectors, best, scan

MEANING_DEPTH = 50
"""Articles the ranking by meaning brings to the fused ranking."""
MEANING_WEIGHT = 1.0
"""Weight of the ranking by meaning against the keywords' (fusion.py)."""
MEANING_MIN = 0.13
"""Least similarity (query against centered article vectors) for an article
the keywords did not find to join the results by meaning. Queries of no
meaning ("xqzvbnw", "asdf qwer") come to 0.11-0.16 with their nearest of
10,000 articles; an article answering a question in another language has
0.21 (median; 0.12 for the lowest tenth). Chosen on bench/questions.py: 0.15
gives cross-lingual recall@10 0.811 instead of 0.826, and misses the Arabic
seed articles (0.138) for "US troops leave Iraq"."""
MEANING_BONUS_MIN = 0.22
"""Least similarity for an article the keywords found (in the query's own
language) to rank higher by meaning: below, the bonus mostly lifts articles
that share a common word with the query above the answer in another
language. On bench/questions.py, MRR@10 of questions in the article's
language (ar / de / en / nl) and cross-lingual recall@10:

    0.20: 0.876 / 0.963 / 0.885 / 0.871, 0.826
    0.22: 0.876 / 0.959 / 0.887 / 0.858, 0.831
    0.24: 0.864 / 0.937 / 0.884 / 0.828, 0.832

0.22: English questions, which meaning helps least, rank their answers
best there, and no language loses much."""
COUNTERPART_MIN = 0.45
"""Least similarity (centered, see embedding.centered) of two articles in
different languages to be shown as the same story: the seed articles, one
story, are 0.38-0.52 alike across languages; of 4,000 unrelated articles of
the corpora (1,000 per language) 0.5% get a counterpart at 0.45, mostly one
on the same topic (oil prices, the Nikkei)."""

DUPLICATE_MIN = 0.95
"""Least similarity of two articles in one language to be the same story
republished: among 10,000 articles of the corpora, pairs from 0.95 up are the
same text with another headline or a few words changed ("Nasdaq planning
$100m-share sale" / "... $100m share sale", 0.997); at 0.93 they are already
two articles on one event."""

BLAS_THREADS = 1
"""Threads numpy's BLAS may use in this process. Its matrix products here are
small (a query against the vectors, in parts: vectors.scan), and the
idle threads of a larger pool keep spinning on the cores for a while after
each: on 2 cores they took the core a query is embedded on, so that
embedding and keyword scoring, meant to run side by side, each took about
as long as both (10,117 articles: embedding 52 -> 30 ms, a new query's
search 76 -> 56 ms, median)."""

_embedder = ThreadPoolExecutor(1, thread_name_prefix="embed-query")
_rows = VersionCache(capacity=4)
threadpool_limits(BLAS_THREADS, user_api="blas")


class Meaning:
    """The ranking by meaning of one search."""

    def __init__(self, searcher: Searcher, vectors: Vectors, text: str):
        self.searcher = searcher
        self.vectors = vectors
        self.pending = _embedder.submit(_similarity, vectors, text)
        self.similarity = np.zeros(0)
        self.rows = _Rows(np.zeros(0, np.int64), np.zeros(0, np.int64), {})
        self.passages: dict[int, int] = {}
        """The passage (see embedding.PASSAGES) nearest the query of each
        document `nearest` gave: what its snippet shows when it has no
        matched words."""

    def ready(self) -> bool:
        """Whether the query's similarity to every passage is there (or failed)."""
        return self.pending.done()

    def wait(self, deadline: Deadline) -> bool:
        """Wait until the deadline for the query's similarity to every
        passage; False if it is not there in time, or no article has a
        vector."""
        try:
            self.similarity = self.pending.result(timeout=max(0.0, deadline.at - time.monotonic()))
        except TimeoutError:
            self.cancel()
            return False
        self.rows = rows(self.searcher, self.vectors)
        return bool((self.rows.doc >= 0).any())

    def cancel(self) -> None:
        """Leave the query out of the embedding thread's queue if it is still
        there: one thread embeds the queries of every search of the process,
        and the queries of searches given up on would keep the next ones
        from their meaning."""
        self.pending.cancel()

    def nearest(self, lang: str | None, keyword: Container[int], not_written_in: Container[str]
                ) -> tuple[list[int], set[int]]:
        """Document numbers of the MEANING_DEPTH articles (in `lang`, or any)
        nearest the query, best first: those `keyword` found in a language
        the query may be written in when at least MEANING_BONUS_MIN alike,
        the others at least MEANING_MIN. And those of them `keyword` found
        in a language the query is `not_written_in`: such a match shares no
        more than a name or a number with the query, and is to be ranked by
        meaning alone (its keyword rank left out of the fusion, see
        searching._fused). Ranked like the query's own matches, they kept
        cross-lingual recall@10 on bench/questions.py at 0.70 (see
        bench/README.md)."""
        allowed = (self.rows.doc >= 0) & (self.similarity >= MEANING_MIN)
        if lang:
            in_lang = np.zeros(len(allowed), bool)
            in_lang[self.rows.passages_by_lang.get(lang, [])] = True
            allowed &= in_lang
        langs = self.vectors.langs
        near: dict[int, None] = {}  # an article's best passage comes first, the others are left out
        foreign: set[int] = set()
        for row, sim in best(self.similarity, MEANING_DEPTH * len(PASSAGES), allowed):
            doc = int(self.rows.doc[row])
            own = langs[row] not in not_written_in
            if doc in keyword and not own:
                foreign.add(doc)
            if (sim >= MEANING_BONUS_MIN or doc not in keyword or not own) and doc not in near:
                near[doc] = None
                self.passages.setdefault(doc, int(self.vectors.passages[row]))
        docs = list(near)[:MEANING_DEPTH]
        return docs, foreign.intersection(docs)


def _similarity(vectors: Vectors, text: str) -> np.ndarray:
    """The query's similarity to every passage: the scan follows the
    embedding in its thread, so that it too runs while the keywords are
    scored (at 50k articles the keywords of the slowest tenth of queries take
    longer than both)."""
    return scan(vectors.centered, embed_query(text))


class _Rows(NamedTuple):
    doc: np.ndarray
    """Each vector's document number, -1 where its article is gone or has changed since."""
    of_doc: np.ndarray
    """Each document's row in the vectors (its lead's), -1 where it has none."""
    passages_by_lang: dict[str, np.ndarray]
    """The rows of each language's passages (those matched)."""


def rows(searcher: Searcher, vectors: Vectors) -> _Rows:
    """How the vectors and the searcher's documents match (by id and fingerprint)."""

    def compute() -> _Rows:
        reader = searcher.reader()
        of_doc = np.full(reader.doc_count_all(), -1, np.int64)
        if not len(of_doc):
            return _Rows(np.full(len(vectors), -1, np.int64), of_doc, {})
        ids, prints = (list(reader.column_reader(name)) for name in ("id", "fingerprint"))
        live = {(ids[d], prints[d]): d for d in reader.all_doc_ids()}
        keys = zip(vectors.ids.tolist(), vectors.fingerprints.tolist())
        doc = np.fromiter((live.get(key, -1) for key in keys), np.int64, len(vectors))
        matched = np.flatnonzero(doc >= 0)
        leads = matched[vectors.passages[matched] == 0]
        of_doc[doc[leads]] = leads
        langs = vectors.langs[matched]
        return _Rows(doc, of_doc, {lang: matched[langs == lang] for lang in np.unique(langs).tolist()})

    key: Hashable = (index_version(searcher), vectors)
    return _rows.get(key, compute)


def counterparts(searcher: Searcher, vectors: Vectors, shown: list[int]) -> dict[int, list[Counterpart]]:
    """For each of the documents `shown`, the nearest article in each other
    language (as found when the vectors were saved, see vectors.linked), if
    at least COUNTERPART_MIN alike: the same story there. One changed since
    is left out until `search index` gives it its new vector."""
    matched = rows(searcher, vectors)
    near = vectors.counterparts
    out: dict[int, list[Counterpart]] = {}
    for d in shown:
        row = matched.of_doc[d]
        if near is None or row < 0:
            continue
        same_story = [article(searcher, int(matched.doc[other]), float(sim))
                      for other, sim in zip(near.rows[row].tolist(), near.similarity[row].tolist())
                      if other >= 0 and sim >= COUNTERPART_MIN and matched.doc[other] >= 0]
        out[d] = sorted(same_story, key=lambda c: -c.similarity)
    return out


def collapsed(searcher: Searcher, vectors: Vectors, ranked: list[int]
              ) -> tuple[list[int], dict[int, list[tuple[int, float]]]]:
    """`ranked` (document numbers, best first) without near-duplicates: an
    article at least DUPLICATE_MIN alike to a better one in its language (the
    same story republished, often word for word) is folded into it. The kept
    ones, in order, and what each has folded in, with its similarity."""
    matched = rows(searcher, vectors)
    with_rows = [(d, int(matched.of_doc[d])) for d in ranked if matched.of_doc[d] >= 0]
    if len(with_rows) < 2:
        return ranked, {}
    at = {d: i for i, (d, _) in enumerate(with_rows)}
    shown = vectors.centered[[row for _, row in with_rows]]
    similarity = shown @ shown.T
    langs = vectors.langs[[row for _, row in with_rows]]
    kept: list[int] = []
    kept_at: list[int] = []
    folded: dict[int, list[tuple[int, float]]] = {}
    for d in ranked:
        i = at.get(d)
        if i is not None and kept_at:
            earlier = np.asarray(kept_at)
            alike = earlier[(similarity[earlier, i] >= DUPLICATE_MIN) & (langs[earlier] == langs[i])]
            if len(alike):
                folded.setdefault(with_rows[alike[0]][0], []).append((d, float(similarity[alike[0], i])))
                continue
        kept.append(d)
        if i is not None:
            kept_at.append(i)
    return kept, folded


RELATED = 10
"""Articles `related` lists besides the counterparts."""


def related(searcher: Searcher, vectors: Vectors, doc_id: str) -> dict[str, list[Counterpart]] | None:
    """The articles nearest `doc_id` in meaning: its counterparts (the same
    story in each other language, as results list them) and the RELATED
    nearest in any language; None when the article has no vector (yet)."""
    numbers = rows(searcher, vectors).doc
    row = vectors.rows.get(doc_id)
    if row is None or numbers[row] < 0:
        return None
    own = int(numbers[row])
    allowed = numbers[: len(vectors.leads)] >= 0
    allowed[row] = False
    nearest = [article(searcher, int(numbers[other]), sim)
               for other, sim in best(vectors.leads @ vectors.centered[row], RELATED, allowed)]
    return {"counterparts": counterparts(searcher, vectors, [own]).get(own, []), "related": nearest}


def article(searcher: Searcher, doc: int, similarity: float) -> Counterpart:
    """Document `doc`, as a result lists an article near it in meaning."""
    stored = searcher.stored_fields(doc)
    return Counterpart(stored["id"], stored.get("lang", ""), stored.get("title", ""), round(similarity, 4))
