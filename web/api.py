"""The JSON API, for other sites and scripts."""

from __future__ import annotations

from dataclasses import asdict

from flask import Blueprint, jsonify, request

from search.errors import SearchError
from search.index import article_by_id

from . import openapi
from .data import related_articles, search_data
from .errors import RequestError, from_library
from .searcher import get_index, get_searcher
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
    article = article_by_id(get_searcher(), doc_id)
    if article is None:
        raise RequestError(f"No article with id {doc_id!r}.", "not_found", 404)
    return jsonify(article.to_dict())


@bp.get("/api/articles/<path:doc_id>/related")
def related_api(doc_id: str):
    """The same story in the other languages, and the articles nearest in meaning."""
    if article_by_id(get_searcher(), doc_id) is None:
        raise RequestError(f"No article with id {doc_id!r}.", "not_found", 404)
    found = related_articles(doc_id)
    data = {"counterparts": [], "related": []} if found is None else found
    return jsonify({"id": doc_id, "by_meaning": found is not None,
                    **{key: [asdict(c) for c in value] for key, value in data.items()}})


@bp.get("/openapi.json")
def openapi_document():
    return jsonify(openapi.document(public_url()))


@bp.get("/healthz")
def health():
    """For monitoring: 200 with the document count while the index answers."""
    try:
        documents = get_searcher().doc_count()
        generation = get_index().generation_name()
    except SearchError as exc:
        response = jsonify({"status": "unavailable", "message": from_library(exc).message})
        response.status_code = 503
        return response
    return jsonify({"status": "ok", "documents": documents, "generation": generation})
