"""Text analysis: one analyzer per language, built from a tokenizer and filters.

Every filter changes only `token.text`; offsets (`startchar`/`endchar`) keep
pointing into the original text, so highlights mark words as they were written.

Analyzers are pickled into the Whoosh schema, so every filter keeps only plain
data in its state and builds anything heavy (PyStemmer objects, stopword sets)
lazily after unpickling.

Change anything here that alters tokens and you must bump ANALYZER_VERSION:
indexes built with the old analysis are then reported as needing a rebuild.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from typing import Iterator

import Stemmer
from whoosh.analysis import Filter, RegexTokenizer, Token

from .languages import ANALYZED, LANGUAGES, NEUTRAL

ANALYZER_VERSION = f"4+snowball-{Stemmer.version()}"

# Combining marks that belong inside words: Latin diacritics (decomposed text),
# Arabic harakat, superscript alef and Quranic annotation marks. Python's \w does
# not match them, so without this a vowelled Arabic word falls apart at each mark.
_MARKS = "\u0300-\u036f\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e8\u06ea-\u06ed"
_WORD = rf"(?:[^\W\d_]|[{_MARKS}])(?:[^\W_]|[{_MARKS}])*"
_NUMBER = r"\d+(?:[.,\u066b\u066c]\d+)*"
TOKEN_PATTERN = rf"{_NUMBER}|{_WORD}(?:['’]{_WORD})*"


def tokenizer() -> RegexTokenizer:
    """Words (letters, digits and in-word marks, with inner apostrophes) and
    numbers with their separators (2.500, 2,500, ٢٬٥٠٠), so that they can be
    normalized as a whole."""
    return RegexTokenizer(TOKEN_PATTERN)


class CaseFold(Filter):
    """NFKC then case folding: ß → ss, ligatures and presentation forms (ﻻ) to
    plain letters, full-width digits to ASCII."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            text = t.text
            if not text.isascii():
                text = unicodedata.normalize("NFKC", text)
            t.text = text.casefold()
            yield t


_SEPARATORS = re.compile(r"[.,\u066b\u066c]")


def fold_number(text: str) -> str:
    """'٢٬٥٠٠', '2.500', '2,500' → '2500'; '3,14' → '3.14'.

    Separators followed by groups of exactly three digits are thousands
    separators; any other separator is a decimal point (or part of a date).
    """
    if not text.isascii():
        text = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)
    groups = _SEPARATORS.split(text)
    if len(groups) == 1:
        return text
    if all(len(g) == 3 for g in groups[1:]):
        return "".join(groups)
    return ".".join(groups)


