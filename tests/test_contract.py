"""The engine contract: what a reader, an archivist and a site owner notice,
run through the public face (`search`) against every engine: the embedded
Whoosh index and a real 2-node OpenSearch cluster (tests/opensearch)."""

from __future__ import annotations

import uuid

import pytest

from search import Article, BadQuery, DateRange, SearchRequest, open_engine

from .conftest import SEEDS, write_jsonl

ENGINES = ["whoosh", pytest.param("opensearch", marks=pytest.mark.slow)]  # a cluster takes a while to start

DATED = [
    {"id": "old-de", "lang": "de", "source": "dpa", "date": "2015-03-02", "title": "Haushalt des Bundes beschlossen",
     "body": "Der Bundestag hat den Haushalt beschlossen. Die Opposition kritisiert die Schulden."},
    {"id": "new-de", "lang": "de", "source": "dpa", "date": "2019-06-14", "title": "Neuer Haushalt im Bundestag",
     "body": "Der Haushalt für das nächste Jahr wurde im Bundestag vorgestellt."},
    {"id": "en-1", "lang": "en", "source": "reuters", "date": "2019-06-20", "title": "Parliament passes the budget",
     "body": "The parliament passed the budget after a long debate about public debt."},
    {"id": "nl-1", "lang": "nl", "source": "nos.nl", "date": "2018-01-05", "title": "Kabinet presenteert begroting",
     "body": "Het kabinet heeft de begroting gepresenteerd aan de Tweede Kamer."},
]


@pytest.fixture(params=ENGINES)
def make_engine(request, tmp_path):
    """Makes empty engines of the kind under test, removed afterwards."""
    made = []

    def make():
        if request.param == "whoosh":
            engine = open_engine(tmp_path / f"index-{len(made)}")
        else:
            urls = request.getfixturevalue("opensearch")["urls"]
            engine = open_engine(f"opensearch+{','.join(urls)}/contract-{uuid.uuid4().hex[:12]}")
        made.append(engine)
        return engine

    yield make
    for engine in made:
        engine.close()


@pytest.fixture
def seeded(make_engine, tmp_path):
    engine = make_engine()
    report = engine.update([SEEDS, write_jsonl(tmp_path / "dated.jsonl", DATED)], embeddings=False)
    assert report.added == 9 and not report.skipped
    return engine


def ids(results) -> list[str]:
    return [hit.id for hit in results.results]


def test_a_german_word_finds_the_german_seeds_marked(seeded):
    results = seeded.search(SearchRequest("Irak", meaning=False))
    hits = [hit for hit in results.results if hit.lang == "de"]
    assert len(hits) == 2
    assert all("<mark>" in hit.snippet + hit.title_html for hit in hits)


def test_arabic_is_found_whatever_the_letter_forms(seeded):
    plain = seeded.search(SearchRequest("العراق", meaning=False))
    variant = seeded.search(SearchRequest("ٱلْعِرَاق", meaning=False))  # wasla and diacritics
    assert {hit.lang for hit in plain.results} >= {"ar"}
    assert [h.id for h in plain.results if h.lang == "ar"] and \
        {h.id for h in variant.results if h.lang == "ar"} == {h.id for h in plain.results if h.lang == "ar"}


def test_the_language_filter_and_facet(seeded):
    everywhere = seeded.search(SearchRequest("Haushalt OR budget OR begroting", meaning=False))
    assert {hit.lang for hit in everywhere.results} == {"de", "en", "nl"}
    dutch = seeded.search(SearchRequest("Haushalt OR budget OR begroting", lang="nl", meaning=False))
    assert ids(dutch) == ["nl-1"]
    assert dutch.facets["lang"] == {"de": 2, "en": 1, "nl": 1}  # what choosing another language would give


def test_dates_filter_and_newest_first(seeded):
    newest = seeded.search(SearchRequest("Haushalt", sort="newest", meaning=False))
    assert ids(newest) == ["new-de", "old-de"]
    assert ids(seeded.search(SearchRequest("Haushalt", dates=DateRange("2019-01-01T00:00:00Z"), meaning=False))) == ["new-de"]
    assert ids(seeded.search(SearchRequest("Haushalt date:2015", meaning=False))) == ["old-de"]
    assert newest.results[0].published.startswith("2019-06-14")


def test_phrases_exclusions_and_wildcards(seeded):
    assert ids(seeded.search(SearchRequest('"Haushalt beschlossen"', meaning=False))) == ["old-de"]
    assert ids(seeded.search(SearchRequest("Haushalt -Opposition", meaning=False))) == ["new-de"]
    assert set(ids(seeded.search(SearchRequest("Bundest*", meaning=False)))) == {"old-de", "new-de"}


def test_source_filter_and_facet(seeded):
    results = seeded.search(SearchRequest("Haushalt OR budget", meaning=False))
    assert results.facets["source"] == {"dpa": 2, "reuters": 1}
    assert ids(seeded.search(SearchRequest("Haushalt OR budget", source="Reuters", meaning=False))) == ["en-1"]


