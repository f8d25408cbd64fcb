"""Searching the seed articles as a reader would, in every language at once."""

import pytest

from search.engines.whoosh.analysis import analyzer_for
from search.errors import BadQuery, SearchTimeout
from search.engines.whoosh.highlight import Wanted, WordFinder
from search.engines.whoosh.index import Index
from search.limits import Limits
from search.engines.whoosh.searching import search, terms_of

from .conftest import write_jsonl

DE_PLAN = "001_c8f3a0fc2298736b"  # German: Iraq plans the withdrawal (2.500 US-Soldaten)
DE_TALKS = "000_7267d5031a40e129"  # German: talks on the US military presence
AR_TALKS = "002_b3527174807ffdab"
AR_SEAPR = "004_786ee55e18834587"
NL = "003_3692841fd95a15da"


def ids(results):
    return [h.id for h in results.results]


@pytest.mark.parametrize(
    "query, expected, marked",
    [
        ("Truppen", {DE_PLAN, DE_TALKS}, "Truppen"),
        ("القوات الأمريكية", {AR_TALKS, AR_SEAPR}, "الأمريكية"),
        ("troepen", {NL}, "troepen"),
        ("Soldat", {DE_PLAN, DE_TALKS}, "Soldaten"),  # stemmed, marked as written
        ("امريكيه", {AR_TALKS, AR_SEAPR}, None),  # no hamza, ه for ة
        ("قوات", {AR_TALKS, AR_SEAPR}, "القوات"),  # without the article
    ],
)
def test_a_word_finds_its_articles_with_the_words_marked_as_written(searcher, query, expected, marked):
    results = search(searcher, query)
    assert set(ids(results)) == expected
    assert all("<mark>" in h.snippet for h in results.results)
    if marked:
        assert f"<mark>{marked}</mark>" in " ".join(h.snippet for h in results.results)


def test_numbers_match_across_scripts_and_separators(searcher):
    results = search(searcher, "2500 Soldaten")
    assert ids(results)[:2] in ([DE_PLAN, DE_TALKS], [DE_TALKS, DE_PLAN])  # both words first
    assert set(ids(results)) == {DE_PLAN, DE_TALKS, NL, AR_TALKS, AR_SEAPR}  # every article says 2500
    snippets = {h.id: h.snippet for h in results.results}
    assert "<mark>2.500</mark>" in snippets[NL]
    assert "<mark>2500</mark>" in snippets[AR_SEAPR]
    assert set(ids(search(searcher, "٢٥٠٠"))) == set(ids(search(searcher, "2,500")))


def test_results_carry_what_a_result_list_shows(searcher):
    results = search(searcher, "troepen")
    assert results.total == 1 and results.page == 1 and results.per_page == 10
    hit = results.results[0]
    assert hit.title.startswith("WASHINGTON – De VS hebben vrijdag")
    assert hit.lang == "nl" and hit.score > 0
    assert results.facets["lang"] == {"nl": 1}
    assert results.to_dict()["results"][0]["id"] == NL


def test_results_without_snippets_are_the_same_hits(searcher):
    full = search(searcher, "2500 Soldaten")
    bare = search(searcher, "2500 Soldaten", snippets=False)
    assert [(h.id, h.score) for h in bare.results] == [(h.id, h.score) for h in full.results]
    assert all(h.snippet == "" for h in bare.results) and bare.facets == full.facets


def test_phrases_match_in_order_and_prefer_the_exact_form(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [
        {"id": "exact", "lang": "de", "title": "Bericht", "body": "Die amerikanischen Truppen bleiben im Land."},
        {"id": "stem", "lang": "de", "title": "Bericht", "body": "Die amerikanische Truppe bleibt im Land."},
        {"id": "apart", "lang": "de", "title": "Bericht", "body": "Truppen, die amerikanischen Beamten zufolge bleiben."},
    ])
    ix = Index(tmp_path / "ix")
    ix.update([folder])
    with ix.searcher() as s:
        assert ids(search(s, '"amerikanischen Truppen"')) == ["exact", "stem"]
        assert ids(search(s, "„amerikanischen Truppen“")) == ["exact", "stem"]  # German quotes
        # stopwords inside phrases are kept and must stand where typed
        found = ids(search(s, '"die amerikanischen"'))
        assert set(found[:2]) == {"exact", "apart"} and found[2:] == ["stem"]
        assert ids(search(s, '"Truppen die"')) == ["apart"]
        # "words"~N: in order, each at most N positions after the one before
        assert ids(search(s, '"Truppen bleiben"')) == ids(search(s, '"Truppen bleiben"~4')) == ["exact"]
        apart = search(s, '"Truppen bleiben"~5', lang="de")
        assert {hit.id: hit.snippet for hit in apart.results} == {
            "exact": "Die amerikanischen <mark>Truppen</mark> <mark>bleiben</mark> im Land.",
            "apart": "<mark>Truppen</mark>, die amerikanischen Beamten zufolge <mark>bleiben</mark>.",
        }
        assert ids(search(s, '"bleiben Truppen"~5')) == []


