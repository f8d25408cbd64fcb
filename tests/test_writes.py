"""Writing articles over HTTP: keys, POST/PUT/DELETE on a real index, per-
record errors, one writer at a time, and writes seen by every search worker
of a real server under load."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import threading
import urllib.parse
import urllib.request

import jsonschema
import pytest

import web.writes
from search.documents import Article
from search.engines.whoosh.index import Index
from search.keys import Keys

from .conftest import ROOT, SEEDS, UNLIMITED, LiveServer, search_command, write_jsonl

SEED_ID = "000_7267d5031a40e129"
NEW = {"id": "posted-1", "lang": "en", "source": "newsroom", "date": "2026-12-03", "title": "Harbour reopens in Mosul",
       "body": "The harbour of Mosul reopened on Thursday after repairs."}


@pytest.fixture
def writable(tmp_path):
    """A fresh index of the seeds, a write key, and the app over them."""
    from web import create_app

    ix = Index(tmp_path / "ix")
    ix.update([SEEDS])
    _, secret = Keys(ix.path).create("tests")
    app = create_app({"INDEX_DIR": str(ix.path), "TESTING": True, **UNLIMITED})
    return ix, app.test_client(), {"Authorization": f"Bearer {secret}"}


def found(client, query: str) -> list[str]:
    return [hit["id"] for hit in client.get(f"/api/search?q={urllib.parse.quote(query)}").get_json()["results"]]


def check(client, schema: str, data) -> None:
    spec = client.get("/openapi.json").get_json()
    jsonschema.validate(data, {"components": spec["components"], "$ref": f"#/components/schemas/{schema}"})


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer not-a-key"}, {"Authorization": "Basic dXNlcjpwYXNz"}])
def test_a_write_without_a_valid_key_is_401_and_writes_nothing(writable, headers):
    ix, client, _ = writable
    response = client.post("/api/articles", json=NEW, headers=headers)
    assert response.status_code == 401 and "key" in response.get_json()["error"]["message"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert client.delete(f"/api/articles/{SEED_ID}", headers=headers).status_code == 401
    assert found(client, "harbour") == [] and ix.stats().documents == 5


def test_posted_updated_and_deleted_articles_are_searchable_at_once(writable):
    _, client, key = writable
    response = client.post("/api/articles", json=NEW, headers=key)
    assert response.status_code == 200 and response.get_json()["added"] == 1
    check(client, "WriteResult", response.get_json())
    assert found(client, "harbour") == ["posted-1"]
    hit = client.get("/api/search?q=harbour").get_json()["results"][0]
    assert hit["published"] == "2026-12-03" and "<mark>harbour</mark>" in hit["snippet"].lower()

    changed = {**NEW, "title": "Airport reopens in Mosul", "body": "The airport of Mosul reopened."}
    response = client.put("/api/articles/posted-1", json=changed, headers=key)
    assert response.get_json()["updated"] == 1
    assert found(client, "harbour") == [] and found(client, "airport") == ["posted-1"]

    response = client.delete("/api/articles/posted-1", headers=key)
    assert response.status_code == 200 and response.get_json() == {"deleted": "posted-1"}
    check(client, "Deleted", response.get_json())
    assert found(client, "airport") == []
    assert client.delete("/api/articles/posted-1", headers=key).status_code == 404


def test_many_articles_as_an_array_or_json_lines_with_bad_records_answered_one_by_one(writable):
    ix, client, key = writable
    records = [{**NEW, "id": f"many-{n}"} for n in range(3)]
    bad = [{"title": "no id"}, {"id": "long", "title": "x" * 1_000_001}, {**NEW, "id": "many-0"}, "not an object"]
    response = client.post("/api/articles", json=records + bad, headers=key)
    data = response.get_json()
    assert response.status_code == 200 and data["added"] == 3 and data["ids"] == ["many-0", "many-1", "many-2"]
    assert [(e["index"], e["message"][:20]) for e in data["errors"]] == [
        (3, "an article needs an "), (4, "title and body longe"), (5, "the same id is earli"), (6, "not a JSON object bu")]
    lines = "".join(json.dumps({**NEW, "id": f"line-{n}"}) + "\n" for n in range(2))
    response = client.post("/api/articles", data=lines, headers={**key, "Content-Type": "application/x-ndjson"})
    assert response.get_json()["added"] == 2 and ix.stats().documents == 5 + 5
    assert client.post("/api/articles", json=bad[:1], headers=key).status_code == 400  # nothing could be written


@pytest.mark.parametrize("body, message", [
    ("", "has no articles"), ("{not json", "neither JSON nor JSON Lines"), ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_a_body_that_is_not_articles_is_a_400_that_says_why(writable, body, message):
    _, client, key = writable
    response = client.post("/api/articles", data=body, headers={**key, "Content-Type": "application/json"})
    assert response.status_code == 400 and message in response.get_json()["error"]["message"]


def test_a_put_whose_body_names_another_id_or_whose_id_has_spaces_around_is_refused(writable):
    _, client, key = writable
    response = client.put("/api/articles/one", json={**NEW, "id": "two"}, headers=key)
    assert response.status_code == 400 and "not the one in the URL" in response.get_json()["error"]["message"]
    response = client.put("/api/articles/sp%20", json={k: v for k, v in NEW.items() if k != "id"}, headers=key)
    assert response.status_code == 400 and "spaces" in response.get_json()["error"]["message"]
    assert client.put("/api/articles/5", json={**NEW, "id": 5}, headers=key).status_code == 200  # as POST reads ids


def test_json_lines_are_read_as_files_are_a_bom_and_line_separators_inside_strings_included(writable):
    _, client, key = writable
    lines = "\ufeff" + "".join(json.dumps({**NEW, "id": f"sep-{n}", "body": "one\u2028two harbour"}, ensure_ascii=False) + "\n"
                               for n in range(2))
    response = client.post("/api/articles", data=lines.encode(), headers={**key, "Content-Type": "application/x-ndjson"})
    assert response.status_code == 200 and response.get_json()["added"] == 2


def test_a_revoked_key_writes_no_more(writable):
    ix, client, key = writable
    keys = Keys(ix.path)
    keys.revoke(keys.all()[0].id)
    assert client.post("/api/articles", json=NEW, headers=key).status_code == 401


def test_while_another_writer_holds_the_index_a_write_is_503_with_retry_after(writable, monkeypatch):
    ix, client, key = writable
    monkeypatch.setattr(web.writes, "WRITE_WAIT_SECONDS", 0.2)
    with ix._write_lock():  # what a `search index` run holds
        response = client.post("/api/articles", json=NEW, headers=key)
    assert response.status_code == 503 and response.headers["Retry-After"] == "10"
    assert str(ix.path) not in response.get_json()["error"]["message"]
    assert client.post("/api/articles", json=NEW, headers=key).status_code == 200  # once it is free


def test_posted_articles_survive_indexing_runs_and_rebuilds(writable, tmp_path):
    ix, client, key = writable
    client.post("/api/articles", json=NEW, headers=key)
    folder = tmp_path / "more"
    folder.mkdir()
    write_jsonl(folder / "more.jsonl", [{"id": "file-1", "lang": "en", "title": "Harbour news", "body": "A harbour."}])
    ix.update([SEEDS, folder])
    assert set(found(client, "harbour")) == {"posted-1", "file-1"}
    assert search_command("index", str(SEEDS), "--rebuild", "--index-dir", str(ix.path), "--no-embeddings").returncode == 0
    assert set(found(client, "harbour")) == {"posted-1"}  # the file's article went with its folder; the posted one stays


def test_the_cli_makes_lists_and_revokes_keys_and_keeps_only_their_hashes(tmp_path):
    made = search_command("keys", "create", "--name", "newsroom", "--index-dir", str(tmp_path))
    secret = made.stdout.strip()
    assert made.returncode == 0 and len(secret) >= 40
    stored = (tmp_path / "keys.json").read_text()
    assert secret not in stored and (tmp_path / "keys.json").stat().st_mode & 0o077 == 0
    listed = search_command("keys", "list", "--index-dir", str(tmp_path)).stdout
    assert "newsroom" in listed and secret not in listed
    key_id = listed.split()[0]
    assert search_command("keys", "revoke", key_id, "--index-dir", str(tmp_path)).returncode == 0
    assert Keys(tmp_path).allows(secret) is None
    assert search_command("keys", "revoke", key_id, "--index-dir", str(tmp_path)).returncode != 0


def test_writes_are_seen_by_every_search_worker_under_four_readers_with_no_failed_request(tmp_path):
    """A real server with two search worker processes; four readers search
    without pause while articles are posted, changed and deleted: each
    write is found (or gone) on the very next search, and no request fails."""
    ix = Index(tmp_path / "ix")
    ix.update([SEEDS])
    _, secret = Keys(ix.path).create()
    server = LiveServer(ix.path, args=("--workers", "2"))
    failures: list[str] = []
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            status, _, _ = server.get("/api/search?q=Truppen")
            if status != 200:
                failures.append(f"search {status}")

    def write(method: str, path: str, body: dict | None = None) -> dict:
        request = urllib.request.Request(server.url + path, method=method, data=json.dumps(body).encode() if body else None,
                                         headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    readers = [threading.Thread(target=read) for _ in range(4)]
    for thread in readers:
        thread.start()
    try:
        big = write("POST", "/api/articles", {**NEW, "id": "big", "body": "harbour " * 20_000})  # 160 KB: over the 64 KB of other requests
        assert big["added"] == 1
        for n in range(10):
            write("POST", "/api/articles", {**NEW, "id": f"live-{n}", "title": f"Harbour{n} reopens"})
            for _ in range(2):  # two searches: each worker process answers one at least as often as not
                assert f"live-{n}" in [h["id"] for h in server.json(f"/api/search?q=Harbour{n}")[1]["results"]]
            write("PUT", f"/api/articles/live-{n}", {**NEW, "id": f"live-{n}", "title": f"Airport{n} reopens"})
            assert server.json(f"/api/search?q=Harbour{n}")[1]["total"] == 0
            write("DELETE", f"/api/articles/live-{n}")
            assert server.json(f"/api/search?q=Airport{n}")[1]["total"] == 0
    finally:
        stop.set()
        for thread in readers:
            thread.join()
        server.stop()
    assert failures == []


def test_reading_needs_a_key_only_where_configured_and_browsers_are_asked_for_it(writable):
    from web import create_app

    ix, open_client, key = writable
    assert open_client.get("/api/search?q=Truppen").status_code == 200  # open by default
    client = create_app({"INDEX_DIR": str(ix.path), "TESTING": True, "READ_NEEDS_KEY": 1, **UNLIMITED}).test_client()
    assert client.get("/api/search?q=Truppen").status_code == 401
    assert client.get("/api/search?q=Truppen", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/search?q=Truppen", headers=key).get_json()["total"] == 2
    page = client.get("/?q=Truppen")
    assert page.status_code == 401 and page.headers["WWW-Authenticate"].startswith("Basic")
    secret = key["Authorization"].split()[1]
    basic = base64.b64encode(f"reader:{secret}".encode()).decode()
    assert client.get("/?q=Truppen", headers={"Authorization": f"Basic {basic}"}).status_code == 200
    assert client.get("/healthz").status_code == 200  # monitoring stays open


def test_a_searcher_opened_before_writes_merged_its_segments_away_still_answers_rightly(writable):
    """A search that started before commits merged away the segments its
    searcher had yet to read (Whoosh opens some files lazily) is run again
    on the new index: no 500, and no filter quietly finding nothing."""
    from web import create_app

    ix, _, key = writable
    app = create_app({"INDEX_DIR": str(ix.path), "TESTING": True, "REFRESH_SECONDS": 3600, **UNLIMITED})
    client = app.test_client()
    for n in range(3):
        ix.put([Article(f"early{n}", "earlybird", "earlybird text", "en", date=f"2022-03-0{n + 1}")])
    assert client.get("/api/search?q=Truppen").status_code == 200  # this thread's searcher, kept for an hour
    for n in range(40):  # each write commits, and merges the small segments
        ix.put([Article(f"racer{n}", "racer", "racer text", "en", date="2022-01-01")])
    for query in ("earlybird date:2022-03", "earlybird&sort=newest", "earlybird"):
        response = client.get(f"/api/search?q={query}")
        assert response.status_code == 200 and response.get_json()["total"] == 3, query


def test_keys_made_and_revoked_at_once_by_two_processes_lose_no_change(tmp_path):
    Keys(tmp_path).create("first")
    script = ("import sys; from search.keys import Keys; k = Keys(sys.argv[1])\n"
              "for n in range(15): k.revoke(k.create(f'r{n}')[0].id) if sys.argv[2] == 'revoke' else k.create(f'c{n}')")
    runs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), mode], cwd=ROOT) for mode in ("revoke", "create")]
    assert [run.wait(timeout=60) for run in runs] == [0, 0]
    names = sorted(key.name for key in Keys(tmp_path).all())
    assert names == sorted(["first"] + [f"c{n}" for n in range(15)])  # every revoked key gone, every made one kept


def test_writes_take_a_bearer_key_and_a_json_body_only_so_no_other_sites_form_can_write(writable):
    """A browser sends a reader's Basic credentials with any form another site
    posts to us (as text/plain, which needs no preflight): that must not write."""
    ix, client, key = writable
    secret = key["Authorization"].split()[1]
    basic = {"Authorization": "Basic " + base64.b64encode(f"reader:{secret}".encode()).decode()}
    form = json.dumps({**NEW, "pad": "="})
    assert client.post("/api/articles", data=form, headers={**basic, "Content-Type": "text/plain"}).status_code == 401
    response = client.post("/api/articles", data=form, headers={**key, "Content-Type": "text/plain"})
    assert response.status_code == 415 and "application/json" in response.get_json()["error"]["message"]
    assert ix.get("posted-1") is None


def test_the_same_id_twice_in_one_put_is_one_article_the_last(writable):
    ix, client, _ = writable
    ix.put([Article("twice", "first", "first text", "en"), Article("twice", "second", "second text", "en")])
    assert found(client, "twice") == [] and found(client, "second") == ["twice"] and found(client, "first") == []


def test_a_sources_name_follows_its_live_articles_not_replaced_ones(writable):
    ix, client, key = writable
    ix.put([Article(f"n{i}", "Harbour", "harbour", "en", source="nos", extra={"source_name": "NOS"}) for i in range(3)])
    ix.put([Article(f"n{i}", "Harbour", "harbour", "en", source="nos", extra={"source_name": "NOS Nieuws"}) for i in range(2)])
    assert client.get("/api/search?q=harbour").get_json()["source_names"] == {"nos": "NOS Nieuws"}


def test_a_damaged_keys_file_refuses_writes_with_a_503_that_names_no_path(writable):
    ix, client, key = writable
    (ix.path / "keys.json").write_text("{not json")
    response = client.post("/api/articles", json=NEW, headers=key)
    assert response.status_code == 503 and str(ix.path) not in response.get_data(as_text=True)
    assert ix.get("posted-1") is None
