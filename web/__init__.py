"""The Flask app: browser search, a JSON API and an embeddable widget.

    flask --app web run          development server
    search serve                 production (waitress)
"""

from __future__ import annotations

from typing import Any

from flask import Flask

from . import access, api, engine, errors, limits, security, views, writes
from .settings import from_environment


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.from_mapping(from_environment())
    if test_config:
        app.config.from_mapping(test_config)
    app.config["MAX_CONTENT_LENGTH"] = int(app.config["MAX_WRITE_BYTES"])  # the largest; security.py limits the others
    app.json.ensure_ascii = False
    app.json.sort_keys = False
    engine.init_app(app)
    security.init_app(app)
    access.init_app(app)
    limits.init_app(app)
    errors.init_app(app)
    app.register_blueprint(views.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(writes.bp)
    return app
