"""The query language, read into a tree that dsl.py turns into OpenSearch's
query DSL: plain words, "phrases" (also in typographic quotes, "..."~N for
words up to N apart), AND/OR/NOT (AND binds closer than OR, and words side
by side are all wanted), -word, word* and w?rd, (groups), and the fields
title:, body:, text:, lang: and source: (date: filters are read out before,
see dates.date_filters).

As with the Whoosh engine (engines/whoosh/query.py), a query is never
refused for its syntax: unbalanced quotes or brackets are read as literal
words, an operator with nothing on one side is left out, and a `?` or `*`
that cannot be a wildcard is punctuation. BadQuery is raised only for what
cannot run: nothing to search for, too long, too many words.

We read the syntax ourselves rather than hand the text to OpenSearch's
query_string, whose syntax differs from ours and whose errors are its own.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from ...errors import BadQuery
from ...limits import Limits
from ...querytext import MIN_PREFIX, prepared
from .words import pieces

FILTERS = ("lang", "source")
MAX_NESTING = 32
"""Levels of brackets and NOTs a query may nest."""
MAX_SLOP = 1000
"""The most a phrase's words may stray ("words"~N): more would overflow the
cluster's integers once multiplied out (dsl.phrase), and finds nothing more."""


@dataclass(frozen=True)
class Word:
    text: str
    scope: str = "text"


@dataclass(frozen=True)
class Phrase:
    text: str
    scope: str = "text"
    slop: int = 1
    """How far apart the words may stand: 1 means side by side (as typed)."""


@dataclass(frozen=True)
class Pattern:
    """A word with wildcards: * for any letters, ? for one."""
    text: str
    scope: str = "text"


@dataclass(frozen=True)
class Completion:
    """A half-typed last word (results as the reader types): it also stands
    for the most frequent words it begins."""
    text: str
    scope: str = "text"


@dataclass(frozen=True)
class Filter:
    field: str
    value: str


@dataclass(frozen=True)
class Not:
    node: Node


@dataclass(frozen=True)
class All:
    nodes: tuple[Node, ...]
    typed_apart: bool = False
    """The words were typed side by side rather than joined by AND: ranked
    as a best match (see dsl.py) rather than all required."""


@dataclass(frozen=True)
class Any:
    nodes: tuple[Node, ...]


Node = Word | Phrase | Pattern | Completion | Filter | Not | All | Any


@dataclass
class Query:
    tree: Node
    words: list[str] = field(default_factory=list)
    """The plain words typed (not phrases, patterns or filters), for
    spelling suggestions; a half-typed last word is not among them."""
    strict: bool = False
    """An explicit AND joins words somewhere: words side by side are then all required."""


def parse(text: str, limits: Limits = Limits(), typing: bool = False) -> Query:
    """The query tree of `text`; with `typing`, a last word not yet followed
    by a space also stands for the words it begins (see Completion)."""
    text, unfinished = prepared(text, limits.query_chars, typing)
    text = unicodedata.normalize("NFKC", text)  # the cluster's analyzers do not (no ICU): 𝔘𝔖𝔄 is USA
    tree = _Parser(_tokens(text)).sequence()
    if tree is None:
        raise BadQuery("The query has no words that can be searched for.")
    words = [leaf.text for leaf in leaves(tree) if isinstance(leaf, Word) and leaf.scope == "text"]
    if unfinished and (last := _last_word(tree, text)) is not None:
        tree = _completing(tree, last)
        if words and words[-1] == last.text:
            words.pop()  # no spelling suggestion for a word not yet typed out
    _check_words(tree, limits.words)
    return Query(tree, words, strict=bool(_EXPLICIT_AND.search(text)))


def leaves(node: Node, excluded: bool = False) -> list:
    """The leaves of the tree (with `excluded`, also those under a Not)."""
    if isinstance(node, Not):
        return leaves(node.node, excluded) if excluded else []
    if isinstance(node, (All, Any)):
        return [leaf for child in node.nodes for leaf in leaves(child, excluded)]
    return [node]


_EXPLICIT_AND = re.compile(r"\S\s+AND\s+\S")
_OPENING, _CLOSING = "\"“„«»”", "\"”“»«"
_PHRASE = rf"[{_OPENING}](?P<phrase>[^{_CLOSING}]*)[{_CLOSING}](?:~(?P<slop>[1-9][0-9]*))?"
_TOKEN = re.compile(
    rf"""(?P<space>\s+)
      | (?P<open>\()
      | (?P<close>\))
      | (?P<op>(?:AND|OR|NOT)(?=[\s()]|$))
      | (?:(?P<field>title|body|text|lang|source):)? (?: {_PHRASE} | (?P<word>[^\s()]+) )
    """,
    re.VERBOSE,
)
_EXCLUDING = re.compile(r"-(?=[^\s-])")
"""A minus at the start of a word excludes it; within a word (US-Soldaten) it does not."""

Token = tuple[str, "Node | None"]
"""("open" | "close" | "AND" | "OR" | "NOT", None), or ("leaf", the leaf)."""


