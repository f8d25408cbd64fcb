"""Hostile and malformed input: any query string, any file, markup everywhere, paths."""

from __future__ import annotations

import gzip
import random
import time
import urllib.parse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search.documents import Article, FileRead, Skipped, read_articles
from search.errors import BadQuery, QueryTooLong
from search.engines.whoosh.index import Index
from search.limits import Limits
from search.engines.whoosh.searching import search

from .conftest import HUGE_PHRASE, XSS_ARTICLE, LiveServer, write_jsonl

SYNTAX = ['"', "(", ")", "*", "?", ":", "-", "^", "~", "AND", "OR", "NOT", "lang:", "source:", "title:", "\\", "'", "„", "“", "«"]
WORDS = ["Truppen", "القوات", "troepen", "2.500", "٢٥٠٠", "Irak", "die", "the"]
MARKS = ["\u200f", "\u200e", "\u202b", "\u202c", "\u200b", "\ufeff", "\x00", "\x1b", "\ud800", "\udfff", "\u0640", "\u064e"]

queries = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(SYNTAX + WORDS + MARKS + [" "]), max_size=40).map("".join),
    st.lists(st.sampled_from(SYNTAX + WORDS + [" "]), max_size=12).map(" ".join),
)


def answered(searcher, query: str, **kwargs) -> None:
    """A query either returns results or raises BadQuery with a message."""
    try:
        results = search(searcher, query, **kwargs)
    except BadQuery as exc:
        assert str(exc).strip()
    else:
        assert results.total >= len(results.results)
        for hit in results.results:
            assert "<script" not in hit.snippet


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=queries)
def test_any_query_is_answered_or_refused_with_a_message(searcher, query):
    answered(searcher, query)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=queries, lang=st.sampled_from([None, "ar", "de", "nl", "en", "und"]), page=st.integers(1, 5))
def test_any_query_with_filters_and_pages(searcher, query, lang, page):
    answered(searcher, query, lang=lang, page=page, per_page=2)


@pytest.mark.parametrize(
    "query",
    [
        "x" * 100_000,
        "(" * 500 + "Truppen" + ")" * 500,
        "(" * 5000,
        '"' * 999,
        " OR ".join(["Truppen"] * 400),
        " AND ".join(["Truppen"] * 400),
        "NOT " * 200 + "Truppen",
        "*",
        "**",
        "*:*",
        "?*",
        "\ud800\udc00Truppen",
        "Truppen\x00",
        "lang:" + "a" * 1000,
    ],
)
def test_extreme_queries_are_bounded(searcher, query):
    answered(searcher, query)


file_bytes = st.one_of(
    st.binary(max_size=2000),
    st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.text(max_size=500).map(lambda t: t.encode("utf-16")),
    st.lists(st.text(max_size=50), max_size=10).map(lambda ls: "\n".join(ls).encode("utf-8", "surrogatepass")),
)


@settings(max_examples=300, deadline=None)
@given(data=file_bytes, suffix=st.sampled_from([".txt", ".md", ".json", ".jsonl", ".txt.gz", ".jsonl.gz", ".bin"]),
       compress=st.booleans())
def test_any_bytes_as_a_file_are_read_or_skipped_with_a_reason(tmp_path_factory, data, suffix, compress):
    folder = tmp_path_factory.mktemp("fuzz")
    if suffix.endswith(".gz") and compress:
        data = gzip.compress(data)
    (folder / f"file{suffix}").write_bytes(data)
    items = list(read_articles([folder]))
    for item in items:
        assert isinstance(item, (Article, Skipped, FileRead))
        if isinstance(item, Skipped):
            assert item.reason
        if isinstance(item, Article):
            assert item.id and (item.title or item.body)


