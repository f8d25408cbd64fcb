#!/usr/bin/env python3
"""Retrieval quality of our analyzers, measured on real news articles.

Why: an analyzer change (a stemmer, a folding rule) trades matches won for
matches lost in ways intuition gets wrong. This script measures the trade on
the shared test corpora (`../shared/corpora/`, beside the repository; never
copied into it) so that every analyzer choice rests on figures.

What it does, per language (ar, de, nl, en):
- samples articles with a fixed seed and builds, from the sampled articles
  themselves, two query sets whose right answer is the article they came from:
  A. known-item queries: 3-5 rare words of the title, at least one of them
     written the way users write differently from writers (clitics, hamza,
     harakat, ß/ss, umlauts, plurals, verb forms...);
  B. question-style queries: a body sentence with ~30% of its words dropped,
     one word re-inflected, lowercased;
- puts all languages' samples into one index, as in production, and compares
  OURS (`search.engines.whoosh.searching.search`, every language at once) with a BASELINE
  (stock Whoosh `StemmingAnalyzer`, one field, OR query, BM25F) and with
  SQLite FTS5 (unicode61, bm25) as a reference;
- compares stemming variants for Arabic and Dutch (one index per variant, that
  language's articles only), by swapping the stemming step of our analyzer.

Metrics: success@10 (the article is in the first 10 results) and MRR@10.
Results go to stdout and to bench/results/evaluate.json (git-ignored).

    python3 bench/evaluate.py --docs 1500
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import gzip
import hashlib
import json
import random
import re
import sqlite3
import subprocess
import sys
import tempfile
import time
import unicodedata
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # measure this checkout's analyzers, whatever is installed

from whoosh import index as whoosh_index  # noqa: E402
from whoosh.analysis import Filter, StemmingAnalyzer  # noqa: E402
from whoosh.fields import ID, TEXT, Schema  # noqa: E402
from whoosh.qparser import OrGroup, QueryParser  # noqa: E402

from search.engines.whoosh import analysis  # noqa: E402
from search.engines.whoosh.analysis import ArabicLightStem, SnowballStem, normalize  # noqa: E402
from search import BadQuery, SearchRequest, open_engine  # noqa: E402
from search.languages import LANGUAGES  # noqa: E402

DEFAULT_CORPORA = REPO.parent / "shared" / "corpora"
DEFAULT_OUT = REPO / "bench" / "results" / "evaluate.json"
LANGS = ("ar", "de", "nl", "en")
TOP = 10
MIN_WORD = {"ar": 3, "de": 4, "nl": 4, "en": 4}
"""Shorter title words are not picked for known-item queries (Arabic content
words are short: مصر, قطر)."""
PERTURB_SHARE = 0.5
"""Share of a known-item query's words written differently (at least one)."""
CASE_SHARE = 0.2
"""Share of a known-item query's other words typed in another case."""
DROP_SHARE = 0.3
"""Share of a sentence's words left out of a question-style query."""
MAX_EXAMPLES = 3

Rank = int | None  # 1-based rank in the first TOP results, None when not there
Top = Callable[["Query"], list[tuple[str, ...]]]
"""A query -> its first TOP results, each as the ids it stands for: its own,
and those of near-duplicates folded into it (the same story republished,
which the reader sees listed under it)."""


# -- perturbations: how users write a word differently from the article ------

Edit = Callable[[str, random.Random], "str | None"]
Replacement = str | Callable[[re.Match, random.Random], str] | None


@dataclass(frozen=True)
class Perturbation:
    """One kind of difference between a user's word and the article's.

    Each alternative (e.g. "add a plural ending", "remove it") returns a
    variant or None where it does not apply; one applicable alternative is
    picked at random. Trivial kinds (case) are folded by every engine, so they
    never count as the query's perturbation.
    """

    kind: str
    alternatives: tuple[Edit, ...]
    trivial: bool = False

    def apply(self, word: str, rng: random.Random) -> str | None:
        variants = [v for v in (alt(word, rng) for alt in self.alternatives) if v and v != word]
        return rng.choice(variants) if variants else None


def rules(*ordered: tuple[str, Replacement]) -> Edit:
    """An edit from regex rules tried in order; the first whose pattern occurs
    decides: its replacement is applied everywhere it matches, or, if None, the
    edit does not apply (a guard such as "already plural")."""
    compiled = [(re.compile(pattern), repl) for pattern, repl in ordered]

    def edit(word: str, rng: random.Random) -> str | None:
        for pattern, repl in compiled:
            if not pattern.search(word):
                continue
            if repl is None:
                return None
            if callable(repl):
                return pattern.sub(lambda m: repl(m, rng), word)
            return pattern.sub(repl, word)
        return None

    return edit


def strip_marks(text: str) -> str:
    """ë → e, é → e: what users type without a keyboard layout for them."""
    decomposed = unicodedata.normalize("NFD", text)
    return unicodedata.normalize("NFC", "".join(ch for ch in decomposed if not unicodedata.combining(ch)))


def swap_case(word: str, rng: random.Random) -> str | None:
    if word[:1].isupper():
        return word.lower()
    return word.capitalize() if word[:1].islower() else None


