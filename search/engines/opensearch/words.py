"""Words of a query as the index's `exact` analyzer sees them (mapping.py),
worked out here where OpenSearch does not analyze for us: wildcards and
completions are matched as typed, so they are folded first, and a query
leaves out the stopwords of each language (the index keeps them, for
phrases), which needs the words compared with our stopword lists.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from ...languages import LANGUAGES, NEUTRAL

_ARABIC = str.maketrans({
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ؤ": "ء", "ئ": "ء", "ى": "ي", "ی": "ي", "ک": "ك",
    "ة": "ه", "\u0640": None,
})
"""What arabic_normalization and our character map fold (see mapping.py)."""
_WORD = re.compile(r"\w+")


@lru_cache(maxsize=10_000)
def fold(text: str) -> str:
    """`text` normalized as the `exact` analyzer normalizes a word: case,
    digits of any script, diacritics and harakat, Arabic letter variants."""
    text = unicodedata.normalize("NFKC", text).casefold().translate(_ARABIC)
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    text = "".join(str(unicodedata.decimal(ch)) if ch.isdecimal() else ch for ch in text)
    return unicodedata.normalize("NFC", text)


def pieces(text: str) -> list[str]:
    """The words a piece of query text holds, folded ("US-Soldaten": two)."""
    return _WORD.findall(fold(text))


@lru_cache(maxsize=None)
def stopwords(lang: str) -> frozenset[str]:
    """A language's stopwords (see languages.py), folded."""
    if lang == NEUTRAL:
        return frozenset()
    return frozenset(word for line in LANGUAGES[lang].stopwords for word in pieces(line))


def all_stopwords(text: str, lang: str) -> bool:
    """Whether every word of `text` is a stopword of `lang` (none: False)."""
    found = pieces(text)
    return bool(found) and all(word in stopwords(lang) for word in found)
