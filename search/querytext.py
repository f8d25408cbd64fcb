"""What every engine does to a query's text before reading it: the length
limit, measured after normalization, and the `*` and `?` that cannot be
wildcards made punctuation."""

from __future__ import annotations

import re
import unicodedata

from .errors import EmptyQuery, QueryTooLong

MIN_PREFIX = 2
"""Letters a wildcard or a half-typed word needs before it stands for the
words it begins: fewer would stand for a large part of the vocabulary."""


def prepared(text: str, limit: int, typing: bool = False) -> tuple[str, bool]:
    """The query's text as engines read it (without what cannot be printed,
    its length checked, its wildcards sorted out), and whether its last word
    may be unfinished: `typing` (the reader is still typing) and not yet
    followed by a space. EmptyQuery when no word is left."""
    text = "".join(ch for ch in text if ch.isprintable() or ch.isspace())
    unfinished = typing and not text[-1:].isspace()
    text = text.strip()
    check_length(text, limit)
    text = wildcards(text)
    if not text.strip():
        raise EmptyQuery("Type at least one word to search for.")
    return text, unfinished


def check_length(text: str, limit: int) -> None:
    """Refuse a query longer than `limit` once normalized (NFKC, as every
    analyzer sees it): one character such as U+FDFA becomes eighteen."""
    size = len(text) if len(text) > 4 * limit else len(unicodedata.normalize("NFKC", text))
    if size > limit:
        raise QueryTooLong(f"The query is too long ({size:,} characters once normalized; at most {limit:,}).")


_WILDCARD_TOKEN = re.compile(r'[^\s"“„«»”()]*[*?][^\s"“„«»”()]*')
_TOKEN_HEAD = re.compile(r"-?(?:\w+:)?")  # an exclusion sign and a field name ("-title:")


def wildcards(text: str) -> str:
    """The text with every `*` and `?` that cannot be a useful wildcard made
    punctuation (a space): one not preceded by at least MIN_PREFIX letters or
    digits of its word ("?Wann", "2?", "*"), and a `?` ending a word, which
    ends a question ("eingenommen?"). "Milit*" and "Bag?ad" stay wildcards."""
    return _WILDCARD_TOKEN.sub(_wildcard_token, text)


def _wildcard_token(match: re.Match) -> str:
    token = match.group()
    head = _TOKEN_HEAD.match(token).end()
    word = token[head:]
    stem = word.rstrip("?")
    lead = re.split(r"[*?]", stem, maxsplit=1)[0]
    if sum(ch.isalnum() for ch in lead) < MIN_PREFIX:
        stem = re.sub(r"[*?]", " ", stem)
    return token[:head] + stem + " " * (len(word) - len(stem))
