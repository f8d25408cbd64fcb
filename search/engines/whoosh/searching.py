"""Running a search: ranking, pages, snippets, facets and "did you mean".

Everything a search does runs under one Deadline (see limits.py): parsing,
wildcard expansion, scoring, facets, snippets and suggestions. Past it,
scoring stops the search with SearchTimeout; snippets and suggestions, which
only dress results that are already found, stop being made instead.
"""

from __future__ import annotations

import fnmatch
import re
from typing import Callable, Iterable

import numpy as np
from whoosh import query as wq
from whoosh.searching import Searcher

from .analysis import exact_analyzer, word_terms
from ...dates import DateRange, date_filters, date_tokens, parse as parse_date, period_width
from ...engine import SORTS
from ...errors import BadQuery, SearchTimeout, UnknownLanguage
from ...documents import Article
from ...embedding import passage_start
from .highlight import Wanted, WordFinder, scanned, snippet, split
from ...marks import Span, mark
from .index import INDEXED_LANGUAGES
from ...languages import NEUTRAL, resolve
from ...limits import Deadline, Limits
from .query import Completion, ParsedQuery, parse, word_likelihoods
from ...querytext import check_length
from .ranking import Scores, VersionCache, index_version, language_weights, score_all
from .fusion import fused
from .meaning import MEANING_WEIGHT, Meaning, article, collapsed, counterparts
from ...results import Counterpart, Hit, SearchResults
from .segments import spelling_tables
from ...sources import display_names
from .spelling import SpellingTable, completions, respellings
from .vectors import Vectors

MIN_LANGUAGE_DOCS = 100
"""Below this many articles a language's word statistics are too thin to weigh
a query by; such languages always count fully."""
COMPLETIONS = 10
"""Words a half-typed word stands for while the reader types: the most frequent."""
SUGGEST_BELOW = 3
"""Offer a spelling suggestion when a query finds fewer results than this."""
WRITTEN_IN = 0.5
"""Least language weight of a language the query is taken to be written in
(of bench/questions.py's 4,800 questions, 99.9% have their own language
at 1.0 and 84% every other below 0.1): its keyword matches are the
query's own (see meaning.Meaning.nearest). A language without the
statistics to tell (fewer than MIN_LANGUAGE_DOCS articles, a query of one
word) counts as one the query may be written in."""


