"""The analyzers: what a reader types must meet what a writer wrote."""

import pickle

import pytest
from hypothesis import given, settings, strategies as st

from search.engines.whoosh.analysis import analyzer_for, exact_analyzer, fold_number, word_terms, words
from search.languages import LANGUAGES

from .conftest import SEEDS


def terms(lang: str, text: str, mode: str = "index") -> list[str]:
    return [t.text for t in analyzer_for(lang)(text, mode=mode)]


def test_arabic_word_with_harakat_stays_whole_and_matches_bare_spelling():
    assert terms("ar", "مَبْنًى") == terms("ar", "مبنى")
    assert len(terms("ar", "مَبْنًى")) == 1


@pytest.mark.parametrize(
    "variant, plain",
    [
        ("الأمريكية", "الامريكيه"),  # hamza on alef, ta marbuta
        ("إدارة", "اداره"),
        ("مسؤول", "مسئول"),  # hamza carriers
        ("الولايـــات", "الولايات"),  # tatweel
        ("والحكومة", "الحكومة"),  # conjunction + article
        ("بالحكومة", "حكومة"),  # preposition + article
        ("القوات", "قوات"),  # article
    ],
)
def test_arabic_spelling_variants_and_clitics_match(variant, plain):
    assert terms("ar", variant) == terms("ar", plain)


def test_arabic_bare_letter_prepositions_are_not_stripped_from_short_words():
    assert terms("ar", "بطاطس") != terms("ar", "طاطس")


@pytest.mark.parametrize("written", ["2.500", "2,500", "٢٥٠٠", "۲۵۰۰", "2500", "٢٬٥٠٠"])
def test_numbers_in_any_script_and_grouping_match(written):
    for lang in ("ar", "de", "nl", "en"):
        assert terms(lang, written) == ["2500"]


def test_decimal_numbers_and_dates_are_not_joined():
    assert fold_number("3,14") == fold_number("3.14") == "3.14"
    assert fold_number("17.10.2023") == "17.10.2023"


@pytest.mark.parametrize(
    "a, b",
    [("Straße", "Strasse"), ("Bücher", "Buecher"), ("München", "Muenchen"), ("Soldaten", "Soldat"), ("Truppen", "Truppe")],
)
def test_german_spellings_and_inflections_match(a, b):
    assert terms("de", a) == terms("de", b)


@pytest.mark.parametrize("a, b", [("geïntensiveerd", "geintensiveerd"), ("troepen", "troep"), ("paarden", "paard"), ("lonkte", "lonkt"), ("auto's", "auto")])
def test_dutch_diacritics_and_inflections_share_a_stem(a, b):
    assert set(terms("nl", a)) & set(terms("nl", b))


@pytest.mark.parametrize("a, b", [("troops", "troop"), ("Biden's", "Biden"), ("running", "run")])
def test_english_inflections_and_possessives_match(a, b):
    assert terms("en", a) == terms("en", b)


def test_offsets_point_at_the_words_as_written():
    text = "Die US-Militärpräsenz: ٢٥٠٠ جنديٍ"
    spans = [text[t.startchar : t.endchar] for t in analyzer_for("de")(text, chars=True)]
    assert spans == ["Die", "US", "Militärpräsenz", "٢٥٠٠", "جنديٍ"]


def test_stopwords_are_dropped_from_queries_but_kept_in_the_index():
    assert "die" in terms("de", "die Truppen")
    assert terms("de", "die Truppen", mode="query") == terms("de", "Truppen")
    assert terms("ar", "في العراق", mode="query") == terms("ar", "العراق")


def test_exact_analyzer_folds_case_and_marks_but_does_not_stem():
    assert [t.text for t in exact_analyzer()("Truppen Präsenz الأمريكيَّة")] == ["truppen", "prasenz", "الامريكيه"]


@pytest.mark.parametrize("lang", ["ar", "de", "nl", "en", "und"])
def test_analyzers_survive_pickling_into_the_schema(lang):
    analyzer = pickle.loads(pickle.dumps(analyzer_for(lang)))
    assert [t.text for t in analyzer("Truppen troepen القوات")] == terms(lang, "Truppen troepen القوات")


# Index-time analysis (a word at a time) must give exactly the analyzer's postings.

TRICKY = (
    "Die 2.500 Soldaten, ٢٬٥٠٠ جندي، Biden's troepen en auto's l'été "
    "مَبْنًى \u064b والحكومة الولايـــات ﻻ ＡＢＣ１２ Straße paarden lonkte 3,14 don't"
)


def analyzer_postings(lang: str, text: str) -> dict[str, list[int]]:
    postings: dict[str, list[int]] = {}
    for t in analyzer_for(lang)(text, positions=True, mode="index"):
        postings.setdefault(t.text, []).append(t.pos)
    return postings


@pytest.mark.parametrize("lang", list(LANGUAGES))
def test_word_at_a_time_analysis_equals_the_analyzer_on_real_articles(lang):
    for text in [TRICKY, *(p.read_text("utf-8") for p in sorted(SEEDS.glob("*.txt")))]:
        assert word_terms(lang).postings(words(text)) == analyzer_postings(lang, text)


@settings(max_examples=300, deadline=None)
@given(
    lang=st.sampled_from(list(LANGUAGES)),
    text=st.text(st.sampled_from(list("aäeéßnsl'’ 12.,٢٬٠\u064b\u0640وبالحكمةأى-\n") + ["Ĳ", "ﻻ", "Ｓ"]), max_size=60),
)
def test_word_at_a_time_analysis_equals_the_analyzer_on_any_text(lang, text):
    assert word_terms(lang).postings(words(text)) == analyzer_postings(lang, text)


def shared(lang: str, a: str, b: str) -> bool:
    return bool(set(terms(lang, a)) & set(terms(lang, b)))


@pytest.mark.parametrize("word, unrelated", [
    ("القوات", "قوة"),  # the forces / strength: a 2-letter stem (قو) is not stripped to
    ("القوات", "قوية"),  # the forces / strong
    ("القوات", "القوى"),  # the forces / the powers
    ("الدولي", "الدول"),  # international / the states: nisba ي kept on a 3-letter stem
    ("عمان", "عمه"),  # Oman / his uncle
])
def test_arabic_stemming_keeps_unrelated_words_apart(word, unrelated):
    assert not shared("ar", word, unrelated)


@pytest.mark.parametrize("word, related", [
    ("القوات", "وللقوات"), ("قوية", "قوي"), ("الحرية", "الحريات"), ("الدولة", "دول"), ("المدارس", "مدارسها"),
])
def test_arabic_stemming_still_joins_forms_of_one_word(word, related):
    assert shared("ar", word, related)


def test_an_arabic_word_is_also_indexed_as_written_without_its_prefix():
    """The rarer, more precise term first (phrases use it); the light stem beside it."""
    assert terms("ar", "والحريات") == ["حريات", "حري"]
    assert terms("ar", "الحريات", mode="query") == ["حريات", "حري"]