def _tokens(text: str) -> list[Token]:
    out: list[Token] = []
    pos = 0
    while pos < len(text):
        at_start = pos == 0 or text[pos - 1].isspace() or text[pos - 1] == "("
        if at_start and (m := _EXCLUDING.match(text, pos)):
            out.append(("NOT", None))
            pos = m.end()
            continue
        m = _TOKEN.match(text, pos)
        pos = m.end()
        kind = m.lastgroup
        if kind in ("open", "close"):
            out.append((kind, None))
        elif kind == "op":
            out.append((m.group("op"), None))
        elif kind != "space" and (leaf := _leaf(m)) is not None:
            out.append(("leaf", leaf))
    return out


def _leaf(m: re.Match) -> Node | None:
    name = m.group("field")
    if m.group("phrase") is not None:
        text = m.group("phrase").strip()
        if not text:
            return None
        return Filter(name, text) if name in FILTERS else Phrase(text, name or "text", min(int(m.group("slop") or 1), MAX_SLOP))
    word = m.group("word")
    if name in FILTERS:
        return Filter(name, word)
    if name is None and word[:1] in _OPENING:  # a quote that opens no phrase: punctuation
        word = word[1:]
        if not word:
            return None
    if "*" in word or "?" in word:
        return Pattern(word, name or "text")
    return Word(word, name or "text")


class _Parser:
    """Words side by side are all wanted; OR joins closer than that, AND
    closer than OR, NOT closest (as the Whoosh engine reads them)."""

    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.at = 0
        self.depth = 0

    def peek(self) -> str | None:
        return self.tokens[self.at][0] if self.at < len(self.tokens) else None

    def sequence(self, nested: bool = False) -> Node | None:
        """Items side by side, up to the end (or, `nested`, its closing bracket)."""
        nodes: list[Node] = []
        while (kind := self.peek()) is not None:
            if kind == "close":
                self.at += 1
                if nested:
                    break
                continue  # an unbalanced closing bracket: left out
            if kind in ("AND", "OR"):  # an operator with nothing before it: left out
                self.at += 1
                continue
            node = self.either()
            if node is not None:
                nodes.append(node)
        return _joined(nodes, All, typed_apart=True)

    def either(self) -> Node | None:
        return self._joining("OR", self.both, Any)

    def both(self) -> Node | None:
        return self._joining("AND", self.unary, All)

    def _joining(self, operator: str, operand, kind: type) -> Node | None:
        nodes = [operand()]
        while self.peek() == operator:
            self.at += 1
            if self.peek() in (None, "close", "AND", "OR"):
                break  # nothing after the operator: left out
            nodes.append(operand())
        return _joined([n for n in nodes if n is not None], kind)

    def unary(self) -> Node | None:
        kind = self.peek()
        if kind is None:
            return None
        self.at += 1
        if kind in ("NOT", "open"):
            self.depth += 1
            if self.depth > MAX_NESTING:  # each level is a few Python frames deep
                raise BadQuery(f"The query nests brackets or NOTs too deeply (at most {MAX_NESTING} levels).")
            try:
                if kind == "open":
                    return self.sequence(nested=True)
                node = self.unary()
            finally:
                self.depth -= 1
            if node is None:
                return None
            return node.node if isinstance(node, Not) else Not(node)  # NOT NOT x is x
        if kind == "leaf":
            return self.tokens[self.at - 1][1]
        return None


def _joined(nodes: list[Node], kind: type, typed_apart: bool = False) -> Node | None:
    if not nodes:
        return None
    if len(nodes) == 1:
        return nodes[0]
    return All(tuple(nodes), typed_apart) if kind is All else Any(tuple(nodes))


def _last_word(tree: Node, text: str) -> Word | None:
    """The word the text ends with, if it is a plain word (not in a phrase,
    not a filter, not excluded) that could be unfinished."""
    found = leaves(tree, excluded=True)
    last = found[-1] if found else None
    if not isinstance(last, Word) or not text.endswith(last.text) or len(last.text) < MIN_PREFIX:
        return None
    return last if any(leaf is last for leaf in leaves(tree)) else None


def _completing(node: Node, word: Word) -> Node:
    """The tree with `word` standing for itself or its completions."""
    if node is word:
        return Any((word, Completion(word.text, word.scope)))
    if isinstance(node, Not):
        return node
    if isinstance(node, (All, Any)):
        children = tuple(_completing(child, word) for child in node.nodes)
        return All(children, node.typed_apart) if isinstance(node, All) else Any(children)
    return node


def _check_words(tree: Node, limit: int) -> None:
    """Count words as OpenSearch will see them (each word of a phrase or a
    hyphenated word counts) against the query's limit."""
    count = 0
    for leaf in leaves(tree, excluded=True):
        if not isinstance(leaf, Completion):  # the half-typed word is counted as itself
            count += max(1, len(pieces(leaf.value if isinstance(leaf, Filter) else leaf.text)))
    if count > limit:
        raise BadQuery(f"The query has too many words (at most {limit}).")