def search(
    searcher: Searcher,
    text: str,
    lang: str | None = None,
    source: str | None = None,
    page: int = 1,
    per_page: int = 10,
    snippets: bool = True,
    limits: Limits = Limits(),
    deadline: Deadline | None = None,
    typing: bool = False,
    vectors: Vectors | None = None,
    collapse: bool = True,
    dates: DateRange = DateRange(),
    sort: str = "relevance",
) -> SearchResults:
    """Search every language at once (or only `lang`), best matches first.
    Without `snippets` every hit's snippet is empty, which saves analyzing the
    hits' text when only ids and scores are wanted. `deadline` (by default
    `limits.seconds` from now) bounds everything the search does. With
    `typing` (results as the reader types), a last word not yet followed by
    a space is also read as the beginning of a longer one.

    With the index's `vectors`, a query of plain words is also searched by
    meaning, in every language, and the two rankings fused (see fusion.py);
    each hit then lists its counterparts in the other languages, and (with
    `collapse`) near-duplicates of a hit (the same story republished) are
    folded into it rather than shown, and counted once in the total.

    Only articles published within `dates` (and the query's `date:`
    filters, see dates.date_filters) are found; `sort` "newest" puts the
    latest first (undated ones last), "relevance" the best matches."""
    deadline = deadline or Deadline(limits.seconds)
    if sort not in SORTS:
        raise BadQuery(f"sort must be one of: {', '.join(SORTS)}.")
    check_length(text, limits.query_chars)  # before the date filters are read out of it, as after
    typed = text
    text, asked = date_filters(text)
    dates = dates.within(asked)
    if page < 1:
        raise BadQuery("page must be 1 or more.")
    if not 1 <= per_page <= limits.per_page:
        raise BadQuery(f"per_page must be between 1 and {limits.per_page}.")
    if (page - 1) * per_page >= limits.depth:
        raise BadQuery(f"Results are shown up to the {limits.depth:,}th; refine the query instead.")
    try:
        code = resolve(lang) if lang else None
    except UnknownLanguage as exc:
        raise BadQuery(str(exc)) from None
    lookup = _source_lookup(searcher)
    source = lookup(source) if source else None
    languages = (code,) if code else INDEXED_LANGUAGES
    parsed = parse(text, languages, lookup, limits, typing)
    meaning = Meaning(searcher, vectors, parsed.meaning) if vectors is not None and parsed.meaning else None
    try:
        weights = _language_weights(searcher, parsed)
        query = _expanded(searcher, parsed.combined(weights), limits.expansions, deadline)
        scores = score_all(searcher, query, deadline)
        everywhere = scores
        if code:  # the language facet counts the query's matches in every language
            parsed_everywhere = parse(text, INDEXED_LANGUAGES, lookup, limits, typing)
            weights = _language_weights(searcher, parsed_everywhere)
            everywhere_query = _expanded(searcher, parsed_everywhere.combined(weights), limits.expansions, deadline)
            everywhere = score_all(searcher, everywhere_query, deadline)
    except BaseException:  # stopped (at the deadline): its query need not be embedded
        if meaning is not None:
            meaning.cancel()
        raise
    by_meaning: set[int] = set()
    passing = _Filter(searcher, code, source, dates)
    highlighter = _Highlighter(wanted_by_field(query), deadline) if snippets else None
    if meaning is not None and highlighter is not None and sort == "relevance":
        # the keywords' best are most of the page: their snippets are made while the query
        # is embedded and compared (in C and numpy, without the GIL), until it is
        for d in scores.where(passing(scores.docs)).best(page * per_page)[(page - 1) * per_page:]:
            if meaning.ready():
                break
            highlighter.marks(d, searcher.stored_fields(d))
    if meaning is not None and meaning.wait(deadline):
        not_written_in = {lang for lang, weight in weights.items() if weight < WRITTEN_IN}
        near, by_meaning_alone = meaning.nearest(code, scores, not_written_in)
        by_meaning = {d for d in near if d not in scores}
        scores = _fused(scores, near, by_meaning_alone)
        everywhere = _fused(everywhere, *meaning.nearest(None, everywhere, not_written_in)) if code else scores
    found, facets = _filtered(scores, everywhere, passing)
    total = len(found)
    ranked, folded = _ranked(searcher, vectors if collapse else None, found, sort, page * per_page)
    total -= sum(map(len, folded.values()))
    shown = ranked[(page - 1) * per_page:]
    also = counterparts(searcher, vectors, shown) if vectors is not None and not deadline.passed() else {}
    names = source_names(searcher)
    hits = []
    for d in shown:
        stored = searcher.stored_fields(d)
        found_by = meaning.passages.get(d, 0) if meaning is not None and d in by_meaning else None
        marks = highlighter.marks(d, stored, found_by) if highlighter else ("", mark(stored.get("title", ""), []))
        hits.append(_hit(stored, scores[d], marks, names, d in by_meaning, also.get(d, []),
                         [article(searcher, *other) for other in folded.get(d, [])]))
    suggestion = None
    by_words = total - sum(d in found for d in by_meaning)
    if by_words < SUGGEST_BELOW and not deadline.passed():
        suggestion = _suggest(searcher, text, parsed.words, by_words, languages, lookup, limits, deadline, typing)
        if suggestion and asked:  # the same dates asked for as in the query typed
            suggestion = " ".join([suggestion.strip(), *date_tokens(typed)])
    return SearchResults(typed, total, page, per_page, hits, facets, suggestion,
                         {source: names.get(source, source) for source in facets["source"]})


def _ranked(searcher: Searcher, vectors: Vectors | None, found: Scores, sort: str, wanted: int
            ) -> tuple[list[int], dict[int, list[tuple[int, float]]]]:
    """The `wanted` first of `found` in the order `sort` asks for; with
    `vectors`, near-duplicates folded into the first of them (see
    meaning.collapsed), as many more taken as folded."""
    take = wanted
    while True:
        ranked = (_newest(searcher, found, take) if sort == "newest" else found.best(take)).tolist()
        if vectors is None:
            return ranked, {}
        kept, folded = collapsed(searcher, vectors, ranked)
        if len(kept) >= wanted or len(ranked) == len(found):
            return kept[:wanted], {d: folded[d] for d in kept[:wanted] if d in folded}
        take = 2 * take


