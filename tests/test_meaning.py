"""Search by meaning (issue #11): the seed articles tell one story in German,
Arabic and Dutch; a query in any language finds all of them, and each
lists its counterparts. Real vectors, from the real model, on disk."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from search.engines.whoosh.index import Index
from search.engines.whoosh.searching import search
from search.engines.whoosh.vectors import FILE

from .conftest import SEEDS, search_command, write_jsonl

SEED_IDS = {
    "000_7267d5031a40e129": "de", "001_c8f3a0fc2298736b": "de", "002_b3527174807ffdab": "ar",
    "003_3692841fd95a15da": "nl", "004_786ee55e18834587": "ar",
}


@pytest.fixture(scope="module")
def meaning_index(tmp_path_factory) -> Index:
    ix = Index(tmp_path_factory.mktemp("meaning-index"))
    report = ix.update([SEEDS], embeddings=True)
    assert report.embedded == 5
    return ix


def found(ix: Index, text: str, **params):
    with ix.searcher() as searcher:
        return search(searcher, text, vectors=ix.vectors(), **params)


@pytest.mark.parametrize("query", ["US troops leave Iraq", "القوات الأمريكية تغادر العراق", "Amerikaanse troepen verlaten Irak"])
def test_a_query_in_any_language_finds_the_story_in_every_language(meaning_index, query):
    results = found(meaning_index, query)
    assert {hit.id for hit in results.results} == set(SEED_IDS)
    assert results.facets["lang"] == {"ar": 2, "de": 2, "nl": 1}
    with meaning_index.searcher() as searcher:
        keywords_only = search(searcher, query)
    assert keywords_only.total < 5  # what meaning adds: without it the other languages are missing


def test_a_single_word_shows_the_story_in_the_other_languages_beside_its_results(meaning_index):
    """One German word is too little meaning to find Arabic articles by (the
    model rates them no nearer than unrelated ones), but the German articles
    it finds list their counterparts."""
    results = found(meaning_index, "Truppenabzug")
    assert {SEED_IDS[hit.id] for hit in results.results} == {"de"}
    assert {other.lang for hit in results.results for other in hit.also_in} == {"ar", "nl"}


def test_a_hit_found_by_meaning_alone_says_so_and_marks_nothing(meaning_index):
    results = found(meaning_index, "Amerikaanse troepen verlaten Irak")
    by_meaning = [hit for hit in results.results if hit.by_meaning]
    by_words = [hit for hit in results.results if not hit.by_meaning]
    assert {SEED_IDS[hit.id] for hit in by_meaning} == {"ar"}  # "Irak" is a German word too
    assert by_words and all("<mark>" in hit.snippet + hit.title_html for hit in by_words)
    assert all("<mark>" not in hit.snippet + hit.title_html for hit in by_meaning)
    assert all(hit.snippet for hit in by_meaning)  # the passage it was found by


def test_each_hit_shows_its_own_snippet_on_every_page(meaning_index):
    """The snippets of the keywords' best matches are made while the query is
    embedded, before the ranking by meaning reorders them."""
    whole = {hit.id: (hit.snippet, hit.title_html) for hit in found(meaning_index, "US troops leave Iraq").results}
    assert len(whole) == 5 and sum("<mark>" in snippet for snippet, _ in whole.values()) == 2  # the German ones
    paged = [hit for page in (1, 2, 3) for hit in found(meaning_index, "US troops leave Iraq", page=page, per_page=2).results]
    assert {hit.id: (hit.snippet, hit.title_html) for hit in paged} == whole


def test_keyword_matches_rank_first_for_a_word_in_the_articles_own_language(meaning_index):
    results = found(meaning_index, "Truppen")
    assert not results.results[0].by_meaning and SEED_IDS[results.results[0].id] == "de"


def test_the_language_filter_applies_to_what_meaning_finds(meaning_index):
    results = found(meaning_index, "US troops leave Iraq", lang="ar")
    assert [SEED_IDS[hit.id] for hit in results.results] == ["ar", "ar"]
    assert results.facets["lang"] == {"ar": 2, "de": 2, "nl": 1}  # the facet still counts every language


@pytest.mark.parametrize("query", ['"US troops"', "Truppen*", "Irak -Truppen", "title:Irak", "Truppen lang:de"])
def test_queries_that_ask_for_exact_words_are_not_searched_by_meaning(meaning_index, query):
    assert not any(hit.by_meaning for hit in found(meaning_index, query).results)


def test_no_meaning_while_the_reader_types(meaning_index):
    assert not any(hit.by_meaning for hit in found(meaning_index, "Truppenab", typing=True).results)


def test_each_result_lists_the_same_story_in_other_languages(meaning_index):
    results = found(meaning_index, "Truppen", lang="de")
    for hit in results.results:
        others = {other.lang for other in hit.also_in}
        assert others == {"ar", "nl"}, hit.id
        assert all(SEED_IDS[other.id] == other.lang for other in hit.also_in)


def test_unrelated_articles_are_not_counterparts(tmp_path):
    unrelated = write_jsonl(tmp_path / "other.jsonl", [
        {"id": "tennis", "lang": "en", "title": "Nadal wins the Australian Open final",
         "body": "The Spaniard beat Medvedev in five sets in Melbourne to claim his 21st Grand Slam title."},
        {"id": "recipe", "lang": "nl", "title": "Recept: stamppot boerenkool met rookworst",
         "body": "Kook de aardappelen en de boerenkool, stamp ze fijn en serveer met rookworst en mosterd."},
    ])
    ix = Index(tmp_path / "ix")
    ix.update([SEEDS, unrelated], embeddings=True)
    results = found(ix, "Truppen", lang="de")
    assert all(other.id not in ("tennis", "recipe") for hit in results.results for other in hit.also_in)
    assert not any(hit.id in ("tennis", "recipe") for hit in found(ix, "US troops leave Iraq").results)


def test_vectors_are_computed_only_for_new_and_changed_articles(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    records = [{"id": f"a{i}", "lang": "en", "title": f"Story {i}", "body": f"Body of story number {i}."} for i in range(3)]
    write_jsonl(folder / "a.jsonl", records)
    ix = Index(tmp_path / "ix")
    assert ix.update([folder], embeddings=True).embedded == 3
    assert ix.update([folder], embeddings=True).embedded == 0
    records[1]["body"] = "A changed body, about something else entirely."
    write_jsonl(folder / "a.jsonl", records + [{"id": "a3", "lang": "de", "title": "Neu", "body": "Ein neuer Artikel."}])
    report = ix.update([folder], embeddings=True)
    assert (report.updated, report.added, report.embedded) == (1, 1, 2)
    assert sorted(ix.vectors().rows) == ["a0", "a1", "a2", "a3"]
    write_jsonl(folder / "a.jsonl", records[:2])
    assert ix.update([folder], embeddings=True).removed == 2
    assert sorted(ix.vectors().rows) == ["a0", "a1"]


def test_a_rebuild_reuses_the_vectors_of_unchanged_articles(tmp_path):
    ix = Index(tmp_path / "ix")
    ix.update([SEEDS], embeddings=True)
    report = ix.update([SEEDS], rebuild=True, embeddings=True)
    assert report.rebuilt and report.embedded == 0 and ix.vectors().articles == 5


def test_an_article_is_found_by_what_it_says_after_its_lead(tmp_path):
    """Two German articles with the same title and lead, which go on about
    different things: an English question about what one says after its
    lead finds that one first (its second passage)."""
    lead = " ".join(("Die Redaktion hat die wichtigsten Meldungen des Tages für unsere Leser zusammengestellt. " * 5).split()[:48])
    articles = write_jsonl(tmp_path / "a.jsonl", [
        {"id": "football", "lang": "de", "title": "Meldungen vom Wochenende", "body": lead + (
            " Bayern München gewann das Spitzenspiel gegen Borussia Dortmund mit drei zu eins. Der Stürmer"
            " erzielte zwei Tore, das Stadion war ausverkauft, und die Fans feierten bis in die Nacht.")},
        {"id": "election", "lang": "de", "title": "Meldungen vom Wochenende", "body": lead + (
            " Bei der Bundestagswahl erhielt die CDU 32 Prozent der Stimmen, die SPD kam auf 25 Prozent."
            " Die Wahlbeteiligung lag bei 76 Prozent; der Bundeswahlleiter gab das vorläufige Endergebnis bekannt.")},
    ])
    ix = Index(tmp_path / "ix")
    ix.update([articles], embeddings=True)
    assert len(ix.vectors()) == 4
    election = found(ix, "election results and voter turnout").results[0]
    assert election.id == "election" and election.by_meaning
    assert election.snippet.startswith("…Bei der Bundestagswahl")  # the passage it was found by, not the lead
    assert [hit.id for hit in found(ix, "which team won the football match").results][:1] == ["football"]


def test_vectors_saved_with_one_passage_per_article_are_kept_and_completed(meaning_index, tmp_path):
    """Vectors of an index made before articles had a second passage: each
    is kept as its article's lead, and the next run computes only the rest."""
    shutil.copytree(meaning_index.path, tmp_path / "ix")
    ix = Index(tmp_path / "ix")
    vectors_file = ix.path / ix.generation_name() / FILE
    with np.load(vectors_file) as data:
        leads = data["passages"] == 0
        old = {name: data[name][leads] for name in ("ids", "fingerprints", "langs", "matrix")}
    _damaged(vectors_file, {**old, "model": np.array(ix.vectors().model)})
    assert ix.vectors().articles == 5 and len(ix.vectors()) == 5
    assert {hit.id for hit in found(ix, "US troops leave Iraq").results} == set(SEED_IDS)
    assert ix.embed().embedded == 5  # their second passages
    vectors = ix.vectors()
    assert len(vectors) == 10 and set(vectors.counts.tolist()) == {2}
    assert np.array_equal(vectors.matrix[vectors.passages == 0], old["matrix"])  # the leads were kept
    assert ix.embed().embedded == 0


