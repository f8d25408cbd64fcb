"""The OpenAPI description of the JSON API (tests check real responses against it)."""

from __future__ import annotations

from typing import Any, Mapping

from search.engine import SORTS
from search.languages import LANGUAGES

_STRING = {"type": "string"}
_ARTICLE_FIELDS = {
    "id": _STRING,
    "title": _STRING,
    "lang": {"type": "string", "enum": list(LANGUAGES)},
    "source": _STRING,
    "url": _STRING,
    "date": _STRING,
}

_DATE = {"type": "string", "pattern": "^[0-9]{4}(-[0-9]{1,2}(-[0-9]{1,2})?)?$"}
_COUNTERPARTS = {"type": "array", "items": {"$ref": "#/components/schemas/Counterpart"}}

SCHEMAS = {
    "Hit": {
        "type": "object",
        "required": ["id", "title", "lang", "source", "source_name", "url", "date", "published", "score", "snippet",
                     "title_html", "by_meaning", "also_in", "duplicates"],
        "additionalProperties": False,
        "properties": {
            **_ARTICLE_FIELDS,
            "source_name": {"type": "string", "description": "The source as readers are shown it: the name the record gave (source_name), else a clean form of `source` (feeds.nos.nl -> nos.nl)."},
            "published": {"type": "string", "description": 'The date read from `date`, as ISO 8601: a day ("2005-12-01") or a time with its zone (UTC when the record gave none); "" when it could not be read.'},
            "score": {"type": "number"},
            "snippet": {"type": "string", "description": "Safe HTML: escaped text, matched words in <mark>."},
            "title_html": {"type": "string", "description": "The title as safe HTML: escaped text, matched words in <mark>."},
            "by_meaning": {"type": "boolean", "description": "Found by meaning only (often in another language): none of the query's words are in it, nothing is marked, and the snippet is its opening."},
            "also_in": {**_COUNTERPARTS, "description": "The same story in other languages (one article per language at most)."},
            "duplicates": {**_COUNTERPARTS, "description": "Near-duplicates in its language (the same story republished), folded into this result unless collapse=0."},
        },
    },
    "Counterpart": {
        "type": "object",
        "required": ["id", "lang", "title", "similarity"],
        "additionalProperties": False,
        "properties": {
            "id": _STRING,
            "lang": {"type": "string", "enum": list(LANGUAGES)},
            "title": _STRING,
            "similarity": {"type": "number", "description": "How alike in meaning (cosine of the articles' vectors, less their language's mean)."},
        },
    },
    "Related": {
        "type": "object",
        "required": ["id", "by_meaning", "counterparts", "related"],
        "additionalProperties": False,
        "properties": {
            "id": _STRING,
            "by_meaning": {"type": "boolean", "description": "False when the index has no vector for the article (yet): both lists are empty."},
            "counterparts": {**_COUNTERPARTS, "description": "The same story in each other language, as results list them."},
            "related": {**_COUNTERPARTS, "description": "The articles nearest in meaning, in any language, best first."},
        },
    },
    "SearchResponse": {
        "type": "object",
        "required": ["query", "total", "page", "per_page", "took_ms", "results", "facets", "source_names", "suggestion"],
        "additionalProperties": False,
        "properties": {
            "query": _STRING,
            "total": {"type": "integer", "minimum": 0},
            "page": {"type": "integer", "minimum": 1},
            "per_page": {"type": "integer", "minimum": 1},
            "took_ms": {"type": "number"},
            "results": {"type": "array", "items": {"$ref": "#/components/schemas/Hit"}},
            "facets": {
                "type": "object",
                "required": ["lang", "source", "date"],
                "properties": {
                    "lang": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "source": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "date": {"type": "object", "additionalProperties": {"type": "integer"},
                             "description": "Results by year, month or day (whichever suits their span), oldest first; each key is a valid from/to value."},
                },
            },
            "suggestion": {"type": ["string", "null"]},
            "source_names": {"type": "object", "additionalProperties": {"type": "string"},
                             "description": "The name to show for each source of the source facet."},
        },
    },
    "Article": {
        "type": "object",
        "required": ["id", "title", "body", "lang", "source", "url", "date", "extra"],
        "additionalProperties": False,
        "properties": {
            **_ARTICLE_FIELDS,
            "body": _STRING,
            "extra": {"type": "object"},
        },
    },
    "ArticleIn": {
        "type": "object",
        "required": ["id"],
        "description": "An article to write, as in a JSON Lines file: title and body (or text), and lang, source, source_name, url, date; other simple fields are kept.",
        "properties": {**_ARTICLE_FIELDS, "body": _STRING, "text": _STRING, "source_name": _STRING},
    },
    "WriteResult": {
        "type": "object",
        "required": ["added", "updated", "unchanged", "ids", "errors"],
        "additionalProperties": False,
        "properties": {
            "added": {"type": "integer", "minimum": 0},
            "updated": {"type": "integer", "minimum": 0},
            "unchanged": {"type": "integer", "minimum": 0},
            "ids": {"type": "array", "items": _STRING, "description": "The articles written (searchable when the answer comes)."},
            "errors": {"type": "array", "description": "The records not written, by their place in the request, and why.",
                       "items": {"type": "object", "required": ["index", "message"],
                                 "properties": {"index": {"type": "integer"}, "id": _STRING, "message": _STRING}}},
        },
    },
    "Deleted": {
        "type": "object",
        "required": ["deleted"],
        "additionalProperties": False,
        "properties": {"deleted": _STRING},
    },
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "properties": {"code": _STRING, "message": _STRING},
            }
        },
    },
    "Health": {
        "type": "object",
        "required": ["status"],
        "properties": {
            "status": {"type": "string", "enum": ["ok", "unavailable"]},
            "documents": {"type": "integer"},
            "generation": _STRING,
            "message": _STRING,
        },
    },
}