def test_operators_exclusion_prefix_and_fields(searcher):
    assert set(ids(search(searcher, "Truppen -Soldaten"))) == set()
    assert set(ids(search(searcher, "Truppen NOT Basen"))) == {DE_TALKS}
    assert set(ids(search(searcher, "troepen OR Truppen"))) == {NL, DE_PLAN, DE_TALKS}
    assert set(ids(search(searcher, "Militärp*"))) == {DE_TALKS}
    assert set(ids(search(searcher, "milit*"))) == {DE_TALKS, DE_PLAN, NL}  # militaire, Militärkoalition
    assert set(ids(search(searcher, "Irak lang:nl"))) == {NL}
    assert set(ids(search(searcher, "lang:ar"))) == {AR_TALKS, AR_SEAPR}
    assert set(ids(search(searcher, "title:Militärpräsenz"))) == {DE_TALKS}
    assert set(ids(search(searcher, "Irak", lang="Deutsch"))) == {DE_PLAN, DE_TALKS}


def test_a_language_filter_keeps_the_language_facet_of_all_languages(searcher):
    results = search(searcher, "2500", lang="ar")
    assert set(ids(results)) == {AR_TALKS, AR_SEAPR}
    assert results.facets["lang"] == {"ar": 2, "de": 2, "nl": 1}


def test_source_filter_is_case_insensitive(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [
        {"id": "a", "lang": "en", "source": "BBC News", "title": "Election", "body": "The election results."},
        {"id": "b", "lang": "en", "source": "Reuters", "title": "Election", "body": "Election night."},
    ])
    ix = Index(tmp_path / "ix")
    ix.update([folder])
    with ix.searcher() as s:
        assert ids(search(s, 'election source:"bbc news"')) == ["a"]
        results = search(s, "election", source="reuters")
        assert ids(results) == ["b"]
        assert results.facets["source"] == {"BBC News": 1, "Reuters": 1}


def test_short_queries_prefer_articles_with_all_words(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    filler = " ".join(f"wort{i}" for i in range(30))
    write_jsonl(folder / "a.jsonl", [
        {"id": "one-word-often", "lang": "en", "title": "Troops", "body": "troops troops troops troops troops " + filler},
        {"id": "both", "lang": "en", "title": "Report", "body": f"troops withdrawal {filler}"},
        {"id": "other", "lang": "en", "title": "Report", "body": f"withdrawal withdrawal {filler}"},
    ])
    ix = Index(tmp_path / "ix")
    ix.update([folder])
    with ix.searcher() as s:
        assert ids(search(s, "troops withdrawal"))[0] == "both"


def test_long_question_ranks_articles_with_most_and_rarest_words_first(searcher):
    # No article has all these words; the one with most of them (and the rare
    # "Basen", "stationiert") must come first, the other German one next.
    results = search(searcher, "Wie viele US-Soldaten sind im Irak auf drei großen Basen stationiert")
    assert ids(results)[:2] == [DE_PLAN, DE_TALKS]


def test_did_you_mean_offers_a_spelling_that_finds_more(searcher):
    results = search(searcher, "Trupen")
    assert results.total == 0
    assert results.suggestion == "truppen"
    assert search(searcher, "Truppen").suggestion is None


@pytest.mark.parametrize(
    "query", ['"unbalanced Truppen', "(Truppen", "Truppen)", "Truppen^", "Truppen OR", "AND Truppen", "Truppen:"]
)
def test_malformed_queries_are_read_as_literal_words(searcher, query):
    assert set(ids(search(searcher, query))[:2]) == {DE_PLAN, DE_TALKS}


def test_invisible_direction_marks_are_ignored(searcher):
    assert set(ids(search(searcher, "\u202bالقوات\u202c\u200f"))) == {AR_TALKS, AR_SEAPR}


@pytest.mark.parametrize("query", ["OR OR", "NOT", "title:", '""', "a:b:c", "foo:Truppen"])
def test_queries_of_only_syntax_find_nothing_without_failing(searcher, query):
    try:
        assert search(searcher, query).total == 0
    except BadQuery as exc:
        assert "word" in str(exc)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"text": ""}, "at least one word"),
        ({"text": "x" * 2000}, "too long"),
        ({"text": "*"}, "at least one word"),
        ({"text": "? *"}, "at least one word"),
        ({"text": ":"}, "no words"),
        ({"text": "Truppen", "page": 0}, "page"),
        ({"text": "Truppen", "per_page": 1000}, "per_page"),
        ({"text": "Truppen", "lang": "klingon"}, "Unknown language"),
        ({"text": "lang:xx1"}, "Unknown language"),
        ({"text": " ".join(f"w{i}" for i in range(100))}, "too many words"),
        ({"text": "-".join(f"w{i}" for i in range(70))}, "too many words"),  # counted as analyzed
        ({"text": '"' + " ".join(f"w{i}" for i in range(70)) + '"'}, "too many words"),
    ],
)
def test_queries_that_cannot_run_get_a_clear_message(searcher, kwargs, message):
    with pytest.raises(BadQuery, match=message):
        search(searcher, **kwargs)


