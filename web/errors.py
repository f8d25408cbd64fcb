"""One error family, one handler: JSON `{"error": {"code", "message"}}` for the
API, an HTML page otherwise. A client never sees a traceback."""

from __future__ import annotations

from flask import Flask, current_app, g, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from search.errors import BadQuery, EngineUnavailable, IndexNotFound, IndexOutdated, IndexWriteError, SearchError


class RequestError(Exception):
    """Something a client sent that we cannot answer (a 4xx)."""

    def __init__(self, message: str, code: str = "bad_request", status: int = 400, headers: dict | None = None):
        super().__init__(message)
        self.message, self.code, self.status, self.headers = message, code, status, headers or {}


RETRY_SECONDS = 5
"""When a client is told to try again while the engine is unavailable."""


def from_library(exc: SearchError) -> RequestError:
    if isinstance(exc, BadQuery):
        return RequestError(str(exc), exc.code, 400)
    if isinstance(exc, EngineUnavailable):  # restarting, a worker lost, a cluster out of reach: it passes
        current_app.logger.error("engine unavailable: %s", exc)  # where the cluster is stays in the log
        return RequestError("The search engine is not available right now; please try again in a moment.",
                            exc.code, 503, {"Retry-After": str(RETRY_SECONDS)})
    if isinstance(exc, (IndexNotFound, IndexOutdated, IndexWriteError)):
        current_app.logger.error("index unavailable: %s", exc)  # the details (paths) stay in the log
        return RequestError("The search index is not available right now; please try again later.", "index_unavailable", 503)
    return RequestError(str(exc), "error", 400)


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path in ("/healthz", "/openapi.json")


def respond(error: RequestError):
    if "Retry-After" in error.headers:  # kept over Flask-Limiter's own (see limits.py)
        g.retry_after = error.headers["Retry-After"]
    if wants_json():
        response = jsonify({"error": {"code": error.code, "message": error.message}})
        response.status_code = error.status
        response.headers.update(error.headers)
        return response
    if request.args.get("partial"):  # live search swaps this into the results area
        return render_template("views/_results.html", error=error), error.status, error.headers
    return render_template("error.html", error=error), error.status, error.headers


def init_app(app: Flask) -> None:
    app.register_error_handler(RequestError, respond)
    app.register_error_handler(SearchError, lambda exc: respond(from_library(exc)))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if exc.code == 429:  # Flask-Limiter adds Retry-After to the response
            message = f"Too many searches from your address (limit: {exc.description}); please wait and try again."
        return respond(RequestError(message, code, exc.code or 500))

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        app.logger.exception("unhandled error on %s", request.path)
        return respond(RequestError("Something went wrong on our side; please try again.", "internal_error", 500))
