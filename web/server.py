"""Serving the app on waitress, so that clients holding connections cannot
shut others out, and stopping within seconds.

Waitress alone keeps at most 100 connections and waits as long as a client
likes for a request to arrive (it counts every byte as activity): 101 idle
or slowly typing connections, from anyone, and nobody else gets in. Here
(settings.py has the numbers):

- a client address may hold CONNECTIONS_PER_CLIENT connections; more are
  closed as soon as they are accepted (behind trusted proxies every
  connection comes from a proxy, so the proxy bounds its clients instead);
- when MAX_CONNECTIONS are open, a new connection takes the place of the one
  that has waited longest for its client;
- a client has REQUEST_TIMEOUT seconds from the first byte of a request to
  its last, and as long to take each part of an answer; a kept-alive
  connection may then wait IDLE_TIMEOUT seconds for the next request. Time
  spent serving a request is ours and does not count. This is checked every
  second;
- SIGTERM or Ctrl+C stop accepting, give requests in progress GRACE_SECONDS
  to be answered, then kill the search workers, whatever they are running.

The classes extend waitress's own (channel.py, server.py of waitress 3.0).
"""

from __future__ import annotations

import logging
import math
import signal
import time
from collections import Counter
from typing import Callable

from flask import Flask
from waitress import wasyncore
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from search.errors import SearchError

from .limits import client_of
from .security import trust_host

GRACE_SECONDS = 2.0
LOOP_SECONDS = 0.2  # how long the loop may sleep: how soon it notices a stop signal
ACCEPT_AT_ONCE = 256


class OncePerMinute(logging.Filter):
    """Lets each kind of message through at most once a minute, saying how
    many like it were held back, so that a flood of clients does not flood
    the log as well (waitress warns on every request queued)."""

    def __init__(self):
        super().__init__()
        self.last: dict[str, float] = {}
        self.held: Counter[str] = Counter()

    def filter(self, record: logging.LogRecord) -> bool:
        kind, now = str(record.msg), time.monotonic()
        if now - self.last.get(kind, -math.inf) < 60:
            self.held[kind] += 1
            return False
        self.last[kind] = now
        if self.held[kind]:
            record.msg = f"{kind} ({self.held.pop(kind)} more like it in the last minute)"
        return True


class ListenError(SearchError):
    """The address or port cannot be listened on (in use, not ours...)."""


class Channel(HTTPChannel):
    """A connection that knows since when its client has been sending the
    request it has begun."""

    request_started = 0.0

    def __init__(self, server: Server, sock, addr, adj: Adjustments, map=None):
        self.client: str | None = client_of(addr[0] if isinstance(addr, tuple) else None)
        super().__init__(server, sock, addr, adj, map)  # registers the connection: add_channel

    def received(self, data: bytes) -> bool:
        if self.request is None and data:
            self.request_started = time.time()  # these bytes begin a new request
        return super().received(data)

    def service(self) -> None:
        super().service()
        # A request begun while this one was served has its full time from now.
        self.request_started = time.time()

    def readable(self) -> bool:
        return super().readable() and not self.server.stopping

    def waiting_since(self) -> float | None:
        """Since when this connection has been waiting for its client; None
        while a request is being served or its answer sent."""
        if self.requests or self.total_outbufs_len:
            return None
        return self.request_started if self.request is not None else self.last_activity

    def add_channel(self, map=None) -> None:
        super().add_channel(map)
        self.server.clients[self.client] += 1

    def del_channel(self, map=None) -> None:
        super().del_channel(map)
        if self.client is not None:  # once, however often it is closed
            self.server.closed(self.client)
            self.client = None


class Server(TcpWSGIServer):
    """A listening socket whose connections are bounded per client and in
    time (see the module's docstring)."""

    channel_class = Channel
    stopping = False

    def __init__(self, app: Flask, *args, **kwargs):
        config = app.config
        self.max_connections = int(config["MAX_CONNECTIONS"])
        self.per_client = 0 if config["TRUSTED_PROXIES"] else int(config["CONNECTIONS_PER_CLIENT"])
        self.request_timeout = float(config["REQUEST_TIMEOUT"])
        self.idle_timeout = float(config["IDLE_TIMEOUT"])
        self.clients: Counter[str] = Counter()
        self.drained = False
        super().__init__(app, *args, **kwargs)

    def handle_accept(self) -> None:
        """Accept every connection waiting, up to ACCEPT_AT_ONCE, rather than
        waitress's one per turn of the loop: under a flood, a reader's
        connection would otherwise wait behind a thousand others."""
        self.drained = False
        for _ in range(ACCEPT_AT_ONCE):
            super().handle_accept()
            if self.drained:
                return

    def accept(self):
        """waitress's accept, then: a client already holding its share of
        connections has the new one closed at once; when the server is full,
        the connection that has waited longest for its client makes room."""
        accepted = super().accept()
        if accepted is None:
            self.drained = True
            return None
        conn, addr = accepted
        client = client_of(addr[0] if isinstance(addr, tuple) else None)
        if self.per_client and self.clients[client] >= self.per_client:
            self.logger.warning("%s holds %d connections: closed a new one", client, self.per_client)
            conn.close()
            return None
        if len(self.active_channels) >= self.max_connections:
            if not self.make_room():
                self.logger.warning("%d connections, every one being served: closed a new one", len(self.active_channels))
                conn.close()
                return None
            self.logger.warning("%d connections: closed the one waiting longest for its client", len(self.active_channels) + 1)
        return accepted

    def make_room(self) -> bool:
        waiting = [(since, c) for c in self.active_channels.values() if (since := c.waiting_since()) is not None]
        if not waiting:
            return False
        min(waiting, key=lambda pair: pair[0])[1].handle_close()
        return True

    def closed(self, client: str) -> None:
        self.clients[client] -= 1
        if self.clients[client] <= 0:
            del self.clients[client]

    def maintenance(self, now: float) -> None:
        """Close the connections whose client is too slow (replaces waitress's,
        which counts any byte received as activity)."""
        for channel in list(self.active_channels.values()):
            if channel.total_outbufs_len:  # an answer waits to be taken
                late = now - channel.last_activity > self.request_timeout
            elif channel.requests:  # being served: our time, not the client's
                late = False
            elif channel.request is not None:  # a request begun, not finished
                late = now - channel.request_started > self.request_timeout
            else:  # idle between requests
                late = now - channel.last_activity > self.idle_timeout
            if late:
                channel.will_close = True

    def stop_accepting(self) -> None:
        self.stopping = True
        self.accepting = False
        self.del_channel()
        self.socket.close()


