"""Per-client rate limits on the pages and API calls that search (Flask-Limiter).

A client over its limit gets a 429 with Retry-After, as JSON on the API and
as a page elsewhere (see errors.py). Static files, the widget, health checks
and the OpenAPI document are not limited.
"""

from __future__ import annotations

from flask import Flask, current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

LIMITED = {"views.search_page", "views.article_page", "api.search_api", "api.article_api"}


def init_app(app: Flask) -> None:
    limiter = Limiter(
        get_remote_address,
        app=app,
        application_limits=[lambda: current_app.config["RATE_LIMIT"]],  # one budget across pages and API
        application_limits_exempt_when=lambda: request.endpoint not in LIMITED,
        headers_enabled=True,
        storage_uri="memory://",
        enabled=bool(app.config["RATE_LIMIT"]),
    )
    app.extensions["rate_limiter"] = limiter