HARAKAT = "\u064e\u064f\u0650\u0652"  # fatha, damma, kasra, sukun
NON_JOINING = set("ءآأؤإاةدذرزو")
"""Arabic letters that never join the next one: tatweel cannot follow them."""


def _arabic_letter(ch: str) -> bool:
    return "\u0621" <= ch <= "\u064a" and ch != "\u0640"


def add_harakat(word: str, rng: random.Random) -> str | None:
    """Vowel marks on 1-3 letters, as in quoted or educational text."""
    letters = [i for i, ch in enumerate(word) if _arabic_letter(ch)]
    if len(letters) < 2:
        return None
    marked = set(rng.sample(letters, min(len(letters), rng.randint(1, 3))))
    return "".join(ch + (rng.choice(HARAKAT) if i in marked else "") for i, ch in enumerate(word))


def add_tatweel(word: str, rng: random.Random) -> str | None:
    """A kashida (ـ) stretching the word between two joined letters."""
    spots = [i for i in range(len(word) - 1) if _arabic_letter(word[i]) and word[i] not in NON_JOINING]
    if not spots:
        return None
    i = rng.choice(spots)
    return word[: i + 1] + "\u0640" + word[i + 1 :]


TO_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
TO_ASCII = str.maketrans("٠١٢٣٤٥٦٧٨٩", "0123456789")
UMLAUT_DIGRAPHS = {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"}
CASE = Perturbation("case", (swap_case,), trivial=True)
NAME = (r"^[A-Z]", None)
"""Guard: capitalized words in English and Dutch titles are mostly names,
which users do not inflect."""

PERTURBATIONS: dict[str, tuple[Perturbation, ...]] = {
    "ar": (
        Perturbation("article", (
            rules((r"^ال(?=\w{3})", "")),
            rules((r"^([وبفكل]?ال|لل)", None), (r"^(?=[^\W\d]{3})", "ال")),
        )),
        Perturbation("clitic", (
            rules(
                (r"^([وبفكل]ال|لل)", None),
                (r"^ال(?=\w{2})", lambda m, rng: rng.choice(("وال", "بال", "لل"))),
                (r"^(?=[^\W\d]{3})", lambda m, rng: rng.choice("وبل")),
            ),
            rules((r"^[وبفك]ال(?=\w{2})", "ال"), (r"^لل(?=\w{2})", "ال")),
        )),
        Perturbation("hamza", (
            rules((r"[أإآ]", "ا")),
            rules((r"[أإآ]", None), (r"^(ال)?ا(?!ل)", lambda m, rng: (m.group(1) or "") + rng.choice("أإ"))),
        )),
        Perturbation("ta_marbuta", (rules((r"(?<=\w\w)ة$", "ه")), rules((r"(?<=\w\w)ه$", "ة")))),
        Perturbation("alef_maqsura", (rules((r"(?<=\w\w)ى$", "ي")), rules((r"(?<=\w\w)ي$", "ى")))),
        Perturbation("harakat", (add_harakat,)),
        Perturbation("tatweel", (add_tatweel,)),
        Perturbation("digits", (
            rules((r"^[0-9][0-9.,]*$", lambda m, rng: m.group().translate(TO_INDIC))),
            rules((r"^[٠-٩][٠-٩٫٬.,]*$", lambda m, rng: m.group().translate(TO_ASCII))),
        )),
        Perturbation("inflection", (  # sound plurals and case endings
            rules((r"(?<=\w\w)ة$", "ات")),
            rules((r"(?<=\w\w)ات$", "ة")),
            rules((r"(?<=\w\w)ون$", "ين")),
            rules((r"(?<=\w\w)ين$", "ون")),
        )),
    ),
    "de": (
        Perturbation("sz", (rules((r"ß", "ss")), rules((r"(?<=\w\w)ss$", "ß")))),
        Perturbation("umlaut_ae", (rules((r"[äöüÄÖÜ]", lambda m, rng: UMLAUT_DIGRAPHS[m.group()])),)),
        Perturbation("umlaut_dropped", (rules((r"[äöüÄÖÜ]", lambda m, rng: strip_marks(m.group()))),)),
        Perturbation("inflection", (
            rules((r"^(\w{4,}?)(en|es|e|n|s)$", r"\1")),  # not -er: Rechner, Minister
            rules(
                (r"(en|er|es|s)$", None),
                (r"(?<=\w{3})e$", "en"),
                (r"(?<=\w{3})$", lambda m, rng: rng.choice(("en", "e", "s", "es"))),
            ),
        )),
        CASE,
    ),
    "nl": (
        Perturbation("diacritics", (rules((r"[^\x00-\x7f]", lambda m, rng: strip_marks(m.group()))),)),
        Perturbation("plural", (
            rules(
                NAME,
                (r"(en|ën|s)$", None),
                (r"(?<=\w)([aiouy])$", r"\1's"),  # auto → auto's
                (r"(?<=\w)(e|el|em|er|je)$", r"\1s"),  # tafel → tafels
                (r"(?<=[^aeiou])(aa|ee|oo|uu)([^aeiouwj])$", lambda m, rng: m.group(1)[0] + m.group(2) + "en"),  # jaar → jaren
                (r"(?<=[^aeiou][aeiou])([bdfgklmnprt])$", r"\1\1en"),  # kat → katten
                (r"(?<=\w{3})$", "en"),  # paard → paarden
            ),
            rules(
                (r"(?<=\w{2})'s$", ""),
                (r"(?<=\w)([^aeiou])\1en$", r"\1"),
                (r"(?<=[^aeiou])([aeou])([^aeiou])en$", r"\1\1\2"),  # bomen → boom
                (r"(?<=\w{3})en$", ""),
                (r"(?<=\w{3}[^s'])s$", ""),
            ),
        )),
        Perturbation("verb", (
            rules(NAME, (r"(?<=\w\w)([tkfsp]|ch)t$", r"\1te"), (r"(?<=\w\w[^t])t$", "de")),  # werkt → werkte, hoort → hoorde
            rules(NAME, (r"(?<=\w{3})(te|de|ten|den)$", "t")),  # werkten → werkt
            rules(NAME, (r"(?<=\w\w[^t])t$", "en")),  # werkt → werken
        )),
        CASE,
    ),
    "en": (
        Perturbation("plural", (
            rules(NAME, (r"(ing|ed)$", None), (r"(ch|sh|ss|x|z)$", r"\1es"), (r"s$", None), (r"([^aeiou])y$", r"\1ies"), (r"(?<=\w\w\w)$", "s")),
            rules((r"(?<=\w\w)([^aeiou])ies$", r"\1y"), (r"(?<=\w\w)(ch|sh|ss|x|z)es$", r"\1"), (r"(?<=\w\w\w)(?<![su'])s$", "")),
        )),
        Perturbation("verb", (
            rules(NAME, (r"(ing|ed|s)$", None), (r"(?<=\w\w)e$", "ing"), (r"(?<=\w\w\w)$", "ing")),
            rules(NAME, (r"(ing|ed|s)$", None), (r"(?<=\w\w)e$", "ed"), (r"(?<=\w\w)([^aeiou])y$", r"\1ied"), (r"(?<=\w\w\w)$", "ed")),
            rules(
                (r"(?<=\w\w)([^aeiou])ied$", r"\1y"),
                (r"(?<=\w)([bdgmnprt])\1(ing|ed)$", r"\1"),  # running → run
                (r"(?<=[^aeiou][aeiou])([^aeiouwxy])(ing|ed)$", r"\1e"),  # making → make
                (r"(?<=\w\w\w)(ing|ed)$", ""),
            ),
        )),
        Perturbation("possessive", (
            rules((r"^[^A-Z]", None), (r"(['’]s|s)$", None), (r"$", "'s")),  # names only
            rules((r"(?<=\w\w)['’]s$", "")),
        )),
        CASE,
    ),
}


def perturb(word: str, lang: str, rng: random.Random, trivial: bool = False) -> tuple[str, str] | None:
    """A random applicable way of writing `word` differently, with its kind."""
    options = []
    for p in PERTURBATIONS[lang]:
        if p.trivial == trivial:
            variant = p.apply(word, rng)
            if variant:
                options.append((variant, p.kind))
    return rng.choice(options) if options else None


# -- query sets -----------------------------------------------------------------

_MARKS = "\u0300-\u036f\u064b-\u065f\u0670"  # combining marks, harakat: part of the word
WORD = re.compile(rf"\d+(?:[.,\u066b\u066c]\d+)+|[\w{_MARKS}]+(?:['’][\w{_MARKS}]+)*")
"""Words as a reader sees them: with their harakat, inner apostrophes, and
numbers whole (66.000 is one word, never "66" and "000")."""
SENTENCE_END = re.compile(r"(?<=[.!?؟])\s+|\n+")


@dataclass
class Query:
    set: str  # "A" known-item, "B" question-style
    lang: str
    text: str
    original: str  # the same words as the article writes them
    target: str  # id of the article the query was made from
    kinds: list[str]  # perturbations applied


class Vocabulary:
    """What makes a word a content word, and how rare it is, in one language's sample."""

    def __init__(self, lang: str, docs: Sequence[dict]):
        self.lang = lang
        self.stopwords = {normalize(w) for w in LANGUAGES[lang].stopwords}
        self.df = Counter(w for d in docs for w in {w.casefold() for w in WORD.findall(f"{d['title']} {d['body']}")})

    def is_content(self, word: str) -> bool:
        if word[:1].isdigit():
            return len(word) >= 2
        return len(word) >= MIN_WORD[self.lang] and normalize(word) not in self.stopwords


def known_item_query(doc: dict, vocab: Vocabulary, rng: random.Random, share: float = PERTURB_SHARE) -> Query | None:
    """3-5 of the title's rarest content words, in title order, a `share` of
    them (at least one) written differently."""
    seen: dict[str, str] = {}
    for w in WORD.findall(doc["title"]):
        if vocab.is_content(w):
            seen.setdefault(w.casefold(), w)
    candidates = list(seen.values())
    if len(candidates) < 3:
        return None
    rarest = sorted(candidates, key=lambda w: vocab.df[w.casefold()])[: rng.randint(3, 5)]
    chosen = [w for w in candidates if w in rarest]
    words, kinds = list(chosen), []
    for i, w in enumerate(chosen):
        if rng.random() < share and (change := perturb(w, vocab.lang, rng)):
            words[i], kind = change
            kinds.append(kind)
    if not kinds:  # make sure one word differs
        changeable = [(i, c) for i, w in enumerate(chosen) if (c := perturb(w, vocab.lang, rng))]
        if not changeable:
            return None
        i, (words[i], kind) = rng.choice(changeable)
        kinds.append(kind)
    for i, w in enumerate(words):  # case, on words left as written
        if w == chosen[i] and rng.random() < CASE_SHARE and (change := perturb(w, vocab.lang, rng, trivial=True)):
            words[i] = change[0]
    return Query("A", vocab.lang, " ".join(words), " ".join(chosen), doc["id"], kinds)


def question_query(doc: dict, vocab: Vocabulary, rng: random.Random) -> Query | None:
    """A body sentence of 8-25 words, ~30% of them dropped and one content
    word re-inflected, lowercased: how people paste or retell what they read."""
    sentences = [s for s in SENTENCE_END.split(doc["body"]) if 8 <= len(WORD.findall(s)) <= 25]
    if not sentences:
        return None
    words = WORD.findall(rng.choice(sentences))
    keep = sorted(rng.sample(range(len(words)), round(len(words) * (1 - DROP_SHARE))))
    kept = [words[i] for i in keep]
    changeable = [(i, c) for i, w in enumerate(kept) if vocab.is_content(w) and (c := perturb(w, vocab.lang, rng))]
    if not changeable:
        return None
    original = " ".join(kept).lower()
    i, (kept[i], kind) = rng.choice(changeable)
    return Query("B", vocab.lang, " ".join(kept).lower(), original, doc["id"], [kind])


def build_queries(
    docs: Sequence[dict], lang: str, count: int, seed: int, share: float = PERTURB_SHARE
) -> dict[str, list[Query]]:
    """Both query sets for one language, the same on every run with the same seed."""
    vocab = Vocabulary(lang, docs)
    makers = {"A": functools.partial(known_item_query, share=share), "B": question_query}
    out: dict[str, list[Query]] = {}
    for name, make in makers.items():
        rng = random.Random(f"{seed}:queries:{lang}:{name}")
        queries: list[Query] = []
        for doc in docs:
            if len(queries) >= count:
                break
            if q := make(doc, vocab, rng):
                queries.append(q)
        out[name] = queries
    return out


# -- corpora ----------------------------------------------------------------------


def load_sample(corpora: Path, lang: str, n: int, seed: int) -> list[dict]:
    """The first `n` articles after a seeded shuffle: spread over the whole
    corpus (files are grouped by source and date), the same on every run."""
    with gzip.open(corpora / f"{lang}.jsonl.gz", "rt", encoding="utf-8") as f:
        lines = [line for line in f if line.strip()]
    random.Random(f"{seed}:sample:{lang}").shuffle(lines)
    return [json.loads(line) for line in lines[:n]]


def write_jsonl(path: Path, docs: Sequence[dict]) -> Path:
    with open(path, "w", encoding="utf-8") as f:
        for d in docs:
            f.write(json.dumps(d, ensure_ascii=False) + "\n")
    return path


# -- the engines compared ----------------------------------------------------------


def build_ours(where: Path | str, files: Sequence[Path], embeddings: bool = False) -> None:
    """Our index of `files` at `where`: a folder, or an OpenSearch address (see search.open_engine)."""
    with open_engine(where) as engine:
        report = engine.update(files, rebuild=True, embeddings=embeddings)
    if report.skipped:
        print(f"  warning: {len(report.skipped)} records skipped, e.g. {report.skipped[0]}", file=sys.stderr)


@contextlib.contextmanager
def ours(where: Path | str, language_given: bool = False, meaning: bool = False) -> Iterator[Top]:
    """Our search as users run it, through the engine interface: every
    language at once; or, with `language_given`, restricted to the query's
    language (the language filter of the UI), to tell cross-language
    interference from analysis. With `meaning`, by meaning too (the index
    must have vectors: see `search index`)."""
    with open_engine(where) as engine:

        def top(q: Query) -> list[tuple[str, ...]]:
            lang = q.lang if language_given else None
            try:
                hits = engine.search(SearchRequest(q.text, lang=lang, per_page=TOP, meaning=meaning)).results
                return [(hit.id, *(folded.id for folded in hit.duplicates)) for hit in hits]
            except BadQuery:  # e.g. only stopwords left
                return []

        yield top


def build_baseline(path: Path, docs: Sequence[dict]) -> None:
    """Stock Whoosh: one field for title and body, StemmingAnalyzer (regex
    tokenizer, lowercase, English stopwords, Porter)."""
    path.mkdir()
    schema = Schema(id=ID(stored=True, unique=True), text=TEXT(analyzer=StemmingAnalyzer()))
    writer = whoosh_index.create_in(str(path), schema).writer(limitmb=256)
    for d in docs:
        writer.add_document(id=d["id"], text=f"{d['title']}\n{d['body']}")
    writer.commit()


QUERY_SYNTAX = re.compile(r"[\"'“”„«»():*?~^\[\]{}+\-!/\\<>=]")
OPERATORS = re.compile(r"\b(AND|OR|NOT|ANDNOT|ANDMAYBE|TO)\b")


@contextlib.contextmanager
def baseline(path: Path) -> Iterator[Top]:
    """The baseline with Whoosh's own query parser, any word matching (OrGroup),
    query syntax characters removed so that user text is read as words."""
    ix = whoosh_index.open_dir(str(path))
    parser = QueryParser("text", ix.schema, group=OrGroup)
    with ix.searcher() as searcher:

        def top(q: Query) -> list[tuple[str, ...]]:
            cleaned = OPERATORS.sub(lambda m: m.group().lower(), QUERY_SYNTAX.sub(" ", q.text))
            return [(hit["id"],) for hit in searcher.search(parser.parse(cleaned), limit=TOP)]

        yield top


@contextlib.contextmanager
def fts5(docs: Sequence[dict]) -> Iterator[Top]:
    """SQLite FTS5 as a reference: unicode61 tokenizer with diacritics removed,
    no stemming, OR of the query's words, bm25 ranking."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(id UNINDEXED, title, body, tokenize='unicode61 remove_diacritics 2')")
    db.executemany("INSERT INTO docs VALUES (?, ?, ?)", ((d["id"], d["title"], d["body"]) for d in docs))

    def top(q: Query) -> list[tuple[str, ...]]:
        terms = ['"' + w.replace('"', '""') + '"' for w in q.text.split() if any(ch.isalnum() for ch in w)]
        if not terms:
            return []
        sql = "SELECT id FROM docs WHERE docs MATCH ? ORDER BY bm25(docs) LIMIT ?"
        return [(row[0],) for row in db.execute(sql, (" OR ".join(terms), TOP))]

    try:
        yield top
    finally:
        db.close()


# -- stemming variants ---------------------------------------------------------------


class NoStem(Filter):
    """Words as they are: the "none" variant."""

    is_morph = True

    def terms(self, word: str) -> list[str]:
        return [word]

    def __call__(self, tokens):
        return tokens


VARIANTS: dict[str, dict[str, Callable[[], Filter]]] = {
    "ar": {
        "lucene": lambda: ArabicLightStem(min_stem=2, nisba_min_stem=2, unprefixed=False),
        "light3": lambda: ArabicLightStem(min_stem=3, nisba_min_stem=3, unprefixed=False),
        "light3/4": lambda: ArabicLightStem(min_stem=3, nisba_min_stem=4, unprefixed=False),
        "light3+whole": lambda: ArabicLightStem(min_stem=3, nisba_min_stem=3, unprefixed=True),
        "light3/4+whole": lambda: ArabicLightStem(min_stem=3, nisba_min_stem=4, unprefixed=True),
        "snowball": lambda: SnowballStem("arabic"),
        "none": NoStem,
    },
    "nl": {
        "dutch+dutch_porter": lambda: SnowballStem("dutch", "dutch_porter"),
        "dutch": lambda: SnowballStem("dutch"),
        "dutch_porter": lambda: SnowballStem("dutch_porter"),
    },
}


def describe(stemmer: Filter) -> str:
    """A stemming step's identity, to mark the variant the product uses now."""
    parts = getattr(stemmer, "algorithms", None) or getattr(stemmer, "stemmers", None) or vars(stemmer).values()
    return f"{type(stemmer).__name__}({', '.join(map(str, parts))})" if parts else type(stemmer).__name__


PAIRS = Path(__file__).with_name("arabic-pairs.jsonl")
"""800 pairs of Arabic words that Lucene's light stemmer conflates, each
labelled "related" (a reader searching one is served by the other: clitics,
number, gender, close derivations) or "unrelated" (القوات "the forces" /
قوية "strong")."""


def conflation(stemmer: Filter) -> dict:
    """How many labelled pairs share an index term under `stemmer`: unrelated
    ones (over-conflation, lower is better) and related ones (what light
    stemming is for, higher is better). Pairs with a query stopword are left
    out: queries never search for those."""
    stopwords = analysis._normalized_stopwords("ar")
    pairs = [json.loads(line) for line in PAIRS.read_text("utf-8").splitlines() if line.strip()]
    pairs = [p for p in pairs if p["a"] not in stopwords and p["b"] not in stopwords]
    out = {}
    for label in ("unrelated", "related"):
        labelled = [p for p in pairs if p["label"] == label]
        shared = sum(bool(set(stemmer.terms(p["a"])) & set(stemmer.terms(p["b"]))) for p in labelled)
        out[label] = {"n": len(labelled), "sharing_a_term": shared, "share": round(shared / len(labelled), 3)}
    return out


@contextlib.contextmanager
def stemming(lang: str, factory: Callable[[], Filter]) -> Iterator[None]:
    """Our analyzer for `lang` with another stemming step while the block runs:
    index building, query parsing and highlighting all go through
    `analyzer_for` and `word_terms`, whose caches are cleared on the way in
    and out (index workers are forked inside the block, so they see it too)."""
    saved = analysis.STEMMERS[lang]
    analysis.STEMMERS[lang] = factory
    analysis.analyzer_for.cache_clear()
    analysis.word_terms.cache_clear()
    try:
        yield
    finally:
        analysis.STEMMERS[lang] = saved
        analysis.analyzer_for.cache_clear()
        analysis.word_terms.cache_clear()


def library_state() -> dict:
    """Which code was measured: figures compare only between runs of the same
    state, and search/ changes between runs (the digest covers uncommitted edits)."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(REPO), "status", "--porcelain", "--", "search"], capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit, dirty = "", ""
    digest = hashlib.blake2b(digest_size=6)
    for path in sorted((REPO / "search").rglob("*.py")):
        digest.update(path.read_bytes())
    return {
        "commit": commit or None,
        "search_modified": bool(dirty),
        "search_digest": digest.hexdigest(),
        "analyzer_version": analysis.ANALYZER_VERSION,
    }


# -- metrics ------------------------------------------------------------------------

QuerySets = dict[str, dict[str, list[Query]]]  # lang -> set -> queries
Ranks = dict[str, dict[str, list[Rank]]]  # lang -> set -> rank of each query's target


def rank(target: str, results: list[tuple[str, ...]]) -> Rank:
    return next((n for n, ids in enumerate(results, 1) if target in ids), None)


def summary(ranks: Sequence[Rank]) -> dict:
    n = len(ranks)
    found = [r for r in ranks if r is not None]
    return {
        "n": n,
        "success@10": round(len(found) / n, 4) if n else None,
        "mrr@10": round(sum(1 / r for r in found) / n, 4) if n else None,
    }


def paired(mine: Sequence[Rank], other: Sequence[Rank]) -> dict:
    """On how many queries one engine ranks the target higher or lower than
    another: with 200 queries a difference of 0.005 is a single query, so the
    averages alone do not say whether a change is noise."""
    rr = [(1 / a if a else 0, 1 / b if b else 0) for a, b in zip(mine, other)]
    return {"better": sum(a > b for a, b in rr), "worse": sum(a < b for a, b in rr)}


def by_kind(queries: Sequence[Query], ranks: dict[str, list[Rank]]) -> dict[str, dict[str, dict]]:
    """Scores per perturbation kind (a known-item query counts under each of its kinds)."""
    kinds = sorted({k for q in queries for k in q.kinds})
    return {
        kind: {system: summary([r for q, r in zip(queries, rs) if kind in q.kinds]) for system, rs in ranks.items()}
        for kind in kinds
    }


def losses(queries: Sequence[Query], mine: Sequence[Rank], other: Sequence[Rank]) -> list[dict]:
    """Queries the other engine puts in its top 10 and ours does not."""
    return [
        {"query": q.text, "original": q.original, "kinds": q.kinds, "target": q.target, "ours": a, "other": b}
        for q, a, b in zip(queries, mine, other)
        if a is None and b is not None
    ]


# -- running it all --------------------------------------------------------------------

REFERENCE = {"A": "baseline", "B": "fts5"}
"""The engine ours is judged against on each query set."""


class Timer:
    """Wall-clock time of each stage, shown as it ends (a run takes minutes)."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, label: str) -> Iterator[None]:
        start = time.perf_counter()
        yield
        self.stages[label] = round(time.perf_counter() - start, 1)
        print(f"  {label}: {self.stages[label]} s", file=sys.stderr)


def run(top: Top, queries: QuerySets) -> Ranks:
    return {lang: {name: [rank(q.target, top(q)) for q in qs] for name, qs in sets.items()} for lang, sets in queries.items()}


def compare_engines(tmp: Path, files: dict[str, Path], samples: dict[str, list[dict]], queries: QuerySets, timer: Timer,
                    opensearch: str | None = None) -> dict[str, Ranks]:
    """Ours, baseline and FTS5 over one index holding every language's sample;
    and our search on OpenSearch (the cluster at `opensearch`), on the same articles."""
    docs = [d for sample in samples.values() for d in sample]
    ranks: dict[str, Ranks] = {}
    with timer("index ours"):
        build_ours(tmp / "ours", list(files.values()))
    with timer("query ours"), ours(tmp / "ours") as top:
        ranks["ours"] = run(top, queries)
    with timer("query ours, language given"), ours(tmp / "ours", language_given=True) as top:
        ranks["ours_lang"] = run(top, queries)
    with timer("index baseline"):
        build_baseline(tmp / "baseline", docs)
    with timer("query baseline"), baseline(tmp / "baseline") as top:
        ranks["baseline"] = run(top, queries)
    with timer("index+query fts5"), fts5(docs) as top:
        ranks["fts5"] = run(top, queries)
    if opensearch:
        where = f"opensearch+{opensearch.rstrip('/')}/evaluate"
        with timer("index opensearch"):
            build_ours(where, list(files.values()))
        with timer("query opensearch"), ours(where) as top:
            ranks["opensearch"] = run(top, queries)
        with timer("query opensearch, language given"), ours(where, language_given=True) as top:
            ranks["opensearch_lang"] = run(top, queries)
    return ranks


def compare_stemmers(tmp: Path, lang: str, file: Path, queries: dict[str, list[Query]], timer: Timer) -> dict[str, dict[str, list[Rank]]]:
    """variant -> set -> ranks, each variant with an index of its own holding
    only `lang`'s sample, so that the variants differ in nothing else."""
    out = {}
    for name, factory in VARIANTS[lang].items():
        path = tmp / f"{lang}-{name}"
        with stemming(lang, factory):
            with timer(f"index {lang} {name}"):
                build_ours(path, [file])
            with timer(f"query {lang} {name}"), ours(path) as top:
                out[name] = run(top, {lang: queries})[lang]
    return out


def current_variant(lang: str) -> str | None:
    """The variant the product uses now (None if it is none of them)."""
    current = describe(analysis.STEMMERS[lang]())
    return next((name for name, factory in VARIANTS[lang].items() if describe(factory()) == current), None)


def evaluate(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    timer = Timer()
    library = library_state()  # before the run: modules are imported, later edits are not measured
    with timer("sample and build queries"):
        samples = {lang: load_sample(args.corpora, lang, args.docs, args.seed) for lang in args.langs}
        queries = {lang: build_queries(samples[lang], lang, args.queries, args.seed, args.perturb_share) for lang in args.langs}
    with tempfile.TemporaryDirectory(prefix="evaluate-") as tmpdir:
        tmp = Path(tmpdir)
        files = {lang: write_jsonl(tmp / f"{lang}.jsonl", samples[lang]) for lang in args.langs}
        ranks = compare_engines(tmp, files, samples, queries, timer, args.opensearch)
        stemmer_langs = [lang for lang in VARIANTS if lang in args.langs] if args.variants else []
        variant_ranks = {lang: compare_stemmers(tmp, lang, files[lang], queries[lang], timer) for lang in stemmer_langs}

    def per_query(lang: str, q: Query, i: int) -> dict:
        found = {system: ranks[system][lang][q.set][i] for system in ranks}
        found.update({f"{lang}:{v}": rs[q.set][i] for v, rs in variant_ranks.get(lang, {}).items()})
        return {**asdict(q), "ranks": found}

    def variant_table(lang: str) -> dict:
        current = current_variant(lang)
        table = {}
        for name, sets in variant_ranks[lang].items():
            table[name] = {
                s: {**summary(rs), **(paired(rs, variant_ranks[lang][current][s]) if current else {})}
                for s, rs in sets.items()
            }
            if lang == "ar":
                table[name]["conflation"] = conflation(VARIANTS[lang][name]())
        return {"current": current, "results": table}

    return {
        "config": {
            "docs": args.docs, "queries": args.queries, "seed": args.seed, "langs": list(args.langs),
            "perturb_share": args.perturb_share, "top": TOP,
        },
        "library": library,
        "docs": {lang: len(samples[lang]) for lang in args.langs},
        "summary": {
            lang: {s: {system: summary(ranks[system][lang][s]) for system in ranks} for s in sets}
            for lang, sets in queries.items()
        },
        "paired": {
            lang: {s: paired(ranks["ours"][lang][s], ranks[REFERENCE[s]][lang][s]) for s in sets}
            for lang, sets in queries.items()
        },
        "by_kind": {
            lang: {s: by_kind(qs, {x: ranks[x][lang][s] for x in ("ours", "baseline", "fts5")}) for s, qs in sets.items()}
            for lang, sets in queries.items()
        },
        "losses": {
            lang: {s: losses(qs, ranks["ours"][lang][s], ranks[REFERENCE[s]][lang][s]) for s, qs in sets.items()}
            for lang, sets in queries.items()
        },
        "variants": {lang: variant_table(lang) for lang in variant_ranks},
        "queries": [per_query(lang, q, i) for lang, sets in queries.items() for qs in sets.values() for i, q in enumerate(qs)],
        "timings_s": timer.stages,
        "runtime_s": round(time.perf_counter() - started, 1),
    }


# -- report ------------------------------------------------------------------------------


def cell(s: dict) -> str:
    return f"{s['success@10']:.3f} {s['mrr@10']:.3f}" if s["n"] else "    -     -"


def print_report(results: dict) -> None:
    """Plain tables: what engineers compare before and after an analyzer change."""
    cfg = results["config"]
    total = sum(results["docs"].values())
    print(f"\nRetrieval evaluation: {total} articles ({', '.join(f'{l} {n}' for l, n in results['docs'].items())}) "
          f"in one index, seed {cfg['seed']}; success@{TOP} and MRR@{TOP}")
    print("A = known-item: 3-5 rare title words, at least one re-spelled or re-inflected")
    print("B = question-style: a body sentence, 30% of its words dropped, one re-inflected, lowercased")
    print("ours = search(lang=None) as users run it; ours(lang) = with the query's language given (diagnostic)")
    lib = results["library"]
    print(f"Library measured: commit {lib['commit']}{' + uncommitted changes in search/' if lib['search_modified'] else ''} "
          f"(search/ digest {lib['search_digest']}), analyzer {lib['analyzer_version']}\n")
    names = {"ours": "ours", "ours_lang": "ours(lang)", "baseline": "baseline", "fts5": "fts5",
             "opensearch": "OS", "opensearch_lang": "OS(lang)"}
    systems = list(next(iter(next(iter(results["summary"].values())).values())))
    head = f"{'lang':<5}{'set':<4}{'queries':>7}   " + "   ".join(f"{names[x] + ' S@10':>11} {'MRR':>5}" for x in systems)
    print(head)
    print("-" * len(head))
    for lang, sets in results["summary"].items():
        for s, by_system in sets.items():
            print(f"{lang:<5}{s:<4}{by_system['ours']['n']:>7}   " + "   ".join(f"{cell(by_system[x]):>17}" for x in systems))

    print(f"\nSuccess@{TOP} by perturbation kind: ours / baseline / fts5 (n = queries with that kind)")
    for lang, sets in results["by_kind"].items():
        for s, kinds in sets.items():
            cells = [
                f"{kind} {v['ours']['success@10']:.2f}/{v['baseline']['success@10']:.2f}/{v['fts5']['success@10']:.2f} n={v['ours']['n']}"
                for kind, v in kinds.items()
            ]
            print(f"  {lang} {s}: " + "; ".join(cells))

    if results["variants"]:
        print("\nStemming variants of our analyzer, one index per variant with that language's articles only")
        print("(* = current; +/- = queries the variant ranks the target higher/lower than the current one)")
        print("(Arabic: unrelated/related = labelled word pairs of bench/arabic-pairs.jsonl sharing an index term)")
        print(f"{'lang':<5}{'variant':<21}{'A S@10':>7}{'MRR':>6}{'+/-':>9}{'B S@10':>9}{'MRR':>6}{'+/-':>9}")
        for lang, table in results["variants"].items():
            for name, v in table["results"].items():
                mark = "*" if name == table["current"] else " "
                cells = "".join(f"{cell(v[s]):>13}{'+%d/-%d' % (v[s].get('better', 0), v[s].get('worse', 0)):>9}" for s in ("A", "B"))
                pairs = v.get("conflation")
                if pairs:
                    cells += "   unrelated {unrelated[sharing_a_term]}/{unrelated[n]}, related {related[sharing_a_term]}/{related[n]}".format(**pairs)
                print(f"{lang:<5}{mark}{name:<20}{cells}")

    print(f"\nOurs against the reference (A: baseline, B: fts5): queries ours ranks higher / lower, "
          f"and those ours misses (not in top {TOP}) while the reference finds them")
    for lang, sets in results["losses"].items():
        for s, lost in sets.items():
            p = results["paired"][lang][s]
            print(f"  {lang} {s}: higher {p['better']}, lower {p['worse']}, missed {len(lost)} of {results['summary'][lang][s]['ours']['n']}")
            for ex in lost[:MAX_EXAMPLES]:
                print(f"      {ex['query']!r} (article: {ex['original']!r}; {', '.join(ex['kinds'])}; "
                      f"{REFERENCE[s]} rank {ex['other']})")

    stages = ", ".join(f"{k} {v}" for k, v in results["timings_s"].items())
    print(f"\nRun time {results['runtime_s']} s (seconds per stage: {stages})")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--docs", type=int, default=1500, help="articles sampled per language (default 1500)")
    p.add_argument("--queries", type=int, default=200, help="queries per language and set (default 200)")
    p.add_argument("--seed", type=int, default=1, help="seed of the sample and of the queries (default 1)")
    p.add_argument("--perturb-share", type=float, default=PERTURB_SHARE,
                   help=f"share of a known-item query's words written differently (default {PERTURB_SHARE}; "
                        "1.0 makes set A a harder test of normalization and stemming)")
    p.add_argument("--langs", default=",".join(LANGS), help="comma-separated languages (default ar,de,nl,en)")
    p.add_argument("--no-variants", dest="variants", action="store_false", help="skip the stemmer comparisons")
    p.add_argument("--corpora", type=Path, default=DEFAULT_CORPORA, help=f"corpus folder (default {DEFAULT_CORPORA})")
    p.add_argument("--opensearch", metavar="URL", help="also evaluate our search on the OpenSearch cluster at URL "
                   "(e.g. http://127.0.0.1:9200; index 'evaluate'), side by side on the same articles")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON results file (default bench/results/evaluate.json)")
    args = p.parse_args(argv)
    args.langs = tuple(lang.strip() for lang in args.langs.split(",") if lang.strip())
    unknown = [lang for lang in args.langs if lang not in LANGS]
    if unknown:
        p.error(f"unknown language(s) {', '.join(unknown)}; use some of {', '.join(LANGS)}")
    if not 0 <= args.perturb_share <= 1:
        p.error("--perturb-share must be between 0 and 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    missing = [lang for lang in args.langs if not (args.corpora / f"{lang}.jsonl.gz").is_file()]
    if missing:
        # The corpora sit beside the repository, never in it; CI machines may not have them.
        print(f"Nothing evaluated: no corpus for {', '.join(missing)} in {args.corpora} "
              "(expected ../shared/corpora/LANG.jsonl.gz beside the repository, or give --corpora).", file=sys.stderr)
        return 0
    results = evaluate(args)
    print_report(results)
    write_results(results, args.out)
    return 0


def write_results(results: dict, out: Path) -> None:
    """Every figure of a run, as JSON (bench/results/ is git-ignored)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=1), "utf-8")
    print(f"Results written to {out}")


if __name__ == "__main__":
    sys.exit(main())