def test_hostile_sources_urls_and_queries_are_inert_on_every_page(client):
    hostile_query = "\"><script>alert('q')</script> troops"
    for path in (f"/?q={hostile_query}", f"/articles/xss?q={hostile_query}", "/?q=troops", "/articles/xss"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>alert" not in html and "<img src=x" not in html
        assert 'href="javascript' not in html
    api = client.get("/api/search", query_string={"q": hostile_query}).get_json()
    hit = next(h for h in api["results"] if h["id"] == "xss")
    assert hit["source"] == XSS_ARTICLE["source"]  # data is returned as it is; pages escape it
    assert "<script>" not in hit["snippet"]


@pytest.mark.parametrize(
    "path",
    ["/articles/../../etc/passwd", "/articles/..%2F..%2Fetc%2Fpasswd", "/api/articles/%2E%2E%2Fsetup.cfg",
     "/static/../search/index.py", "/static/%2e%2e/%2e%2e/setup.cfg", "/widget.js/../../setup.cfg"],
)
def test_path_like_parameters_cannot_reach_files(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert b"[metadata]" not in response.data and b"import" not in response.data


# Queries crafted to cost: every one must end within its deadline plus a little.

@pytest.fixture(scope="module")
def many_words_index(tmp_path_factory) -> Index:
    """2,000 articles over a vocabulary of 30,000 made-up words in two
    scripts: the work a spelling suggestion or a wildcard does grows with the
    vocabulary, and here it is large enough to show it."""
    rng = random.Random(9)
    latin, arabic = "abcdefghijklmnopqrstuvwxyz", "ابتثجحخدذرزسشصضطظعغفقكلمنهوي"
    vocabulary = ["".join(rng.choice(letters) for _ in range(rng.randint(3, 12)))
                  for letters in (latin, arabic) for _ in range(15_000)]
    folder = tmp_path_factory.mktemp("many-words")
    write_jsonl(folder / "a.jsonl", [
        {"id": str(i), "lang": "en" if i % 2 else "ar", "title": " ".join(rng.sample(vocabulary, 5)),
         "body": " ".join(rng.sample(vocabulary, 120))}
        for i in range(2000)
    ])
    ix = Index(tmp_path_factory.mktemp("many-words-ix"))
    ix.update([folder])
    return ix


CRAFTED = {
    "ligatures that normalize to 487 letters": "ا" + "\ufdfa" * 27,
    "a word of 500 letters": "a" * 500,
    "62 unknown words OR-ed": " OR ".join(f"qz{i}xv" for i in range(62)),
    "64 unknown words": " ".join(f"zq{i}vx" for i in range(64)),
    "a wildcard over a common start": "ab*",
    "a wildcard that must test every word of its start": "a?*q",
    "a phrase of rare words with a huge slop": '"' + " ".join(f"qq{i}" for i in range(60)) + '"~100000',
    "nested brackets": "(" * 240 + "Truppen" + ")" * 240,
}


def assert_costs_at_most_its_deadline(index, query: str) -> None:
    """The search stops (or is refused, with a message) within its deadline, and a little."""
    limits = Limits(seconds=1.0)
    with index.searcher() as s:
        started = time.perf_counter()
        try:
            search(s, query, limits=limits)
        except BadQuery as exc:
            assert str(exc)
        took = time.perf_counter() - started
    assert took < limits.seconds + 1.0, f"{took:.1f} s"


@pytest.mark.parametrize("query", CRAFTED.values(), ids=CRAFTED.keys())
def test_a_crafted_query_costs_at_most_its_deadline(many_words_index, query):
    assert_costs_at_most_its_deadline(many_words_index, query)


def test_limits_hold_after_normalization(searcher):
    """U+FDFA is one character that NFKC turns into eighteen letters."""
    with pytest.raises(QueryTooLong, match="once normalized"):
        search(searcher, "ا" + "\ufdfa" * 499)
    with pytest.raises(QueryTooLong):
        search(searcher, "\ufdfa" * 28, limits=Limits(query_chars=500))
    search(searcher, "\ufdfa" * 27)  # 486 letters: accepted


def test_the_deadline_reaches_search_worker_processes(web_index):
    server = LiveServer(web_index.path, env={"SEARCH_WORKERS": "2", "SEARCH_SECONDS": "0.000001"})
    try:
        status, data = server.json("/api/search?q=Truppen")
    finally:
        server.stop()
    assert status == 400 and data["error"]["code"] == "search_timeout"


# Hostile articles and hostile queries together: work that grows with an
# article's length must stay under the deadline too.

def test_a_phrase_over_huge_articles_costs_at_most_its_deadline(huge_articles_index):
    assert_costs_at_most_its_deadline(huge_articles_index, HUGE_PHRASE)


def test_an_article_page_with_a_crafted_query_costs_at_most_the_deadline(huge_articles_index):
    server = LiveServer(huge_articles_index.path, env={"SEARCH_SECONDS": "1"})
    try:
        started = time.perf_counter()
        status, _, body = server.get("/articles/huge0?" + urllib.parse.urlencode({"q": HUGE_PHRASE}))
        took = time.perf_counter() - started
    finally:
        server.stop()
    assert took < 2.0, f"{took:.1f} s"
    assert status == 200 and b"war war war" in body  # the article is shown, its words unmarked past the deadline
