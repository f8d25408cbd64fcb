"""Writing articles over HTTP, for newsrooms that publish all day:

    POST   /api/articles         one article (a JSON object), many (a JSON array), or JSON Lines
    PUT    /api/articles/<id>    one article, added or replaced under that id
    DELETE /api/articles/<id>

Each needs a write key (`search keys create`) as `Authorization: Bearer KEY`,
and a body labelled JSON or JSON Lines.
Records are read as files' records are (search.documents.to_article: the
same fields, limits and analysis); a bad record is answered with its error
and the others are written. A write returns once it is committed, so every
search worker sees it at its next search. One writer at a time: a write
waits up to WRITE_WAIT_SECONDS for another (a `search index` run, another
write), then answers 503 with Retry-After.
"""

from __future__ import annotations

import json

from flask import Blueprint, Response, jsonify, request

from search.documents import Article, to_article
from search.errors import IndexBusy

from .access import require_key
from .errors import RequestError
from .engine import get_engine

bp = Blueprint("writes", __name__)

WRITE_WAIT_SECONDS = 5.0
"""How long a write waits for the index's writer lock before answering 503."""
RETRY_AFTER_SECONDS = 10
"""What a 503 for a busy index tells the client to wait."""
MAX_RECORDS = 10_000
"""Most articles one request may carry (its body is limited in bytes too:
settings MAX_WRITE_BYTES)."""
WRITE_TYPES = ("application/json", "application/x-ndjson", "application/jsonl", "application/json-seq")
"""What a write's body may be labelled: a form (text/plain, form-encoded) that
another site's page posts is refused without being read."""


@bp.before_request
def writer_only() -> None:
    """A Bearer key, and a JSON body: nothing a cross-site form can send."""
    require_key(basic=False)
    if request.method in ("POST", "PUT") and request.mimetype not in WRITE_TYPES:
        raise RequestError(f"Send articles as JSON (Content-Type: application/json) or JSON Lines "
                           f"(application/x-ndjson), not {request.mimetype or 'an unlabelled body'}.",
                           "unsupported_media_type", 415)


@bp.post("/api/articles")
def post_articles():
    records = _records()
    articles: list[Article] = []
    errors: list[dict] = []
    seen: set[str] = set()
    for n, record in enumerate(records):
        if isinstance(record, dict) and record.get("id") in (None, ""):
            article: Article | str = "an article needs an id"
        else:
            article = to_article(record, "")
        if isinstance(article, str):
            errors.append({"index": n, "message": article})
        elif article.id in seen:
            errors.append({"index": n, "id": article.id, "message": "the same id is earlier in this request"})
        else:
            seen.add(article.id)
            articles.append(article)
    report = _written(articles) if articles else None
    status = 200 if articles or not errors else 400
    return _answer(report, errors, [article.id for article in articles], status)


@bp.put("/api/articles/<path:doc_id>")
def put_article(doc_id: str):
    records = _records()
    if len(records) != 1 or not isinstance(records[0], dict):
        raise RequestError("PUT takes one article, a JSON object.", "bad_article")
    record = records[0]
    if doc_id != doc_id.strip():
        raise RequestError(f"The id {doc_id!r} begins or ends with spaces, which ids may not.", "bad_article")
    if str(record.get("id", doc_id)) != doc_id:
        raise RequestError(f"The article's id {record.get('id')!r} is not the one in the URL ({doc_id!r}).", "bad_article")
    article = to_article({**record, "id": doc_id}, doc_id)
    if isinstance(article, str):
        raise RequestError(f"The article cannot be indexed: {article}.", "bad_article")
    return _answer(_written([article]), [], [doc_id], 200)


@bp.delete("/api/articles/<path:doc_id>")
def delete_article(doc_id: str):
    try:
        gone = get_engine().delete([doc_id], wait=WRITE_WAIT_SECONDS)
    except IndexBusy:
        raise _busy() from None
    if not gone:
        raise RequestError(f"No article with id {doc_id!r}.", "not_found", 404)
    return jsonify({"deleted": doc_id})


def _records() -> list:
    """The request's records: a JSON object, a JSON array of them, or JSON
    Lines (one object per line)."""
    text = request.get_data(as_text=True).removeprefix("\ufeff")
    if not text.strip():
        raise RequestError("The request has no articles: send a JSON object, a JSON array or JSON Lines.", "no_articles")
    try:
        try:
            data = json.loads(text)
            records = data if isinstance(data, list) else [data]
        except json.JSONDecodeError as whole:
            if whole.lineno == 1:  # not JSON Lines either: say what is wrong where
                raise
            records = [json.loads(line) for line in text.split("\n") if line.strip()]  # not splitlines: U+2028 may be in a string
    except RecursionError:
        raise RequestError("The JSON is nested too deeply.", "bad_json") from None
    except ValueError as exc:  # JSONDecodeError, and numbers too long to convert
        raise RequestError(f"The body is neither JSON nor JSON Lines: {exc}.", "bad_json") from None
    if len(records) > MAX_RECORDS:
        raise RequestError(f"At most {MAX_RECORDS:,} articles a request; send the rest in another.", "too_many_articles", 413)
    return records


def _written(articles: list[Article]):
    try:
        return get_engine().put(articles, wait=WRITE_WAIT_SECONDS)
    except IndexBusy:
        raise _busy() from None


def _busy() -> RequestError:
    """(The index's own message names its folder: the client is told less.)"""
    return RequestError(f"The index is being written by another writer (an indexing run or another write); try "
                        f"again in {RETRY_AFTER_SECONDS} seconds.", "index_busy", 503,
                        {"Retry-After": str(RETRY_AFTER_SECONDS)})


def _answer(report, errors: list[dict], ids: list[str], status: int) -> Response:
    data = {"added": report.added if report else 0, "updated": report.updated if report else 0,
            "unchanged": report.unchanged if report else 0, "ids": ids, "errors": errors}
    response = jsonify(data)
    response.status_code = status
    return response
