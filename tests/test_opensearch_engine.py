"""The OpenSearch engine against a real two-node OpenSearch cluster
(tests/opensearch/cluster): what readers and writers see of it.

The cluster is the session's (conftest.opensearch: about 15 s to start,
skipped without Java and Maven); every test that writes has an index of
its own.
"""

from __future__ import annotations

import gzip
import itertools
import json
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from search.documents import Article
from search.engine import SearchRequest, open_engine
from search.engines.opensearch import aliases
from search.engines.opensearch.connection import parse_address
from search.engines.opensearch.lock import writer_lock
from search.errors import (
    BadQuery, EmptyQuery, EngineUnavailable, IndexBusy, IndexNotFound, QueryTooLong, SearchTimeout,
)
from search.limits import Deadline, Limits

pytestmark = pytest.mark.slow  # a real cluster (tests/opensearch) takes a while to start

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
GERMAN_SEEDS = {"000_7267d5031a40e129", "001_c8f3a0fc2298736b"}
ARABIC_SEEDS = {"002_b3527174807ffdab", "004_786ee55e18834587"}
DUTCH_SEED = "003_3692841fd95a15da"

MADE_UP = [
    {"id": "en-troops", "lang": "en", "source": "Reuters", "source_name": "Reuters News",
     "date": "Thu, 27 Jun 2019 16:17:49 +0200", "url": "https://example.com/troops",
     "title": "US troops to stay in Iraq", "body": "American troops will remain in Iraq, officials said on Thursday."},
    {"id": "en-border", "lang": "en", "source": "CNN", "date": "sometime last week",
     "title": "Troop movements near the border", "body": "Troops were seen moving towards the border."},
    {"id": "en-base", "lang": "en", "source": "CNN", "date": "2021-02-10",
     "title": "Troops leave a base", "body": "The last troops left the base in February."},
    {"id": "de-haus", "lang": "de", "source": "dw", "date": "3. August 2015",
     "title": "Neue Häuser in Berlin verkauft", "body": "Der Hausmarkt in Berlin wächst. Die Straße ist voll."},
    {"id": "xss", "lang": "en", "source": "<b>evil</b>", "title": "<script>alert('troops')</script> Hostile",
     "body": "Troops <script>alert('body')</script> and <b onclick=alert(2)>bold</b> text."},
]


@pytest.mark.parametrize("address, nodes, name", [
    ("http://localhost:9200/articles", [("localhost", 9200)], "articles"),
    ("http://127.0.0.1:1,127.0.0.1:2/news", [("127.0.0.1", 1), ("127.0.0.1", 2)], "news"),
    ("http://127.0.0.1:1,http://127.0.0.1:2/news/", [("127.0.0.1", 1), ("127.0.0.1", 2)], "news"),
    ("https://user:secret@search.example:443/a-1", [("search.example", 443)], "a-1"),
])
def test_addresses(address, nodes, name):
    parsed = parse_address(address)
    assert list(parsed.hosts) == nodes and parsed.name == name
    assert "secret" not in parsed.location and parsed.location.startswith("opensearch+http")


@pytest.mark.parametrize("address", ["localhost:9200/articles", "ftp://h:1/x", "http://h:9200/", "http://h:9200/News"])
def test_addresses_that_are_not(address):
    with pytest.raises(ValueError):
        parse_address(address)


@pytest.fixture(scope="module")
def cluster(opensearch) -> str:
    """The session's two-node cluster (conftest.opensearch), as an address
    of both nodes."""
    return ",".join(opensearch["urls"])


_names = (f"engine-test-{uuid.uuid4().hex[:8]}-{n}" for n in itertools.count())


@contextmanager
def _engine(cluster: str, **kwargs) -> Iterator:
    """An engine on an index of its own, removed afterwards (the cluster may
    be one given to the tests, see conftest.opensearch)."""
    engine = open_engine(f"opensearch+{cluster}/{next(_names)}", **kwargs)
    try:
        yield engine
    finally:
        found = engine.client.indices.get_alias(index=f"{engine.alias}-*", allow_no_indices=True)
        for name in found:  # its concrete indexes and its lock's
            engine.client.indices.delete(index=name, ignore_unavailable=True)
        engine.close()


