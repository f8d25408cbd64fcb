"""The web service with OpenSearch behind it: `search serve --engine
opensearch+...` on a real 2-node cluster, indexing the seeds, answering the
page and the API, and going on answering when a node is killed mid-search."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import urllib.request
import uuid

import pytest

from search import open_engine

from .conftest import OPENSEARCH_CLUSTER, SEEDS, LiveServer, write_jsonl

pytestmark = pytest.mark.slow  # a cluster takes a while to start


@pytest.fixture
def service(opensearch):
    address = f"opensearch+{','.join(opensearch['urls'])}/service-{uuid.uuid4().hex[:12]}"
    server = LiveServer(address, args=("--seeds", str(SEEDS)))
    yield server
    server.stop()


def test_serve_indexes_the_seeds_into_opensearch_and_answers_page_and_api(service):
    status, data = service.json("/api/search?q=Irak")
    assert status == 200
    assert {hit["lang"] for hit in data["results"]} >= {"de", "nl"}
    assert any("<mark>" in hit["snippet"] for hit in data["results"])
    status, _, page = service.get("/?q=Irak")
    assert status == 200 and b"<mark>" in page
    status, health = service.json("/healthz")
    assert status == 200 and health["documents"] == 5


def test_a_node_killed_mid_search_leaves_the_service_answering(opensearch, service):
    if opensearch["dir"] is None:
        pytest.skip("the cluster was given (SEARCH_TEST_OPENSEARCH): its nodes are not ours to kill")
    victim = _not_the_manager(opensearch)
    statuses: list[int] = []
    stop = threading.Event()

    def search_on() -> None:
        while not stop.is_set():
            statuses.append(service.get("/api/search?q=Irak")[0])

    searching = threading.Thread(target=search_on)
    searching.start()
    try:
        while len(statuses) < 20:
            time.sleep(0.01)
        subprocess.run([OPENSEARCH_CLUSTER, "kill", opensearch["dir"], str(victim)], check=True, timeout=60,
                       stdout=subprocess.DEVNULL)
        killed_at = len(statuses)
        while len(statuses) < killed_at + 50:
            time.sleep(0.01)
    finally:
        stop.set()
        searching.join()
    try:
        assert statuses.count(200) == len(statuses), f"answers other than 200: {set(statuses)}"
        status, data = service.json("/api/search?q=Irak")
        assert status == 200 and data["total"] >= 3
    finally:
        subprocess.run([OPENSEARCH_CLUSTER, "revive", opensearch["dir"], str(victim)], check=True, timeout=300,
                       stdout=subprocess.DEVNULL)


def test_an_update_goes_on_when_a_node_dies_under_it(opensearch, tmp_path):
    """Bulk writes sent to a node that is gone are sent again (to the other),
    and the shards it held are written on their replicas: nothing is lost."""
    if opensearch["dir"] is None:
        pytest.skip("the cluster was given (SEARCH_TEST_OPENSEARCH): its nodes are not ours to kill")
    records = [{"id": f"flood-{n}", "lang": "en", "title": f"Flood report {n}",
                "body": "The river rose again overnight and the valley roads are closed. " * 10} for n in range(3000)]
    feed = write_jsonl(tmp_path / "many.jsonl", records)
    victim = _not_the_manager(opensearch)
    killed = []

    def kill_once(progress) -> None:
        if not killed and progress.phase == "reading" and progress.done > progress.total // 4:
            subprocess.run([OPENSEARCH_CLUSTER, "kill", opensearch["dir"], str(victim)], check=True, timeout=60,
                           stdout=subprocess.DEVNULL)
            killed.append(progress.done)

    with open_engine(f"opensearch+{','.join(opensearch['urls'])}/bulk-{uuid.uuid4().hex[:12]}") as engine:
        try:
            report = engine.update([feed], embeddings=False, on_progress=kill_once)
            assert killed, "the node was to be killed while the articles were being written"
            assert report.added == 3000 and engine.stats().documents == 3000
        finally:
            subprocess.run([OPENSEARCH_CLUSTER, "revive", opensearch["dir"], str(victim)], check=True, timeout=300,
                           stdout=subprocess.DEVNULL)


def _not_the_manager(opensearch) -> int:
    """The node to kill: not the elected cluster manager, which writes need."""
    manager = _get(opensearch["urls"][0] + "/_cat/cluster_manager?format=json")[0]["node"]
    return 1 if manager == "node-0" else 0


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)
