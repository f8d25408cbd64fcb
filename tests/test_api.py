"""The JSON API: shape (checked against our OpenAPI document), errors, CORS."""

import jsonschema
import pytest

from web import create_app

DE_PLAN = "001_c8f3a0fc2298736b"


@pytest.fixture(scope="module")
def spec(app):
    return app.test_client().get("/openapi.json").get_json()


def check(spec, schema: str, data) -> None:
    """Validate a response body against a schema of the OpenAPI document."""
    resolver = {"components": spec["components"], "$ref": f"#/components/schemas/{schema}"}
    jsonschema.validate(data, resolver)


def test_search_returns_ranked_marked_results_matching_the_openapi_document(client, spec):
    response = client.get("/api/search?q=Truppen")
    assert response.status_code == 200
    data = response.get_json()
    check(spec, "SearchResponse", data)
    assert data["results"][0]["id"] == DE_PLAN
    assert "<mark>Truppen</mark>" in data["results"][0]["snippet"]
    by_words = [hit for hit in data["results"] if not hit["by_meaning"]]
    assert [hit["lang"] for hit in by_words] == ["de", "de"] and data["results"][:2] == by_words
    # the story in the other languages (test_meaning.py has the details)
    assert {"ar", "nl"} <= {other["lang"] for other in data["results"][0]["also_in"]}
    assert data["facets"]["lang"]["de"] == 2
    assert data["took_ms"] >= 0


def test_related_articles_are_the_same_story_in_other_languages(client, spec):
    data = client.get(f"/api/articles/{DE_PLAN}/related").get_json()
    check(spec, "Related", data)
    assert data["by_meaning"] and {c["lang"] for c in data["counterparts"]} == {"ar", "nl"}
    assert DE_PLAN not in {r["id"] for r in data["related"]} and len(data["related"]) == 5
    missing = client.get("/api/articles/nope/related")
    assert missing.status_code == 404
    check(spec, "Error", missing.get_json())


def test_search_filters_pages_and_suggestions(client, spec):
    data = client.get("/api/search?q=2500&lang=ar&per_page=1&page=2").get_json()
    check(spec, "SearchResponse", data)
    assert data["total"] == 2 and data["page"] == 2 and len(data["results"]) == 1
    assert data["results"][0]["lang"] == "ar"
    assert data["facets"]["lang"] == {"ar": 2, "de": 2, "nl": 1}
    assert client.get("/api/search?q=Trupen").get_json()["suggestion"] == "truppen"


def test_article_by_id_and_404(client, spec):
    data = client.get(f"/api/articles/{DE_PLAN}").get_json()
    check(spec, "Article", data)
    assert data["lang"] == "de" and "origin" not in data
    missing = client.get("/api/articles/../../etc/passwd")
    assert missing.status_code == 404
    check(spec, "Error", missing.get_json())


@pytest.mark.parametrize(
    "query, code",
    [
        ("q=", "empty_query"),
        ("", "empty_query"),
        ("q=" + "x" * 501, "query_too_long"),
        ("q=x&page=0", "bad_page"),
        ("q=x&page=abc", "bad_page"),
        ("q=x&per_page=51", "bad_per_page"),
        ("q=x&lang=klingon", "bad_lang"),
        ("q=*", "empty_query"),
        ("q=lang:xx9", "bad_query"),
        ("q=x&page=100000&per_page=50", "page_too_deep"),
        ("q=x&page=21&per_page=50", "page_too_deep"),
    ],
)
def test_bad_requests_are_json_400s_with_a_message(client, spec, query, code):
    response = client.get(f"/api/search?{query}")
    assert response.status_code == 400
    data = response.get_json()
    check(spec, "Error", data)
    assert data["error"]["code"] == code and data["error"]["message"]


def test_openapi_documents_every_api_path(spec):
    assert set(spec["paths"]) == {"/api/search", "/api/articles", "/api/articles/{id}", "/api/articles/{id}/related", "/healthz"}
    jsonschema.Draft202012Validator.check_schema(spec["components"]["schemas"]["SearchResponse"])


def test_health(client, spec):
    data = client.get("/healthz").get_json()
    check(spec, "Health", data)
    assert data["status"] == "ok" and data["documents"] == 6


def test_a_search_stopped_in_a_worker_is_charged_to_the_client(web_index):
    from flask import g

    from web.data import search_data
    from web.errors import RequestError

    app = create_app({"INDEX_DIR": str(web_index.path), "WORKERS": 1, "SEARCH_SECONDS": 0.0})
    try:
        with app.test_request_context("/api/search?q=Irak"):
            with pytest.raises(RequestError):  # stopped at once: its deadline has passed
                search_data({"q": "Irak"})
            assert g.get("search_seconds", 0.0) > 0
    finally:
        app.extensions["engine"].close()


def test_an_engine_out_of_reach_is_a_503_to_retry_that_names_no_host():
    client = create_app({"INDEX_DIR": "opensearch+http://127.0.0.1:9/articles"}).test_client()  # nothing listens
    response = client.get("/api/search?q=Irak")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.get_json()["error"]["code"] == "unavailable" and "127.0.0.1" not in response.get_data(as_text=True)
    assert client.get("/?q=Irak").status_code == 503
    assert client.get("/healthz").status_code == 503


