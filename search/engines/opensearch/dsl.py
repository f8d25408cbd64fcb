"""From a query tree (syntax.py) to OpenSearch's query DSL, over every
language at once.

As in the Whoosh engine, the query is built once per language, over that
language's fields only, and the languages are OR-ed: each article is
scored by the query as analyzed in its own language, so a German stopword
left out of the German query cannot stop German articles from matching all
the words. Words side by side rank as a best match: articles with more of
them, and rarer ones, first; for short queries, articles with all of them
far first; with a bonus where they stand close together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ...errors import BadQuery, UnknownLanguage
from ...languages import resolve
from .mapping import INDEXED_LANGUAGES, TITLE_BOOST, boosted, text_fields
from .syntax import (
    MIN_PREFIX, All, Any, Completion, Filter, Node, Not, Pattern, Phrase, Query, Word, leaves,
)
from .words import all_stopwords, fold, pieces

TITLE_BODY_TIEBREAK = 0.3
"""A word found in both title and body scores as its better field plus this
share of the other, not as both added."""
SHORT_QUERY = 4
"""Up to this many words, articles with all of them get their score doubled."""
PROXIMITY_SLOP = 8
"""How far apart (in word moves) a query's words may stand in a body for the
closeness bonus."""
COMPLETE_FROM = 3
"""Letters a half-typed word needs (not counting an Arabic article ال)
before it stands for its completions."""
PATTERN_REWRITE = "constant_score"
"""A wildcard's matches share one score (its boost), whatever words they
hold: scored like typed words (scoring_boolean), the words of all of a
query's wildcards, in every language's title and body, counted against the
cluster's limit of 1,024 clauses, and "ab* ac* ad*" over 192 words was
refused where the Whoosh engine takes up to 1,000 words a wildcard."""


@dataclass
class Built:
    query: dict
    marked: dict[str, dict]
    """Per language, what the highlighter is to mark: the words, phrases and
    patterns looked for (not those excluded, nor the filters)."""


def build(parsed: Query, languages: tuple[str, ...] = INDEXED_LANGUAGES) -> Built:
    wanted = " ".join(leaf.text for leaf in leaves(parsed.tree) if isinstance(leaf, (Word, Phrase)))
    parts: dict[str, dict] = {}
    marked: dict[str, dict] = {}
    for lang in languages:
        builder = _Language(lang, keep_stopwords=all_stopwords(wanted, lang))
        part = builder.top(parsed.tree, parsed.strict)
        if part is not None:
            parts[lang] = part
        if builder.marked:
            marked[lang] = {"bool": {"should": builder.marked}}
    if not parts:
        raise BadQuery("The query has no words that can be searched for.")
    if not marked:
        # Only filters and exclusions ("lang:en -troops"): an article must
        # pass every language's version, since only its own language's can fail it.
        return Built({"bool": {"must": [{"match_all": {}}], "filter": list(parts.values())}}, {})
    # A language left with exclusions only (its words were all stopwords
    # there) would match every article without them.
    return Built({"bool": {"should": [parts[lang] for lang in marked if lang in parts], "minimum_should_match": 1}},
                 marked)


class _Language:
    """The query as built for one language's fields."""

    def __init__(self, lang: str, keep_stopwords: bool):
        self.lang = lang
        self.keep_stopwords = keep_stopwords
        """True when every word typed is a stopword here ("The Who" in
        English): then they are kept, or nothing would be searched for."""
        self.marked: list[dict] = []

    def top(self, tree: Node, strict: bool) -> dict | None:
        """The whole query; words typed side by side ranked (see the module's docstring)."""
        if not isinstance(tree, All):
            return self.node(tree)
        must, filters, excluded = self.split(tree.nodes)
        if not must and not filters and not excluded:
            return None
        if tree.typed_apart and not strict and len(must) > 1:
            should = must + ([{"bool": {"must": must}}] if len(must) <= SHORT_QUERY else [])
            must = [{"bool": {"should": should, "minimum_should_match": 1}}]
        bonus = self.closeness(tree.nodes)
        return _bool(must=must, filter=filters, must_not=excluded, should=bonus)

    def split(self, nodes: tuple[Node, ...], marking: bool = True) -> tuple[list[dict], list[dict], list[dict]]:
        """The clauses of nodes that must all hold: (scored, filters, excluded)."""
        must, filters, excluded = [], [], []
        for child in nodes:
            if isinstance(child, Not):
                clause = self.node(child.node, marking=False)
                target = excluded
            else:
                clause = self.node(child, marking)
                target = filters if isinstance(child, Filter) else must
            if clause is not None:
                target.append(clause)
        return must, filters, excluded

    def node(self, node: Node, marking: bool = True) -> dict | None:
        """The clause for `node`; None where nothing is left to search (a
        stopword). What is excluded (`marking` False) is not marked."""
        if isinstance(node, Filter):
            return _filter(node)
        if isinstance(node, Not):
            inner = self.node(node.node, marking=False)
            return None if inner is None else _bool(must_not=[inner])
        if isinstance(node, All):
            must, filters, excluded = self.split(node.nodes, marking)
            return _bool(must=must, filter=filters, must_not=excluded) if must or filters or excluded else None
        if isinstance(node, Any):
            clauses = [c for c in (self.node(child, marking) for child in node.nodes) if c is not None]
            return _bool(should=clauses, minimum_should_match=1) if clauses else None
        clause = self.leaf(node)
        if clause is not None and marking:
            self.marked.append(clause)
        return clause

    def leaf(self, node: Word | Phrase | Pattern | Completion) -> dict | None:
        if isinstance(node, Word):
            return self.word(node)
        if isinstance(node, Phrase):
            return self.phrase(node)
        if isinstance(node, Pattern):
            return self.pattern(node)
        return self.completion(node)

    def word(self, word: Word) -> dict | None:
        found = pieces(word.text)
        if not found or (not self.keep_stopwords and all_stopwords(word.text, self.lang)):
            return None
        fields = boosted(text_fields(self.lang, word.scope))
        if len(found) > 1:  # a hyphenated or joined word: US-Soldaten, 2.500-Mann
            return {"multi_match": {"query": word.text, "fields": fields, "type": "phrase",
                                    "tie_breaker": TITLE_BODY_TIEBREAK}}
        return {"multi_match": {"query": word.text, "fields": fields, "type": "best_fields",
                                "tie_breaker": TITLE_BODY_TIEBREAK, "operator": "and"}}

    def phrase(self, phrase: Phrase) -> dict | None:
        """The words in this order; with a slop over 1 ("words"~N), each may
        come up to N positions after the one before."""
        found = pieces(phrase.text)
        if not found:
            return None
        return {"multi_match": {"query": phrase.text, "fields": boosted(text_fields(self.lang, phrase.scope)),
                                "type": "phrase", "slop": (phrase.slop - 1) * max(1, len(found) - 1),
                                "tie_breaker": TITLE_BODY_TIEBREAK}}

    def pattern(self, pattern: Pattern) -> dict:
        """word* and w?rd: matched against words as written (`exact`), since a
        stemmer cannot stem a fragment."""
        parts = re.split(r"([*?])", pattern.text)
        lead = parts[0]
        if sum(ch.isalnum() for ch in lead) < MIN_PREFIX:
            raise BadQuery(f"{pattern.text!r}: a wildcard needs at least {MIN_PREFIX} letters before the first * or ?.")
        folded = "".join(p if p in ("*", "?") else fold(p) for p in parts)
        if re.fullmatch(r"[^*?]+\*", folded):
            kind, value = "prefix", folded[:-1]
        else:
            kind, value = "wildcard", folded
        return _bool(should=[{kind: {name: {"value": value, "rewrite": PATTERN_REWRITE, "boost": _boost(name)}}}
                             for name in text_fields(self.lang, pattern.scope, exact=True)])

    def completion(self, word: Completion) -> dict | None:
        """A half-typed word's completions, among words as written; none for
        a fragment that says too little."""
        folded = "".join(pieces(word.text))
        if len(folded.removeprefix("ال")) < COMPLETE_FROM:
            return None
        return _bool(should=[{"prefix": {name: {"value": folded, "rewrite": "constant_score", "boost": _boost(name)}}}
                             for name in text_fields(self.lang, word.scope, exact=True)])

    def closeness(self, nodes: tuple[Node, ...]) -> list[dict]:
        """A bonus for articles whose body has consecutive plain words of the
        query close together, in the order typed or not; a phrase, pattern
        or group between words starts another run of them."""
        runs: list[list[str]] = [[]]
        for child in nodes:
            if isinstance(child, Word) and child.scope == "text":
                if not all_stopwords(child.text, self.lang):
                    runs[-1].append(child.text)
            elif runs[-1]:
                runs.append([])
        return [{"match_phrase": {f"body_{self.lang}": {"query": " ".join(run), "slop": PROXIMITY_SLOP}}}
                for run in runs if len(run) > 1]


def _boost(field: str) -> float:
    return TITLE_BOOST if field.startswith("title_") else 1.0


def _filter(node: Filter) -> dict:
    if node.field == "lang":
        try:
            return {"term": {"lang": resolve(node.value)}}
        except UnknownLanguage as exc:
            raise BadQuery(str(exc)) from None
    return source_filter(node.value)


def source_filter(source: str) -> dict:
    """Sources are matched case-insensitively ("source:cnn" finds "CNN"),
    up to CASE_FOLDED_CHARS: the cluster refuses to fold longer ones."""
    value = source.strip()
    return {"term": {"source": {"value": value, "case_insensitive": len(value) <= CASE_FOLDED_CHARS}}}


CASE_FOLDED_CHARS = 200


def _bool(**clauses) -> dict:
    """A bool query of the clauses given (empty lists left out)."""
    return {"bool": {name: value for name, value in clauses.items() if value not in ([], None)}}