def _newest(searcher: Searcher, found: Scores, take: int) -> np.ndarray:
    """The `take` newest of `found` (undated ones last), the better match
    first on the same second, then in index order."""
    published = _column(searcher, "published")
    newer = published.rank()[published.codes[found.docs]]
    return found.docs[np.lexsort((found.docs, -found.scores, newer))[:take]]


def _fused(keyword: Scores, near: list[int], by_meaning_alone: set[int]) -> Scores:
    """The keyword ranking and the ranking by meaning (`near`) fused (see
    fusion.py), the articles `by_meaning_alone` (keyword matches in a language
    the query is not written in, see meaning.Meaning.nearest) ranked by
    meaning only."""
    if by_meaning_alone:
        keyword = keyword.without(np.array(sorted(by_meaning_alone), np.int64))
    return Scores(*fused(keyword.docs, keyword.scores, near, MEANING_WEIGHT))


def _language_weights(searcher: Searcher, parsed: ParsedQuery) -> dict[str, float]:
    """How plausibly the query is written in each language: its articles are
    weighted by it (see ranking.language_weights)."""
    return language_weights(word_likelihoods(searcher.reader(), parsed, MIN_LANGUAGE_DOCS))


def _expanded(searcher: Searcher, q: wq.Query, limit: int, deadline: Deadline) -> wq.Query:
    """The query with each wildcard replaced by the words it stands for in
    the index, and each half-typed word by its COMPLETIONS most frequent
    completions, so that they are scored like any word. Each language's part
    of a query has the same wildcards: each is expanded once."""
    done: dict[tuple, wq.Query] = {}

    def expand(node: wq.Query) -> wq.Query:
        if not isinstance(node, (wq.Prefix, wq.Wildcard)):
            return node.apply(expand)
        key = (type(node), node.fieldname, node.text, node.boost)
        if key not in done:
            if isinstance(node, Completion):
                words = completions(node.text, spelling_tables(searcher.reader()), COMPLETIONS)
            else:
                words = _expansion(searcher.reader(), node, limit, deadline)
            done[key] = wq.Or([wq.Term(node.fieldname, w) for w in words], boost=node.boost) if words else wq.NullQuery
        return done[key]

    return expand(q)


def _expansion(reader, node: wq.Prefix | wq.Wildcard, limit: int, deadline: Deadline) -> list[str]:
    """The indexed words a wildcard stands for; BadQuery if over `limit`."""
    if isinstance(node, wq.Prefix):
        typed, lead, pattern = node.text + "*", node.text, None
    else:
        typed, lead, pattern = node.text, re.split(r"[*?]", node.text, maxsplit=1)[0], re.compile(fnmatch.translate(node.text))
    found: list[str] = []
    for n, btext in enumerate(reader.expand_prefix(node.fieldname, lead)):
        if n % 1024 == 0:
            deadline.check()
        word = btext.decode("utf-8")
        if pattern is None or pattern.match(word):
            found.append(word)
            if len(found) > limit:
                raise BadQuery(f"{typed!r} matches too many different words; type more letters before the * or ?.")
    return found


class _Filter:
    """Which documents pass a search's language, source and date filters.
    A common word matches tens of thousands of articles: this is numpy's
    work, over the columns' codes (at 50k articles 5 of a query's 30 ms were
    these loops in Python)."""

    def __init__(self, searcher: Searcher, code: str | None, source: str | None, dates: DateRange):
        self.langs, self.sources, self.published = (_column(searcher, name) for name in ("lang", "source", "published"))
        self.lang = self.langs.code(code) if code else None
        self.source = self.sources.code(source) if source else None
        self.in_range = self.published.where(dates.__contains__) if dates else None

    def __call__(self, docs: np.ndarray, lang: bool = True, from_source: bool = True) -> np.ndarray:
        """Whether each of `docs` passes (the language and source filters
        unless told not to)."""
        keep = np.ones(len(docs), bool)
        if lang and self.lang is not None:
            keep &= self.langs.codes[docs] == self.lang
        if from_source and self.source is not None:
            keep &= self.sources.codes[docs] == self.source
        if self.in_range is not None:
            keep &= self.in_range[self.published.codes[docs]]
        return keep


