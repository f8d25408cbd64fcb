"""Security headers on every response, and CORS on the API.

Pages may load only our own scripts and styles, and may not be framed, except
`/embed`, which exists to be framed by other sites.
"""

from __future__ import annotations

from flask import Flask, Response, abort, request

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


def init_app(app: Flask) -> None:
    @app.before_request
    def refuse_large_bodies() -> None:
        """We serve only GETs: refuse a large body before anything reads it."""
        limit = app.config["MAX_CONTENT_LENGTH"]
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