def _articles(folder: Path, records: list[dict] = MADE_UP) -> Path:
    shutil.copytree(SEEDS, folder)
    (folder / "made-up.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return folder


@pytest.fixture(scope="module")
def engine(cluster, tmp_path_factory):
    """The seeds and the made-up articles, indexed once (read-only)."""
    with _engine(cluster) as built:
        report = built.update([_articles(tmp_path_factory.mktemp("corpus") / "articles")])
        assert report.added == 10 and report.rebuilt and not report.skipped
        yield built


def _ids(results) -> set[str]:
    return {hit.id for hit in results.results}


def test_a_german_word_finds_the_german_seeds_marked(engine):
    results = engine.search(SearchRequest("Streitkräfte"))
    assert _ids(results) == GERMAN_SEEDS
    assert results.facets["lang"] == {"de": 2}
    for hit in results.results:
        assert "<mark>Streitkräfte</mark>" in hit.snippet
        assert hit.by_meaning is False and hit.also_in == [] and hit.duplicates == []
    assert results.worker_seconds > 0


def test_words_side_by_side_rank_articles_with_all_of_them_first(engine):
    results = engine.search(SearchRequest("troops Thursday"))
    assert results.results[0].id == "en-troops"  # the only one with both words
    assert {"en-border", "en-base"} <= _ids(results)  # the others have one of them
    assert _ids(engine.search(SearchRequest("troops AND Thursday"))) == {"en-troops"}


def test_stemming_and_folding_find_other_forms(engine):
    assert _ids(engine.search(SearchRequest("Gespräch"))) == GERMAN_SEEDS  # Gespräche, Gesprächen
    assert "en-troops" in _ids(engine.search(SearchRequest("troop")))
    assert "de-haus" in _ids(engine.search(SearchRequest("Strasse")))  # Straße
    assert "de-haus" in _ids(engine.search(SearchRequest("hauser")))  # Häuser


@pytest.mark.parametrize("number", ["2500", "2.500", "2,500", "٢٥٠٠", "٢٬٥٠٠"])
def test_numbers_match_however_they_are_written(engine, number):
    results = engine.search(SearchRequest(number))
    assert _ids(results) == GERMAN_SEEDS | ARABIC_SEEDS | {DUTCH_SEED}
    assert any("<mark>2.500</mark>" in hit.snippet for hit in results.results)


@pytest.mark.parametrize("query", [
    "القُوّات الامريكيه",  # harakat, and ة written ه
    "اداره",  # إدارة without hamza, ة written ه
    "مستشفي",  # مستشفى with ي for ى
    "الأمريكية",
])
def test_arabic_letter_forms_find_the_arabic_seeds(engine, query):
    results = engine.search(SearchRequest(query))
    assert results.total and _ids(results) <= ARABIC_SEEDS
    assert set(results.facets["lang"]) == {"ar"}


def test_facets_count_languages_sources_and_dates(engine):
    results = engine.search(SearchRequest("troops"))
    assert {"en-troops", "en-border", "en-base", "xss"} <= _ids(results)
    assert results.facets["lang"]["en"] == 4
    assert results.facets["source"] == {"CNN": 2, "<b>evil</b>": 1, "Reuters": 1}
    assert results.facets["date"] == {"2019-06": 1, "2021-02": 1}  # by month over two years or less
    assert results.source_names["Reuters"] == "Reuters News"
    assert results.source_names["CNN"] == "CNN"
    hit = next(h for h in results.results if h.id == "en-troops")
    assert (hit.source, hit.source_name, hit.url) == ("Reuters", "Reuters News", "https://example.com/troops")
    assert hit.published == "2019-06-27T16:17:49+02:00"


def test_the_language_filter_keeps_the_language_facet_whole(engine):
    results = engine.search(SearchRequest("Irak", lang="nl"))
    assert _ids(results) == {DUTCH_SEED}
    assert results.facets["lang"] == {"de": 2, "nl": 1}
    assert _ids(engine.search(SearchRequest("lang:nl Irak"))) == {DUTCH_SEED}
    with pytest.raises(BadQuery):
        engine.search(SearchRequest("Irak", lang="xx"))


def test_sources_match_whatever_their_case(engine):
    assert _ids(engine.search(SearchRequest("troops", source="cnn"))) == {"en-border", "en-base"}
    assert _ids(engine.search(SearchRequest("troops source:reuters"))) == {"en-troops"}


def test_dates_filter_sort_and_count(engine):
    assert _ids(engine.search(SearchRequest("troops date:2019"))) == {"en-troops"}
    assert _ids(engine.search(SearchRequest("troops date:>2020-01-01"))) == {"en-base"}
    june = engine.search(SearchRequest("troops date:2019-06-01..2019-06-30"))
    assert _ids(june) == {"en-troops"} and june.facets["date"] == {"2019-06-27": 1}
    newest = engine.search(SearchRequest("troops", sort="newest"))
    order = [hit.id for hit in newest.results]
    assert order[:2] == ["en-base", "en-troops"]  # then the undated ones
    assert all(hit.score > 0 for hit in newest.results)
    with pytest.raises(BadQuery):
        engine.search(SearchRequest("troops date:2019-13"))


def test_phrases_keep_their_order(engine):
    assert _ids(engine.search(SearchRequest('"Amerikaanse troepen"'))) == {DUTCH_SEED}
    assert not engine.search(SearchRequest('"troepen Amerikaanse"')).total
    hit = engine.search(SearchRequest('„Amerikaanse troepen“')).results[0]
    assert "<mark>Amerikaanse</mark> <mark>troepen</mark>" in hit.snippet


def test_excluded_words_leave_their_articles_out(engine):
    assert _ids(engine.search(SearchRequest("Irak -Streitkräfte"))) == {DUTCH_SEED}
    assert _ids(engine.search(SearchRequest("Irak NOT Streitkräfte"))) == {DUTCH_SEED}


def test_wildcards_match_words_as_written(engine):
    results = engine.search(SearchRequest("Milit*"))
    assert GERMAN_SEEDS | {DUTCH_SEED} <= _ids(results)
    assert any("<mark>Militärs</mark>" in hit.snippet for hit in results.results)
    assert _ids(engine.search(SearchRequest("Hä?ser"))) == {"de-haus"}  # folded as written: häuser


def test_typing_reads_the_last_word_as_a_beginning(engine):
    assert _ids(engine.search(SearchRequest("Streitkr", typing=True))) == GERMAN_SEEDS
    assert not engine.search(SearchRequest("Streitkr ", typing=True)).total


def test_a_misspelling_gets_a_suggestion(engine):
    results = engine.search(SearchRequest("Irakk"))
    assert results.total == 0 and results.suggestion == "irak"


@pytest.mark.parametrize("query, error", [
    ("", EmptyQuery),
    ("   ", EmptyQuery),
    ("x" * 501, QueryTooLong),
    ("\ufdfa" * 30, QueryTooLong),  # 30 characters, 540 once normalized
    (" ".join(f"w{n}" for n in range(65)), BadQuery),
    ("lang:klingon troops", BadQuery),
    ("date:-troops", BadQuery),
])
def test_malformed_or_oversized_queries_are_refused_clearly(engine, query, error):
    with pytest.raises(error) as raised:
        engine.search(SearchRequest(query))
    assert str(raised.value)


@pytest.mark.parametrize("query", ['"unbalanced', "a (b", "))) AND OR NOT (((", "{\"query\": 1}", "x:y:z",
                                   "Irak AND", "* ?", "/regex/", "troops~2", "a^3", "\\"])
def test_odd_syntax_is_read_as_words(engine, query):
    try:
        engine.search(SearchRequest(query))
    except BadQuery as exc:
        assert type(exc) in (BadQuery, EmptyQuery)


def test_a_search_past_its_deadline_is_stopped(engine):
    with pytest.raises(SearchTimeout):
        engine.search(SearchRequest("troops"), Deadline(0.0))


def test_a_search_ends_at_its_deadline_even_while_the_cluster_highlights(cluster):
    """The cluster's own timeout covers its query phase only; highlighting
    long articles went on past it."""
    words = [f"w{n}" for n in range(5_000)]
    body = " ".join("Kangaroo" if n % 50 == 0 else words[n * 7919 % len(words)] for n in range(100_000))
    with _engine(cluster) as long_articles:
        long_articles.create()
        long_articles.put([Article(f"long-{n}", f"Kangaroo report {n}", body, "en") for n in range(40)])
        started = time.monotonic()
        assert long_articles.search(SearchRequest("Kangaroo", per_page=40), Deadline(30)).total == 40
        assert time.monotonic() - started > 0.6  # what the deadline below has to cut short
        started = time.monotonic()
        with pytest.raises(SearchTimeout):
            long_articles.search(SearchRequest("Kangaroo", per_page=40), Deadline(0.3))
        assert time.monotonic() - started < 0.6  # it was 0.8: the cluster answered 0.5 s late


def test_paging_limits(engine):
    with pytest.raises(BadQuery):
        engine.search(SearchRequest("troops", per_page=51))
    with pytest.raises(BadQuery):
        engine.search(SearchRequest("troops", page=101, per_page=10))
    with pytest.raises(BadQuery):
        engine.search(SearchRequest("troops", sort="oldest"))
    second = engine.search(SearchRequest("troops", page=2, per_page=2))
    assert second.total == 4 and len(second.results) == 2 and second.pages == 2


def test_results_are_safe_html(engine):
    hit = next(h for h in engine.search(SearchRequest("Hostile")).results if h.id == "xss")
    assert "<script>" not in hit.title_html and "&lt;script&gt;" in hit.title_html
    assert "<mark>Hostile</mark>" in hit.title_html
    assert "<script>" not in hit.snippet and "<b " not in hit.snippet


def test_article_and_its_marked_text(engine):
    article = engine.article("001_c8f3a0fc2298736b")
    assert article.lang == "de" and article.origin == "" and article.title.startswith("Der Irak")
    title, body = engine.marked(article, "Streitkräfte")
    assert "<mark>Streitkräfte</mark>" in title and "<mark>Streitkräfte</mark>" in body
    assert engine.marked(article, "nothingmatches") == engine.marked(article, "")
    assert "<mark>" not in engine.marked(article, "x" * 600)[1]
    assert engine.article("no-such-article") is None
    assert engine.related("001_c8f3a0fc2298736b") is None


def test_stats_health_and_source_names(engine):
    stats = engine.stats()
    assert stats.documents == 10
    assert stats.languages == {"ar": 2, "de": 3, "nl": 1, "en": 4}
    assert stats.size_bytes > 0 and stats.created and stats.updated and stats.path == engine.location
    health = engine.health()
    assert health.ok and health.documents == 10 and "cluster" in health.detail
    names = engine.source_names()
    assert names["Reuters"] == "Reuters News" and names["dw"] == "Dw" and names["CNN"] == "CNN"


def test_a_missing_index_or_cluster_is_said_so(cluster):
    with _engine(cluster) as missing:
        assert not missing.exists()
        with pytest.raises(IndexNotFound):
            missing.search(SearchRequest("troops"))
        with pytest.raises(IndexNotFound):
            missing.put([Article("a", "t", "b")])
        assert not missing.health().ok
    with open_engine("opensearch+http://127.0.0.1:9/news") as away:
        with pytest.raises(EngineUnavailable):
            away.search(SearchRequest("troops"))
        assert not away.health().ok


def test_create_makes_an_empty_searchable_index(cluster):
    with _engine(cluster) as empty:
        empty.create()
        empty.create()  # again: nothing to do
        assert empty.exists() and empty.stats().documents == 0
        results = empty.search(SearchRequest("troops"))
        assert results.total == 0 and results.facets == {"lang": {}, "source": {}, "date": {}}


def test_put_and_delete(cluster):
    with _engine(cluster) as writable:
        writable.create()
        posted = Article("posted", "Posted troops", "Troops were posted over HTTP.", lang="en", date="2020-05-01")
        assert writable.put([posted]).added == 1
        assert _ids(writable.search(SearchRequest("posted"))) == {"posted"}  # searchable on return
        assert writable.put([Article("posted", "Posted troops", "Troops were posted over HTTP.", lang="en",
                                     date="2020-05-01")]).unchanged == 1
        report = writable.put([Article("posted", "Posted again", "Changed.", lang="en")])
        assert report.updated == 1 and report.languages == {"en": 1}
        assert writable.article("posted").title == "Posted again"
        other = writable.put([Article("fr", "Le chômage baisse", "Le chômage baisse en France.", lang="fr")])
        assert other.languages == {"und": 1}  # a language none of ours: words as written
        assert _ids(writable.search(SearchRequest("chomage"))) == {"fr"}
        assert writable.delete(["posted", "never-there", "posted"]) == ["posted"]
        assert writable.delete(["posted"]) == []
        assert not writable.search(SearchRequest("posted")).total


def test_wildcards_standing_for_many_words_are_answered(cluster):
    """Matched as one set of articles (constant score), not word by word
    against the cluster's limit of 1,024 clauses, which three wildcards of
    a few dozen words each in every language's fields used to pass."""
    with _engine(cluster) as writable:
        writable.create()
        writable.put([Article("many", "Many words", " ".join(f"zz{n:04d} yy{n:04d} xx{n:04d}" for n in range(1500)),
                              lang="en")])
        results = writable.search(SearchRequest("zz* yy* xx*"))
        assert results.total == 1 and "<mark>" in results.results[0].snippet


def test_long_ids_are_kept(cluster):
    with _engine(cluster) as writable:
        writable.create()
        long_id = "مقال-" * 100  # 1,000 bytes of UTF-8: over OpenSearch's 512 for an _id
        writable.put([Article(long_id, "Long id", "An article with a long id.", lang="en")])
        assert writable.article(long_id).id == long_id
        assert [hit.id for hit in writable.search(SearchRequest("long id")).results] == [long_id]
        assert writable.delete([long_id]) == [long_id]


def test_update_removes_the_articles_of_a_deleted_file(cluster, tmp_path):
    folder = _articles(tmp_path / "articles")
    with _engine(cluster) as writable:
        assert writable.update([folder]).added == 10
        again = writable.update([folder])
        assert (again.added, again.updated, again.unchanged, again.removed) == (0, 0, 10, 0)
        assert not again.rebuilt
        (folder / f"{DUTCH_SEED}.txt").unlink()
        changed = dict(MADE_UP[0], body="American troops will leave Iraq.")
        (folder / "made-up.jsonl").write_text(
            "".join(json.dumps(r) + "\n" for r in [changed, *MADE_UP[1:4]]), "utf-8")  # xss left out
        report = writable.update([folder])
        assert (report.added, report.updated, report.removed, report.unchanged) == (0, 1, 2, 7)
        assert report.languages == {"en": 1}
        assert writable.article(DUTCH_SEED) is None and writable.article("xss") is None
        assert not writable.search(SearchRequest("Amerikaanse troepen")).total
        assert _ids(writable.search(SearchRequest("leave Iraq"))) >= {"en-troops"}


def test_unreadable_files_are_skipped_and_the_rest_indexed(cluster, tmp_path):
    folder = _articles(tmp_path / "articles")
    (folder / "broken.jsonl.gz").write_bytes(gzip.compress(b'{"id": "half", "title": "t", "body": "b"}\n')[:-12])
    (folder / "notes.pdf").write_bytes(b"%PDF-1.4")
    (folder / "dated.json").write_text(json.dumps({"id": "undated", "title": "Undated", "body": "b",
                                                   "date": "the day before"}), "utf-8")
    with _engine(cluster) as writable:
        report = writable.update([folder])
        skipped = {Path(path).name for path, _ in report.skipped}
        assert {"broken.jsonl.gz", "notes.pdf"} <= skipped
        assert report.added >= 11 and report.undated == 2
        assert "the day before" in report.undated_examples
        assert writable.stats().documents == report.added
        assert report.text_bytes > 0 and report.seconds > 0


def test_a_rebuild_swaps_the_alias_atomically_and_keeps_posted_articles(cluster, tmp_path):
    folder = _articles(tmp_path / "articles")
    with _engine(cluster) as writable:
        writable.update([folder])
        writable.put([Article("posted", "Posted troops", "Troops were posted over HTTP.", lang="en")])
        before = writable.health().detail
        problems: list[BaseException] = []
        totals: set[int] = set()
        done = threading.Event()

        def search_meanwhile() -> None:
            while not done.is_set():
                try:
                    totals.add(writable.search(SearchRequest("troops")).total)
                except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                    problems.append(exc)

        searcher = threading.Thread(target=search_meanwhile)
        searcher.start()
        try:
            report = writable.update([folder], rebuild=True)
        finally:
            done.set()
            searcher.join()
        assert report.rebuilt and report.added == 10 and report.unchanged == 1  # the posted one, carried
        assert not problems and totals == {5}  # every search saw a whole index, old or new
        assert writable.health().detail != before
        assert _ids(writable.search(SearchRequest("posted"))) == {"posted"}
        indexes = writable.client.indices.get_alias(index=f"{writable.alias}-*")
        assert [name for name in indexes if not name.endswith("-lock")] == [writable.health().detail.split()[-1]]


def test_an_interrupted_rebuild_leaves_the_old_index(cluster, tmp_path):
    folder = _articles(tmp_path / "articles")
    with _engine(cluster) as writable:
        writable.update([folder])
        before = writable.health().detail.split()[-1]  # the live index

        def interrupt(progress) -> None:
            if progress.phase == "reading" and progress.done:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            writable.update([folder], rebuild=True, on_progress=interrupt)
        assert writable.health().detail.split()[-1] == before
        assert writable.search(SearchRequest("troops")).total == 4
        indexes = writable.client.indices.get_alias(index=f"{writable.alias}-*")
        assert len([name for name in indexes if not name.endswith("-lock")]) == 1
        # What a rebuild killed outright leaves, the next writer removes.
        left = aliases.new_index(writable.client, writable.alias, 1, 0)
        writable.update([folder])
        assert not writable.client.indices.exists(index=left)
        assert writable.health().detail.split()[-1] == before


def test_one_writer_at_a_time(cluster):
    with _engine(cluster) as writable:
        writable.create()
        with writer_lock(writable.client, writable.alias, writable.location), pytest.raises(IndexBusy):
            writable.put([Article("a", "t", "b", lang="en")])
        assert writable.put([Article("a", "t", "b", lang="en")], wait=1.0).added == 1


def test_limits_are_the_engines(cluster):
    with _engine(cluster, limits=Limits(query_chars=10, per_page=5)) as limited:
        limited.create()
        with pytest.raises(QueryTooLong):
            limited.search(SearchRequest("troops troops"))
        with pytest.raises(BadQuery):
            limited.search(SearchRequest("troops", per_page=6))


def test_an_id_that_looks_like_a_hashed_one_is_an_article_of_its_own(cluster):
    import hashlib

    from search.engines.opensearch.articles import doc_key

    long_id = "L" * 500 + "é" * 10  # over 512 bytes: kept under "#" and its hash
    lookalike = "#" + hashlib.blake2b(long_id.encode(), digest_size=32).hexdigest()
    assert doc_key(long_id) != doc_key(lookalike)
    with _engine(cluster) as engine:
        engine.create()
        engine.put([Article(long_id, "Erstes Stück", "Ein Text.", "de"),
                    Article(lookalike, "Zweites Stück", "Ein Text.", "de")])
        assert engine.article(long_id).title == "Erstes Stück" and engine.article(lookalike).title == "Zweites Stück"
