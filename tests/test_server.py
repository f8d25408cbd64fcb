"""`search serve` as a real process: HTTP, live index changes, no failed request."""

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from .conftest import SEEDS, LiveServer, index_command, process_tree, search_command, search_workers, write_jsonl


def test_serves_the_api_page_and_widget_over_http(live_server):
    status, data = live_server.json("/api/search?q=troepen")
    assert status == 200 and data["results"][0]["id"] == "003_3692841fd95a15da"
    status, headers, body = live_server.get("/?q=Truppen")
    assert status == 200 and b"<mark>Truppen</mark>" in body
    assert headers["Server"] == "news-search"  # waitress, not the development server
    status, headers, _ = live_server.get("/widget.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    status, data = live_server.json("/api/search?q=")
    assert status == 400 and data["error"]["code"] == "empty_query"


def test_a_port_in_use_is_a_one_line_error(live_server, web_index):
    port = live_server.url.rsplit(":", 1)[1]
    done = search_command("serve", "--index-dir", str(web_index.path), "--port", port, "--workers", "0", timeout=60)
    assert done.returncode == 1
    assert done.stderr.strip() == f"Error: Cannot listen on 127.0.0.1 port {port}: Address already in use."


def test_oversized_requests_are_refused(live_server):
    status, _, _ = live_server.get("/api/search?q=" + "x" * 20_000)
    assert status == 431
    status, _, body = live_server.get("/api/search?q=" + "x" * 600)
    assert status == 400 and b"too long" in body


def test_fresh_checkout_serve_indexes_the_seeds_first(tmp_path):
    server = LiveServer(tmp_path / "new-index")
    try:
        status, data = server.json("/healthz")
        assert status == 200 and data["documents"] == len(list(SEEDS.glob("*.txt")))
    finally:
        server.stop()


def test_updates_and_rebuilds_are_searchable_as_soon_as_the_command_returns_without_a_failed_request(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [{"id": "a", "lang": "en", "title": "Harbour news", "body": "Ships in the harbour."}])
    ix_dir = tmp_path / "ix"
    index_command("--no-embeddings", str(folder), "--index-dir", str(ix_dir))
    server = LiveServer(ix_dir, env={"SEARCH_WORKERS": "2"})
    failures: list[str] = []
    requests = 0
    stop = threading.Event()

    def load() -> None:
        nonlocal requests
        while not stop.is_set():
            status, _, body = server.get("/api/search?q=harbour")
            requests += 1
            if status != 200:
                failures.append(f"{status} {body[:200]!r}")

    def ids_found(query: str) -> list[list[str]]:
        """The ids each of several searches in a row finds: each may go to either worker."""
        return [sorted(r["id"] for r in server.json(f"/api/search?q={query}")[1]["results"]) for _ in range(6)]

    workers = [threading.Thread(target=load) for _ in range(3)]
    try:
        for w in workers:
            w.start()
        write_jsonl(folder / "b.jsonl", [{"id": "b", "lang": "en", "title": "Lighthouse", "body": "A lighthouse by the harbour."}])
        index_command("--no-embeddings", str(folder), "--index-dir", str(ix_dir))
        assert ids_found("lighthouse") == [["b"]] * 6
        write_jsonl(folder / "c.jsonl", [{"id": "c", "lang": "en", "title": "Ferry", "body": "The ferry left the harbour."}])
        index_command("--no-embeddings", str(folder), "--index-dir", str(ix_dir), "--rebuild")
        assert ids_found("harbour") == [["a", "b", "c"]] * 6
    finally:
        stop.set()
        for w in workers:
            w.join()
        server.stop()
    assert requests > 20 and failures == []


def test_searches_run_in_worker_processes_which_are_replaced_when_they_die_and_die_with_the_server(web_index):
    server = LiveServer(web_index.path, env={"SEARCH_WORKERS": "2"})
    try:
        started = search_workers(server.process.pid)
        assert len(started) == 2
        status, data = server.json("/api/search?q=troepen")
        assert status == 200 and data["results"][0]["id"] == "003_3692841fd95a15da"
        os.kill(started[0], signal.SIGKILL)
        for _ in range(3):
            status, data = server.json("/api/search?q=Truppen")
            assert status == 200 and data["results"][0]["lang"] == "de"
        replaced = search_workers(server.process.pid)
        assert replaced and started[0] not in replaced
        server.process.kill()  # not even a SIGKILL leaves workers behind
    finally:
        server.stop()
    deadline = time.monotonic() + 10
    while any(Path(f"/proc/{p}").exists() for p in started + replaced) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(Path(f"/proc/{p}").exists() for p in started + replaced), "worker processes outlive the server"


def alive(pid: int) -> bool:
    """Whether a process still runs (a zombie waiting to be reaped does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl+C"])
def test_the_server_stops_within_seconds_under_load_whatever_its_searches_are_doing(web_index, how):
    """The search workers are stopped, as if busy with searches that run for
    long: requests pile up, and still the server exits within seconds, with
    status 0, leaving no process behind."""
    server = LiveServer(web_index.path, env={"SEARCH_WORKERS": "2"})
    tree = process_tree(server.process.pid)
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                server.get("/api/search?q=Truppen")
            except OSError:  # the server has gone
                return

    threads = [threading.Thread(target=load) for _ in range(4)]
    try:
        for worker in search_workers(server.process.pid):
            os.kill(worker, signal.SIGSTOP)
        for t in threads:
            t.start()
        time.sleep(0.5)
        started = time.monotonic()
        if how == "SIGTERM":
            server.process.send_signal(signal.SIGTERM)
        else:  # a terminal sends Ctrl+C to every process in the foreground
            for pid in tree:
                os.kill(pid, signal.SIGINT)
        status = server.process.wait(timeout=15)
        seconds = time.monotonic() - started
    finally:
        stop.set()
        server.stop()
        for t in threads:
            t.join()
    assert status == 0 and seconds < 3.5
    deadline = time.monotonic() + 2
    while any(alive(p) for p in tree) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in tree), "processes outlive the server"
