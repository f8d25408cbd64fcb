"""Publication dates and sources: dates read at indexing, sorted and
filtered by, counted by period, and shown in each article's language;
sources shown by name and filtered by (library, CLI, API and page)."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from search.dates import between, by_period, date_filters, parse
from search.errors import BadQuery
from search.sources import clean_name
from search.engines.whoosh.index import Index
from search.engines.whoosh.searching import search

from .conftest import UNLIMITED, search_command, write_jsonl

DATED = [
    {"id": "en-june", "lang": "en", "date": "Thu, 27 Jun 2019 16:17:49 +0200", "source": "bbc.co.uk", "title": "Mosul rebuilt",
     "body": "Mosul rebuilds its old city after the war."},
    {"id": "en-2015", "lang": "en", "date": "2015-08-03 21:18:16", "source": "bbc.co.uk", "source_name": "BBC News",
     "title": "Mosul under siege",
     "body": "The siege of Mosul enters its second year."},
    {"id": "de-2005", "lang": "de", "date": "2005-12-01", "title": "Wahl in Mosul",
     "body": "In Mosul wurde gewählt."},
    {"id": "de-october", "lang": "de", "date": "30. Oktober 2019", "source": "www.derStandard.at", "title": "Mosul feiert",
     "body": "Mosul feiert die Eröffnung der Moschee."},
    {"id": "nl-october", "lang": "nl", "date": "Wed, 30 Oct 2019 15:14:33 +0100", "source": "feeds.nos.nl",
     "title": "Mosul heropend",
     "body": "De moskee van Mosul is heropend."},
    {"id": "nl-undated", "lang": "nl", "title": "Mosul zonder datum", "body": "Een artikel over Mosul."},
    {"id": "en-unreadable", "lang": "en", "date": "yesterday", "title": "Mosul yesterday",
     "body": "Something happened in Mosul."},
    {"id": "ar-digits", "lang": "ar", "date": "٣ أغسطس ٢٠١٥", "source": "al_riyadh", "title": "حصار الموصل",
     "body": "يدخل حصار الموصل عامه الثاني."},
]
MOSUL_NEWEST = ["nl-october", "de-october", "en-june", "en-2015", "de-2005"]


@pytest.fixture(scope="module")
def dated_index(tmp_path_factory) -> Index:
    folder = tmp_path_factory.mktemp("dated")
    write_jsonl(folder / "dated.jsonl", DATED)
    ix = Index(tmp_path_factory.mktemp("dated-ix"))
    ix.update([folder])
    return ix


@pytest.mark.parametrize("written, key, iso", [
    ("Thu, 27 Jun 2019 16:17:49 +0200", "2019-06-27T14:17:49Z", "2019-06-27T16:17:49+02:00"),
    ("2015-08-03 21:18:16", "2015-08-03T21:18:16Z", "2015-08-03T21:18:16+00:00"),  # no zone: UTC
    ("2005-12-01", "2005-12-01T00:00:00Z", "2005-12-01"),
    ("2019-06-01T10:00:00Z", "2019-06-01T10:00:00Z", "2019-06-01T10:00:00+00:00"),
    ("3 augustus 2015", "2015-08-03T00:00:00Z", "2015-08-03"),
    ("30. Oktober 2019, 14:05 Uhr", "2019-10-30T14:05:00Z", "2019-10-30T14:05:00+00:00"),
    ("October 30, 2019", "2019-10-30T00:00:00Z", "2019-10-30"),
    ("30.10.2019", "2019-10-30T00:00:00Z", "2019-10-30"),
    ("٣ أغسطس ٢٠١٥", "2015-08-03T00:00:00Z", "2015-08-03"),
    ("3 كانون الثاني 2020", "2020-01-03T00:00:00Z", "2020-01-03"),
    ("２０１９-06-01", "2019-06-01T00:00:00Z", "2019-06-01"),  # full-width digits
])
def test_dates_as_records_write_them_are_read(written, key, iso):
    published = parse(written)
    assert published is not None and (published.key, published.iso) == (key, iso)


@pytest.mark.parametrize("written", [
    "Sat, 01 Jan 0001 00:00:00 +0000", "Mon, 01 Jan 99 00:00:00 +0000",  # not 2001, not 1999
    "Thu, 27 Jun 2019 16:17:49 CEST",  # a zone by a name RFC 822 does not know: not UTC
    "yesterday", "2019", "31.02.2019", "Mon, 32 Jun 2019 10:00:00 +0000", "1 June 1066", "12345-01-01",
    "10/30/2019", "2019-06-01 and more", "x" * 1000,
])
def test_a_date_that_cannot_be_read_surely_gives_none_never_a_guess(written):
    assert parse(written) is None


def test_dates_are_shown_as_each_language_writes_them():
    published = parse("Wed, 30 Oct 2019 15:14:33 +0100")
    assert [published.shown(lang) for lang in ("en", "de", "nl", "ar", "und")] == [
        "30 October 2019", "30. Oktober 2019", "30 oktober 2019", "٣٠ أكتوبر ٢٠١٩", "2019-10-30"]


def test_date_filters_in_the_query_are_periods_and_comparisons():
    assert date_filters("Mosul date:2019-06") == ("Mosul ", between("2019-06", "2019-06"))
    text, wanted = date_filters("date:>2019-06-01 Mosul date:<=2019")
    assert text.split() == ["Mosul"] and (wanted.start, wanted.end) == ("2019-06-02T00:00:00Z", "2020-01-01T00:00:00Z")
    assert date_filters("date:2019-06-01..2019-06-30")[1] == between("2019-06-01", "2019-06-30")
    for bad in ("date:2019-13", "date:soon", "date:>", "date:2019-02-30"):
        with pytest.raises(BadQuery, match="is not a date"):
            date_filters(bad)
    for excluded in ("Mosul -date:2019", "Mosul NOT date:2019"):
        with pytest.raises(BadQuery, match="cannot be excluded"):
            date_filters(excluded)
    with pytest.raises(BadQuery, match="wrong way round"):
        between("2019-07", "2019-06")


def test_the_date_facet_counts_by_the_period_that_suits_the_span():
    assert by_period(Counter(["2019-06-01T00:00:00Z", "2019-06-03T10:00:00Z", "2019-06-03T11:00:00Z"])) == {
        "2019-06-01": 1, "2019-06-03": 2}
    assert by_period(Counter(["2019-01-01T00:00:00Z", "2019-06-03T00:00:00Z"])) == {"2019-01": 1, "2019-06": 1}
    assert by_period({"2005-12-01T00:00:00Z": 1, "2019-06-03T00:00:00Z": 2, "": 4}) == {"2005": 1, "2019": 2}
    assert by_period({"2019-05": 3, "2019-09": 1}) == {"2019-05": 3, "2019-09": 1}  # months, as OpenSearch counts


def test_newest_first_puts_the_latest_first_and_undated_last(dated_index):
    with dated_index.searcher() as s:
        ids = [hit.id for hit in search(s, "Mosul", sort="newest").results]
        assert ids[:5] == MOSUL_NEWEST and set(ids[5:]) == {"nl-undated", "en-unreadable"}
        assert [hit.id for hit in search(s, "Mosul").results] != ids  # relevance is the default
        with pytest.raises(BadQuery, match="sort must be one of"):
            search(s, "Mosul", sort="oldest")


def test_a_date_range_keeps_the_articles_published_in_it(dated_index):
    with dated_index.searcher() as s:
        since = search(s, "Mosul", dates=between("2019-06-01", None), sort="newest")
        assert [hit.id for hit in since.results] == MOSUL_NEWEST[:3] and since.total == 3
        assert {hit.id for hit in search(s, "Mosul date:2019-10").results} == {"nl-october", "de-october"}
        both = search(s, "Mosul date:2019", dates=between(None, "2019-06"))
        assert [hit.id for hit in both.results] == ["en-june"]
        assert search(s, "Mosul", dates=between("2020", None)).total == 0


def test_the_date_facet_narrows_down_from_years_to_months_to_days(dated_index):
    with dated_index.searcher() as s:
        assert search(s, "Mosul").facets["date"] == {"2005": 1, "2015": 1, "2019": 3}
        assert search(s, "Mosul date:2019").facets["date"] == {"2019-06": 1, "2019-10": 2}
        assert search(s, "Mosul date:2019-10").facets["date"] == {"2019-10-30": 2}
        assert search(s, "Mosul", lang="en").facets["date"] == {"2015": 1, "2019": 1}


def test_indexing_reports_the_dates_it_could_not_read(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    write_jsonl(folder / "dated.jsonl", DATED)
    result = search_command("index", str(folder), "--index-dir", str(tmp_path / "ix"), "--no-embeddings")
    assert result.returncode == 0, result.stderr
    assert re.search(r"dates not read: +1 article \(e\.g\. 'yesterday'\)", result.stdout)
    report = Index(tmp_path / "ix").update([folder], rebuild=True)
    assert report.undated == 1 and report.undated_examples == ["yesterday"]


@pytest.fixture(scope="module")
def dated_client(dated_index):
    from web import create_app

    return create_app({"INDEX_DIR": str(dated_index.path), "TESTING": True, **UNLIMITED}).test_client()


def test_the_api_sorts_by_date_filters_by_range_and_gives_each_date_as_iso(dated_client):
    data = dated_client.get("/api/search?q=Mosul&sort=newest&from=2019-06-01").get_json()
    assert [hit["id"] for hit in data["results"]] == MOSUL_NEWEST[:3]
    assert data["results"][0]["published"] == "2019-10-30T15:14:33+01:00"
    assert data["results"][0]["date"] == "Wed, 30 Oct 2019 15:14:33 +0100"  # as written
    assert data["facets"]["date"] == {"2019-06": 1, "2019-10": 2}
    undated = dated_client.get("/api/search?q=Mosul").get_json()["results"]
    assert {hit["id"]: hit["published"] for hit in undated}["en-unreadable"] == ""


@pytest.mark.parametrize("query, message", [
    ("q=Mosul&sort=oldest", "sort must be one of"), ("q=Mosul&from=2019-13", "is not a date"),
    ("q=Mosul&to=last+week", "is not a date"), ("q=Mosul+date:never", "is not a date"),
    ("q=Mosul&from=2019-07&to=2019-06", "wrong way round"),
])
def test_the_api_answers_a_bad_date_or_sort_with_a_400_that_says_why(dated_client, query, message):
    response = dated_client.get(f"/api/search?{query}")
    assert response.status_code == 400 and message in response.get_json()["error"]["message"]


def test_the_page_shows_dates_in_the_articles_language_sorts_and_filters_by_period(dated_client):
    page = dated_client.get("/?q=الموصل").get_data(as_text=True)
    assert '<time datetime="2015-08-03" lang="ar"><bdi>٣ أغسطس ٢٠١٥</bdi></time>' in page
    page = dated_client.get("/?q=Mosul").get_data(as_text=True)
    assert '<time datetime="2019-10-30T15:14:33+01:00" lang="nl"><bdi>30 oktober 2019</bdi></time>' in page
    assert '<bdi>30. Oktober 2019</bdi>' in page and "yesterday" in page  # unread: shown as written
    assert 'href="/?q=Mosul&amp;sort=newest"' in page
    assert re.search(r'href="/\?q=Mosul&amp;from=2019&amp;to=2019"[^>]*>\s*<time datetime="2019">2019</time> '
                     r'<span class="count">3</span>', page)
    filtered = dated_client.get("/?q=Mosul&from=2019&to=2019&sort=newest").get_data(as_text=True)
    assert filtered.count('class="hit"') == 3 and 'aria-label="Show every date"' in filtered
    assert filtered.index("30 oktober 2019") < filtered.index("27 June 2019")


def test_a_query_of_many_date_filters_is_refused_by_its_length_before_they_are_read(dated_index):
    with dated_index.searcher() as s:
        with pytest.raises(BadQuery, match="too long"):
            search(s, "Mosul " + "date:2019 " * 100_000)


@pytest.mark.parametrize("identifier, name", [
    ("feeds.nos.nl", "nos.nl"), ("www.derStandard.at", "derstandard.at"), ("https://www.telegraaf.nl/", "telegraaf.nl"),
    ("aleqtisadiya", "Aleqtisadiya"), ("al_riyadh", "Al Riyadh"), ("3alyoum", "3alyoum"), ("de.wikinews.org", "de.wikinews.org"),
])
def test_a_source_without_a_name_is_shown_in_a_clean_form(identifier, name):
    assert clean_name(identifier) == name


def test_sources_are_shown_by_the_name_a_record_gives_or_a_clean_form_and_filtered_by_identifier(dated_index):
    with dated_index.searcher() as s:
        results = search(s, "Mosul")
        assert {hit.id: hit.source_name for hit in results.results if hit.source} == {
            "en-june": "BBC News", "en-2015": "BBC News", "de-october": "derstandard.at", "nl-october": "nos.nl"}
        assert results.facets["source"] == {"bbc.co.uk": 2, "feeds.nos.nl": 1, "www.derStandard.at": 1}
        assert results.source_names == {"bbc.co.uk": "BBC News", "feeds.nos.nl": "nos.nl",
                                        "www.derStandard.at": "derstandard.at"}
        assert {hit.id for hit in search(s, "Mosul", source="BBC.co.uk").results} == {"en-june", "en-2015"}


def test_the_article_page_shows_the_source_by_name_and_the_date_in_the_articles_language(dated_client):
    page = dated_client.get("/articles/nl-october").get_data(as_text=True)
    assert "<bdi>nos.nl</bdi>" in page and "feeds.nos.nl" not in page
    assert '<time datetime="2019-10-30T15:14:33+01:00" lang="nl"><bdi>30 oktober 2019</bdi></time>' in page


def test_the_page_has_a_source_facet_with_readable_names(dated_client):
    page = dated_client.get("/?q=Mosul").get_data(as_text=True)
    facet = page[page.index('aria-label="Filter by source"'):]
    assert re.search(r'href="/\?q=Mosul&amp;source=feeds.nos.nl"[^>]*>\s*<bdi>nos.nl</bdi> <span class="count">1</span>', facet)
    assert '<bdi>BBC News</bdi> <span class="count">2</span>' in facet
    chosen = dated_client.get("/?q=Mosul&source=bbc.co.uk").get_data(as_text=True)
    assert chosen.count('class="hit"') == 2 and 'class="filter"><bdi>BBC News</bdi>' in chosen
    data = dated_client.get("/api/search?q=Mosul&source=feeds.nos.nl").get_json()
    assert [hit["source_name"] for hit in data["results"]] == ["nos.nl"] and data["source_names"]["bbc.co.uk"] == "BBC News"


def test_a_sources_name_is_the_one_its_articles_give_most_often_whatever_their_order():
    from search.sources import display_names

    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0]):
        given = [["NOS", "NOS Nieuws", "NOS Nieuws"][i] for i in order]
        assert display_names(["feeds.nos.nl"] * 3, given) == {"feeds.nos.nl": "NOS Nieuws"}


def test_a_query_with_date_filters_is_echoed_whole_and_its_suggestion_keeps_them(dated_index):
    with dated_index.searcher() as s:
        results = search(s, "Mosl date:2019")
        assert results.query == "Mosl date:2019" and results.suggestion == "mosul date:2019"


def test_a_columns_ranks_and_periods_are_those_of_its_sorted_values():
    """Newest first and the date facet rest on one sort of a column's
    distinct values: each value's place (greatest first) and its year, month
    and day are what sorting the values gives."""
    import random

    import numpy as np

    from search.engines.whoosh.searching import _Column

    rng = random.Random(3)
    values = [f"{rng.randint(2001, 2020)}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:00:00Z"
              for _ in range(3000)] + [""] * 5
    column = _Column(values)
    distinct = column.values
    newest_first = sorted(range(len(distinct)), key=distinct.__getitem__, reverse=True)
    assert np.argsort(column.rank()).tolist() == newest_first
    for width in (4, 7, 10):
        periods, of_code = column.cut(width)
        assert periods.tolist() == sorted({v[:width] for v in distinct})
        assert [periods[of_code[c]] for c in range(len(distinct))] == [v[:width] for v in distinct]
