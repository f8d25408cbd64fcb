"""Hostile clients against a real `search serve`: connection floods, requests
sent too slowly, forged proxy headers and Host names, and what one client may
spend.

On Linux every 127.x.y.z is loopback: clients bind their sockets to
127.0.0.2, 127.0.0.3... to be different addresses, while the server listens
on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import threading
import time
from urllib.parse import quote, urlsplit

import pytest

from web.settings import SETTINGS

from .conftest import HUGE_PHRASE, UNLIMITED, LiveServer, search_command, search_workers

QUICK = {"SEARCH_WORKERS": "0", "SEARCH_REQUEST_TIMEOUT": "1", "SEARCH_IDLE_TIMEOUT": "2", "SEARCH_MAX_CONNECTIONS": "64"}
"""Timeouts short enough for a test; room for 64 connections, so that floods fill it."""

DEFAULT_LIMITS = {s.env: str(s.default) for s in SETTINGS if s.name in UNLIMITED}


def address(server: LiveServer) -> tuple[str, int]:
    parts = urlsplit(server.url)
    return parts.hostname, parts.port


def request_from(server: LiveServer, source: str, path: str, headers: dict | None = None, timeout: float = 10.0):
    """(status, headers, body, seconds) of a GET sent from the address `source`."""
    conn = http.client.HTTPConnection(*address(server), timeout=timeout, source_address=(source, 0))
    started = time.monotonic()
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read(), time.monotonic() - started
    finally:
        conn.close()


def connect_from(server: LiveServer, source: str) -> socket.socket:
    sock = socket.socket()
    sock.bind((source, 0))
    sock.connect(address(server))
    return sock


def is_closed(sock: socket.socket) -> bool:
    """Whether the server has closed this connection (without waiting; what
    it sent before is read and dropped)."""
    sock.setblocking(False)
    try:
        while sock.recv(65536):
            pass
        return True
    except BlockingIOError:
        return False
    except OSError:  # reset
        return True


def seconds_until_closed(sock: socket.socket, within: float, trickle: bool = False) -> float:
    """How long until the server closes `sock`, sending it one more byte of
    header every 0.1 s meanwhile if `trickle`; fails after `within` s."""
    started = time.monotonic()
    while time.monotonic() - started < within:
        if is_closed(sock):
            return time.monotonic() - started
        if trickle:
            try:
                sock.send(b"X")
            except OSError:
                return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"the connection was still open after {within} s")


class Trickle:
    """Sends one byte of header at a time, every 0.1 s, on each socket, so
    that none of them ever finishes its request."""

    def __init__(self, socks: list[socket.socket]):
        self.socks, self.stop = socks, threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        while not self.stop.wait(0.1):
            for sock in self.socks:
                try:
                    sock.send(b"X")
                except OSError:
                    pass

    def __enter__(self) -> "Trickle":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


@pytest.fixture(scope="module")
def guarded(web_index):
    server = LiveServer(web_index.path, env=QUICK)
    yield server
    server.stop()


def hold(server: LiveServer, sources: list[str], count: int) -> tuple[list[socket.socket], list[socket.socket]]:
    """`count` connections spread over `sources`: half idle, half having
    begun a request they never finish. Returns (idle, slow)."""
    idle, slow = [], []
    for n in range(count):
        sock = connect_from(server, sources[n % len(sources)])
        if n % 2:
            try:
                sock.sendall(b"GET /api/search?q=Truppen HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            except OSError:  # already closed by the server
                pass
            slow.append(sock)
        else:
            idle.append(sock)
    return idle, slow


def reader_seconds(server: LiveServer, source: str, searches: int = 5) -> list[float]:
    """How long each of a few searches from `source` takes (each must succeed)."""
    seconds = []
    for _ in range(searches):
        status, _, body, took = request_from(server, source, "/api/search?q=Truppen", timeout=5)
        assert status == 200 and json.loads(body)["results"][0]["lang"] == "de"
        seconds.append(took)
    return seconds


@pytest.mark.parametrize("sources", [["127.0.0.2"], [f"127.0.1.{n}" for n in range(1, 11)]], ids=["one address", "ten addresses"])
def test_a_normal_reader_is_answered_promptly_while_200_connections_are_held(guarded, sources):
    """From one address, all but its share of connections are closed at
    once; from many, new connections take the place of the ones that waited
    longest. Either way another reader gets in."""
    idle, slow = hold(guarded, sources, 200)
    try:
        with Trickle(slow):
            assert max(reader_seconds(guarded, "127.0.0.3")) < 1.0
    finally:
        for sock in idle + slow:
            sock.close()


def test_a_request_sent_too_slowly_is_cut_off_and_idle_connections_are_closed(guarded):
    slow, idle, kept = (connect_from(guarded, "127.0.0.4") for _ in range(3))
    kept.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    assert kept.recv(65536).startswith(b"HTTP/1.1 200")
    slow.sendall(b"GET /api/search?q=Truppen HTTP/1.1\r\n")
    assert 1.0 <= seconds_until_closed(slow, within=5, trickle=True) < 3.0  # REQUEST_TIMEOUT, checked every second
    assert seconds_until_closed(idle, within=5) < 2.5  # IDLE_TIMEOUT
    assert seconds_until_closed(kept, within=5) < 2.5


def test_typing_word_after_word_letter_by_letter_stays_within_the_default_limits(web_index):
    """As you type, a request goes out per letter: 140 in well under a
    minute (the old limit was 120), yet they cost little and none is refused."""
    server = LiveServer(web_index.path, env={"SEARCH_WORKERS": "0", **DEFAULT_LIMITS})
    words = ["Truppen", "troepen", "القوات", "soldiers", "Irak", "Basen", "harbour", "Militär", "lighthouse", "Regierung"] * 2
    try:
        statuses = [server.get("/?partial=1&q=" + quote(word[:n]))[0] for word in words for n in range(1, len(word) + 1)]
    finally:
        server.stop()
    assert len(statuses) == 140 and set(statuses) == {200}


def test_a_client_that_keeps_searching_runs_out_of_search_time_and_others_do_not(web_index):
    """A budget of 0.1 s of search time per minute lasts a handful of
    searches on the seed index."""
    server = LiveServer(web_index.path, env={"SEARCH_WORKERS": "1", **DEFAULT_LIMITS, "SEARCH_TIME_BUDGET": "0.1"})
    try:
        statuses = []
        while len(statuses) < 50 and 429 not in statuses:
            statuses.append(request_from(server, "127.0.0.2", "/api/search?q=Truppen+OR+troepen&per_page=50")[0])
        assert statuses[-1] == 429 and 3 <= len(statuses) < 50
        status, headers, body, _ = request_from(server, "127.0.0.2", "/api/search?q=Truppen")
        assert status == 429 and int(headers["Retry-After"]) >= 1
        assert "search time" in json.loads(body)["error"]["message"]
        status, headers, body, _ = request_from(server, "127.0.0.2", "/?q=Truppen")
        assert status == 429 and headers["Content-Type"].startswith("text/html") and b"search time" in body
        assert request_from(server, "127.0.0.2", "/healthz")[0] == 200  # what does not search is not limited
        assert request_from(server, "127.0.0.3", "/api/search?q=Truppen")[0] == 200  # another reader
    finally:
        server.stop()


def test_one_client_may_run_only_a_few_searches_at_once_and_its_latest_waits_its_turn(web_index):
    """The worker is stopped, as if busy with long searches. A client's first
    two searches are let in; a third waits for its turn until a fourth comes
    (as when a reader types on), which takes its place: the third is refused
    at once. Another client's search is let in. Once the worker goes on,
    every search let in or waiting is answered."""
    server = LiveServer(web_index.path, env={"SEARCH_WORKERS": "1", **DEFAULT_LIMITS})
    (worker,) = search_workers(server.process.pid)
    answers: dict[str, tuple[int, str | None]] = {}
    threads: list[threading.Thread] = []

    def search_from(name: str, source: str) -> None:
        def run() -> None:
            status, headers, _, _ = request_from(server, source, "/api/search?q=Truppen")
            answers[name] = (status, headers.get("Retry-After"))

        threads.append(threading.Thread(target=run))
        threads[-1].start()
        time.sleep(0.3)

    os.kill(worker, signal.SIGSTOP)
    try:
        for name in ("first", "second", "third", "fourth"):
            search_from(name, "127.0.0.2")
        search_from("other", "127.0.0.3")
        assert answers == {"third": (429, "1")}
    finally:
        os.kill(worker, signal.SIGCONT)
        for thread in threads:
            thread.join()
        server.stop()
    assert answers == {"first": (200, None), "second": (200, None), "third": (429, "1"), "fourth": (200, None), "other": (200, None)}


def test_forwarded_headers_are_believed_only_from_trusted_proxies(web_index):
    direct = LiveServer(web_index.path, env={"SEARCH_WORKERS": "0", "SEARCH_RATE_LIMIT": "3 per minute"})
    proxied = LiveServer(web_index.path, env={"SEARCH_WORKERS": "0", "SEARCH_RATE_LIMIT": "3 per minute", "SEARCH_TRUSTED_PROXIES": "1"})
    try:
        # Without trusted proxies a client cannot dodge its limit with a new X-Forwarded-For each time.
        statuses = [direct.get("/api/search?q=Truppen", {"X-Forwarded-For": f"203.0.113.{n}"})[0] for n in range(4)]
        assert statuses == [200, 200, 200, 429]
        # Behind one proxy, each reader it forwards has its own budget.
        for reader in ("203.0.113.1", "203.0.113.2"):
            statuses = [proxied.get("/api/search?q=Truppen", {"X-Forwarded-For": reader})[0] for _ in range(4)]
            assert statuses == [200, 200, 200, 429]
        # The forwarded host and scheme make the links, and must be trusted too.
        status, _, body = proxied.get("/opensearch.xml", {"X-Forwarded-Host": "localhost", "X-Forwarded-Proto": "https"})
        assert status == 200 and b'template="https://localhost/?q={searchTerms}"' in body
        status, _, body = proxied.get("/opensearch.xml", {"X-Forwarded-Host": "evil.example"})
        assert status == 400 and b"evil.example" not in body
    finally:
        direct.stop()
        proxied.stop()


ROUTES = ["/opensearch.xml", "/openapi.json", "/embed", "/", "/?q=Truppen", "/?q=Truppen&partial=1", "/articles/xss",
          "/api/search?q=Truppen", "/api/articles/xss", "/healthz", "/widget.js", "/static/style.css"]


def test_an_unknown_host_gets_a_400_and_is_never_written_into_a_page(live_server):
    for path in ROUTES:
        assert live_server.get(path)[0] == 200, path
        status, _, body = live_server.get(path, {"Host": "evil.example"})
        assert status == 400 and b"evil.example" not in body, path
    host, port = address(live_server)
    for trusted in (f"{host}:{port}", f"localhost:{port}"):  # the address served, and loopback names
        status, _, body = live_server.get("/opensearch.xml", {"Host": trusted})
        assert status == 200 and f'template="http://{trusted}/?q={{searchTerms}}"'.encode() in body
    with socket.create_connection((host, port)) as sock:  # HTTP/1.0 sends no Host at all
        sock.sendall(b"GET /api/search?q=Truppen HTTP/1.0\r\n\r\n")
        assert sock.makefile("rb").readline().startswith(b"HTTP/1.0 200")


def test_links_for_other_sites_use_the_public_url(web_index):
    server = LiveServer(web_index.path, env={"SEARCH_WORKERS": "0", "SEARCH_PUBLIC_URL": "https://search.example.org/"})
    try:
        _, _, opensearch = server.get("/opensearch.xml")
        assert b'template="https://search.example.org/api/search?q={searchTerms}"' in opensearch
        assert server.json("/openapi.json")[1]["servers"] == [{"url": "https://search.example.org"}]
        _, _, embed = server.get("/embed")
        assert b'api="https://search.example.org"' in embed
        assert server.get("/healthz", {"Host": "search.example.org"})[0] == 200  # its host is trusted
        assert server.get("/healthz", {"Host": "evil.example"})[0] == 400
    finally:
        server.stop()


def test_a_setting_that_is_not_a_number_is_a_one_line_error(web_index):
    done = search_command("serve", "--index-dir", str(web_index.path), "--port", "0", env={"SEARCH_PER_PAGE": "ten"}, timeout=60)
    assert done.returncode == 1
    assert "SEARCH_PER_PAGE must be a whole number" in done.stderr and "Traceback" not in done.stderr


def test_one_client_cannot_occupy_every_search_worker(huge_articles_index):
    """A search, once running, runs to its end: a client that may run as
    many at once as there are workers keeps every other reader waiting.
    With two workers (the default on two cores), one client sending slow
    searches three at a time holds one; another reader's search is
    answered at once by the other."""
    server = LiveServer(huge_articles_index.path, env={"SEARCH_WORKERS": "2", **DEFAULT_LIMITS, "SEARCH_SECONDS": "3"})
    slow = "/api/search?q=" + quote(HUGE_PHRASE)
    threads = [threading.Thread(target=request_from, args=(server, "127.0.0.2", slow)) for _ in range(3)]
    try:
        for thread in threads:
            thread.start()
        time.sleep(0.5)
        status, _, _, took = request_from(server, "127.0.0.3", "/api/search?q=peace")
    finally:
        for thread in threads:
            thread.join()
        server.stop()
    assert status == 200 and took < 1.0, f"{took:.1f} s"