def test_health_without_an_index_is_503(tmp_path):
    response = create_app({"INDEX_DIR": str(tmp_path)}).test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["status"] == "unavailable"


def test_cors_allows_any_origin_by_default(client):
    response = client.get("/api/search?q=Truppen", headers={"Origin": "https://example.org"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_cors_allow_list_is_honoured_exactly(web_index):
    client = create_app({"INDEX_DIR": str(web_index.path), "CORS_ORIGINS": "https://news.example, https://b.example"}).test_client()
    allowed = client.get("/api/search?q=Truppen", headers={"Origin": "https://news.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://news.example"
    assert "Origin" in allowed.headers["Vary"]
    for origin in ("https://evil.example", "https://news.example.evil", "http://news.example"):
        denied = client.get("/api/search?q=Truppen", headers={"Origin": origin})
        assert "Access-Control-Allow-Origin" not in denied.headers


def test_security_headers_forbid_framing_except_the_embed_page(client):
    page = client.get("/?q=Truppen")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    embed = client.get("/embed")
    assert "frame-ancestors *" in embed.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in embed.headers


def test_clients_over_the_rate_limit_get_429_with_retry_after(web_index, spec):
    app = create_app({"INDEX_DIR": str(web_index.path), "RATE_LIMIT": "3 per minute"})
    client = app.test_client()
    statuses = [client.get(url).status_code for url in ("/api/search?q=a", "/?q=b", "/articles/xss", "/healthz", "/static/style.css")]
    assert statuses == [200, 200, 200, 200, 200]  # health and static files do not count
    limited = client.get("/api/search?q=Truppen")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    check(spec, "Error", limited.get_json())
    assert client.get("/?q=Truppen").status_code == 429
    other = app.test_client()
    assert other.get("/api/search?q=Truppen", environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 200


def test_request_size_is_limited(client):
    assert client.get("/api/search?q=Truppen", data=b"x" * 100_000).status_code == 413


def test_trusted_hosts_setting_adds_names_and_subdomains(web_index):
    client = create_app({"INDEX_DIR": str(web_index.path), "ALLOWED_HOSTS": "news.example, .example.org"}).test_client()
    for host in ("news.example:8080", "a.example.org", "example.org", "[::1]:5000", "LOCALHOST"):
        assert client.get("/healthz", headers={"Host": host}).status_code == 200, host
    for host in ("example.org.evil.example", "news.example.evil", "evil.example", "", "news.example@evil.example"):
        assert client.get("/healthz", headers={"Host": host}).status_code == 400, host


def test_forwarded_scheme_must_be_http(web_index):
    client = create_app({"INDEX_DIR": str(web_index.path), "TRUSTED_PROXIES": 1}).test_client()
    assert client.get("/embed", headers={"X-Forwarded-Proto": "https"}).status_code == 200
    response = client.get("/embed", headers={"X-Forwarded-Proto": "javascript"})
    assert response.status_code == 400 and b"javascript" not in response.data


def test_a_public_url_must_be_an_http_address(web_index):
    from web.settings import SettingError

    with pytest.raises(SettingError, match="SEARCH_PUBLIC_URL must be an http"):
        create_app({"INDEX_DIR": str(web_index.path), "PUBLIC_URL": "search.example.org"})


def test_every_setting_is_in_the_readme():
    from web.settings import SETTINGS

    from .conftest import ROOT

    readme = (ROOT / "README.md").read_text("utf-8")
    assert [s.env for s in SETTINGS if f"| `{s.env}` |" not in readme] == []


def test_every_setting_is_in_serve_help_and_the_api_states_the_limits_it_is_served_with(web_index):
    from web.settings import SETTINGS

    from .conftest import search_command

    shown = search_command("serve", "--help").stdout
    assert [s.env for s in SETTINGS if s.env not in shown] == []
    app = create_app({"INDEX_DIR": str(web_index.path), "MAX_PER_PAGE": 20, "MAX_QUERY_CHARS": 300})
    spec = app.test_client().get("/openapi.json").get_json()
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    assert params["per_page"]["maximum"] == 20 and params["q"]["maxLength"] == 300
    assert app.test_client().get("/api/search?q=Irak&per_page=21").status_code == 400


def test_a_language_may_be_named_as_in_the_cli_and_the_query_syntax(client):
    by_code = client.get("/api/search?q=Truppen&lang=de").get_json()
    assert by_code["total"] == 2
    for name in ("Deutsch", "german", "DE"):
        assert client.get(f"/api/search?q=Truppen&lang={name}").get_json()["results"] == by_code["results"]


def test_titles_are_marked_and_a_half_typed_word_is_completed_while_typing(client, spec):
    data = client.get("/api/search?q=Militärpräsenz").get_json()
    check(spec, "SearchResponse", data)
    assert "<mark>Militärpräsenz</mark>" in data["results"][0]["title_html"]
    assert client.get("/api/search?q=Militärpr").get_json()["total"] == 0
    typing = client.get("/api/search?q=Militärpr&typing=1").get_json()
    assert typing["total"] == 1 and typing["suggestion"] is None
    assert "<mark>Militärpräsenz</mark>" in typing["results"][0]["snippet"]
