"""The JSON API, for other sites and scripts."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, current_app, jsonify, request


from . import openapi
from .data import related_articles, search_data
from search.engine import Related

from .engine import get_engine
from .errors import RequestError
from .security import public_url

bp = Blueprint("api", __name__)


@bp.get("/api/search")
def search_api():
    results, took_ms = search_data(request.args)
    data = results.to_dict()
    return jsonify({**{k: data[k] for k in ("query", "total", "page", "per_page")}, "took_ms": took_ms,
                    **{k: data[k] for k in ("results", "facets", "source_names", "suggestion")}})


@bp.get("/api/articles/<path:doc_id>")
def article_api(doc_id: str):
    article = get_engine().article(doc_id)
    if article is None:
        raise RequestError(f"No article with id {doc_id!r}.", "not_found", 404)
    return jsonify(article.to_dict())


@bp.get("/api/articles/<path:doc_id>/related")
def related_api(doc_id: str):
    """The same story in the other languages, and the articles nearest in meaning."""
    if get_engine().article(doc_id) is None:
        raise RequestError(f"No article with id {doc_id!r}.", "not_found", 404)
    found = related_articles(doc_id)
    return jsonify({"id": doc_id, "by_meaning": found is not None, **asdict(found or Related())})


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi.document(public_url(), current_app.config))


@bp.get("/healthz")
def health():
    """For monitoring: 200 with the document count while the index answers."""
    health = get_engine().health()
    if not health.ok:
        current_app.logger.error("health check failed: %s", health.detail)  # the details stay in the log
        response = jsonify({"status": "unavailable", "message": "The search index is not available right now; please try again later."})
        response.status_code = 503
        return response
    return jsonify({"status": "ok", "documents": health.documents, "generation": health.detail})
