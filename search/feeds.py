"""RSS and Atom feeds as records, so that a site can drop its feed exports in
a folder that `search index` reads (or `--watch`es).

feedparser reads the feeds: RSS 0.9x, 1.0 and 2.0 and Atom 0.3 and 1.0, in
any encoding, and badly formed ones as far as they can be read; it neither
fetches anything (it is given the bytes) nor resolves external entities.
Each entry becomes a record like a JSON Lines line: its id (the entry's
guid or id, else its link), title, text (its HTML content or summary as
plain text), link, date as written (published, else updated), language (the
entry's or the feed's, without its region: `en-us` is `en`) and source (the
host of the feed's site, `nos.nl`, with the feed's title as its name).
"""

from __future__ import annotations

import io
from html.parser import HTMLParser
from typing import Iterator
from urllib.parse import urlsplit

FORMATS = (".rss", ".atom", ".xml")


def feed_records(data: bytes) -> Iterator[dict]:
    """The entries of the feed in `data`; ValueError if it is not a feed."""
    import feedparser  # here: every process reads articles' records, few read feeds (0.1 s to import)

    parsed = feedparser.parse(io.BytesIO(data), resolve_relative_uris=False, sanitize_html=False)
    if not parsed.entries and not parsed.get("version"):
        raise ValueError("not an RSS or Atom feed")
    feed = parsed.feed
    site = feed.get("link", "")
    source = _host(site) or feed.get("title", "")
    for entry in parsed.entries:
        content = entry.get("content") or []
        html = content[0].get("value", "") if content else entry.get("summary", "")
        lang = (content[0].get("language") if content else None) or feed.get("language") or ""
        record = {
            "id": entry.get("id") or entry.get("link") or None,
            "title": _text(entry.get("title", "")),
            "body": _text(html),
            "url": entry.get("link", ""),
            "date": entry.get("published") or entry.get("updated") or "",
            "lang": lang.split("-")[0].split("_")[0],
            "source": source,
            "source_name": feed.get("title", ""),
        }
        yield {name: value for name, value in record.items() if value}


def _host(url: str) -> str:
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


class _Text(HTMLParser):
    """Text of an HTML fragment: tags dropped, a line break at each block."""

    BLOCKS = {"p", "div", "br", "li", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "tr", "section", "article"}
    SKIPPED = {"script", "style"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def _text(html: str) -> str:
    """`html` as plain text (feeds send titles and bodies as HTML, escaped or not)."""
    parser = _Text()
    parser.feed(html)
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)