class Service:
    """The app on every address `host` stands for, in one waitress loop with
    one pool of threads."""

    def __init__(self, app: Flask, host: str, port: int, threads: int):
        self.app = app
        max_connections = int(app.config["MAX_CONNECTIONS"])
        _allow_open_files(max_connections + 256)
        for server_logger in (logging.getLogger("waitress"), logging.getLogger("waitress.queue")):
            server_logger.addFilter(OncePerMinute())
        self.map: dict = {}
        self.dispatcher = ThreadedTaskDispatcher()
        try:
            adj = Adjustments(
                host=host, port=port, threads=threads, ident="news-search",
                server_name=host,  # the Host of a request that has none (HTTP/1.0): an address we trust
                max_request_header_size=16 * 1024,  # a query string longer than this gets a 431
                max_request_body_size=int(app.config["MAX_WRITE_BYTES"]),  # writes; security.py holds the rest to 64 KB
                connection_limit=max_connections + 16,  # we make room before waitress would stop accepting
                cleanup_interval=1,  # Server.maintenance, every second
                asyncore_use_poll=True,  # select() cannot watch more than 1,024 sockets
                # X-Forwarded-* headers: dropped, unless the app believes its proxies (security.py).
                clear_untrusted_proxy_headers=not app.config["TRUSTED_PROXIES"],
            )
            self.servers = [Server(app, self.map, dispatcher=self.dispatcher, adj=adj, sockinfo=info) for info in adj.listen]
        except (OSError, ValueError) as exc:
            wasyncore.close_all(self.map)
            reason = str(getattr(exc, "strerror", None) or exc).rstrip(".")
            raise ListenError(f"Cannot listen on {host} port {port}: {reason}.") from None
        self.dispatcher.set_thread_count(threads)
        trust_host(app, host)

    @property
    def urls(self) -> list[str]:
        return [f"http://[{s.effective_host}]:{s.effective_port}" if ":" in s.effective_host
                else f"http://{s.effective_host}:{s.effective_port}" for s in self.servers]

    def run(self, announce: Callable[[list[str]], None]) -> None:
        """Start the search workers, serve until SIGTERM or Ctrl+C, then stop."""
        previous = {sig: signal.signal(sig, self._stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.app.extensions["engine"].start()
            announce(self.urls)
            while not self.servers[0].stopping:
                wasyncore.loop(timeout=LOOP_SECONDS, map=self.map, use_poll=True, count=1)
        finally:
            self.shut_down()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _stop(self, signum: int, frame) -> None:
        for server in self.servers:
            server.stopping = True  # the loop sees it within LOOP_SECONDS

    def shut_down(self) -> None:
        """Stop accepting; answer the requests in progress for up to
        GRACE_SECONDS, closing connections as they fall idle; then kill the
        search workers (searches still running get a 503) and close the rest."""
        for server in self.servers:
            if server.accepting:
                server.stop_accepting()
        channels = [c for server in self.servers for c in server.active_channels.values()]
        deadline = time.monotonic() + GRACE_SECONDS
        while channels and time.monotonic() < deadline:
            for channel in channels:
                if channel.waiting_since() is not None:
                    channel.handle_close()
            channels = [c for c in channels if c.connected]
            wasyncore.loop(timeout=0.05, map=self.map, use_poll=True, count=1)
        self.app.extensions["engine"].close()
        self.dispatcher.shutdown(timeout=0.2)
        wasyncore.close_all(self.map)


def _allow_open_files(wanted: int) -> None:
    """Raise this process's limit on open files (often 1,024) towards what
    MAX_CONNECTIONS needs, as far as the system allows (on Unix)."""
    try:
        import resource
    except ImportError:  # Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted if hard == resource.RLIM_INFINITY else min(wanted, hard), hard))


def serve(app: Flask, host: str, port: int, threads: int, announce: Callable[[list[str]], None]) -> None:
    """Serve `app` until SIGTERM or Ctrl+C; `announce` is told the URLs once
    the service answers."""
    Service(app, host, port, threads).run(announce)
