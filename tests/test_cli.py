"""The `search` command, run as a user runs it (a real process)."""

import json

import pytest

from search.cli import _display

from .conftest import SEEDS, search_command, write_jsonl


run = search_command


@pytest.fixture(scope="module")
def cli_index(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    done = run("index", str(SEEDS), "--index-dir", str(folder / "ix"))
    assert done.returncode == 0, done.stderr
    assert "5 added" in done.stdout and "0 skipped" in done.stdout
    return folder / "ix"


@pytest.mark.parametrize(
    "query, first_ids, marked",
    [
        ("Truppen", {"001_c8f3a0fc2298736b", "000_7267d5031a40e129"}, "**Truppen**"),
        ("القوات الأمريكية", {"002_b3527174807ffdab", "004_786ee55e18834587"}, "**القوات**"),
        ("troepen", {"003_3692841fd95a15da"}, "**troepen**"),
        ("2500 Soldaten", {"001_c8f3a0fc2298736b", "000_7267d5031a40e129"}, "**Soldaten**"),
    ],
)
def test_query_finds_the_seed_articles_with_marked_snippets(cli_index, query, first_ids, marked):
    done = run("query", query, "--index-dir", str(cli_index))
    assert done.returncode == 0, done.stderr
    assert marked in done.stdout  # a pipe gets **word** for marks and Arabic as stored
    found = json.loads(run("query", query, "--index-dir", str(cli_index), "--json").stdout)
    assert {r["id"] for r in found["results"][: len(first_ids)]} == first_ids
    assert set(found) == {"query", "total", "page", "per_page", "results", "facets", "suggestion"}
    assert set(found["results"][0]) == {"id", "title", "lang", "source", "url", "date", "score", "snippet"}


def test_query_options_and_index_from_environment(cli_index):
    done = run("query", "Irak", "--lang", "nl", "--limit", "1", "--page", "1", "--json", env={"SEARCH_INDEX_DIR": str(cli_index)})
    found = json.loads(done.stdout)
    assert found["total"] == 1 and found["per_page"] == 1 and found["results"][0]["lang"] == "nl"


def test_stats(cli_index):
    stats = json.loads(run("stats", "--json", "--index-dir", str(cli_index)).stdout)
    assert stats["documents"] == 5 and stats["languages"] == {"ar": 2, "de": 2, "nl": 1}
    text = run("stats", "--index-dir", str(cli_index)).stdout
    assert "Documents: 5" in text and "Analyzer:" in text


def test_rerun_reports_nothing_changed(cli_index):
    done = run("index", str(SEEDS), "--index-dir", str(cli_index))
    assert done.returncode == 0
    assert done.stdout.startswith("Unchanged") and "5 unchanged" in done.stdout


def test_errors_are_one_line_messages_with_a_hint(tmp_path, cli_index):
    missing = run("query", "Truppen", "--index-dir", str(tmp_path / "none"))
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "search index PATH" in missing.stderr
    bad = run("query", "*", "--index-dir", str(cli_index))
    assert bad.returncode == 1 and "wildcard" in bad.stderr and "Traceback" not in bad.stderr
    nothing = run("index", str(tmp_path / "no-such-folder"), "--index-dir", str(tmp_path / "ix"))
    assert nothing.returncode == 1 and "does not exist" in nothing.stderr


def test_index_reports_skipped_files_and_still_indexes_the_rest(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.txt").write_text("")
    write_jsonl(folder / "ok.jsonl", [{"id": "1", "lang": "en", "title": "Fine", "body": "Fine article."}])
    done = run("index", str(folder), "--index-dir", str(tmp_path / "ix"), "--json")
    report = json.loads(done.stdout)
    assert done.returncode == 0
    assert report["added"] == 1
    assert report["skipped"] == [{"path": str(folder / "empty.txt"), "reason": "empty file"}]


def test_arabic_is_shaped_for_terminals_only():
    word = "القوات"
    assert _display(word, tty=False) == word
    shown = _display(word, tty=True)
    assert shown != word and any("\ufe70" <= ch <= "\ufeff" for ch in shown)  # presentation forms, visual order


def test_terminal_escape_sequences_in_articles_are_not_printed(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    write_jsonl(folder / "a.jsonl", [{"id": "esc", "lang": "en", "title": "Evil \x1b]0;PWNED\x07\x1b[2J title",
                                      "body": "troops \x1b[31mred\x1b[0m here"}])
    run("index", str(folder), "--index-dir", str(tmp_path / "ix"))
    done = run("query", "troops", "--index-dir", str(tmp_path / "ix"))
    assert "\x1b" not in done.stdout and "\x07" not in done.stdout
    assert "**troops**" in done.stdout and "Evil ]0;PWNED" in done.stdout


def test_an_unknown_language_is_an_error_not_zero_results(cli_index):
    done = run("query", "Truppen", "--lang", "xx", "--index-dir", str(cli_index))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.strip() == "Error: Unknown language 'xx'; use one of ar, de, nl, en, und."
    named = json.loads(run("query", "Truppen", "--lang", "Deutsch", "--json", "--index-dir", str(cli_index)).stdout)
    assert named["total"] == 2  # names and aliases still work

