"""The HTML pages: search, article, embed, and the files browsers ask for."""

from __future__ import annotations

from typing import Mapping
from urllib.parse import quote, urlencode, urlsplit

from flask import Blueprint, abort, current_app, render_template, request, send_from_directory, url_for

from search.dates import parse as parse_date
from search.errors import UnknownLanguage
from search.languages import LANGUAGES, resolve
from search.sources import clean_name

from .data import related_articles, search_data
from .errors import RequestError
from .engine import get_engine
from .security import public_url

bp = Blueprint("views", __name__)


@bp.app_template_filter("safe_url")
def safe_url(url: str) -> bool:
    """Only http(s) links are rendered: never javascript:, data: or others."""
    return urlsplit(url.strip()).scheme.lower() in ("http", "https")


@bp.app_template_filter("shown_date")
def shown_date(iso: str, lang: str) -> str:
    """A result's date (ISO 8601, see search.dates) as a reader of its language writes it."""
    published = parse_date(iso)
    return published.shown(lang) if published else iso


@bp.app_template_global("source_name")
def source_name(identifier: str) -> str:
    """A source filter's name, when no result names it (see search.sources)."""
    return clean_name(identifier)


@bp.app_template_global()
def article_url(doc_id: str, search: Mapping[str, str] | None = None) -> str:
    """An article page's URL, carrying the search it was found by (its
    words are marked there, and "Back to results" returns to the same page
    of the same filters). Every character of the id is escaped, "/"
    included, so ids like "a/./b" or "../x" reach the page unchanged."""
    url = f"{request.script_root}/articles/{quote(doc_id, safe='')}"
    return url + (f"?{urlencode(search)}" if search else "")


@bp.app_template_global()
def external_url(endpoint: str) -> str:
    """A full URL for other sites and programs, on the public URL (security.py)."""
    return public_url() + url_for(endpoint).removeprefix(request.script_root)


@bp.app_context_processor
def helpers() -> dict:
    return {"languages": LANGUAGES, "page_url": page_url, "search_args": search_args,
            "max_depth": current_app.config["MAX_DEPTH"], "public_url": public_url, "max_sources": FACET_SOURCES}


FACET_SOURCES = 20
"""Sources the page's facet lists (the most frequent): a corpus may have hundreds."""
SEARCH_PARAMETERS = ("q", "lang", "source", "from", "to", "sort", "page", "per_page", "collapse")


def search_args() -> dict[str, str]:
    """This request's search parameters (only those, and only those given)."""
    return {k: v for k in SEARCH_PARAMETERS if (v := request.args.get(k))}


def page_url(**changes) -> str:
    """This search's URL with some parameters changed (None removes one).
    Only search parameters are carried over: anything else a client adds
    (Flask's `_external`, `endpoint`...) must not reach url_for."""
    args = {k: request.args.get(k) for k in SEARCH_PARAMETERS}
    args.update(changes)
    return url_for("views.search_page", **{k: v for k, v in args.items() if v not in (None, "")})


@bp.get("/")
def search_page():
    query = request.args.get("q", "")
    results = error = None
    took_ms = 0.0
    status = 200
    if query.strip():
        try:
            results, took_ms = search_data(request.args)
        except RequestError as exc:
            error, status = exc, exc.status
    template = "views/_results.html" if request.args.get("partial") else "views/search.html"
    return render_template(template, query=query, results=results, took_ms=took_ms, error=error,
                           lang=_language(request.args.get("lang", "")),
                           source=request.args.get("source", ""), per_page=request.args.get("per_page", "")), status


def _language(name: str) -> str:
    """The code of a language filter as given (a code or a name), "" for none or an unknown one."""
    try:
        return resolve(name) if name.strip() else ""
    except UnknownLanguage:
        return ""


@bp.get("/articles/<path:doc_id>")
def article_page(doc_id: str):
    engine = get_engine()
    article = engine.article(doc_id)
    if article is None:
        abort(404, f"No article with id {doc_id!r}.")
    query = request.args.get("q", "")
    title_html, body_html = engine.marked(article, query)
    return render_template("views/article.html", article=article, query=query, related=related_articles(doc_id),
                           title_html=title_html, paragraphs=[p for p in body_html.split("\n") if p.strip()],
                           source_label=engine.source_names().get(article.source, article.source),
                           published=parse_date(article.date))


@bp.get("/embed")
def embed_page():
    """The search widget alone, for sites that prefer an iframe."""
    return render_template("views/embed.html", lang=request.args.get("lang", ""),
                           per_page=request.args.get("per_page", ""))


@bp.get("/widget.js")
def widget_script():
    response = send_from_directory(bp.root_path + "/static", "widget.js", max_age=3600)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    return response


@bp.get("/opensearch.xml")
def opensearch():
    return render_template("opensearch.xml"), 200, {"Content-Type": "application/opensearchdescription+xml"}