def _json(schema: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}}


def _param(name: str, description: str, schema: dict, required: bool = False, where: str = "query") -> dict:
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}


_BEARER = [{"writeKey": []}]
_WRITE_ERRORS = {"401": _json("Error", "No valid write key (Authorization: Bearer KEY, made with `search keys create`)."),
                 "413": _json("Error", "The body is too large, or has too many articles."),
                 "503": _json("Error", "Another writer holds the index, the engine is out of reach (Retry-After says when to try "
                                "again), or there is no index.")}
ERRORS = {"400": _json("Error", "The request cannot be answered (the message says why)."),
          "429": _json("Error", "Too many requests."),
          "503": _json("Error", "The index or the engine is unavailable (no index yet, a cluster out of reach); "
                                "Retry-After says when to try again.")}


def document(server_url: str, config: Mapping[str, Any]) -> dict:
    """The description of the API as served with `config` (web/settings.py):
    its limits are the service's own."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Multilingual news search",
            "version": "1",
            "description": "Full-text search over news articles in Arabic, German, Dutch and English.",
        },
        "servers": [{"url": server_url}],
        "paths": {
            "/api/search": {
                "get": {
                    "summary": "Search articles in every language at once",
                    "parameters": [
                        _param("q", 'The query: words, "phrases", AND/OR/NOT, -word, word*, lang:xx, source:name, title:word, date:2019-06, date:>2019-06-01, date:2019-06-01..2019-06-30.', {"type": "string", "minLength": 1, "maxLength": config["MAX_QUERY_CHARS"]}, True),
                        _param("lang", "Only articles in this language.", {"type": "string", "enum": list(LANGUAGES)}),
                        _param("source", "Only articles from this source (any case).", _STRING),
                        _param("from", "Only articles published from this year, month or day (UTC): 2019, 2019-06, 2019-06-01.", _DATE),
                        _param("to", "Only articles published up to the end of this year, month or day (UTC).", _DATE),
                        _param("sort", "relevance (best match first) or newest (latest first, undated articles last).",
                               {"type": "string", "enum": list(SORTS), "default": SORTS[0]}),
                        _param("page", f"Page number; no page may start past the {config['MAX_DEPTH']:,}th result.",
                               {"type": "integer", "minimum": 1, "default": 1}),
                        _param("per_page", "Results per page.", {"type": "integer", "minimum": 1, "maximum": config["MAX_PER_PAGE"],
                                                                  "default": config["PER_PAGE"]}),
                        _param("collapse", "0 to show near-duplicates (the same story republished in one language) as results of their own; by default each is folded into the first of them and counted once.",
                               {"type": "string", "enum": ["0", "1", "true", "false"]}),
                        _param("typing", "1 while the reader is still typing (results as you type): a last word not followed by a space also stands for the most frequent words it begins, and gets no spelling suggestion.",
                               {"type": "string", "enum": ["0", "1", "true", "false"]}),
                    ],
                    "responses": {"200": _json("SearchResponse", "Ranked results."), **ERRORS},
                }
            },
            "/api/articles": {
                "post": {
                    "summary": "Add or replace articles (one JSON object, a JSON array of them, or JSON Lines)",
                    "security": _BEARER,
                    "requestBody": {"required": True, "content": {
                        "application/json": {"schema": {"oneOf": [{"$ref": "#/components/schemas/ArticleIn"},
                                                                  {"type": "array", "items": {"$ref": "#/components/schemas/ArticleIn"}}]}},
                        "application/x-ndjson": {"schema": {"type": "string", "description": "One ArticleIn per line."}}}},
                    "responses": {"200": _json("WriteResult", "Written (the bad records, if any, are listed in errors)."),
                                  "400": _json("Error", "No record could be written, or the body is not JSON."), **_WRITE_ERRORS},
                }
            },
            "/api/articles/{id}": {
                "get": {
                    "summary": "One article",
                    "parameters": [_param("id", "The article id.", _STRING, True, "path")],
                    "responses": {"200": _json("Article", "The article."), "404": _json("Error", "No such article."), **ERRORS},
                },
                "put": {
                    "summary": "Add or replace the article with this id",
                    "security": _BEARER,
                    "parameters": [_param("id", "The article id.", _STRING, True, "path")],
                    "requestBody": {"required": True, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ArticleIn"}}}},
                    "responses": {"200": _json("WriteResult", "Written."), "400": _json("Error", "The article cannot be indexed."),
                                  **_WRITE_ERRORS},
                },
                "delete": {
                    "summary": "Remove the article with this id",
                    "security": _BEARER,
                    "parameters": [_param("id", "The article id.", _STRING, True, "path")],
                    "responses": {"200": _json("Deleted", "Removed."), "404": _json("Error", "No such article."), **_WRITE_ERRORS},
                },
            },
            "/api/articles/{id}/related": {
                "get": {
                    "summary": "The same story in other languages, and the articles nearest in meaning",
                    "parameters": [_param("id", "The article id.", _STRING, True, "path")],
                    "responses": {"200": _json("Related", "Counterparts and related articles."),
                                  "404": _json("Error", "No such article."), **ERRORS},
                }
            },
            "/healthz": {
                "get": {
                    "summary": "Whether the index answers",
                    "responses": {"200": _json("Health", "Serving."), "503": _json("Health", "No usable index.")},
                }
            },
        },
        "components": {"schemas": SCHEMAS,
                       "securitySchemes": {"writeKey": {"type": "http", "scheme": "bearer",
                                                        "description": "A write key, made with `search keys create`."}}},
    }