def test_pages_split_results(searcher):
    first = search(searcher, "2500", per_page=2)
    second = search(searcher, "2500", per_page=2, page=2)
    beyond = search(searcher, "2500", per_page=2, page=9)
    assert first.total == second.total == 5 and first.pages == 3
    assert len(first.results) == len(second.results) == 2
    assert not set(ids(first)) & set(ids(second))
    assert beyond.results == [] and beyond.total == 5


def test_snippets_are_escaped_before_marks_are_added(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [{"id": "x", "lang": "en", "title": "<b>Evil</b>", "body": "<script>alert(1)</script> troops & <img src=x onerror=alert(2)> troops"}])
    ix = Index(tmp_path / "ix")
    ix.update([folder])
    with ix.searcher() as s:
        snippet = search(s, "troops").results[0].snippet
    assert "<script>" not in snippet and "<img" not in snippet
    assert "&lt;script&gt;" in snippet and "<mark>troops</mark> &amp;" in snippet


def test_words_are_marked_as_their_analyzer_reads_them_in_the_text(searcher):
    # Snippets analyze each distinct word on its own, once: that must mark
    # exactly the words whose tokens, analyzed in the whole text, are wanted.
    for stored in searcher.all_stored_fields():
        body, lang = stored["body"], stored["lang"]
        tokens = [(t.text, (t.startchar, t.endchar)) for t in analyzer_for(lang)(body, chars=True, mode="index")]
        wanted = Wanted(terms={term for term, _ in tokens[::7]})
        expected = sorted({span for term, span in tokens if term in wanted.terms})
        assert WordFinder(terms_of(lang), wanted).spans(body) == expected


def test_phrase_marks_only_where_the_whole_phrase_stands_and_exclusions_are_not_marked(searcher):
    snippet = search(searcher, '"die Truppen"').results[0].snippet
    assert "<mark>Die</mark> <mark>Truppen</mark>" in snippet
    assert snippet.count("<mark>") == 2  # not every "die" of the passage
    excluded = search(searcher, "Truppen -Basen").results
    assert excluded and all("<mark>Basen" not in h.snippet for h in excluded)


def test_wildcards_mark_the_words_they_matched(searcher):
    snippets = " ".join(h.snippet for h in search(searcher, "Militärp*").results)
    assert "<mark>Militärpräsenz</mark>" in snippets


def test_a_wildcard_that_stands_for_too_many_words_is_refused(searcher):
    with pytest.raises(BadQuery, match="too many different words"):
        search(searcher, "al*", limits=Limits(expansions=2))  # al, als, Alterman in the seeds
    assert search(searcher, "Militärp*", limits=Limits(expansions=2)).total == 1


