"""Shared fixtures: real Whoosh indexes on disk, built from real files."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from search.engines.whoosh.index import Index
from web.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
CORPORA = ROOT.parent / "shared" / "corpora"


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory) -> Index:
    """The bundled seed articles, indexed once for the whole session (read-only)."""
    ix = Index(tmp_path_factory.mktemp("seed-index"))
    ix.update([SEEDS])
    return ix


@pytest.fixture
def searcher(seed_index):
    with seed_index.searcher() as s:
        yield s


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    return path


@pytest.fixture
def articles_dir(tmp_path) -> Path:
    """A folder with a copy of the seeds, free to change."""
    folder = tmp_path / "articles"
    shutil.copytree(SEEDS, folder)
    return folder


XSS_ARTICLE = {
    "id": "xss",
    "lang": "en",
    "source": "<img src=x onerror=alert('source')>",
    "url": "javascript:alert('url')",
    "title": "<script>alert('title')</script> Hostile headline \"quoted' onmouseover=alert(1)",
    "body": "Troops <script>alert('body')</script> and <b onclick=alert(2)>bold</b> text about troops.",
}


@pytest.fixture(scope="session")
def web_index(tmp_path_factory) -> Index:
    """Seeds plus an article full of markup, for the web tests (read-only),
    with vectors, as `search index` makes it."""
    hostile = write_jsonl(tmp_path_factory.mktemp("web-articles") / "hostile.jsonl", [XSS_ARTICLE])
    ix = Index(tmp_path_factory.mktemp("web-index"))
    ix.update([SEEDS, hostile], embeddings=True)
    return ix


@pytest.fixture(scope="session")
def huge_articles_index(tmp_path_factory) -> Index:
    """Articles of one word repeated 100,000 times (400 KB each, well inside
    the per-record limit): every phrase of that word matches everywhere in
    them, which is the most work a phrase can make per article."""
    folder = tmp_path_factory.mktemp("huge-articles")
    write_jsonl(folder / "a.jsonl", [{"id": f"huge{i}", "lang": "en", "title": "war", "body": "war " * 100_000}
                                     for i in range(4)])
    ix = Index(tmp_path_factory.mktemp("huge-articles-ix"))
    ix.update([folder])
    return ix


HUGE_PHRASE = '"' + " ".join(["war"] * 20) + '"~1000'
"""A phrase that would take many seconds over those articles: a search that
runs until its deadline."""


UNLIMITED = {"RATE_LIMIT": "", "TIME_BUDGET": 0.0, "CONCURRENT_SEARCHES": 0}
"""Per-client limits off, for tests whose every request comes from one address."""
UNLIMITED_ENV = {s.env: str(UNLIMITED[s.name]) for s in SETTINGS if s.name in UNLIMITED}


@pytest.fixture(scope="session")
def app(web_index):
    from web import create_app

    return create_app({"INDEX_DIR": str(web_index.path), "TESTING": True, **UNLIMITED})


@pytest.fixture
def client(app):
    return app.test_client()


def search_command(*args: str, env: dict | None = None, timeout: float = 600, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    """Run the `search` command in its own process, as a user would (from
    `cwd`, with this checkout's code)."""
    return subprocess.run([sys.executable, "-m", "search", *args], capture_output=True, text=True, cwd=cwd,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}, timeout=timeout)


def index_command(*args: str) -> None:
    """`search index ...`, which must succeed."""
    done = search_command("index", *args)
    assert done.returncode == 0, done.stderr


def process_tree(pid: int) -> list[int]:
    """A process and its descendants, started by any of its threads (Linux)."""
    children = [int(c) for task in Path(f"/proc/{pid}/task").iterdir() for c in (task / "children").read_text().split()]
    return [pid, *(p for child in children for p in process_tree(child))]


def search_workers(pid: int) -> list[int]:
    """The search worker processes of the server `pid`."""
    return [p for p in process_tree(pid) if b"spawn_main" in Path(f"/proc/{p}/cmdline").read_bytes()]


class LiveServer:
    """`search serve` in a real process on a free localhost port."""

    def __init__(self, index_dir: Path, env: dict | None = None, args: tuple[str, ...] = ()):
        self.index_dir = index_dir
        self.process = subprocess.Popen(
            [sys.executable, "-m", "search", "serve", "--port", "0", "--index-dir", str(index_dir), *args],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **UNLIMITED_ENV, **(env or {})},
        )
        self.url = self._wait_for_url()

    def _wait_for_url(self) -> str:
        deadline = time.monotonic() + 60
        for line in self.process.stderr:
            found = re.search(r"Serving on (http://\S+?)/? ", line)
            if found:
                url = found.group(1)
                while time.monotonic() < deadline:
                    try:
                        urllib.request.urlopen(url + "/healthz", timeout=2)
                        return url
                    except OSError:
                        time.sleep(0.05)
            if time.monotonic() > deadline:
                break
        self.stop()
        raise RuntimeError("search serve did not start")

    def get(self, path: str, headers: dict | None = None):
        """(status, headers, body) of a GET."""
        request = urllib.request.Request(self.url + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def json(self, path: str):
        status, _, body = self.get(path)
        return status, json.loads(body)

    def seconds_until_found(self, query: str, doc_id: str, within: float = 10.0) -> float:
        """How long until a search for `query` finds `doc_id` (fails after `within` s)."""
        started = time.monotonic()
        while time.monotonic() - started < within:
            _, data = self.json(f"/api/search?q={urllib.parse.quote(query)}")
            if any(r["id"] == doc_id for r in data.get("results", [])):
                return time.monotonic() - started
            time.sleep(0.1)
        raise AssertionError(f"{doc_id} was not found within {within} s")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


@pytest.fixture(scope="session")
def live_server(web_index):
    server = LiveServer(web_index.path)
    yield server
    server.stop()


OPENSEARCH_CLUSTER = ROOT / "tests" / "opensearch" / "cluster"


@pytest.fixture(scope="session")
def opensearch(tmp_path_factory) -> dict:
    """A real 2-node OpenSearch cluster (tests/opensearch): the one at
    SEARCH_TEST_OPENSEARCH when that is an address (.ci/run starts one),
    else one started here for the session. Without Java and Maven its tests
    are skipped, unless SEARCH_TEST_OPENSEARCH=required (CI), where that
    fails them."""
    given = os.environ.get("SEARCH_TEST_OPENSEARCH", "")
    if given.startswith("http"):
        yield {"urls": given.split(","), "dir": None}
        return
    if not (shutil.which("java") and shutil.which("mvn")):
        if given == "required":
            pytest.fail("SEARCH_TEST_OPENSEARCH=required, but java or mvn is missing")
        pytest.skip("OpenSearch tests need Java 17 and Maven (tests/opensearch)")
    folder = tmp_path_factory.mktemp("opensearch")
    base = free_port_pair()
    subprocess.run([OPENSEARCH_CLUSTER, "start", "2", str(base), folder], check=True, timeout=900,
                   stdout=subprocess.DEVNULL)
    try:
        yield {"urls": [f"http://127.0.0.1:{base}", f"http://127.0.0.1:{base + 1}"], "dir": folder}
    finally:
        subprocess.run([OPENSEARCH_CLUSTER, "stop", folder], timeout=120, stdout=subprocess.DEVNULL)


def free_port_pair() -> int:
    """A base port whose HTTP ports (base, base+1) and transport ports
    (base+100, base+101) are free, as tests/opensearch/cluster uses them."""
    import random
    import socket

    for _ in range(50):
        base = random.randrange(20000, 30000)
        try:
            for port in (base, base + 1, base + 100, base + 101):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free ports for an OpenSearch cluster")