class NumberFold(Filter):
    """Numbers in any digit script and with any grouping match each other."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            if t.text[:1].isdecimal():
                t.text = fold_number(t.text)
            yield t


# Arabic orthographic variants writers use interchangeably: hamza carriers and
# alef forms, alef maqsura, ta marbuta, Persian kaf/yeh, and tatweel (deleted).
_ARABIC_FOLD = str.maketrans(
    {
        "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا",
        "ؤ": "ء", "ئ": "ء",
        "ى": "ي", "ی": "ي", "ک": "ك",
        "ة": "ه",
        "\u0640": None,
    }
)


@lru_cache(maxsize=200_000)  # words repeat: most tokens are folded once per process
def fold_marks(text: str) -> str:
    """Remove diacritics of every script (é → e, harakat) and fold Arabic
    orthographic variants (إ → ا, ة → ه, ؤ/ئ → ء)."""
    if text.isascii():
        return text
    text = text.translate(_ARABIC_FOLD)
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFC", stripped)


class MarkFold(Filter):
    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            t.text = fold_marks(t.text)
            yield t


_POSSESSIVE = re.compile(r"['’]s$")


class ApostropheFold(Filter):
    """"Biden's" → "biden", "auto's" → "auto", "don't" → "dont"."""

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            if "'" in t.text or "’" in t.text:
                t.text = _POSSESSIVE.sub("", t.text).replace("'", "").replace("’", "")
            yield t


def normalize(word: str) -> str:
    """A word as every analyzer sees it before stopwords and stemming."""
    return " ".join(t.text for t in exact_analyzer()(word))


class StopFilter(Filter):
    """Drops a language's function words from keyword queries only.

    The index keeps every word, so phrase queries ("die Truppen") match
    exactly; the query builder asks for stopwords to be kept inside phrases.
    """

    def __init__(self, lang: str):
        self.lang = lang

    @property
    def words(self) -> frozenset[str]:
        return _normalized_stopwords(self.lang)

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        words = self.words
        for t in tokens:
            if t.mode == "query" and t.removestops and t.text in words:
                continue
            yield t


@lru_cache(maxsize=None)
def _normalized_stopwords(lang: str) -> frozenset[str]:
    return frozenset(filter(None, (normalize(w) for w in LANGUAGES[lang].stopwords)))


class SnowballStem(Filter):
    """Stems with one or more PyStemmer algorithms.

    With several algorithms every distinct stem is emitted at the word's
    position, the first one being the primary stem (used in phrases). Dutch
    uses this: the Snowball 3 `dutch` and `dutch_porter` stemmers each leave
    apart inflections the other joins (paard/paarden, lonkt/lonkte).
    """

    is_morph = True

    def __init__(self, *algorithms: str):
        self.algorithms = algorithms
        self._stemmers: list | None = None

    def __getstate__(self) -> dict:
        return {"algorithms": self.algorithms}

    def __setstate__(self, state: dict) -> None:
        self.algorithms = state["algorithms"]
        self._stemmers = None

    def stems(self, word: str) -> list[str]:
        if self._stemmers is None:
            self._stemmers = [Stemmer.Stemmer(a, 50000) for a in self.algorithms]
        out: list[str] = []
        for stemmer in self._stemmers:
            stem = stemmer.stemWord(word)
            if stem not in out:
                out.append(stem)
        return out

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            if t.text[:1].isdecimal():
                yield t
                continue
            for stem in self.stems(t.text):
                t.text = stem
                yield t


class ArabicLightStem(Filter):
    """A light Arabic stemmer after Lucene's (Larkey et al.'s "light10"),
    extended with the conjunction + preposition + article combinations
    (وبال, ولل, فبال…) that Lucene's list misses. Strips at most one prefix and
    then suffixes while at least two letters remain; bare ب ك ل ف are never
    stripped, so words such as بطاطس stay whole.
    """

    is_morph = True
    PREFIXES = ("وبال", "وكال", "فبال", "ولل", "فلل", "وال", "بال", "كال", "فال", "لل", "ال", "و")
    SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي")

    @classmethod
    def stem(cls, word: str) -> str:
        for prefix in cls.PREFIXES:
            if word.startswith(prefix):
                if prefix == "و":
                    if len(word) >= 4:
                        word = word[1:]
                elif len(word) >= len(prefix) + 2:
                    word = word[len(prefix):]
                break
        for suffix in cls.SUFFIXES:
            if word.endswith(suffix) and len(word) >= len(suffix) + 2:
                word = word[: -len(suffix)]
        return word

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            if not t.text[:1].isdecimal():
                t.text = self.stem(t.text)
            yield t


def _normalizers():
    return tokenizer() | CaseFold() | NumberFold() | MarkFold() | ApostropheFold()


# The stemming step of each language; see bench/evaluate.py for the measurements
# behind each choice (the Arabic light stemmer beats Snowball's Arabic one).
STEMMERS = {
    "ar": lambda: ArabicLightStem(),
    "de": lambda: SnowballStem("german"),
    "nl": lambda: SnowballStem("dutch", "dutch_porter"),
    "en": lambda: SnowballStem("english"),
}


@lru_cache(maxsize=None)
def analyzer_for(lang: str):
    """The analyzer for a language code; the neutral one for NEUTRAL."""
    if lang == NEUTRAL:
        return exact_analyzer()
    if lang not in ANALYZED:
        raise KeyError(lang)
    return _normalizers() | StopFilter(lang) | STEMMERS[lang]()


@lru_cache(maxsize=None)
def exact_analyzer():
    """Words as written, only normalized (case, digits, diacritics): used for
    exact-phrase boosting, prefix queries, spelling suggestions and for texts
    in none of our languages."""
    return _normalizers()
