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

from .conftest import OPENSEARCH_CLUSTER, SEEDS, LiveServer

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
    manager = _get(opensearch["urls"][0] + "/_cat/cluster_manager?format=json")[0]["node"]
    victim = 1 if manager == "node-0" else 0  # the other one: writes need the elected manager
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


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)
