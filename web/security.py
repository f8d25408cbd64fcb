"""Who is asking and under which name; security headers on every response,
and CORS on the API.

The Host header is the client's to choose: the service answers only to the
names it is given (loopback names, the address it listens on, PUBLIC_URL's
host, ALLOWED_HOSTS); any other gets a 400 and is never written into a page.
Links that leave the page (OpenSearch, OpenAPI, the embed page's widget) use
PUBLIC_URL when set. X-Forwarded-* headers are believed only from as many
proxies as TRUSTED_PROXIES says (Werkzeug's ProxyFix); without it a client
cannot pass for another by sending one.

Pages may load only our own scripts and styles, and may not be framed, except
`/embed`, which exists to be framed by other sites.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from .settings import SettingError

FRAMEABLE = ("/embed",)
CROSS_ORIGIN = ("/api/", "/widget.js", "/static/widget.css", "/openapi.json")


def csp(frameable: bool) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors *" if frameable else "frame-ancestors 'none'",
        ]
    )


def allowed_origin(origin: str | None, allowed: str) -> str | None:
    """The Access-Control-Allow-Origin value for a request's Origin, or None."""
    if allowed.strip() == "*":
        return "*"
    if origin and origin in {o.strip().rstrip("/") for o in allowed.split(",") if o.strip()}:
        return origin
    return None


LOOPBACK = ("localhost", "127.0.0.1", "::1")
HOST = re.compile(r"([a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?", re.ASCII | re.IGNORECASE)


def host_name(host: str) -> str:
    """The name in a Host header, lower case and without port or brackets
    ('[::1]:5000' -> '::1'); '' when there is none or it is malformed."""
    found = HOST.fullmatch(host)
    return found.group(1).strip("[]").lower() if found else ""


def trusted_hosts(config: dict) -> set[str]:
    """The names the service answers to (search serve adds the address it
    listens on: trust_host)."""
    names = {*LOOPBACK, *(host_name(h.strip()) or h.strip().lower() for h in config["ALLOWED_HOSTS"].split(",") if h.strip())}
    if config["PUBLIC_URL"]:
        public = urlsplit(config["PUBLIC_URL"])
        if public.scheme not in ("http", "https") or not public.hostname:
            raise SettingError(f"SEARCH_PUBLIC_URL must be an http(s) address such as https://search.example.org; not {config['PUBLIC_URL']!r}.")
        names.add(public.hostname)
    return names


def trust_host(app: Flask, host: str) -> None:
    app.extensions["trusted_hosts"].add(host_name(host) or host.lower())


def is_trusted(name: str, trusted: set[str]) -> bool:
    """Whether `name` is one of `trusted`; '.example.org' stands for that
    name and its subdomains."""
    return bool(name) and (name in trusted or any(t.startswith(".") and (name.endswith(t) or name == t[1:]) for t in trusted))


def public_url() -> str:
    """The service's root URL for links meant for other sites and programs:
    PUBLIC_URL, else the scheme and (trusted) host of this request."""
    return current_app.config["PUBLIC_URL"].rstrip("/") or request.url_root.rstrip("/")


MAX_REQUEST_BYTES = 64 * 1024
"""Largest body of a request other than a write."""


def init_app(app: Flask) -> None:
    proxies = int(app.config["TRUSTED_PROXIES"])
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.extensions["trusted_hosts"] = trusted_hosts(app.config)

    @app.before_request
    def refuse_unknown_hosts() -> None:
        """Before anything can build a link from it; the name is not echoed back.
        (A scheme other than http(s) can only come from a forwarded header.)"""
        if request.scheme not in ("http", "https") or not is_trusted(host_name(request.host), app.extensions["trusted_hosts"]):
            abort(400, "This service does not answer to the host name this request was sent to "
                       "(its operator can allow it with SEARCH_PUBLIC_URL or SEARCH_ALLOWED_HOSTS).")

    @app.before_request
    def refuse_large_bodies() -> None:
        """Refuse a large body before the app reads it: only writes of
        articles carry more than a few bytes. (Waitress has read it by then,
        up to SEARCH_MAX_WRITE_BYTES, spooled to a temporary file beyond
        512 KB; a larger one it refuses itself.)"""
        writing = request.method in ("POST", "PUT") and request.path.startswith("/api/articles")
        limit = int(app.config["MAX_WRITE_BYTES"]) if writing else MAX_REQUEST_BYTES
        if request.content_length and request.content_length > limit:
            abort(413, f"Requests may carry at most {limit:,} bytes.")

    @app.after_request
    def headers(response: Response) -> Response:
        path = request.path
        frameable = path.startswith(FRAMEABLE)
        response.headers["Content-Security-Policy"] = csp(frameable)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "strict-origin-when-cross-origin"
        if not frameable:
            response.headers["X-Frame-Options"] = "DENY"
        if path.startswith(CROSS_ORIGIN):
            response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
            origin = allowed_origin(request.headers.get("Origin"), app.config["CORS_ORIGINS"])
            if origin:
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
                response.headers["Access-Control-Max-Age"] = "86400"
            if origin != "*":
                response.vary.add("Origin")
        else:
            response.headers["Cross-Origin-Resource-Policy"] = "same-origin"
        return response