def test_vectors_saved_before_counterparts_were_kept_get_them_without_embedding_again(meaning_index, tmp_path):
    shutil.copytree(meaning_index.path, tmp_path / "ix")
    ix = Index(tmp_path / "ix")
    vectors_file = ix.path / ix.generation_name() / FILE
    with np.load(vectors_file) as data:
        _damaged(vectors_file, {name: data[name] for name in data.files if not name.startswith("near_")})
    assert not any(hit.also_in for hit in found(ix, "Truppenabzug").results)
    assert ix.embed().embedded == 0
    assert {other.lang for hit in found(ix, "Truppenabzug").results for other in hit.also_in} == {"ar", "nl"}


def test_an_article_changed_without_a_new_vector_is_not_found_by_its_old_one(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [{"id": "x", "lang": "nl", "title": "Amerikaanse troepen verlaten Irak",
                                      "body": "De VS trekken hun soldaten terug uit Irak."}])
    ix = Index(tmp_path / "ix")
    ix.update([folder, SEEDS], embeddings=True)
    assert "x" in {hit.id for hit in found(ix, "US troops leave Iraq").results}
    write_jsonl(folder / "a.jsonl", [{"id": "x", "lang": "nl", "title": "Stamppot boerenkool",
                                      "body": "Een recept met aardappelen en rookworst."}])
    ix.update([folder, SEEDS])  # no embeddings: its vector is now stale
    assert "x" not in {hit.id for hit in found(ix, "US troops leave Iraq").results}