def _filtered(scores: Scores, everywhere: Scores, passing: _Filter) -> tuple[Scores, dict]:
    """The matches that pass the filters, and the facets: the language and
    source facets show what choosing another value would give, so each is
    counted without its own filter; the date facet narrows down (a year's
    matches by month, a month's by day), so it counts the matches found."""
    found = scores.where(passing(scores.docs))
    return found, {
        "lang": passing.langs.counts(everywhere.docs[passing(everywhere.docs, lang=False)]),
        "source": passing.sources.counts(scores.docs[passing(scores.docs, from_source=False)]),
        "date": _date_facet(passing.published, found.docs),
    }


def _date_facet(published: _Column, docs: np.ndarray) -> dict[str, int]:
    """dates.by_period of `docs`, counted over the column's codes: their
    days first, to know the span (a common word's 12,000 keys sorted as
    strings took 3 ms)."""
    codes = published.codes[docs]

    def count(width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The periods of that width, how many of `docs` fall in each, and which have any."""
        periods, of_code = published.cut(width)
        counts = np.bincount(of_code[codes], minlength=len(periods))
        counts[periods == ""] = 0  # undated
        return periods, counts, np.flatnonzero(counts)

    days, _, dated = count(10)
    if not len(dated):
        return {}
    periods, counts, present = count(period_width(days[dated[0]], days[dated[-1]]))
    return dict(zip(periods[present].tolist(), counts[present].tolist()))


class _Column:
    """A column's value for every document, as codes into its distinct values."""

    def __init__(self, values: list[str]):
        distinct: dict[str, int] = {}
        self.codes = np.fromiter((distinct.setdefault(v, len(distinct)) for v in values), np.int32, len(values))
        self.values = list(distinct)
        self._code = distinct
        self._array: np.ndarray | None = None
        self._rank: np.ndarray | None = None
        self._sorted: np.ndarray | None = None
        self._cut: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def __getitem__(self, doc: int) -> str:
        return self.values[self.codes[doc]]

    def of(self, docs: Iterable[int]) -> list[str]:
        """The values of `docs`, in order."""
        values = self.values
        return [values[c] for c in self.codes[np.fromiter(docs, np.int64)].tolist()]

    def code(self, value: str) -> int:
        """The code of `value`; -1 (no document's) if no document has it."""
        return self._code.get(value, -1)

    def where(self, wanted: Callable[[str], bool]) -> np.ndarray:
        """Whether each distinct value is `wanted`, by code."""
        return np.fromiter(map(wanted, self.values), bool, len(self.values))

    def cut(self, width: int) -> tuple[np.ndarray, np.ndarray]:
        """The distinct values cut to their first `width` characters, sorted
        (a date's year, month or day), and each code's among them."""
        found = self._cut.get(width)
        if found is None:
            order = self._order()
            cut = self.array()[order].astype(f"U{width}")
            new = np.ones(len(cut), bool)  # no values in an empty index
            new[1:] = cut[1:] != cut[:-1]
            of_code = np.empty(len(order), np.int64)
            of_code[order] = np.cumsum(new) - 1
            found = self._cut[width] = (cut[new], of_code)
        return found

    def array(self) -> np.ndarray:
        """The distinct values as a numpy array, by code."""
        if self._array is None:
            self._array = np.array(self.values, dtype=str)
        return self._array

    def rank(self) -> np.ndarray:
        """Each distinct value's place, the greatest first, by code."""
        if self._rank is None:
            rank = np.empty(len(self.values), np.int64)
            rank[self._order()[::-1]] = np.arange(len(self.values))
            self._rank = rank  # whole, for the other threads
        return self._rank

    def _order(self) -> np.ndarray:
        """The codes in the order of their values: sorted once per version
        of the index, for rank and cut (at 50k distinct dates a sort of
        strings takes 10-20 ms, the first search after a write pays it)."""
        if self._sorted is None:
            self._sorted = np.argsort(self.array(), kind="stable")
        return self._sorted

    def counts(self, docs: np.ndarray) -> dict[str, int]:
        """How many of `docs` have each value, most frequent first (empty values left out)."""
        counts = np.bincount(self.codes[docs], minlength=len(self.values))
        present = np.flatnonzero(counts)
        return dict(sorted(((self.values[c], n) for c, n in zip(present.tolist(), counts[present].tolist())
                            if self.values[c]), key=lambda kv: (-kv[1], kv[0])))


_columns = VersionCache(capacity=24)  # five entries for each version of the index


class SegmentGone(Exception):
    """A searcher opened before a commit that merged segments away tried to
    read one of their files (Whoosh opens some lazily). workers.py
    searches again with a new searcher when a search fails after the index
    changed, whatever the error (Whoosh's own are TypeErrors then)."""


def _column(searcher: Searcher, name: str) -> _Column:
    """Every document's value of a field with a column (lang, source, published),
    by document number, for filters and facets."""
    def read() -> _Column:
        values: list[str] = []
        for reader, _ in searcher.reader().leaf_readers():
            segment = reader.segment()
            if segment is None:
                values += _segment_column(reader, name)
            else:  # a segment never changes once written: its values serve every version it is part of
                values += _segment_columns.get((segment.segment_id(), name), lambda: _segment_column(reader, name))
        return _Column(values)

    return _columns.get((index_version(searcher), name), read)


_segment_columns = VersionCache(capacity=2_000_000, size=len)
"""Column values by segment, so that a write (a new segment, a merge of the
small ones) reads only the new segments' columns, not every article's."""


def _segment_column(reader, name: str) -> list[str]:
    """One segment's values (Whoosh's multi-segment reader skips segments without the column)."""
    if reader.has_column(name):
        return list(reader.column_reader(name))
    if next(iter(reader.lexicon(name)), None) is not None:  # it has values, but its column's file is gone
        raise SegmentGone(f"a segment's {name} column was removed by a commit since the searcher opened")
    return [""] * reader.doc_count_all()


def source_names(searcher: Searcher) -> dict[str, str]:
    """Each source's name to show (see sources.display_names), for this
    version of the index."""
    def read() -> dict[str, str]:
        sources, given = _column(searcher, "source"), _column(searcher, "source_name")
        live = list(searcher.reader().all_doc_ids())  # not the names of deleted or replaced articles
        return display_names(sources.of(live), given.of(live))

    return _columns.get((index_version(searcher), "source names"), read)


def _source_lookup(searcher: Searcher):
    """Sources are matched case-insensitively ("source:cnn" finds "CNN")."""
    reader = searcher.reader()

    def lookup(value: str) -> str:
        wanted = value.strip().casefold()
        for term in reader.field_terms("source"):
            if term.casefold() == wanted:
                return term
        return value.strip()

    return lookup


def wanted_by_field(q: wq.Query) -> dict[str, Wanted]:
    """What the query looks for, per field, leaving out what it excludes."""
    wanted: dict[str, Wanted] = {}

    def visit(node: wq.Query) -> None:
        if isinstance(node, wq.Not):
            return
        if isinstance(node, (wq.AndNot, wq.AndMaybe)):
            visit(node.a)  # not what is excluded, nor the exact-form bonus (any language's words)
        elif isinstance(node, wq.Phrase):
            wanted.setdefault(node.fieldname, Wanted()).phrases.append((tuple(node.words), node.slop))
        elif isinstance(node, wq.Term):
            wanted.setdefault(node.fieldname, Wanted()).terms.add(node.text)
        elif isinstance(node, wq.Prefix):
            wanted.setdefault(node.fieldname, Wanted()).add_pattern(node.text + "*")
        elif isinstance(node, wq.Wildcard):
            wanted.setdefault(node.fieldname, Wanted()).add_pattern(node.text)
        else:
            for child in node.children():
                visit(child)

    visit(q)
    return wanted


class _Highlighter:
    """Where a query's words stand in articles' titles and bodies; once past
    `deadline`, nowhere: the texts left are shown unmarked."""

    def __init__(self, wanted: dict[str, Wanted], deadline: Deadline):
        self.wanted = wanted
        self.deadline = deadline
        self.finders: dict[str, tuple[WordFinder, WordFinder]] = {}
        self.made: dict[int, tuple[str, str]] = {}

    def marks(self, doc: int, stored: dict, found_by: int | None = None) -> tuple[str, str]:
        """Document `doc`'s snippet and marked title, made once a search:
        some are made early, while the query is embedded. An article found
        by meaning alone has none of the query's words: its snippet shows
        the passage it was `found_by` (see embedding.PASSAGES)."""
        if doc not in self.made:
            lang, title, body = (stored.get(name, "") for name in ("lang", "title", "body"))
            if found_by is None:
                self.made[doc] = (snippet(body, self.spans(scanned(body), lang)), mark(title, self.spans(title, lang)))
            else:
                self.made[doc] = (snippet(body, [], unmatched=passage_start(body, found_by)), mark(title, []))
        return self.made[doc]

    def spans(self, text: str, lang: str) -> list[Span]:
        """Where the query matches `text`, an article's title or body in `lang`."""
        if self.deadline.passed():
            return []
        if lang not in self.finders:
            in_lang = Wanted()
            for name in (f"title_{lang}", f"body_{lang}"):
                found = self.wanted.get(name, Wanted())
                in_lang.terms |= found.terms
                in_lang.phrases += found.phrases
            exact = self.wanted.get("exact", Wanted())
            self.finders[lang] = (WordFinder(terms_of(lang), in_lang, self.deadline),
                                  WordFinder(terms_of(NEUTRAL), exact, self.deadline))
        in_lang, exact = self.finders[lang]
        words = split(text)
        try:
            return sorted(set(in_lang.spans(text, words)) | set(exact.spans(text, words)))
        except SearchTimeout:
            return []


def terms_of(lang: str) -> Callable[[str], tuple[str, ...]]:
    """A word's terms in `lang`'s fields (NEUTRAL: in `exact`), remembered
    from analyzing it on its own, as indexing does (see WordTerms)."""
    analyzed = word_terms(lang).cache

    def terms(word: str) -> tuple[str, ...]:
        found = analyzed[word]
        return (found,) if found.__class__ is str else found

    return terms


def mark_article(article: Article, text: str, limits: Limits = Limits(), deadline: Deadline | None = None) -> tuple[str, str]:
    """An article's title and body as safe HTML with the query's words marked
    (for an article page reached from a result); unmarked once past
    `deadline` (by default `limits.seconds` from now)."""
    deadline = deadline or Deadline(limits.seconds)
    try:
        wanted = wanted_by_field(parse(text, (article.lang,), limits=limits).query) if text.strip() else {}
    except BadQuery:
        wanted = {}
    highlighter = _Highlighter(wanted, deadline)
    return (
        mark(article.title, highlighter.spans(article.title, article.lang)),
        mark(article.body, highlighter.spans(article.body, article.lang)),
    )


def _hit(stored: dict, score: float, marks: tuple[str, str], source_names: dict[str, str],
         by_meaning: bool = False, also_in: list[Counterpart] | None = None,
         duplicates: list[Counterpart] | None = None) -> Hit:
    """A result, with its snippet and marked title (`marks`)."""
    return Hit(
        id=stored["id"],
        title=stored.get("title", ""),
        lang=stored.get("lang", ""),
        source=stored.get("source", ""),
        source_name=source_names.get(stored.get("source", ""), ""),
        url=stored.get("url", ""),
        date=stored.get("date", ""),
        published=published.iso if (published := parse_date(stored.get("date", ""))) else "",
        score=round(score, 4),
        snippet=marks[0],
        title_html=marks[1],
        by_meaning=by_meaning,
        also_in=also_in or [],
        duplicates=duplicates or [],
    )


def _respelling(reader, tables: list[SpellingTable], word: str) -> str | None:
    """The most frequent indexed word one edit away (two for longer words),
    if it is clearly more common than the word as typed."""
    have = reader.doc_frequency("exact", word)
    for distance in (1, 2) if len(word) > 4 else (1,):
        candidates = [(reader.doc_frequency("exact", c), c) for c in sorted(respellings(word, tables, distance))]
        freq, best = max(candidates, default=(0, None))
        if best and freq > 2 * have:
            return best
    return None


def _suggest(searcher, text, words, total, languages, lookup, limits: Limits, deadline: Deadline, typing: bool) -> str | None:
    """A respelling of the query from words in the index, when one finds more;
    None when there is none, or no time left to look."""
    reader = searcher.reader()
    tables = spelling_tables(reader)
    suggestion = text
    for word in words:
        if deadline.passed():
            return None
        normalized = "".join(t.text for t in exact_analyzer()(word))
        best = _respelling(reader, tables, normalized) if normalized else None
        if best:
            suggestion = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", best, suggestion, count=1)
    if suggestion == text:
        return None
    try:
        query = _expanded(searcher, parse(suggestion, languages, lookup, limits, typing).query, limits.expansions, deadline)
        found = len(score_all(searcher, query, deadline))
    except BadQuery:  # SearchTimeout included: the results stand without a suggestion
        return None
    return suggestion if found > total else None
