"""The index's settings and mappings: one title and one body field per
language, each analyzed by OpenSearch's analysis for that language, so
that every language keeps its own term statistics (as the Whoosh index
does), and an `exact` subfield of each holding the words as written, only
normalized, for wildcards and completions (a stemmer cannot stem a fragment).

The analyzers follow ours (engines/whoosh/analysis.py) as far as the
analysis-common filters allow:

- Arabic: lowercase, Arabic-Indic digits to ASCII, `arabic_normalization`
  (hamza-carrying alefs to bare alef, alef maqsura to yeh, ta marbuta to heh,
  harakat and tatweel removed) plus a character map for the variants it
  leaves (alef wasla, hamza on waw and yeh, Persian yeh and kaf, superscript
  alef), then Lucene's light stemmer `arabic_stem` (the light10 prefixes and
  suffixes; ours also indexes each word without its prefix, which Lucene's
  cannot).
- German: `german_normalization` folds ä/ö/ü/ß (and ae/oe/ue) before the
  `light_german` stemmer.
- Dutch: Snowball's Dutch stemmer (ours adds dutch_porter's stems).
- English: possessives dropped, then the `english` (Porter) stemmer.
- Neutral (`und`): words normalized only, as `exact` is.

Every Latin-script analyzer also folds diacritics (`asciifolding`), and
every analyzer drops thousands separators (2.500, 2,500 and ٢٬٥٠٠ are all
2500), as ours do. Stopwords stay in the index, so phrases match
exactly; queries leave them out (see dsl.py).
"""

from __future__ import annotations

from ...languages import ANALYZED, NEUTRAL

INDEX_FORMAT = 1
"""Bumped whenever the mapping changes in a way older programs cannot read."""
ANALYSIS_VERSION = "opensearch-1"
"""Bumped whenever the analysis changes tokens: indexes built with another
are reported as needing a rebuild (errors.IndexOutdated)."""

INDEXED_LANGUAGES = (*ANALYZED, NEUTRAL)
TITLE_BOOST = 2.0

_ARABIC_VARIANTS = ["\u0671=>\u0627", "\u0624=>\u0621", "\u0626=>\u0621", "\u06cc=>\u064a", "\u06a9=>\u0643",
                    "\\u0670=>"]
"""Arabic letter variants `arabic_normalization` leaves (ٱ ؤ ئ ی ک, and the
superscript alef), folded as ours folds them."""

_THOUSANDS = r"(?<=\p{Nd})[.,\u066c](?=\p{Nd}{3}(?!\p{Nd}))"
"""A separator followed by a group of exactly three digits (2.500, 2,500,
٢٬٥٠٠): left out, so that numbers match however they are grouped, as ours do."""

_NORMALIZING = ["lowercase", "decimal_digit", "arabic_normalization", "asciifolding"]

ANALYSIS = {
    "char_filter": {
        "arabic_variants": {"type": "mapping", "mappings": _ARABIC_VARIANTS},
        "thousands": {"type": "pattern_replace", "pattern": _THOUSANDS, "replacement": ""},
    },
    "filter": {
        "german_stem": {"type": "stemmer", "language": "light_german"},
        "dutch_stem": {"type": "snowball", "language": "Dutch"},
        "english_possessive": {"type": "stemmer", "language": "possessive_english"},
        "english_stem": {"type": "stemmer", "language": "english"},
    },
    "analyzer": {
        "ar": {"tokenizer": "standard", "char_filter": ["thousands", "arabic_variants"],
               "filter": ["lowercase", "decimal_digit", "arabic_normalization", "arabic_stem"]},
        "de": {"tokenizer": "standard", "char_filter": ["thousands"],
               "filter": ["lowercase", "german_normalization", "asciifolding", "decimal_digit", "german_stem"]},
        "nl": {"tokenizer": "standard", "char_filter": ["thousands"],
               "filter": ["lowercase", "asciifolding", "decimal_digit", "dutch_stem"]},
        "en": {"tokenizer": "standard", "char_filter": ["thousands"],
               "filter": ["english_possessive", "lowercase", "asciifolding", "decimal_digit", "english_stem"]},
        "exact": {"tokenizer": "standard", "char_filter": ["thousands", "arabic_variants"], "filter": _NORMALIZING},
    },
}


def analyzer(lang: str) -> str:
    return "exact" if lang == NEUTRAL else lang


def text_fields(lang: str, scope: str = "text", exact: bool = False) -> list[str]:
    """The fields a word is searched in: the title and body of `lang` (or
    only one of them, by `scope`), their `exact` subfields with `exact`."""
    parts = {"text": ("title", "body"), "title": ("title",), "body": ("body",)}[scope]
    return [f"{part}_{lang}{'.exact' if exact else ''}" for part in parts]


def boosted(fields: list[str]) -> list[str]:
    """`fields` with the title's boost, as multi_match takes them."""
    return [f"{name}^{TITLE_BOOST:g}" if name.startswith("title_") else name for name in fields]


def _text(lang: str) -> dict:
    return {"type": "text", "analyzer": analyzer(lang),
            "fields": {"exact": {"type": "text", "analyzer": "exact"}}}


def _keyword(indexed: bool = True) -> dict:
    return {"type": "keyword"} if indexed else {"type": "keyword", "index": False, "doc_values": False}


def mappings(meta: dict) -> dict:
    """The mapping; `meta` (format, analysis, dates) is kept in its _meta.
    Dynamic fields are refused: a document is exactly what articles.py makes."""
    properties: dict = {
        "id": _keyword(),
        "lang": _keyword(),
        "source": _keyword(),
        "source_name": _keyword(),
        "url": _keyword(indexed=False),
        "date": _keyword(),
        "published": {"type": "keyword", "fields": {"time": {"type": "date", "format": "strict_date_time_no_millis"}}},
        "origin": _keyword(),
        "fingerprint": _keyword(),
        "extra": {"type": "object", "enabled": False},
    }
    for lang in INDEXED_LANGUAGES:
        properties[f"title_{lang}"] = _text(lang)
        properties[f"body_{lang}"] = _text(lang)
    return {"dynamic": "strict", "_meta": meta, "properties": properties}


def settings(shards: int, replicas: int) -> dict:
    return {"number_of_shards": shards, "number_of_replicas": replicas, "analysis": ANALYSIS}
