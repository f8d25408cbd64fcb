"""The `search` command, run as a user runs it (a real process)."""

import json
import os
import pty
import re
import select
import subprocess
import sys
from itertools import groupby

import arabic_reshaper
import pytest

from search.terminal import MARK_OFF, MARK_ON, display_width

from .conftest import SEEDS, LiveServer, index_command, search_command, write_jsonl


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
    by_words = [r["id"] for r in found["results"] if not r["by_meaning"]]  # the story in other languages may come between
    assert set(by_words[: len(first_ids)]) == first_ids and found["results"][0]["id"] in first_ids
    assert set(found) == {"query", "total", "page", "per_page", "results", "facets", "suggestion", "source_names"}
    assert set(found["results"][0]) == {"id", "title", "lang", "source", "source_name", "url", "date", "published", "score",
                                        "snippet", "title_html", "by_meaning", "also_in", "duplicates"}


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
    assert bad.returncode == 1 and "at least one word" in bad.stderr and "Traceback" not in bad.stderr
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


def test_a_page_past_the_end_says_which_pages_exist(cli_index):
    done = run("query", "Truppen", "--page", "99", "--no-meaning", "--index-dir", str(cli_index))
    assert done.returncode == 0
    assert done.stdout.splitlines()[0] == "No results on page 99: 2 results on 1 page."


def test_paths_in_messages_are_absolute_with_the_command_that_fixes_it(tmp_path):
    missing = run("query", "Truppen", cwd=tmp_path)
    index = tmp_path / "index"
    assert missing.returncode == 1
    assert missing.stderr.strip() == f"Error: No index at {index}. Build one with: search index PATH --index-dir {index}"
    nothing = run("index", cwd=tmp_path)
    assert nothing.returncode == 1 and f"{tmp_path / 'seeds'} does not exist" in nothing.stderr


def test_serve_from_another_folder_refuses_to_serve_nothing_and_leaves_nothing_behind(tmp_path):
    done = run("serve", "--port", "0", cwd=tmp_path, timeout=60)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"No index at {tmp_path / 'index'}" in done.stderr
    assert f"search index PATH --index-dir {tmp_path / 'index'}" in done.stderr  # how to build one
    assert f"search serve --seeds {SEEDS}" in done.stderr  # or how to serve the bundled articles
    assert list(tmp_path.iterdir()) == []  # no empty ./index left behind
    empty = tmp_path / "empty"
    empty.mkdir()
    done = run("serve", "--port", "0", "--seeds", str(empty), "--index-dir", str(tmp_path / "ix"), timeout=60)
    assert done.returncode == 1 and "nothing to serve" in done.stderr and not (tmp_path / "ix").exists()


def test_serve_allow_empty_serves_an_index_built_later(tmp_path):
    server = LiveServer(tmp_path / "ix", args=("--allow-empty", "--seeds", str(tmp_path / "none")))
    try:
        status, data = server.json("/healthz")
        assert status == 200 and data["documents"] == 0
        status, data = server.json("/api/search?q=Truppen")
        assert status == 200 and data["total"] == 0
        index_command(str(SEEDS), "--index-dir", str(tmp_path / "ix"))
        assert server.seconds_until_found("Truppen", "001_c8f3a0fc2298736b") < 10
    finally:
        server.stop()


def on_terminal(*args: str, columns: int, env: dict | None = None) -> str:
    """What `search ...` prints on a terminal (a pseudo-terminal) `columns` wide."""
    main, child = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "search", *args], stdin=child, stdout=child, stderr=child,
                               env={**os.environ, "COLUMNS": str(columns), **(env or {})})
    os.close(child)
    out = b""
    try:
        while chunk := _read(main):
            out += chunk
        process.wait(timeout=60)
    finally:
        process.kill()
        os.close(main)
    return out.decode().replace("\r\n", "\n")