def test_vectors_are_saved_whole_and_small(meaning_index):
    gen = meaning_index.path / (meaning_index.path / "CURRENT").read_text().strip()
    vectors = meaning_index.vectors()
    assert vectors.articles == 5 and len(vectors) == 10  # the seeds are long: a lead and a second passage each
    assert (gen / FILE).stat().st_size < len(vectors) * 384 * 2 + 8192  # float16, and little beside (ids, counterparts)
    assert not list(gen.glob(f".{FILE}*"))  # no temporary file left
    assert np.allclose(np.linalg.norm(vectors.centered, axis=1), 1, atol=1e-3)


def test_cli_indexes_with_vectors_unless_told_not_to_and_queries_by_meaning(tmp_path):
    ix_dir = tmp_path / "ix"
    plain = search_command("index", str(SEEDS), "--index-dir", str(ix_dir), "--no-embeddings")
    assert plain.returncode == 0 and "by meaning" not in plain.stdout
    assert Index(ix_dir).vectors() is None
    done = search_command("index", str(SEEDS), "--index-dir", str(ix_dir))
    assert done.returncode == 0 and re.search(r"by meaning: +5 articles embedded", done.stdout), done.stdout
    out = search_command("query", "US troops leave Iraq", "--index-dir", str(ix_dir), "--json")
    hits = json.loads(out.stdout)["results"]
    assert {hit["lang"] for hit in hits} == {"de", "ar", "nl"}
    keywords = json.loads(search_command("query", "US troops leave Iraq", "--index-dir", str(ix_dir), "--json",
                                         "--no-meaning").stdout)
    assert len(keywords["results"]) < len(hits)
    shown = search_command("query", "Truppen", "--index-dir", str(ix_dir)).stdout
    assert re.search(r"also in: .*\bar 00", shown) and "related in meaning" in search_command(
        "query", "US troops leave Iraq", "--index-dir", str(ix_dir)).stdout