def test_bad_requests_say_why(seeded):
    for request in (SearchRequest("x" * (seeded.limits.query_chars + 1)), SearchRequest("Irak", per_page=10_000),
                    SearchRequest("Irak", page=10_000), SearchRequest("", meaning=False),
                    SearchRequest("Irak", sort="oldest")):
        with pytest.raises(BadQuery) as raised:
            seeded.search(request)
        assert str(raised.value)


def test_an_article_by_id_and_its_marks(seeded):
    article = seeded.article("new-de")
    assert article.title == "Neuer Haushalt im Bundestag" and article.lang == "de"
    assert seeded.article("no-such-id") is None
    title, body = seeded.marked(article, "Haushalt")
    assert "<mark>Haushalt</mark>" in title and "<mark>Haushalt</mark>" in body


def test_writes_are_found_at_once_and_deletes_gone(seeded):
    seeded.put([Article("posted-1", "Hochwasser in Köln", "Der Rhein steigt weiter, die Altstadt ist überflutet.", "de")])
    assert ids(seeded.search(SearchRequest("Hochwasser", meaning=False))) == ["posted-1"]
    assert seeded.delete(["posted-1", "never-there"]) == ["posted-1"]
    assert seeded.search(SearchRequest("Hochwasser", meaning=False)).total == 0


def test_updates_follow_the_files_and_rebuilds_keep_posted_articles(make_engine, tmp_path):
    engine = make_engine()
    feed = write_jsonl(tmp_path / "feed.jsonl", DATED)
    engine.update([feed], embeddings=False)
    engine.put([Article("posted-1", "Hochwasser in Köln", "Der Rhein steigt weiter.", "de")])
    write_jsonl(feed, DATED[1:])  # old-de is gone from its file
    report = engine.update([feed], embeddings=False)
    assert (report.removed, report.unchanged) == (1, 3)
    assert engine.article("old-de") is None
    rebuilt = engine.update([feed], rebuild=True, embeddings=False)
    assert rebuilt.rebuilt and engine.article("posted-1") is not None and engine.stats().documents == 4


def test_an_unreadable_file_is_skipped_and_the_rest_indexed(make_engine, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    write_jsonl(folder / "good.jsonl", DATED[:2])
    (folder / "bad.json").write_text("{not json", "utf-8")
    engine = make_engine()
    report = engine.update([folder], embeddings=False)
    assert report.added == 2 and len(report.skipped) == 1 and "bad.json" in report.skipped[0][0]
    assert engine.stats().documents == 2


def test_an_empty_index_answers_with_nothing(make_engine):
    engine = make_engine()
    engine.create()
    for request in (SearchRequest("Truppen", meaning=False), SearchRequest("Truppen", sort="newest", meaning=False),
                    SearchRequest("Truppen date:2019", lang="de", meaning=False)):
        results = engine.search(request)
        assert results.total == 0 and not results.results
    assert engine.stats().documents == 0 and engine.health().documents == 0


def test_stats_and_health(seeded):
    stats = seeded.stats()
    assert stats.documents == 9 and stats.languages == {"ar": 2, "de": 4, "nl": 2, "en": 1}
    health = seeded.health()
    assert health.ok and health.documents == 9
    assert seeded.source_names()["nos.nl"] == "nos.nl"


def test_hostile_queries_get_answers_or_a_clear_refusal(seeded):
    for text in ("(" * 200 + "Irak", "-(" * 150 + "Irak", '"Irak USA Land"~99999999999999999999'):
        try:
            seeded.search(SearchRequest(text, meaning=False))
        except BadQuery as exc:  # a 400 with a message: never a crash
            assert str(exc)
    assert seeded.search(SearchRequest("Irak", source="x" * 1001, meaning=False)).total == 0


def test_text_is_found_however_its_accents_are_encoded(seeded):
    import unicodedata

    seeded.put([Article("nfd-1", "Kölner Bürgermeisterin", unicodedata.normalize("NFD", "Die Bürgermeisterin von Köln."), "de")])
    assert "nfd-1" in ids(seeded.search(SearchRequest("Bürgermeisterin", meaning=False)))
    assert "nfd-1" in ids(seeded.search(SearchRequest(unicodedata.normalize("NFD", "Köln"), meaning=False)))
    assert ids(seeded.search(SearchRequest("𝔅𝔲𝔫𝔡𝔢𝔰𝔱𝔞𝔤", meaning=False)))  # Bundestag, in Fraktur letters


def test_a_snippet_stays_short_whatever_the_article(seeded):
    seeded.put([Article("long-word", "Kangaroo sighted", "Kangaroo " + "k" * 200_000 + " Kangaroo", "en")])
    hit = next(h for h in seeded.search(SearchRequest("Kangaroo", meaning=False)).results if h.id == "long-word")
    assert "<mark>Kangaroo</mark>" in hit.snippet and len(hit.snippet) < 1000
