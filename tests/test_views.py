"""The HTML pages without JavaScript: server-rendered, shareable URLs."""

import re

AR = "002_b3527174807ffdab"


def text(response) -> str:
    return response.get_data(as_text=True)


def test_empty_page_has_a_labelled_search_box_and_opensearch(client):
    html = text(client.get("/"))
    assert '<label for="q">' in html and 'id="q" name="q"' in html
    assert 'rel="search" type="application/opensearchdescription+xml"' in html
    xml = text(client.get("/opensearch.xml"))
    assert "http://localhost/?q={searchTerms}" in xml


def test_results_page_marks_words_and_sets_direction_per_result(client):
    html = text(client.get("/?q=2500"))
    assert "6 results" not in html and "5 results" in html
    assert html.count('dir="rtl"') == 2 and 'lang="ar"' in html
    assert "<mark>2.500</mark>" in html and "<mark>2500</mark>" in html


def test_facet_and_page_links_keep_the_query(client):
    html = text(client.get("/?q=2500&per_page=2"))
    assert 'href="/?q=2500&amp;lang=ar&amp;per_page=2"' in html
    assert 'rel="next" href="/?q=2500&amp;page=2&amp;per_page=2"' in html
    filtered = text(client.get("/?q=2500&per_page=2&lang=ar"))
    assert re.search(r'aria-current="true">\s*<bdi lang="ar">', filtered)
    assert "2 results" in filtered


def test_did_you_mean_and_no_results(client):
    html = text(client.get("/?q=Trupen"))
    assert 'Did you mean <a href="/?q=truppen"' in html
    assert "No articles match" in text(client.get("/?q=xqzvbnw"))


def test_a_query_error_is_shown_on_the_page_with_a_400(client):
    response = client.get("/?q=lang:klingon")
    assert response.status_code == 400
    assert 'class="error" role="alert"' in text(response) and "Unknown language" in text(response)


def test_article_page_shows_the_full_text_with_the_query_marked(client):
    html = text(client.get(f"/articles/{AR}?q=القوات"))
    assert 'dir="rtl"' in html and 'lang="ar"' in html
    assert "<mark>القوات</mark>" in html
    assert client.get("/articles/nope").status_code == 404


def test_hostile_article_is_inert_everywhere(client):
    for html in (text(client.get("/?q=troops")), text(client.get("/articles/xss?q=troops"))):
        assert "<script>" not in html and "<img" not in html and "<b onclick" not in html
        assert "&lt;script&gt;" in html
        assert "javascript:" not in html  # the unsafe url is never a link
        assert 'onmouseover=alert(1)"' not in html
    api = client.get("/api/search?q=troops").get_json()["results"][0]
    assert "<script>" not in api["snippet"] and "<mark>Troops</mark>" in api["snippet"]


def test_unknown_url_parameters_do_not_reach_links(client):
    for extra in ("endpoint=1", "_method=POST", "_external=1", "_anchor=x"):
        response = client.get(f"/?q=2500&per_page=2&{extra}", headers={"Host": "localhost:5000"})
        assert response.status_code == 200
        html = text(response)
        assert "localhost:5000" not in html and "#x" not in html
        assert 'href="/?q=2500&amp;page=2&amp;per_page=2"' in html


def test_ids_with_slashes_and_dot_segments_link_to_their_article(tmp_path):
    from search.engines.whoosh.index import Index
    from web import create_app

    from .conftest import write_jsonl

    write_jsonl(tmp_path / "a.jsonl", [{"id": "a/./b", "lang": "en", "title": "Dots", "body": "troops"},
                                       {"id": "../x", "lang": "en", "title": "Up", "body": "troops"}])
    Index(tmp_path / "ix").update([tmp_path / "a.jsonl"])
    client = create_app({"INDEX_DIR": str(tmp_path / "ix"), "RATE_LIMIT": ""}).test_client()
    links = re.findall(r'<h2><a href="([^"]+)"', text(client.get("/?q=troops")))
    assert sorted(links) == ["/articles/..%2Fx?q=troops", "/articles/a%2F.%2Fb?q=troops"]
    assert [client.get(link).status_code for link in links] == [200, 200]


def test_live_search_errors_come_as_a_fragment_and_bad_filters_are_not_kept(client):
    fragment = text(client.get("/?q=*&partial=1"))
    assert fragment.lstrip().startswith('<p class="error" role="alert">')
    page = text(client.get("/?q=Irak&lang=fr"))
    assert 'name="lang" value="fr"' not in page
    kept = text(client.get("/?q=Irak&source=CNN&per_page=5"))
    assert 'name="source" value="CNN"' in kept and 'name="per_page" value="5"' in kept


def test_without_an_index_clients_get_a_503_without_server_paths(tmp_path):
    from web import create_app

    client = create_app({"INDEX_DIR": str(tmp_path / "secret"), "RATE_LIMIT": ""}).test_client()
    for path in ("/api/search?q=x", "/healthz", "/?q=x"):
        response = client.get(path)
        assert response.status_code == 503 and b"secret" not in response.data


def test_result_titles_have_the_query_words_marked(client):
    html = text(client.get("/?q=Militärpräsenz"))
    assert re.search(r"<h2><a [^>]+>[^<]*<mark>Militärpräsenz</mark>", html)


def test_an_active_filter_is_shown_and_can_be_removed_and_says_what_other_languages_have(client):
    html = text(client.get("/?q=troepen&lang=de"))
    assert 'class="filters"' in html and '<bdi lang="de">Deutsch</bdi>' in html
    assert 'href="/?q=troepen" aria-label="Show every language"' in html
    assert "No articles in <bdi lang=\"de\">Deutsch</bdi> match" in html and ">1 in every language</a>" in html
    assert 'class="filters"' not in text(client.get("/?q=troepen"))


def test_back_to_results_keeps_the_query_filter_and_page(client):
    html = text(client.get("/?q=2500&lang=ar&per_page=1&page=2"))
    link = re.search(r'<h2><a href="(/articles/[^"]+)"', html).group(1).replace("&amp;", "&")
    assert link.endswith("?q=2500&lang=ar&page=2&per_page=1")
    article = text(client.get(link))
    assert '<a href="/?q=2500&amp;lang=ar&amp;page=2&amp;per_page=1">‹ Back to results</a>' in article