@pytest.mark.slow
def test_a_run_killed_while_embedding_leaves_the_keyword_index_searchable_and_the_next_run_finishes(tmp_path):
    folder = tmp_path / "articles"
    folder.mkdir()
    write_jsonl(folder / "many.jsonl", [
        {"id": f"m{i}", "lang": "en", "title": f"Harbour report {i}",
         "body": " ".join(f"ship{(i * 7 + k) % 97} cargo{k % 13}" for k in range(60))} for i in range(120)])
    ix_dir = tmp_path / "ix"
    run = subprocess.Popen([sys.executable, "-m", "search", "index", str(folder), str(SEEDS), "--index-dir", str(ix_dir)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ix = Index(ix_dir)
    deadline = time.monotonic() + 60
    while not ix.exists() and time.monotonic() < deadline:  # the keyword index goes live before embedding starts
        time.sleep(0.05)
    time.sleep(0.5)
    assert run.poll() is None, "the run ended before it could be killed while embedding"
    run.send_signal(signal.SIGKILL)
    run.wait()
    with ix.searcher() as searcher:
        assert search(searcher, "harbour").total == 120 and search(searcher, "Truppen").total == 2
    saved = ix.vectors()
    before = len(saved) if saved is not None else 0
    assert before < 125
    report = ix.update([folder, SEEDS], embeddings=True)
    assert report.unchanged == 125 and report.embedded == 125 - before
    assert ix.vectors().articles == 125


def test_the_same_story_republished_is_folded_into_one_result(tmp_path):
    seeds = {path.stem: path.read_text("utf-8") for path in SEEDS.glob("*.txt")}
    german = next(text for text in seeds.values() if "Truppen" in text)
    title, body = german.split("\n", 1)
    write_jsonl(tmp_path / "wire.jsonl", [{"id": "republished", "lang": "de", "title": title + " (dpa)", "body": body}])
    ix = Index(tmp_path / "ix")
    ix.update([SEEDS, tmp_path / "wire.jsonl"], embeddings=True)
    with ix.searcher() as searcher:
        apart = search(searcher, "Truppen", vectors=ix.vectors(), collapse=False)
        folded = search(searcher, "Truppen", vectors=ix.vectors())
    assert apart.total == 3 and folded.total == 2
    assert len(folded.results) == 2
    duplicates = [d for hit in folded.results for d in hit.duplicates]
    assert len(duplicates) == 1 and duplicates[0].similarity >= 0.95
    assert {hit.id for hit in folded.results} | {duplicates[0].id} == {hit.id for hit in apart.results}


def _damaged(vectors_file, arrays: dict | None = None, data: bytes | None = None) -> None:
    if arrays is None:
        vectors_file.write_bytes(data)
        return
    with open(vectors_file, "wb") as f:
        np.savez(f, **arrays)


DAMAGE = {
    "empty": lambda good, arrays: {"data": b""},
    "cut short": lambda good, arrays: {"data": good[: len(good) // 2]},
    "not a zip": lambda good, arrays: {"data": b"PK\x03\x04" + b"\0" * 100},
    "wrong dimension": lambda good, arrays: {"arrays": {**arrays, "matrix": arrays["matrix"][:, :100]}},
    "an array missing": lambda good, arrays: {"arrays": {k: v for k, v in arrays.items() if k != "langs"}},
    "lengths disagree": lambda good, arrays: {"arrays": {**arrays, "ids": arrays["ids"][:3]}},
    "pickled objects": lambda good, arrays: {"arrays": {**arrays, "ids": np.array([object()] * 10, dtype=object)}},
    "passages not numbers": lambda good, arrays: {"arrays": {**arrays, "passages": arrays["ids"]}},
    "leads not first": lambda good, arrays: {"arrays": {**arrays, "passages": arrays["passages"][::-1]}},
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_vectors_leave_search_to_the_keywords(meaning_index, tmp_path, damage):
    """vectors.npz is a cache of what the model says: a damaged one (a full
    disk, a copy cut short, another program's file) must cost the meaning,
    never the searches."""
    from web import create_app

    from .conftest import UNLIMITED

    shutil.copytree(meaning_index.path, tmp_path / "ix")
    ix = Index(tmp_path / "ix")
    vectors_file = ix.path / ix.generation_name() / FILE
    good = vectors_file.read_bytes()
    with np.load(vectors_file) as data:
        arrays = {name: data[name] for name in data.files}
    _damaged(vectors_file, **DAMAGE[damage](good, arrays))
    assert ix.vectors() is None
    assert ix.vectors() is None  # and again, from the cache
    assert found(ix, "Truppen").total == 2
    client = create_app({"INDEX_DIR": str(ix.path), "TESTING": True, "WORKERS": 0, **UNLIMITED}).test_client()
    assert client.get("/api/search?q=Truppen").json["total"] == 2
    assert client.get("/?q=Truppen").status_code == 200
    assert client.get("/api/articles/000_7267d5031a40e129/related").json["by_meaning"] is False
    assert client.get("/articles/000_7267d5031a40e129").status_code == 200


def test_the_next_run_replaces_damaged_vectors(meaning_index, tmp_path):
    shutil.copytree(meaning_index.path, tmp_path / "ix")
    ix = Index(tmp_path / "ix")
    vectors_file = ix.path / ix.generation_name() / FILE
    vectors_file.write_bytes(vectors_file.read_bytes()[:1000])
    assert ix.update([SEEDS], embeddings=True).embedded == 5
    assert ix.vectors().articles == 5 and {hit.id for hit in found(ix, "US troops leave Iraq").results} == set(SEED_IDS)


def test_searches_given_up_on_leave_no_queue_of_query_embeddings(meaning_index):
    """One thread embeds the queries of a process: the queries of searches
    stopped at their deadline, or answered with keywords alone, must not
    stay in its queue, or a burst of them (20 readers at once on a server
    without search workers) leaves every later search without meaning."""
    from search.errors import SearchTimeout
    from search.limits import Deadline

    for i in range(20):  # each about 0.2 s to embed
        words = " ".join(f"Bericht{i}x{k}" for k in range(38))
        try:
            found(meaning_index, words, deadline=Deadline(0.001))
        except SearchTimeout:
            pass
    results = found(meaning_index, "US troops leave Iraq", deadline=Deadline(2.0))
    assert "ar" in {SEED_IDS[hit.id] for hit in results.results if hit.by_meaning}


def test_no_query_costs_much_more_to_embed_than_a_long_question():
    """A query's cost is bounded by its tokens, not its words: 500
    characters of Chinese or random letters are one word or a few dozen,
    but 350-460 tokens, a second of a core each, in the one thread that
    embeds every search's query (and not charged to the client's budget)."""
    from search.embedding import embed_query

    question = ("Why are the American troops leaving Iraq after years of war, and is the government in Baghdad "
                "ready to take over security in every province while critics warn of a vacuum that militias "
                "could fill, and of the influence of neighbouring Iran on the politics and the economy of the "
                "country in the coming months and years?")  # 60 words
    hostile = ["".join(chr(0x4E00 + (i * 7919 + k * 104729) % 20000) for k in range(450)) for i in range(2)]
    hostile += [" ".join("".join("qxzjkvbw"[(i + k * 3 + j * 5) % 8] for j in range(7)) for k in range(62)) for i in range(2)]

    def cost(text: str) -> float:
        embed_query(question + " warm")  # the model is loaded
        started = time.thread_time()
        embed_query(text)
        return time.thread_time() - started

    assert max(cost(text) for text in hostile) < 3 * cost(question)


def _brute_counterparts(vectors) -> dict[tuple[str, str], tuple[str, float]]:
    """Each (article, other language): its nearest lead there, by comparing every pair."""
    leads, ids, langs = vectors.leads, vectors.ids[: len(vectors.leads)], vectors.langs[: len(vectors.leads)]
    alike = leads @ leads.T
    out = {}
    for i in range(len(leads)):
        for lang in set(langs.tolist()) - {langs[i]}:
            there = np.flatnonzero(langs == lang)
            j = there[alike[i, there].argmax()]
            out[ids[i], lang] = (ids[j], float(alike[i, j]))
    return out


def _same_counterparts(found: dict, expected: dict) -> bool:
    return found.keys() == expected.keys() and all(
        found[k][0] == expected[k][0] and abs(found[k][1] - expected[k][1]) < 1e-4 for k in found)


def _found_counterparts(vectors) -> dict[tuple[str, str], tuple[str, float]]:
    near = vectors.counterparts
    return {(vectors.ids[i], lang): (vectors.ids[near.rows[i, c]], float(near.similarity[i, c]))
            for i in range(len(near.rows)) for c, lang in enumerate(near.langs.tolist()) if near.rows[i, c] >= 0}


def test_counterparts_kept_from_the_last_save_are_those_a_full_comparison_finds(tmp_path):
    """Counterparts are found when the vectors are saved, reusing the last
    save's: after articles are added (one in a language new to the index),
    changed and removed, every article's nearest in each other language is
    the one comparing every pair finds, and they survive a save and load."""
    from search.engines.whoosh.vectors import LINK_BLOCK, Key, Vectors, joined, linked, load

    rng = np.random.default_rng(7)

    def part(names: list[str], langs: list[str], fingerprint: str = "f") -> Vectors:
        keys = [Key(name, fingerprint, lang, 0, 1) for name, lang in zip(names, langs)]
        return Vectors.of(keys, rng.standard_normal((len(keys), 384)).astype(np.float32))

    count = LINK_BLOCK + 40  # more than one block
    names = [f"a{i}" for i in range(count)]
    first = linked(joined([part(names, [("ar", "de", "nl")[i % 3] for i in range(count)])]), None)
    assert _same_counterparts(_found_counterparts(first), _brute_counterparts(first))
    assert set(first.counterparts.langs.tolist()) == {"ar", "de", "nl"}

    # Keep most, drop ten, change ten (a new vector under a new fingerprint), add thirty, two in English.
    kept = [i for i in range(20, count)]
    survivors = Vectors.of([first.key(i) for i in kept], first.matrix[kept])
    changed = part([f"a{i}" for i in range(10, 20)], ["de"] * 10, fingerprint="g")
    added = part([f"b{i}" for i in range(30)], ["en", "en"] + ["ar"] * 28)
    second = linked(joined([survivors, changed, added]), first)
    assert _same_counterparts(_found_counterparts(second), _brute_counterparts(second))
    assert "en" in second.counterparts.langs.tolist()
    assert second.ids[0] == "a20" and all(second.passages[: len(second.leads)] == 0)

    second.save(tmp_path)
    loaded = load(tmp_path)
    assert _same_counterparts(_found_counterparts(loaded), _found_counterparts(second))


def test_a_scan_in_parts_is_the_whole_product(monkeypatch):
    from search.engines.whoosh import vectors
    from search.engines.whoosh.vectors import SCAN_PART, scan

    monkeypatch.setattr(vectors, "SCAN_THREADS", 3)  # in parts even on a one-core machine
    rng = np.random.default_rng(1)
    matrix = rng.standard_normal((4 * SCAN_PART + 7, 384)).astype(np.float32)
    vector = rng.standard_normal(384).astype(np.float32)
    assert np.allclose(scan(matrix, vector), matrix @ vector, atol=1e-3)
