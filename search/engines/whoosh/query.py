"""From what a user types to a Whoosh query over every language at once.

Parsing happens in two steps. Whoosh's parser reads the syntax (words,
"phrases", AND/OR/NOT, -exclusion, prefix*, field:value) without analyzing
anything; then each word or phrase is analyzed by every language's analyzer
and searched in that language's fields. A German query word is thus stemmed
as German in the German fields and as Dutch in the Dutch ones, and no query
language detection is needed.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Callable

from whoosh import query as wq
from whoosh.analysis import SpaceSeparatedTokenizer
from whoosh.fields import ID, TEXT, Schema
from whoosh.qparser import OperatorsPlugin, PhrasePlugin, QueryParser
from whoosh.qparser import plugins

from .analysis import analyzer_for, exact_analyzer
from ...errors import BadQuery, UnknownLanguage
from ...languages import resolve
from ...limits import Limits
from ...querytext import MIN_PREFIX, prepared
from .ranking import STOPWORD_LIKELIHOOD, BestOf, Proximity

EXACT_PHRASE_BOOST = 2.0
"""Weight of the unstemmed phrase match: "die Truppen" ranks articles with
exactly those words above ones that only match the stems."""
TITLE_BODY_TIEBREAK = 0.3
"""A word found in both title and body scores as its better field plus this
share of the other (as in Elasticsearch's best_fields), not as both added."""
EXACT_WORD_BOOST = 1.0
"""Weight of a word matched exactly as typed, on top of its stemmed match."""
SHORT_QUERY = 4
"""Up to this many words, articles with all of them get their score doubled."""
PROXIMITY_BOOST = 1.0
"""Weight of the bonus for a query's words standing together in the body
(ranking.Proximity; titles are short, their words always stand close): the
phrase adds the mean of its words' scores. Chosen on bench/evaluate.py and
bench/questions.py (see bench/README.md): twice as much put unrelated
articles with the words close together above better matches."""

TEXT_SCOPES = {"text": ("title", "body"), "title": ("title",), "body": ("body",)}
FILTER_FIELDS = ("lang", "source")


class _PhrasePlugin(PhrasePlugin):
    """Keeps phrases as typed (even of one word) and accepts typographic quotes."""

    class PhraseNode(PhrasePlugin.PhraseNode):
        def query(self, parser):
            fieldname = self.fieldname or parser.fieldname
            return wq.Phrase(fieldname, self.text.split(), slop=self.slop, boost=self.boost)

    class PhraseTagger(PhrasePlugin.PhraseTagger):
        def create(self, parser, match):
            slop = int(match.group("slop") or 1)
            return _PhrasePlugin.PhraseNode(match.group("text"), match.start("text"), slop)

    def __init__(self):
        super().__init__('["“„«»”](?P<text>.*?)["”“»«](~(?P<slop>[1-9][0-9]*))?')


def _syntax_parser() -> QueryParser:
    raw = SpaceSeparatedTokenizer()
    schema = Schema(text=TEXT(analyzer=raw), title=TEXT(analyzer=raw), body=TEXT(analyzer=raw), lang=ID, source=ID)
    parser = QueryParser("text", schema)
    for unwanted in (plugins.SingleQuotePlugin, plugins.RangePlugin, plugins.EveryPlugin, PhrasePlugin, OperatorsPlugin):
        parser.remove_plugin_class(unwanted)
    parser.add_plugin(_PhrasePlugin())
    # "-word" excludes like NOT; a hyphen inside a word (US-Soldaten) does not.
    parser.add_plugin(OperatorsPlugin(Not=r"(^|(?<=[\s(]))(NOT(?=\s)|-(?=[^\s-]))"))
    return parser


_PARSER = _syntax_parser()
_EXPLICIT_AND = re.compile(r"\S\s+AND\s+\S")


@dataclass
class ParsedQuery:
    parts: dict[str, wq.Query]
    """The query as built for each language ("*" for one that applies to all)."""
    words: list[str] = field(default_factory=list)
    """The plain words typed (not phrases, patterns or filters) for spelling
    suggestions; a half-typed last word (see `typing`) is not among them."""
    typed: list[str] = field(default_factory=list)
    """Every word typed in words and phrases, as evidence of the query's language."""
    meaning: str = ""
    """What to search for by meaning as well (see embedding.py): the words
    of a query of plain words; "" for a query whose syntax asks for exact
    words or filters (see _plain), and while the reader types (results must
    keep up with the keys)."""

    def combined(self, weights: dict[str, float] | None = None) -> wq.Query:
        """One query over all languages, each language's part weighted."""
        parts = [q if not weights or weights.get(lang, 1.0) == 1.0 else _scaled(q, weights[lang])
                 for lang, q in self.parts.items()]
        return parts[0] if len(parts) == 1 else wq.Or(parts)

    @property
    def query(self) -> wq.Query:
        return self.combined()


def _scaled(q: wq.Query, factor: float) -> wq.Query:
    """`q` with every score it gives multiplied by `factor`. Whoosh's own
    `with_boost` would overwrite the boosts inside an AndMaybe (losing the
    exact-form bonus) and deep-copy the whole tree (a millisecond a search)."""
    if isinstance(q, wq.BinaryQuery):  # no boost of its own: scale its parts
        return type(q)(_scaled(q.a, factor), _scaled(q.b, factor))
    if isinstance(q, wq.CompoundQuery) and len(q.subqueries) == 1:  # Whoosh ignores such a one's boost
        return _scaled(q.subqueries[0], factor)
    q = copy.copy(q)
    q.boost *= factor
    return q


@dataclass
class _Context:
    lang: str
    source_lookup: Callable[[str], str]
    max_words: int
    keep_stopwords: bool = False
    """True when every word typed (but those excluded) is a stopword in this
    language ("The Who" in English): then they are kept, or nothing would be
    searched for."""
    clauses: int = 0


def parse(
    text: str,
    languages: tuple[str, ...],
    source_lookup: Callable[[str], str] = lambda s: s,
    limits: Limits = Limits(),
    typing: bool = False,
) -> ParsedQuery:
    """Parse user text into a query over `languages`' fields.

    The query is built once per language, over that language's fields only,
    and the languages are OR-ed: each article is scored by the query as
    analyzed in its own language, so a German stopword dropped from the German
    query cannot stop German articles from matching "all the words".

    A query is never rejected for its syntax: unbalanced quotes or brackets
    are read as literal words, an operator with nothing on one side (a
    half-typed "Truppen AND") is left out, and a `?` or `*` that cannot be a
    wildcard is punctuation. BadQuery is raised only for what cannot run
    (nothing to search for, an unknown language, too long, too many words).

    With `typing` (the reader is still typing), a last word not yet followed
    by a space may be unfinished: it also stands for the most frequent words
    it begins (see Completion).
    """
    text, unfinished = prepared(text, limits.query_chars, typing)
    syntax = _syntax(text)
    words = [t.text for t in syntax.leaves() if isinstance(t, wq.Term) and t.fieldname == "text"]
    if unfinished and (half_typed := _last_word(syntax, text)) is not None:
        syntax = _completing(syntax, half_typed)
        if words and words[-1] == half_typed.text:
            words.pop()  # no spelling suggestion for a word not yet typed out
    typed = _typed_words(syntax)
    wanted = " ".join(_typed_words(_without_exclusions(syntax)))
    strict = bool(_EXPLICIT_AND.search(text))
    parts: dict[str, wq.Query] = {}
    for lang in languages:
        keep_stopwords = bool(wanted) and not _positions(lang, wanted, keep_stopwords=False)
        q = _expand(syntax, _Context(lang, source_lookup, limits.words, keep_stopwords))
        if q is not None:
            parts[lang] = q
    if not parts:
        raise BadQuery("The query has no words that can be searched for.")
    if not any(_has_positive(q) for q in parts.values()):
        # Only filters and exclusions ("lang:en -troops"): an article must pass
        # every language's version, since only its own language's can fail it.
        return ParsedQuery({"*": wq.And([wq.Every(), *parts.values()])}, words, typed)
    # A language left with exclusions only (its words were all stopwords
    # there: "في -من" in Arabic) would match every article without them.
    parts = {lang: q for lang, q in parts.items() if _has_positive(q)}
    parts = {lang: _ranked(q, lang, strict) for lang, q in parts.items()}
    meaning = "" if typing or not _plain(syntax) else " ".join(words)
    return ParsedQuery(parts, words, typed, meaning)


def _plain(syntax: wq.Query) -> bool:
    """Whether the query is plain words, with no syntax that asks for exact
    words (a phrase, pattern, exclusion or field) or filters them (lang:,
    source:, which the search's own filters do for meaning too)."""
    return all(isinstance(node, (wq.And, wq.Or)) or (isinstance(node, wq.Term) and node.fieldname == "text")
               for node in _nodes(syntax))


def word_likelihoods(reader, parsed: ParsedQuery, min_docs: int) -> dict[str, list[float]]:
    """For each language with at least `min_docs` articles, how likely each
    typed word is in its articles (see ranking.language_weights)."""
    out: dict[str, list[float]] = {}
    for lang in parsed.parts:
        docs = reader.doc_frequency("lang", lang)
        if docs < min_docs:
            continue
        likelihoods = []
        for word in parsed.typed:
            terms = _positions(lang, word, keep_stopwords=True)
            if not terms:
                continue
            if not _positions(lang, word, keep_stopwords=False):
                likelihoods.append(STOPWORD_LIKELIHOOD)
                continue
            found = max(reader.doc_frequency(f"{part}_{lang}", t) for t in terms[0] for part in ("title", "body"))
            likelihoods.append((found + 0.5) / (docs + 1))
        out[lang] = likelihoods
    return out


class Completion(wq.Prefix):
    """A half-typed last word (searching as you type): as well as itself, the
    most frequent indexed words that begin with it (searching._expanded
    chooses them, from the spelling tables), so "Bundesreg" finds the
    Bundesregierung while it is typed, where an explicit wildcard would stand
    for every such word or be refused."""


def _last_word(syntax: wq.Query, text: str) -> wq.Term | None:
    """The word the text ends with, if it is a plain word (not in a phrase,
    not a filter, not excluded) that could be unfinished."""
    leaves = list(syntax.leaves())
    last = leaves[-1] if leaves else None
    if not isinstance(last, wq.Term) or last.fieldname not in TEXT_SCOPES or not text.endswith(last.text):
        return None
    excluded = {id(leaf) for node in _nodes(syntax) if isinstance(node, wq.Not) for leaf in node.leaves()}
    return None if id(last) in excluded or len(last.text) < MIN_PREFIX else last


def _nodes(q: wq.Query):
    yield q
    for child in q.children():
        yield from _nodes(child)


def _completing(syntax: wq.Query, word: wq.Term) -> wq.Query:
    """The syntax tree with `word` standing for itself or its completions."""
    if syntax is word:
        return wq.Or([word, Completion(word.fieldname, word.text)])
    return syntax.apply(lambda child: _completing(child, word))


_OPERATORS = frozenset({"AND", "OR", "NOT"})


def _syntax(text: str) -> wq.Query:
    """Whoosh's reading of the query syntax, without the operators it could
    not apply (it keeps an operator with a side missing as a word); its parser
    fails on some odd inputs (`NOT NOT x`), which are then read as words."""
    try:
        syntax = _PARSER.parse(text)
    except Exception:  # noqa: BLE001 - any parser failure means: take the words literally
        syntax = wq.And([wq.Term("text", word) for word in text.split()])
    return _without_operators(syntax)


def _without_operators(q: wq.Query) -> wq.Query:
    if isinstance(q, wq.Term) and q.fieldname == "text" and q.text in _OPERATORS:
        return wq.NullQuery
    if isinstance(q, (wq.compound.CompoundQuery, wq.Not)):
        return q.apply(_without_operators).normalize()
    return q


def _typed_words(syntax: wq.Query) -> list[str]:
    words: list[str] = []
    for leaf in syntax.leaves():
        if isinstance(leaf, wq.Phrase) and leaf.fieldname in TEXT_SCOPES:
            words.extend(leaf.words)
        elif isinstance(leaf, wq.Term) and leaf.fieldname in TEXT_SCOPES:
            words.append(leaf.text)
    return words


def _without_exclusions(q: wq.Query) -> wq.Query:
    if isinstance(q, wq.Not):
        return wq.NullQuery
    return q.apply(_without_exclusions)


def _has_positive(q: wq.Query) -> bool:
    """Whether the query scores anything (rather than only filtering or excluding)."""
    if isinstance(q, wq.Not) or (isinstance(q, wq.Term) and q.fieldname in FILTER_FIELDS):
        return False
    if isinstance(q, wq.And):
        return any(_has_positive(s) for s in q.subqueries)
    if isinstance(q, wq.Or):
        return all(_has_positive(s) for s in q.subqueries)
    return True


def _ranked(q: wq.Query, lang: str, strict: bool) -> wq.Query:
    """Words that are all wanted (typed side by side, or joined by an explicit
    AND) ranked: implicitly joined ones as a best match (see _best_match),
    and either way with a bonus where they stand close together."""
    if not isinstance(q, wq.And):
        return q
    words = [s for s in q.subqueries if _has_positive(s)]
    ranked = q if strict else _best_match(q, words)
    bonus = _proximity(words, lang)
    return wq.AndMaybe(ranked, bonus) if bonus else ranked


def _best_match(q: wq.And, words: list[wq.Query]) -> wq.Query:
    """Implicit conjunction ("us troops iraq") as a ranked match of any of the
    words: articles with more of the words, and rarer ones, rank first, and for
    short queries articles with all the words are strongly preferred. Filters
    and exclusions stay strict."""
    if len(words) < 2:
        return q
    strict = [s for s in q.subqueries if not _has_positive(s)]
    ranked: wq.Query = wq.Or(words)
    if len(words) <= SHORT_QUERY:
        ranked = wq.Or([wq.And(words), ranked])
    return wq.And([ranked, *strict]) if strict else ranked


def _proximity(words: list[wq.Query], lang: str) -> wq.Query | None:
    """A bonus for articles where consecutive plain words of the query stand
    close together, in the order typed or not (see ranking.Proximity); a
    phrase, wildcard or group between words starts another run of them."""
    body = f"body_{lang}"
    runs: list[list[tuple[str, ...]]] = [[]]
    for sub in words:
        terms = _word_terms(sub, body)
        if terms:
            runs[-1].append(terms)
        elif runs[-1]:
            runs.append([])
    bonuses = [Proximity(body, tuple(run), PROXIMITY_BOOST) for run in runs if len(run) > 1]
    if not bonuses:
        return None
    return bonuses[0] if len(bonuses) == 1 else wq.Or(bonuses)


def _word_terms(q: wq.Query, fieldname: str) -> tuple[str, ...] | None:
    """The terms of a query for one word (its alternative stems) in
    `fieldname`; None for a phrase, a wildcard, a filter or a group."""
    leaves = list(q.leaves())
    if any(not isinstance(leaf, wq.Term) for leaf in leaves):
        return None
    terms = tuple(sorted({leaf.text for leaf in leaves if leaf.fieldname == fieldname}))
    return terms or None


def _expand(q: wq.Query, ctx: _Context) -> wq.Query | None:
    """The syntax tree with each word, phrase and pattern searched in the
    context language's fields; None where nothing is left to search."""
    if isinstance(q, wq.Phrase) and q.fieldname in FILTER_FIELDS:  # source:"BBC News"
        return _filter(q.fieldname, " ".join(q.words), ctx)
    if isinstance(q, wq.Phrase):
        return _phrase(" ".join(q.words), q.fieldname, ctx, q.boost, q.slop)
    if isinstance(q, wq.Term):
        if q.fieldname in FILTER_FIELDS:
            return _filter(q.fieldname, q.text, ctx)
        return _word(q.text, q.fieldname, ctx, q.boost)
    if isinstance(q, Completion):
        return _completion(q, ctx)
    if isinstance(q, (wq.Prefix, wq.Wildcard)):
        return _pattern(q, ctx)
    if q is wq.NullQuery:
        return None
    if isinstance(q, wq.Every):
        raise BadQuery(f"A wildcard needs at least {MIN_PREFIX} letters before the first * or ?.")
    if isinstance(q, (wq.compound.CompoundQuery, wq.Not)):
        expanded = q.apply(lambda sub: _expand(sub, ctx) or wq.NullQuery).normalize()
        return None if expanded is wq.NullQuery else expanded
    raise BadQuery('This kind of query is not supported; use words, "phrases", AND/OR/NOT and word*.')


def _count(ctx: _Context, words: int = 1) -> None:
    """Count words (as analyzed: a phrase counts each of its words) against
    the query's limit."""
    ctx.clauses += max(words, 1)
    if ctx.clauses > ctx.max_words:
        raise BadQuery(f"The query has too many words (at most {ctx.max_words}).")


def _positions(lang: str, text: str, keep_stopwords: bool) -> list[list[str]]:
    """The analyzed terms of `text` grouped by position: [[stem, alternative...], ...]."""
    out: list[list[str]] = []
    last = None
    for t in analyzer_for(lang)(text, positions=True, mode="query", removestops=not keep_stopwords):
        if t.pos == last:
            if t.text not in out[-1]:
                out[-1].append(t.text)
        else:
            out.append([t.text])
            last = t.pos
    return out


def _fields(scope: str, lang: str) -> list[str]:
    return [f"{part}_{lang}" for part in TEXT_SCOPES[scope]]


def _word(text: str, scope: str, ctx: _Context, boost: float = 1.0) -> wq.Query | None:
    terms = _positions(ctx.lang, text, ctx.keep_stopwords)
    _count(ctx, len(terms))  # "US-Soldaten" is two words, "a-b-c-…" as many as it has
    if not terms:
        return None
    clauses: list[wq.Query] = []
    for fieldname in _fields(scope, ctx.lang):
        if len(terms) == 1:  # alternative stems of one word (Dutch) count once
            clauses.append(_best([wq.Term(fieldname, t) for t in terms[0]]))
        else:  # a hyphenated or joined word: US-Soldaten, 2.500-Mann
            clauses.append(wq.Phrase(fieldname, [alts[0] for alts in terms]))
    stemmed = _best(clauses, TITLE_BODY_TIEBREAK, boost)
    exact = [t.text for t in exact_analyzer()(text)]
    if scope == "title" or not exact or EXACT_WORD_BOOST == 0:
        return stemmed
    # The word as typed, where the article has it, adds to its stemmed match.
    return wq.AndMaybe(stemmed, _sequence("exact", exact).with_boost(EXACT_WORD_BOOST * boost))


def _phrase(text: str, scope: str, ctx: _Context, boost: float = 1.0, slop: int = 1) -> wq.Query | None:
    """A phrase in the language's (stemmed) fields; articles that also have the
    words exactly as typed get a bonus on top. With a `slop` over 1
    ("words"~N), each word may come up to that many positions after the one
    before."""
    terms = [alts[0] for alts in _positions(ctx.lang, text, keep_stopwords=True)]
    _count(ctx, len(terms))
    if not terms:
        return None
    stemmed = _best([_sequence(f, terms, slop) for f in _fields(scope, ctx.lang)], TITLE_BODY_TIEBREAK, boost)
    exact = [t.text for t in exact_analyzer()(text)]
    if scope == "title" or not exact:
        return stemmed
    return wq.AndMaybe(stemmed, _sequence("exact", exact, slop).with_boost(EXACT_PHRASE_BOOST * boost))


def _sequence(fieldname: str, terms: list[str], slop: int = 1) -> wq.Query:
    return wq.Phrase(fieldname, terms, slop=slop) if len(terms) > 1 else wq.Term(fieldname, terms[0])


def _pattern(q: wq.Prefix | wq.Wildcard, ctx: _Context) -> wq.Query:
    """word* and w?rd: matched against words as written (unstemmed), since a
    stemmer cannot stem a fragment."""
    _count(ctx)
    parts = re.split(r"([*?])", q.text)
    literal = "".join(p for p in parts if p not in ("*", "?"))
    lead = parts[0]
    if len(lead) < MIN_PREFIX or not any(ch.isalnum() for ch in lead):
        raise BadQuery(
            f"{q.text!r}: a wildcard needs at least {MIN_PREFIX} letters before the first * or ?."
        )
    if isinstance(q, wq.Prefix):
        pattern: wq.Query = wq.Prefix("exact", _fold(literal), boost=q.boost)
    else:
        normalized = "".join(p if p in ("*", "?") else _fold(p) for p in parts)
        pattern = wq.Wildcard("exact", normalized, boost=q.boost)
    # `exact` holds every language: keep to this language's articles, so the
    # match counts once per article.
    return wq.And([pattern, _filter_term("lang", ctx.lang)])


COMPLETE_FROM = 3
"""Letters a half-typed word needs (not counting an Arabic article ال) before
it stands for its completions: two letters say little, and stand for the
commonest words of the index (the most costly to search)."""


def _completion(q: Completion, ctx: _Context) -> wq.Query | None:
    """A half-typed word's completions, among words as written (`exact`),
    in this language's articles; none for a fragment that says too little."""
    folded = _fold(q.text)
    if len(folded.removeprefix("ال")) < COMPLETE_FROM:
        return None
    return wq.And([Completion("exact", folded, boost=q.boost), _filter_term("lang", ctx.lang)])


def _fold(fragment: str) -> str:
    return "".join(t.text for t in exact_analyzer()(fragment))


def _filter(fieldname: str, value: str, ctx: _Context) -> wq.Query:
    _count(ctx)
    if fieldname == "lang":
        try:
            value = resolve(value)
        except UnknownLanguage as exc:
            raise BadQuery(str(exc)) from None
    else:
        value = ctx.source_lookup(value)
    return _filter_term(fieldname, value)


def _filter_term(fieldname: str, value: str) -> wq.Term:
    """A filter: it must match, and adds nothing to the score."""
    return wq.Term(fieldname, value, boost=0.0)


def _best(clauses: list[wq.Query], tiebreak: float = 0.0, boost: float = 1.0) -> wq.Query:
    q = clauses[0] if len(clauses) == 1 else BestOf(clauses, tiebreak=tiebreak)
    return q.with_boost(q.boost * boost) if boost != 1.0 else q
