"""RSS and Atom feeds indexed like any article file, and `search index
--watch` indexing a folder's files as they arrive, change and go."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from search.engines.whoosh.index import Index
from search.engines.whoosh.searching import search

from .conftest import ROOT, UNLIMITED_ENV

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>NOS Nieuws</title><link>https://www.nos.nl/</link><language>nl-nl</language>
<item><title>Kabinet valt over &lt;b&gt;stikstof&lt;/b&gt;</title><link>https://nos.nl/artikel/1</link>
<guid>https://nos.nl/artikel/1</guid><pubDate>Wed, 30 Oct 2019 15:14:33 +0100</pubDate>
<description>&lt;p&gt;Het kabinet is gevallen over het stikstofbeleid.&lt;/p&gt;&lt;script&gt;alert(1)&lt;/script&gt;</description></item>
{more}</channel></rss>"""
MORE = """<item><title>Boeren protesteren</title><link>https://nos.nl/artikel/2</link>
<description>Boeren protesteren in Den Haag tegen het stikstofbeleid.</description></item>"""
ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="de-AT"><title>Der Standard</title><link href="https://www.derstandard.at/"/>
<entry><id>urn:uuid:1</id><title>Regierung tritt zurück</title><link href="https://derstandard.at/1"/>
<updated>2019-06-01T10:00:00Z</updated><content type="html">&lt;p&gt;Die Regierung in Wien ist zurückgetreten.&lt;/p&gt;</content></entry>
</feed>"""
XXE = """<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file://{secret}">]>
<rss version="2.0"><channel><title>x</title><item><title>Entity &xxe;</title><guid>xxe-1</guid>
<description>An entity that must not be read.</description></item></channel></rss>"""


def test_rss_and_atom_entries_are_articles_with_their_id_link_date_language_and_source(tmp_path):
    folder = tmp_path / "feeds"
    folder.mkdir()
    (folder / "nos.rss").write_text(RSS.format(more=MORE), "utf-8")
    (folder / "standard.atom").write_text(ATOM, "utf-8")
    secret = tmp_path / "secret.txt"
    secret.write_text("MARKER-not-to-be-read", "utf-8")
    (folder / "xxe.xml").write_text(XXE.format(secret=secret), "utf-8")
    (folder / "page.xml").write_text("<html><body>not a feed</body></html>", "utf-8")
    ix = Index(tmp_path / "ix")
    report = ix.update([folder])
    assert report.added == 4 and [reason for _, reason in report.skipped] == ["not an RSS or Atom feed"]
    with ix.searcher() as s:
        hit = search(s, "stikstof", sort="newest").results[0]
        assert (hit.id, hit.lang, hit.source, hit.source_name, hit.url, hit.published) == (
            "https://nos.nl/artikel/1", "nl", "nos.nl", "NOS Nieuws", "https://nos.nl/artikel/1", "2019-10-30T15:14:33+01:00")
        assert hit.title == "Kabinet valt over stikstof" and "alert" not in ix.get(hit.id).body  # HTML as text, no script
        hit = search(s, "Regierung").results[0]
        assert (hit.id, hit.lang, hit.source, hit.published) == ("urn:uuid:1", "de", "derstandard.at", "2019-06-01T10:00:00+00:00")
        entity = ix.get("xxe-1")
        assert entity is not None and "MARKER" not in entity.title + entity.body


def _watching(folder: Path, index_dir: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "search", "index", "--watch", str(folder), "--index-dir", str(index_dir), "--no-embeddings"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **UNLIMITED_ENV})
    for line in process.stderr:
        if line.startswith("Watching"):
            return process
    raise AssertionError("search index --watch did not start watching")


def _ids_within(ix: Index, query: str, want: set[str], seconds: float = 15.0) -> float:
    """How long until a search for `query` finds exactly `want`."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        with ix.searcher() as s:
            if {hit.id for hit in search(s, query).results} == want:
                return time.monotonic() - started
        time.sleep(0.2)
    raise AssertionError(f"{query!r} did not find {want} within {seconds} s")


def test_watch_indexes_files_as_they_arrive_change_and_go_until_stopped(tmp_path):
    """Until SIGTERM (or Ctrl+C), which it takes as a clean stop."""
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "standard.atom").write_text(ATOM, "utf-8")
    process = _watching(folder, tmp_path / "ix")
    ix = Index(tmp_path / "ix")
    try:
        assert ix.get("urn:uuid:1") is not None  # indexed before watching starts
        (folder / "nos.rss").write_text(RSS.format(more=MORE), "utf-8")
        assert _ids_within(ix, "stikstofbeleid", {"https://nos.nl/artikel/1", "https://nos.nl/artikel/2"}) < 10
        (folder / "nos.rss").write_text(RSS.format(more=""), "utf-8")  # an entry dropped from the feed
        _ids_within(ix, "stikstofbeleid", {"https://nos.nl/artikel/1"})
        (folder / "standard.atom").unlink()
        _ids_within(ix, "Regierung", set())
    finally:
        process.send_signal(signal.SIGTERM)  # as a service manager stops it (SIGINT may be ignored in background jobs)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0 and "Stopped watching." in err and "Traceback" not in err
    assert "Updated" in out  # each run that changed something is reported
    assert ix.vectors() is None  # --no-embeddings: no run computed any