def test_a_search_that_runs_out_of_time_is_stopped_with_a_message(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    words = "troops withdrawal talks coalition government soldiers bases".split()
    write_jsonl(folder / "many.jsonl", [
        {"id": str(i), "lang": "en", "title": f"Report {i}", "body": " ".join(words[(i + j) % 7] for j in range(40))}
        for i in range(3000)
    ])
    ix = Index(tmp_path / "ix")
    ix.update([folder])
    with ix.searcher() as s:
        assert search(s, "troops OR talks").total == 3000
        with pytest.raises(SearchTimeout, match="took longer than"):
            search(s, "troops OR talks OR bases OR coalition", limits=Limits(seconds=1e-6))


def test_a_question_ranks_articles_in_its_own_language_first(tmp_path):
    # English function words are rare in Dutch articles: without weighing
    # languages, a Dutch article mentioning "We Are Here" would come first.
    folder = tmp_path / "in"
    folder.mkdir()
    docs = [
        {"id": "nl-wah", "lang": "nl", "title": "Drie dagen cel voor lid We Are Here",
         "body": "Een lid van de actiegroep We Are Here krijgt drie dagen cel na een betoging in Amsterdam."},
        {"id": "en-bath", "lang": "en", "title": "Scrum-half rejoins Bath",
         "body": "We are delighted to be able to bring him back to the club, the coach said."},
    ]
    docs += [{"id": f"nl-{i}", "lang": "nl", "title": f"Nieuws {i}", "body": "Het kabinet wil de regels voor de zorg aanpassen."} for i in range(120)]
    docs += [{"id": f"en-{i}", "lang": "en", "title": f"News {i}", "body": "We are told that the government wants to be back at the table."} for i in range(120)]
    write_jsonl(folder / "a.jsonl", docs)
    ix = Index(tmp_path / "ix")
    ix.update([folder])
    with ix.searcher() as s:
        assert ids(search(s, "we are delighted to be able to come back"))[0] == "en-bath"
        assert ids(search(s, "actiegroep"))[0] == "nl-wah"


def test_exclusions_alone_apply_in_every_language(searcher):
    assert set(ids(search(searcher, "lang:de -Irak"))) == set()
    assert set(ids(search(searcher, "-Truppen", per_page=20))) == {AR_TALKS, AR_SEAPR, NL}
    assert set(ids(search(searcher, "lang:ar -الولايات", per_page=20))) == set()


@pytest.mark.parametrize("question, expected", [
    ("Wann ziehen die US-Truppen aus dem Irak ab?", {DE_PLAN, DE_TALKS}),
    ("?Wann ziehen die Truppen ab?", {DE_PLAN, DE_TALKS}),
    ("Hoeveel troepen?", {NL}),
    ("Truppen?", {DE_PLAN, DE_TALKS}),
    ("What about the 2?", set()),
])
def test_a_question_mark_is_punctuation(searcher, question, expected):
    """A `?` ending a word, or with fewer than two letters before it, cannot
    be a useful wildcard: it ends a question."""
    assert set(ids(search(searcher, question))[:len(expected)]) == expected
    assert search(searcher, "Bag?ad").total == search(searcher, "Bagdad").total > 0  # inside a word: a wildcard


@pytest.mark.parametrize("query, same_as", [
    ("Truppen AND", "Truppen"),
    ("AND Truppen", "Truppen"),
    ("Truppen OR", "Truppen"),
    ("(Truppen AND)", "Truppen"),
    ("Truppen AND (Irak OR)", "Truppen AND Irak"),
    ("NOT NOT Truppen", "Truppen"),
    ("Truppen NOT", "Truppen"),
])
def test_an_operator_with_a_side_missing_is_left_out(searcher, query, same_as):
    """A half-typed query ("Truppen AND" on the way to "Truppen AND Irak")
    does not search for the word "and"."""
    found, expected = search(searcher, query, per_page=20), search(searcher, same_as, per_page=20)
    assert [(h.id, h.score) for h in found.results] == [(h.id, h.score) for h in expected.results]


def test_a_stopword_with_exclusions_is_searched_and_no_language_matches_by_exclusions_alone(searcher):
    """"في" is an Arabic stopword: kept, since it is the only word wanted; and
    the Dutch article, where it is not, is not found merely for lacking "Truppen"."""
    assert set(ids(search(searcher, "في -Truppen", per_page=20))) == {AR_TALKS, AR_SEAPR}
    assert set(ids(search(searcher, "في -القوات", per_page=20))) <= {AR_TALKS, AR_SEAPR}


@pytest.mark.parametrize("typed, expected", [
    ("Militärpr", {DE_TALKS}),  # Militärpräsenz, half typed
    ("US-Präsenz Militärkomm", {DE_TALKS}),  # the last word only
    ("القوات الأمريك", {AR_TALKS, AR_SEAPR}),  # an Arabic word with its article, half typed
])
def test_while_typing_the_last_word_is_read_as_the_beginning_of_a_longer_one(searcher, typed, expected):
    assert set(ids(search(searcher, typed, typing=True))[:len(expected)]) == expected
    assert search(searcher, typed, typing=True).suggestion is None  # no spelling work for an unfinished word


def test_a_half_typed_word_finds_nothing_unless_typing(searcher):
    assert search(searcher, "Militärpr").total == 0
    assert ids(search(searcher, "Militärpr", typing=True)) == [DE_TALKS]


def test_while_typing_a_finished_word_or_a_short_fragment_is_searched_as_it_is(searcher):
    assert search(searcher, "Militärpr ", typing=True).total == 0  # a space: the word is finished
    assert search(searcher, "Militärpr?", typing=True).total == 0  # and so is a question
    assert search(searcher, "Tr", typing=True).total == search(searcher, "Tr").total  # two letters say too little
    assert search(searcher, "Trupen Militärpr", typing=True).suggestion is not None  # finished words still get one
