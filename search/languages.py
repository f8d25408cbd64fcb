"""The languages we analyze: codes, aliases, stopwords, and language detection.

Adding a language means adding a `Language` here and an analyzer recipe in
`analysis.py`; everything else (schema fields, query expansion, facets) follows
from `LANGUAGES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .errors import UnknownLanguage

NEUTRAL = "und"
"""Code (BCP 47 "undetermined") for texts in none of our languages; they get a
language-neutral analyzer (no stemming, no stopwords)."""


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    native_name: str
    direction: str  # "ltr" or "rtl", for the web pages
    aliases: tuple[str, ...] = ()

    @property
    def stopwords(self) -> frozenset[str]:
        return _stopwords(self.code)


LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language("ar", "Arabic", "العربية", "rtl", ("arabic", "ara", "arb")),
        Language("de", "German", "Deutsch", "ltr", ("german", "deutsch", "deu", "ger")),
        Language("nl", "Dutch", "Nederlands", "ltr", ("dutch", "nederlands", "nld", "dut")),
        Language("en", "English", "English", "ltr", ("english", "eng")),
        Language(NEUTRAL, "Other", "Other", "ltr", ("other", "neutral")),
    )
}
"""No made-up codes among the aliases: "xx" once stood for NEUTRAL, so a
mistyped `--lang xx` quietly searched the few neutral articles and found
nothing, where an unknown language should be an error. Records naming a
language not listed here are indexed as NEUTRAL all the same (see
documents.article_language)."""

ANALYZED = tuple(code for code in LANGUAGES if code != NEUTRAL)
"""The languages with an analyzer of their own (all but the neutral one)."""


def resolve(name: str) -> str:
    """Return the code for a language code, name or alias ("Deutsch" -> "de")."""
    key = name.strip().lower().replace("_", "-").split("-")[0]
    for lang in LANGUAGES.values():
        if key == lang.code or key in lang.aliases or key == lang.name.lower():
            return lang.code
    known = ", ".join(LANGUAGES)
    raise UnknownLanguage(f"Unknown language {name!r}; use one of {known}.")


@lru_cache(maxsize=None)
def _stopwords(code: str) -> frozenset[str]:
    if code == NEUTRAL:
        return frozenset()
    text = resources.files("search").joinpath(f"data/stopwords_{code}.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


# Languages the detector also knows, so that a French or Turkish article is
# recognised as "none of ours" instead of being forced into the closest of ours.
_OTHER_LANGUAGES = (
    "FRENCH SPANISH ITALIAN PORTUGUESE TURKISH PERSIAN URDU RUSSIAN POLISH SWEDISH "
    "DANISH BOKMAL INDONESIAN CHINESE JAPANESE KOREAN HEBREW GREEK"
).split()


@lru_cache(maxsize=4)
def _detector(codes: tuple[str, ...]):
    from lingua import IsoCode639_1, Language as LinguaLanguage, LanguageDetectorBuilder

    ours = [LinguaLanguage.from_iso_code_639_1(getattr(IsoCode639_1, c.upper())) for c in codes]
    others = [getattr(LinguaLanguage, name) for name in _OTHER_LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*ours, *others).build()


def detect(text: str, codes: tuple[str, ...] = ANALYZED) -> str:
    """Detect which of `codes` the text is written in, or NEUTRAL for none of them.

    Detection runs on documents, never on queries: a two-word query is too short
    to detect reliably, so queries run against every language instead.
    """
    sample = text[:2000]
    if not any(ch.isalpha() for ch in sample):
        return NEUTRAL
    found = _detector(tuple(codes)).detect_language_of(sample)
    if found is None:
        return NEUTRAL
    code = found.iso_code_639_1.name.lower()
    return code if code in codes else NEUTRAL
