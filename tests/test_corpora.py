"""On the real corpora (../shared/corpora; skipped without them): the latest
articles since a day, in each language, through the real API."""

from __future__ import annotations

import gzip

import pytest

from search.engines.whoosh.index import Index

from .conftest import CORPORA, UNLIMITED

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CORPORA.exists(), reason="../shared/corpora is not here")]

PER_LANGUAGE = 1500
QUERIES = {"ar": ("السعودية", "2015-08-01"), "de": ("Regierung", "2008-01-01"), "nl": ("kabinet", "2019-06-01")}
"""A common word of each language, and a day within the span of its articles' dates
(the English articles have none)."""


@pytest.fixture(scope="module")
def corpora_client(tmp_path_factory):
    from web import create_app

    folder = tmp_path_factory.mktemp("corpora")
    for lang in ("ar", "de", "nl", "en"):
        with gzip.open(CORPORA / f"{lang}.jsonl.gz", "rt", encoding="utf-8") as f:
            lines = f.readlines()
        spread = lines[:: max(1, len(lines) // PER_LANGUAGE)][:PER_LANGUAGE]  # over the whole span of dates
        (folder / f"{lang}.jsonl").write_text("".join(spread), "utf-8")
    ix = Index(tmp_path_factory.mktemp("corpora-ix"))
    ix.update([folder])
    return create_app({"INDEX_DIR": str(ix.path), "TESTING": True, **UNLIMITED}).test_client()


@pytest.mark.parametrize("lang", QUERIES)
def test_the_latest_since_a_day_are_the_right_articles_newest_first(corpora_client, lang):
    word, since = QUERIES[lang]
    everything = corpora_client.get(f"/api/search?q={word}&lang={lang}&per_page=50").get_json()
    latest = corpora_client.get(f"/api/search?q={word}&lang={lang}&sort=newest&from={since}&per_page=50").get_json()
    keys = [_utc(hit) for hit in latest["results"]]  # days are taken in UTC
    assert latest["total"] > 10 and latest["total"] < everything["total"]
    assert all(key[:10] >= since for key in keys) and keys == sorted(keys, reverse=True)
    assert sum(latest["facets"]["date"].values()) == latest["total"]
    assert all(hit["lang"] == lang for hit in latest["results"])


def _utc(hit: dict) -> str:
    from search.dates import parse

    return parse(hit["published"]).key


def test_the_relevance_evaluation_runs_on_both_engines_side_by_side(opensearch, tmp_path):
    """bench/evaluate.py on a small sample, Whoosh and the OpenSearch cluster
    on the same articles: each finds most known items (figures of a full run
    in bench/README.md)."""
    import json
    import subprocess
    import sys

    from .conftest import ROOT

    out = tmp_path / "evaluate.json"
    done = subprocess.run([sys.executable, ROOT / "bench" / "evaluate.py", "--docs", "300", "--queries", "40",
                           "--no-variants", "--opensearch", ",".join(opensearch["urls"]), "--out", out],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert " OS S@10 " in done.stdout
    summary = json.loads(out.read_text("utf-8"))["summary"]
    for lang, sets in summary.items():
        for engine in ("ours", "opensearch"):
            assert sets["A"][engine]["success@10"] >= 0.6, (lang, engine, sets["A"][engine])
