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
from collections import defaultdict
from functools import lru_cache
from typing import Callable, Iterator

import Stemmer
from whoosh.analysis import Filter, RegexTokenizer, Token

from ...languages import ANALYZED, LANGUAGES, NEUTRAL

ANALYZER_VERSION = f"5+snowball-{Stemmer.version()}"

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


class WordFilter(Filter):
    """A filter that changes each word on its own, as `fold` says: it neither
    looks at neighbours nor drops words, so index-time analysis can apply it
    to a word once and remember the result (see WordTerms)."""

    def fold(self, text: str) -> str:
        raise NotImplementedError

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        fold = self.fold
        for t in tokens:
            t.text = fold(t.text)
            yield t


class CaseFold(WordFilter):
    """NFKC then case folding: ß → ss, ligatures and presentation forms (ﻻ) to
    plain letters, full-width digits to ASCII."""

    def fold(self, text: str) -> str:
        if not text.isascii():
            text = unicodedata.normalize("NFKC", text)
        return text.casefold()


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


class NumberFold(WordFilter):
    """Numbers in any digit script and with any grouping match each other."""

    def fold(self, text: str) -> str:
        return fold_number(text) if text[:1].isdecimal() else text


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


class MarkFold(WordFilter):
    def fold(self, text: str) -> str:
        return fold_marks(text)


_POSSESSIVE = re.compile(r"['’]s$")


class ApostropheFold(WordFilter):
    """"Biden's" → "biden", "auto's" → "auto", "don't" → "dont"."""

    def fold(self, text: str) -> str:
        if "'" in text or "’" in text:
            return _POSSESSIVE.sub("", text).replace("'", "").replace("’", "")
        return text


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

    def terms(self, word: str) -> list[str]:
        """The word's stems, primary first (numbers stay as they are)."""
        if word[:1].isdecimal():
            return [word]
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
            for stem in self.terms(t.text):
                t.text = stem
                yield t


class ArabicLightStem(Filter):
    """A light Arabic stemmer after Lucene's (Larkey et al.'s "light10"),
    extended with the conjunction + preposition + article combinations
    (وبال, ولل, فبال…) that Lucene's list misses, and made more precise.

    It strips at most one prefix (bare ب ك ل ف never, so بطاطس stays whole),
    then suffixes while at least `min_stem` letters remain: Lucene's two
    conflated القوات "the forces" with قوية "strong" and القوى "the powers"
    (all قو). The nisba and feminine endings ي and يه need `nisba_min_stem`
    letters left, which keeps الدولي "international" apart from الدول "the
    states" while قوية and قوي (strong, f. and m.) still meet.

    With `unprefixed`, each word is also indexed, at the same position, as it
    is without its prefix (القوات and والقوات: قوات), the first and primary
    term (used in phrases): a query word then matches both, and an article
    with the word in the same form, whatever its clitics, scores higher than
    one with only the light stem in common (the rarer term weighs more).
    bench/evaluate.py and bench/arabic-pairs.jsonl measure the choice.
    """

    is_morph = True
    PREFIXES = ("وبال", "وكال", "فبال", "ولل", "فلل", "وال", "بال", "كال", "فال", "لل", "ال", "و")
    SUFFIXES = ("ها", "ان", "ات", "ون", "ين", "يه", "ه", "ي")
    NISBA = ("يه", "ي")

    def __init__(self, min_stem: int = 3, nisba_min_stem: int = 4, unprefixed: bool = True):
        self.min_stem, self.nisba_min_stem, self.unprefixed = min_stem, nisba_min_stem, unprefixed

    @classmethod
    def without_prefix(cls, word: str) -> str:
        for prefix in cls.PREFIXES:
            if word.startswith(prefix):
                if prefix == "و":
                    return word[1:] if len(word) >= 4 else word
                return word[len(prefix):] if len(word) >= len(prefix) + 2 else word
        return word

    def stem(self, word: str) -> str:
        """The light stem."""
        word = self.without_prefix(word)
        for suffix in self.SUFFIXES:
            least = self.nisba_min_stem if suffix in self.NISBA else self.min_stem
            if word.endswith(suffix) and len(word) >= len(suffix) + least:
                word = word[: -len(suffix)]
        return word

    def terms(self, word: str) -> list[str]:
        """The word's terms, primary first (numbers stay as they are)."""
        if word[:1].isdecimal():
            return [word]
        stem = self.stem(word)
        if not self.unprefixed:
            return [stem]
        whole = self.without_prefix(word)
        return [whole] if whole == stem else [whole, stem]

    def __call__(self, tokens: Iterator[Token]) -> Iterator[Token]:
        for t in tokens:
            for term in self.terms(t.text):
                t.text = term
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


_TOKEN = re.compile(TOKEN_PATTERN)
Postings = dict[str, list[int]]
"""term -> the positions of the words it stands for."""
CACHE_SIZE = 200_000
"""Words whose analysis is remembered, per language (about 40 MB each)."""


def words(text: str) -> list[str]:
    """The words of a text as every analyzer's tokenizer splits them."""
    return _TOKEN.findall(text)


class WordTerms:
    """Index-time analysis of whole texts at the cost of a dictionary lookup
    per word.

    Every filter maps one word to its terms without looking at its
    neighbours (WordFilter, then the stemmer), and the index keeps stopwords,
    so a word's terms can be worked out once and reused: news text repeats its
    words, and indexing otherwise spends most of its analysis time on words
    it has already seen. The terms come from the analyzer's own filters, so
    they cannot drift from what queries see; tests/test_analysis.py checks the
    postings against the analyzer's over real articles and random text.
    """

    def __init__(self, lang: str):
        self.stem = STEMMERS[lang]().terms if lang in STEMMERS else None
        self.cache = _WordCache(self._analyze)

    def _analyze(self, word: str) -> str | tuple[str, ...]:
        """The term a word becomes, or the terms when the stemmer gives several."""
        normalized = _normalized(word)
        if self.stem is None:
            return normalized
        stems = self.stem(normalized)
        return stems[0] if len(stems) == 1 else tuple(stems)

    def postings(self, words: list[str]) -> Postings:
        """The postings of one text's words (as `words()` gives them)."""
        postings: Postings = defaultdict(list)
        for pos, terms in enumerate(map(self.cache.__getitem__, words)):
            if terms.__class__ is str:
                postings[terms].append(pos)
            else:
                for term in terms:
                    postings[term].append(pos)
        return postings


class _WordCache(dict):
    """word -> its analysis, made on first sight; emptied when full (rare words
    churn, and the frequent ones come straight back)."""

    def __init__(self, analyze: Callable[[str], str | tuple[str, ...]]):
        super().__init__()
        self.analyze = analyze

    def __missing__(self, word: str) -> str | tuple[str, ...]:
        if len(self) >= CACHE_SIZE:
            self.clear()
        value = self[word] = self.analyze(word)
        return value


@lru_cache(maxsize=CACHE_SIZE)
def _normalized(word: str) -> str:
    """A word (a whole token) through the normalizing filters, in their order."""
    for word_filter in exact_analyzer().items[1:]:
        word = word_filter.fold(word)
    return word


@lru_cache(maxsize=None)
def word_terms(lang: str) -> WordTerms:
    """The index-time analysis of a language (NEUTRAL: normalization only)."""
    return WordTerms(lang)
