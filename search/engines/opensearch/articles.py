"""Articles as OpenSearch documents, and back.

The title and body are kept once, under their language's fields
(`title_de`, `body_de`): those are the fields searched and highlighted, so
the text need not be stored a second time.
"""

from __future__ import annotations

import hashlib
import unicodedata

from ...documents import Article
from ...languages import NEUTRAL

MAX_KEY_BYTES = 512
"""The longest _id OpenSearch takes, in bytes of UTF-8."""


def doc_key(doc_id: str) -> str:
    """The _id of the article with id `doc_id`: the id itself when
    OpenSearch takes it, else "#" and a hash of it (the id is kept in `id`).
    An id that begins with "#" is hashed too, so that no id can stand for
    another's hash."""
    data = doc_id.encode("utf-8", "surrogatepass")
    if len(data) <= MAX_KEY_BYTES and not doc_id.startswith("#"):
        return doc_id
    return "#" + hashlib.blake2b(data, digest_size=32).hexdigest()


def to_document(article: Article, lang: str, fingerprint: str, published: str) -> dict:
    """The document of an article analyzed as `lang`; empty fields are left
    out, so that facets and sorts see them as missing."""
    doc = {
        "id": article.id,
        "lang": lang,
        "origin": article.origin,
        "fingerprint": fingerprint,
        f"title_{lang}": unicodedata.normalize("NFC", article.title),  # as queries are (NFKC): "ä" typed in
        f"body_{lang}": unicodedata.normalize("NFC", article.body),    # two code points is found too
        "extra": article.extra,
    }
    for name in ("source", "url", "date"):
        if value := getattr(article, name):
            doc[name] = value
    if isinstance(name := article.extra.get("source_name"), str) and name.strip():
        doc["source_name"] = name.strip()
    if published:
        doc["published"] = published
    return doc


def from_document(doc: dict) -> Article:
    """The article a document holds (origin left empty: it is the indexer's business)."""
    lang = doc.get("lang", NEUTRAL)
    return Article(
        id=doc["id"],
        title=doc.get(f"title_{lang}", ""),
        body=doc.get(f"body_{lang}", ""),
        lang=lang,
        source=doc.get("source", ""),
        url=doc.get("url", ""),
        date=doc.get("date", ""),
        extra=doc.get("extra") or {},
    )