def _read(fd: int, timeout: float = 60) -> bytes:
    if not select.select([fd], [], [], timeout)[0]:
        raise TimeoutError("the command printed nothing for a minute")
    try:
        return os.read(fd, 65536)
    except OSError:  # EIO: the command has ended
        return b""


def test_arabic_on_a_terminal_marks_exactly_the_matched_words_line_by_line(cli_index):
    query = "القوات الأمريكية"
    found = json.loads(run("query", query, "--json", "--index-dir", str(cli_index)).stdout)
    words = {w for hit in found["results"] for w in re.findall("<mark>(.*?)</mark>", hit["snippet"])}
    shown = on_terminal("query", query, "--index-dir", str(cli_index), columns=50)
    lines = shown.splitlines()
    assert all(display_width(re.sub(r"\x1b\[[0-9;]*m", "", line)) <= 50 for line in lines)
    runs = set(re.findall(re.escape(MARK_ON) + "(.*?)" + re.escape(MARK_OFF), shown))
    assert runs == {arabic_reshaper.reshape(w)[::-1] for w in words}  # the matches, shaped, nothing between them
    assert all(line.count(MARK_ON) == line.count(MARK_OFF) for line in lines)  # nothing leaks into the next line
    logical = on_terminal("query", query, "--index-dir", str(cli_index), columns=50, env={"SEARCH_TERMINAL_BIDI": "1"})
    assert set(re.findall(re.escape(MARK_ON) + "(.*?)" + re.escape(MARK_OFF), logical)) == words


def test_indexing_shows_every_phase_then_time_rate_and_languages(tmp_path):
    shown = on_terminal("index", str(SEEDS), "--index-dir", str(tmp_path / "ix"), columns=80)
    bar = shown.split("\n")[0].split("\r")  # one line, redrawn
    assert [label for label, _ in groupby(part.split()[0] for part in bar if part)] == [
        "Reading", "Writing", "Committing", "Embedding", "Done"]
    assert "100%" in bar[-1]
    assert re.search(r"^  by meaning: +5 articles embedded in [\d.]+ s \([\d.,]+ articles/s\)$", shown, re.M)
    assert re.search(r"^Indexed 5 articles \([\d.]+ MB of text\) in [\d.]+ s: [\d,]+ articles/s, [\d.]+ MB/s\.$", shown, re.M)
    assert "  added or updated: ar 2, de 2, nl 1\n" in shown
    assert "  in the index:     ar 2, de 2, nl 1 (5 articles)\n" in shown
    report = json.loads(run("index", str(SEEDS), "--index-dir", str(tmp_path / "ix"), "--rebuild", "--json").stdout)
    assert report["languages"] == {"ar": 2, "de": 2, "nl": 1} and report["seconds"] > 0 and report["text_bytes"] > 0
    assert report["index"] == {"documents": 5, "languages": {"ar": 2, "de": 2, "nl": 1}}


def test_file_names_are_printed_not_obeyed(tmp_path):
    """A file's name may hold anything but '/': escape sequences (setting the
    terminal's title or clipboard, clearing the screen), a line break that
    fakes a line of the report. Skipped files are named with those written
    out, one line each."""
    folder = tmp_path / "articles"
    folder.mkdir()
    write_jsonl(folder / "good.jsonl", [{"id": "g", "lang": "en", "title": "Good", "body": "A good article."}])
    for name in ("\x1b]52;c;cHduZWQ=\x07a.txt", "b\x1b[2J\x9b31m.txt", "c\nskipped nothing.txt", "d\u202eevil.txt"):
        (folder / name).write_text("")  # empty: skipped, with its name in the report
    done = run("index", str(folder), "--index-dir", str(tmp_path / "ix"))
    assert done.returncode == 0 and "1 added" in done.stdout
    skipped = [line for line in done.stderr.splitlines() if line.startswith("  skipped")]
    assert len(skipped) == 4, done.stderr
    assert not re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", done.stderr)
    assert r"\x1b]52;c;cHduZWQ=\x07a.txt: empty file" in done.stderr and r"c\nskipped nothing.txt" in done.stderr
