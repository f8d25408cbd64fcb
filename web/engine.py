"""The app's search engine (see search/engine.py), one for all requests,
chosen by the INDEX_DIR setting: a folder (Whoosh) or an OpenSearch address."""

from __future__ import annotations

from flask import Flask, current_app

from search.engine import Engine, open_engine
from search.keys import Keys
from search.limits import Limits


def init_app(app: Flask) -> None:
    config = app.config
    limits = Limits(query_chars=config["MAX_QUERY_CHARS"], per_page=config["MAX_PER_PAGE"],
                    depth=config["MAX_DEPTH"], seconds=config["SEARCH_SECONDS"])
    app.extensions["engine"] = open_engine(config["INDEX_DIR"], workers=int(config["WORKERS"]),
                                           refresh_seconds=float(config["REFRESH_SECONDS"]), limits=limits)


def get_engine() -> Engine:
    return current_app.extensions["engine"]


def keys() -> Keys:
    """The keys that allow writes (search/keys.py)."""
    return Keys.of(str(current_app.config["INDEX_DIR"]), current_app.config["KEYS_DIR"])
