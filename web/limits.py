"""What one client may use of the service: searches are counted by what they
cost, not by keystrokes.

A reader typing a word sends a request per letter, most of them cheap, while
one crafted query can take seconds. So each client has
- a budget of search time: TIME_BUDGET seconds of computing per minute,
  charged after each request with what it actually cost (the serving thread's
  own CPU time plus the search worker's, never time spent queued behind
  others);
- a cap on the searches it has running at once (CONCURRENT_SEARCHES, and
  always fewer than the search workers), so one address cannot occupy every
  worker (its newest request may wait its turn);
- a generous cap on requests (RATE_LIMIT, Flask-Limiter), against floods.

A client over any of them gets a 429 with Retry-After, as JSON on the API and
as a page elsewhere (errors.py). Static files, the widget, health checks and
the OpenAPI document are not limited. A client is its address (behind trusted
proxies, the one they forward: security.py), or for IPv6 its /64 network.
"""

from __future__ import annotations

import ipaddress
import math
import threading
import time
from collections import Counter

from flask import Flask, Response, abort, current_app, g, request
from flask_limiter import Limiter

LIMITED = {"views.search_page", "views.article_page", "api.search_api", "api.article_api"}


def client_of(address: str | None) -> str:
    """Who a connection or request comes from, for limits: its IPv4 address,
    or the /64 network of an IPv6 one (a subscriber usually holds a whole /64,
    and could otherwise take a fresh address for every request)."""
    try:
        ip = ipaddress.ip_address((address or "").split("%")[0])
    except ValueError:
        return address or "unknown"
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def current_client() -> str:
    return client_of(request.remote_addr)


class TimeBudget:
    """Seconds of computing per client per minute, kept as each client's
    spent time, which drains steadily (`per_minute` every 60 s). A client is
    let in while it has spent less than `per_minute`, and charged afterwards
    with what its request really cost, even past the budget: it then waits
    until that has drained. One number per client, however fine the costs
    (a moving window would keep one entry per unit charged)."""

    def __init__(self, per_minute: float):
        self.per_minute = per_minute
        self._per_second = per_minute / 60
        self._spent: dict[str, tuple[float, float]] = {}  # client -> (seconds spent, when)
        self._lock = threading.Lock()
        self._swept = time.monotonic()

    def _spent_now(self, client: str, now: float) -> float:
        spent, when = self._spent.get(client, (0.0, now))
        return max(0.0, spent - (now - when) * self._per_second)

    def retry_after(self, client: str) -> int:
        """Whole seconds until the client may search again; 0 if it may now."""
        with self._lock:
            over = self._spent_now(client, time.monotonic()) - self.per_minute
        return 0 if over < 0 else max(1, math.ceil(over / self._per_second))

    def charge(self, client: str, seconds: float) -> None:
        now = time.monotonic()
        with self._lock:
            self._spent[client] = (self._spent_now(client, now) + seconds, now)
            if now - self._swept > 60:  # forget clients that have drained, so memory follows the active ones
                self._spent = {c: v for c, v in self._spent.items() if self._spent_now(c, now) > 0}
                self._swept = now


class Running:
    """The requests each client has running, at most `limit` at once. Its
    newest request beyond them may wait for its turn, for up to WAIT_SECONDS:
    typing, a reader sends a request per letter, each making the one before
    pointless, so the latest letter waits (and is answered) while a request
    waiting before it is refused."""

    WAIT_SECONDS = 5.0

    def __init__(self, limit: int):
        self.limit = limit
        self._running: Counter[str] = Counter()
        self._waiting: dict[str, object] = {}  # client -> the one request of it that may wait
        self._changed = threading.Condition()

    def enter(self, client: str) -> bool:
        """Whether the request may run; False if it must be refused."""
        deadline = time.monotonic() + self.WAIT_SECONDS
        with self._changed:
            if self._running[client] >= self.limit:
                ticket = self._waiting[client] = object()  # a request waiting before this one gives up its place
                self._changed.notify_all()
                try:
                    while self._running[client] >= self.limit:
                        left = deadline - time.monotonic()
                        if left <= 0 or self._waiting.get(client) is not ticket:
                            return False
                        self._changed.wait(left)
                finally:
                    if self._waiting.get(client) is ticket:
                        del self._waiting[client]
            self._running[client] += 1
            return True

    def leave(self, client: str) -> None:
        with self._changed:
            self._running[client] -= 1
            if not self._running[client]:
                del self._running[client]
            self._changed.notify_all()


def concurrent_searches(config) -> int:
    """The searches one client may have running at once: CONCURRENT_SEARCHES,
    but fewer than the search workers when there are several. A search runs
    to its end once a worker has it, so a client holding every worker with
    slow searches would keep every other reader waiting until its deadline."""
    limit, workers = int(config["CONCURRENT_SEARCHES"]), int(config["WORKERS"])
    return min(limit, workers - 1) if limit and workers > 1 else limit


def refuse(retry_after: int, limit: str):
    """A 429 naming the limit; after_request adds the Retry-After header."""
    g.retry_after = retry_after
    abort(429, limit)


def init_app(app: Flask) -> None:
    @app.after_request  # registered first, so it runs after Flask-Limiter's, which puts its window's reset on every answer
    def retry_after(response: Response) -> Response:
        if "retry_after" in g:
            response.headers["Retry-After"] = str(g.retry_after)
        elif response.status_code < 400:
            del response.headers["Retry-After"]
        return response

    limiter = Limiter(
        current_client,
        app=app,
        application_limits=[lambda: current_app.config["RATE_LIMIT"]],  # one budget across pages and API
        application_limits_exempt_when=lambda: request.endpoint not in LIMITED,
        headers_enabled=True,
        storage_uri="memory://",
        enabled=bool(app.config["RATE_LIMIT"]),
    )
    app.extensions["rate_limiter"] = limiter
    budget = TimeBudget(float(app.config["TIME_BUDGET"])) if app.config["TIME_BUDGET"] else None
    concurrent = concurrent_searches(app.config)
    running = Running(concurrent) if concurrent else None

    @app.before_request
    def admit() -> None:
        if request.endpoint not in LIMITED:
            return
        client = current_client()
        if budget and (wait := budget.retry_after(client)):
            refuse(wait, f"{budget.per_minute:g} s of search time per minute")
        if running and not running.enter(client):
            refuse(1, f"{running.limit} searches at a time")
        g.limited_client, g.cpu_started = client, time.thread_time()

    @app.teardown_request
    def settle(exc: BaseException | None) -> None:
        client = g.pop("limited_client", None)
        if client is None:
            return
        if running:
            running.leave(client)
        if budget:  # this thread's computing (the whole search when it ran here) plus a search worker's
            budget.charge(client, time.thread_time() - g.cpu_started + g.get("search_seconds", 0.0))

