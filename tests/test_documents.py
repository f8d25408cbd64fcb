"""Reading articles: every format, stable ids, and bad files skipped with a reason."""

import contextlib
import gzip
import json
import os
import threading
import tracemalloc

from search import documents, records
from search.documents import Article, FileRead, Skipped, read_articles

from .conftest import SEEDS, write_jsonl


def read(*paths):
    items = list(read_articles(paths))
    articles = [i for i in items if isinstance(i, Article)]
    skipped = {i.path: i.reason for i in items if isinstance(i, Skipped)}
    return articles, skipped


def test_seed_texts_get_title_from_first_line_and_ids_from_file_names():
    articles, skipped = read(SEEDS)
    assert not skipped
    assert [a.id for a in articles] == sorted(p.stem for p in SEEDS.glob("*.txt"))
    first = articles[0]
    assert first.title.startswith("Es wird erwartet, dass die Regierungen der USA")
    assert first.body.startswith("CNN")


def test_every_format_and_gzip(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.md").write_text("\n\n# Title A\nBody A", "utf-8")
    (tmp_path / "b.json").write_text(json.dumps({"id": "b1", "title": "B", "text": "Body B", "lang": "en"}), "utf-8")
    (tmp_path / "c.json").write_text(json.dumps([{"title": "C1", "body": "x"}, {"title": "C2", "body": "y"}]), "utf-8")
    write_jsonl(tmp_path / "d.jsonl", [{"id": "d1", "title": "D", "body": "z", "category": "sport", "nested": {"no": 1}}])
    with gzip.open(tmp_path / "e.jsonl.gz", "wt", encoding="utf-8") as f:
        f.write(json.dumps({"title": "E", "body": "gz"}) + "\n")
    with gzip.open(tmp_path / "f.txt.gz", "wt", encoding="utf-8") as f:
        f.write("F title\nF body")
    articles, skipped = read(tmp_path)
    assert not skipped
    by_id = {a.id: a for a in articles}
    assert set(by_id) == {"sub/a", "b1", "c#1", "c#2", "d1", "e#1", "f"}
    assert by_id["sub/a"].title == "# Title A" and by_id["sub/a"].body == "Body A"
    assert by_id["b1"].body == "Body B" and by_id["b1"].lang == "en"
    assert by_id["d1"].extra == {"category": "sport"}  # simple unknown fields kept, nested dropped
    assert by_id["f"].title == "F title"


def test_a_single_file_root_gets_its_id_from_the_file_name():
    articles, _ = read(SEEDS / "003_3692841fd95a15da.txt")
    assert [a.id for a in articles] == ["003_3692841fd95a15da"]


def test_bom_and_legacy_encodings_are_decoded(tmp_path):
    (tmp_path / "bom.txt").write_bytes("\ufeffTitel mit BOM\nÜber die Straße".encode("utf-8"))
    (tmp_path / "latin.txt").write_bytes("Überschrift für Köln\nDie Straße in Köln ist für alle Bürger offen und schön.".encode("cp1252"))
    articles, skipped = read(tmp_path)
    assert not skipped
    titles = {a.id: a.title for a in articles}
    assert titles["bom"] == "Titel mit BOM"
    assert titles["latin"] == "Überschrift für Köln"


def test_bad_files_are_skipped_with_reasons_and_the_rest_is_read(tmp_path):
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02\xff" * 100)
    (tmp_path / "broken.json").write_text("{not json", "utf-8")
    (tmp_path / "broken.jsonl.gz").write_bytes(b"\x1f\x8b\x08\x00garbage")
    (tmp_path / "photo.png").write_bytes(b"\x89PNG")
    write_jsonl(tmp_path / "mixed.jsonl", [{"title": "ok", "body": "fine"}, {"foo": 1}, ["list"]])
    (tmp_path / "mixed.jsonl").open("a").write("{bad line\n")
    (tmp_path / "good.txt").write_text("Good title\nGood body", "utf-8")
    items = list(read_articles([tmp_path]))
    articles = [i.id for i in items if isinstance(i, Article)]
    reasons = {i.path.replace(str(tmp_path) + "/", ""): i.reason for i in items if isinstance(i, Skipped)}
    assert articles == ["good", "mixed#1"]
    assert reasons["empty.txt"] == "empty file"
    assert reasons["binary.txt"].startswith("binary file")
    assert reasons["broken.json"].startswith("invalid JSON")
    assert reasons["broken.jsonl.gz"].startswith("corrupt gzip")
    assert reasons["photo.png"].startswith("not an article file")
    assert reasons["mixed.jsonl:2"] == "no title or body"
    assert reasons["mixed.jsonl:3"].startswith("not a JSON object")
    assert reasons["mixed.jsonl:4"].startswith("invalid JSON")
    done = {i.path for i in items if isinstance(i, FileRead)}
    assert str((tmp_path / "mixed.jsonl").resolve()) in done
    assert str((tmp_path / "broken.json").resolve()) not in done


def test_a_missing_path_is_reported():
    _, skipped = read("/no/such/folder")
    assert skipped == {"/no/such/folder": "no such file or folder"}


def test_a_stray_byte_does_not_spoil_or_drop_a_utf8_file(tmp_path):
    german = (SEEDS / "000_7267d5031a40e129.txt").read_bytes()
    arabic = (SEEDS / "002_b3527174807ffdab.txt").read_bytes()
    (tmp_path / "de.txt").write_bytes(german[:3000] + b"\x96 ende")
    (tmp_path / "ar.txt").write_bytes(arabic + b"\xff")
    articles, skipped = read(tmp_path)
    assert not skipped
    by_id = {a.id: a for a in articles}
    assert "Militärpräsenz" in by_id["de"].title and "\ufffd" in by_id["de"].body
    assert by_id["ar"].title.startswith("الولايات المتحدة")


def test_non_finite_numbers_are_not_kept(tmp_path):
    (tmp_path / "a.jsonl").write_text('{"id": "n", "title": "T", "body": "B", "score": NaN, "rank": 3}\n', "utf-8")
    articles, _ = read(tmp_path)
    assert articles[0].extra == {"rank": 3}


def test_jsonl_records_may_hold_line_separator_characters(tmp_path):
    """U+2028, U+0085 and form feeds are legal inside JSON strings and appear in
    scraped news text; a record holding them is one record, not broken ones."""
    body = "Erster Absatz.\u2028Zweiter Absatz.\x85Dritter.\x0cVierter."
    path = write_jsonl(tmp_path / "a.jsonl", [{"id": "a", "title": "T", "body": body}, {"id": "b", "title": "U", "body": "x"}])
    items = list(read_articles([path]))
    articles = [item for item in items if isinstance(item, Article)]
    assert [a.id for a in articles] == ["a", "b"]
    assert articles[0].body == body
    assert not [item for item in items if isinstance(item, Skipped)]


def reasons_in(folder, items) -> dict:
    return {i.path.replace(f"{folder}/", ""): i.reason for i in items if isinstance(i, Skipped)}


def test_lone_surrogates_become_replacement_characters_in_every_string_kept(tmp_path):
    """JSON's \\ud800 escapes make strings that cannot be encoded: not for the
    index, the API, a terminal, nor for language detection."""
    (tmp_path / "a.jsonl").write_text(
        '{"id": "s\\ud800", "title": "x \\ud800", "body": "b \\udfff", "lang": "e\\udc00n", "source": "\\ud800",'
        ' "url": "u\\ud800", "date": "d\\ud800", "k\\ud800": "v\\udfff", "pair": "\\ud83d\\ude00"}\n', "utf-8")
    [article], _ = read(tmp_path)
    assert (article.id, article.title, article.body, article.lang, article.source, article.url, article.date) == (
        "s\ufffd", "x \ufffd", "b \ufffd", "e\ufffdn", "\ufffd", "u\ufffd", "d\ufffd")
    assert article.extra == {"k\ufffd": "v\ufffd", "pair": "😀"}  # an escaped pair is one character


def test_json_nested_too_deeply_is_skipped(tmp_path):
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000, "utf-8")
    (tmp_path / "object.json").write_text('{"a":' * 100_000 + "1" + "}" * 100_000, "utf-8")
    (tmp_path / "deep.jsonl").write_text('{"title": "ok", "body": "x"}\n' + "[" * 100_000 + "\n", "utf-8")
    items = list(read_articles([tmp_path]))
    assert reasons_in(tmp_path, items) == {
        "deep.json:1": "JSON nested too deeply", "object.json": "JSON nested too deeply",
        "deep.jsonl:2": "JSON nested too deeply"}
    assert [i.id for i in items if isinstance(i, Article)] == ["deep#1"]


def test_links_that_loop_or_lead_nowhere_are_skipped_and_the_rest_is_read(tmp_path):
    os.symlink("b.txt", tmp_path / "a.txt")
    os.symlink("a.txt", tmp_path / "b.txt")
    os.symlink("self.txt", tmp_path / "self.txt")
    os.symlink("nowhere.txt", tmp_path / "broken.txt")
    os.symlink("loop", tmp_path / "loop")
    (tmp_path / "sub").mkdir()
    os.symlink("..", tmp_path / "sub" / "up")
    (tmp_path / "sub" / "real.txt").write_text("Real\nBody", "utf-8")
    os.symlink("sub/real.txt", tmp_path / "link.txt")
    items = list(read_articles([tmp_path]))
    assert reasons_in(tmp_path, items) == {
        "a.txt": "symbolic link loop", "b.txt": "symbolic link loop", "self.txt": "symbolic link loop",
        "loop": "symbolic link loop", "broken.txt": "broken symbolic link", "sub/up": "link to a folder: not followed"}
    articles = [i for i in items if isinstance(i, Article)]
    assert [a.id for a in articles] == ["link", "sub/real"]
    assert articles[0].origin == articles[1].origin == str((tmp_path / "sub" / "real.txt").resolve())
    assert list(read_articles([tmp_path / "self.txt"])) == [Skipped(str(tmp_path / "self.txt"), "symbolic link loop",
                                                                    str(tmp_path / "self.txt"))]


def test_a_name_that_is_not_utf8_is_skipped_and_shown_with_escapes(tmp_path):
    """Its path could not be stored in the index, nor found again by a later
    run: it is reported, printably, and not read."""
    (tmp_path / os.fsdecode(b"bad\xff.txt")).write_text("Title\nBody", "utf-8")
    (tmp_path / os.fsdecode(b"dir\xfe")).mkdir()
    (tmp_path / os.fsdecode(b"dir\xfe") / "inner.txt").write_text("Title\nBody", "utf-8")
    (tmp_path / "good.txt").write_text("Good\nBody", "utf-8")
    items = list(read_articles([tmp_path]))
    reasons = reasons_in(tmp_path, items)
    assert reasons == {"bad\\xff.txt": "name is not valid UTF-8", "dir\\xfe": "name is not valid UTF-8"}
    assert all(path.encode("utf-8") for path in reasons)
    assert [i.id for i in items if isinstance(i, Article)] == ["good"]


def gzip_bomb(path, line: bytes, expanded: int) -> None:
    """`expanded` bytes of `line` repeated, cheaply: one member of 1 MiB
    written again and again (a gzip file may hold many)."""
    chunk = line * (2**20 // len(line))
    member = gzip.compress(chunk)
    path.write_bytes(member * (expanded // len(chunk)))


def read_with_peak_memory(folder) -> tuple[list, int]:
    """Everything read from `folder`, and the most memory Python held meanwhile."""
    tracemalloc.start()
    try:
        items = list(read_articles([folder]))
        return items, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_whole_files_over_the_limit_are_skipped_before_being_read_whole(tmp_path):
    gzip_bomb(tmp_path / "bomb.txt.gz", b"\n", 2 * 2**30)
    gzip_bomb(tmp_path / "bomb.json.gz", b"[1,", records.MAX_FILE_BYTES + 2**20)
    (tmp_path / "big.md").write_bytes(b"x" * (records.MAX_FILE_BYTES + 1))
    items, peak = read_with_peak_memory(tmp_path)
    reason = "over 64 MiB uncompressed, the limit for a .txt, .md, .json or feed file (JSON Lines files have none)"
    assert reasons_in(tmp_path, items) == {"bomb.txt.gz": reason, "bomb.json.gz": reason, "big.md": reason}
    assert peak < 1.5 * records.MAX_FILE_BYTES, f"{peak / 2**20:.0f} MiB"


def test_json_lines_are_streamed_and_a_line_over_the_limit_is_dropped_as_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(records, "CHUNK_BYTES", 1000)  # the long line spans many chunks
    monkeypatch.setattr(records, "MAX_RECORD_CHARS", 5000)
    with gzip.open(tmp_path / "a.jsonl.gz", "wt", encoding="utf-8") as out:
        out.write(json.dumps({"id": "one", "title": "One", "body": "x" * 4000}) + "\n\n\n")
        out.write(json.dumps({"id": "long", "title": "Long", "body": "y" * 6000}) + "\n")
        out.write(json.dumps({"id": "three", "title": "Three", "body": "z"}))  # no final newline
    items = list(read_articles([tmp_path]))
    assert [i.id for i in items if isinstance(i, Article)] == ["one", "three"]
    assert reasons_in(tmp_path, items) == {"a.jsonl.gz:4": "longer than 5,000 characters, the limit for one record"}


def test_a_newline_bomb_in_json_lines_is_read_in_bounded_chunks(tmp_path):
    gzip_bomb(tmp_path / "a.jsonl.gz", b"\n", 64 * 2**20)
    with (tmp_path / "a.jsonl.gz").open("ab") as out:
        out.write(gzip.compress(b'{"id": "end", "title": "End", "body": "after the newlines"}\n'))
    items, peak = read_with_peak_memory(tmp_path)
    assert [(i.id, i.title) for i in items if isinstance(i, Article)] == [("end", "End")]
    assert peak < 16 * 2**20, f"{peak / 2**20:.0f} MiB"


def test_records_over_a_limit_or_malformed_are_skipped_with_their_reason(tmp_path):
    write_jsonl(tmp_path / "a.jsonl", [
        {"id": "big", "title": "Big", "body": "word " * 200_001},
        {"id": "i" * 513, "title": "Long id", "body": "x"},
        {"id": "   ", "title": "Blank id gets the default", "body": "x"},
        {"id": "a\x00b", "title": "Control character in id", "body": "x"},
        {"id": "\u200b", "title": "Invisible id", "body": "x"},
        {"id": "t", "title": ["a", "list"], "body": "x"},
        {"id": "u", "title": "Long url", "body": "x", "url": "u" * 2001},
        {"id": "ctrl", "title": "\x01\x02 \u200b", "body": "Body first line\nmore"},
        {"id": "nul", "title": "NUL \x00 inside", "body": "kept as it is"},
        {"id": "many", "title": "Many fields", "body": "x", **{f"f{n}": n for n in range(60)}, "k" * 2001: 1},
    ])
    with (tmp_path / "a.jsonl").open("a") as out:
        out.write('{"id": "n", "title": "t", "body": "b", "n": ' + "1" * 5000 + "}\n")
    items = list(read_articles([tmp_path]))
    assert reasons_in(tmp_path, items) == {
        "a.jsonl:1": "title and body longer than 1,000,000 characters, the limit for one article",
        "a.jsonl:2": "id longer than 512 characters",
        "a.jsonl:4": "id 'a\\x00b' is not printable",
        "a.jsonl:5": "id '\\u200b' is not printable",
        "a.jsonl:6": "title is not text but list",
        "a.jsonl:7": "url longer than 2,000 characters",
        "a.jsonl:11": "invalid JSON: Exceeds the limit (4300 digits) for integer string conversion: value has "
                      "5000 digits; use sys.set_int_max_str_digits() to increase the limit",
    }
    by_id = {i.id: i for i in items if isinstance(i, Article)}
    assert set(by_id) == {"a#3", "ctrl", "nul", "many"}
    assert by_id["ctrl"].title == "Body first line"
    assert by_id["nul"].title == "NUL \x00 inside"
    assert by_id["many"].extra == {f"f{n}": n for n in range(50)}


def test_a_json_list_is_parsed_one_record_at_a_time(tmp_path):
    """Its records are found by brackets and commas, so a list of millions
    of values never becomes millions of objects at once, and one bad
    record is one skip."""
    (tmp_path / "a.json").write_text(
        '[{"id": "a", "title": "A [x]", "body": "{\\"quoted\\", [brackets]}"}, 7, {"id": "b", "title": "B"},'
        ' {"bad": }, [], {"id": "c", "title": "C", "body": "\\u005d\\""}]', "utf-8")
    (tmp_path / "cut.json").write_text('[{"id": "d", "title": "D"}, {"id": "e", "title": "E"', "utf-8")
    (tmp_path / "open-string.json").write_text('[{"id": "f", "title": "F"}, {"id": "g", "title": "G', "utf-8")
    (tmp_path / "extra.json").write_text('[{"id": "h", "title": "H"}] {}', "utf-8")
    (tmp_path / "empty-list.json").write_text("[ ]", "utf-8")
    (tmp_path / "trailing-comma.json").write_text('[{"id": "i", "title": "I"},]', "utf-8")
    items = list(read_articles([tmp_path]))
    articles = {i.id: i for i in items if isinstance(i, Article)}
    assert set(articles) == {"a", "b", "c", "d", "f", "h", "i"}
    assert articles["a"].body == '{"quoted", [brackets]}' and articles["c"].body == ']"'
    reasons = reasons_in(tmp_path, items)
    assert reasons.pop("a.json:2") == "not a JSON object but int"
    assert reasons.pop("a.json:4").startswith("invalid JSON: Expecting value")
    assert reasons.pop("a.json:5") == "not a JSON object but list"
    assert reasons.pop("cut.json") == "invalid JSON: the list does not end (after element 1)"
    assert reasons.pop("open-string.json") == "invalid JSON: a string does not end (after element 1)"
    assert reasons.pop("extra.json") == "invalid JSON: the list is not closed by its last ] (after element 1)"
    assert reasons.pop("trailing-comma.json:2").startswith("invalid JSON: Expecting value")
    assert not reasons
    done = {i.path for i in items if isinstance(i, FileRead)}
    assert str(tmp_path / "empty-list.json") in done and str(tmp_path / "cut.json") not in done


def test_skipped_records_of_one_file_are_listed_up_to_a_limit_then_counted(tmp_path):
    (tmp_path / "flat.json").write_text(json.dumps(list(range(1000))), "utf-8")
    items = list(read_articles([tmp_path]))
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert len(skipped) == 101
    assert skipped[-1] == Skipped(str(tmp_path / "flat.json"), "900 more records skipped (the first 100 are listed)")


def test_a_gzip_stream_cut_short_gives_the_records_before_the_cut(tmp_path):
    lines = "".join(json.dumps({"id": f"r{n}", "title": f"T{n}", "body": os.urandom(3000).hex()}) + "\n"
                    for n in range(100)).encode()
    packed = gzip.compress(lines)
    (tmp_path / "a.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    items = list(read_articles([tmp_path]))
    ids = [i.id for i in items if isinstance(i, Article)]
    assert 40 <= len(ids) < 50 and ids == [f"r{n}" for n in range(len(ids))]
    [skipped] = [i for i in items if isinstance(i, Skipped)]
    assert skipped.reason.startswith("corrupt gzip data: Compressed file ended before the end-of-stream marker")
    assert skipped.reason.endswith(f"(after line {len(ids)})")
    assert skipped.unread == str(tmp_path / "a.jsonl.gz")  # the index keeps what it had from the rest
    assert not [i for i in items if isinstance(i, FileRead)]


def read_without_waiting(paths: list, fifo, meanwhile=lambda item: None) -> list:
    """The items of read_articles(paths), failing if it waits on `fifo` (for a
    writer, which a run would do forever). `meanwhile` sees each item as it
    comes."""
    items: list = []

    def read() -> None:
        for item in read_articles(paths):
            meanwhile(item)
            items.append(item)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    hung = reader.is_alive()
    while reader.is_alive():  # let it go: be the writer it waits for
        with contextlib.suppress(OSError):
            os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(0.1)
    assert not hung, "reading waited for a writer to the FIFO"
    return items


def test_a_fifo_is_never_opened(tmp_path):
    fifo = tmp_path / "fifo.txt"
    os.mkfifo(fifo)
    (tmp_path / "good.txt").write_text("Good\nBody", "utf-8")
    items = read_without_waiting([tmp_path, fifo], fifo)
    assert [i.id for i in items if isinstance(i, Article)] == ["good"]
    assert [(i.path, i.reason) for i in items if isinstance(i, Skipped)] == [(str(fifo), "not a regular file")] * 2


def test_a_file_that_vanishes_or_changes_kind_after_listing_is_skipped(tmp_path):
    for name in ("a", "b", "c", "d"):
        (tmp_path / f"{name}.txt").write_text(f"{name}\nBody", "utf-8")

    def change_files(item) -> None:
        if isinstance(item, Article) and item.id == "a":  # the folder is listed by now
            (tmp_path / "b.txt").unlink()
            (tmp_path / "c.txt").unlink()
            os.mkfifo(tmp_path / "c.txt")
            (tmp_path / "d.txt").unlink()
            (tmp_path / "d.txt").mkdir()

    items = read_without_waiting([tmp_path], tmp_path / "c.txt", change_files)
    assert [i.id for i in items if isinstance(i, Article)] == ["a"]
    assert reasons_in(tmp_path, items) == {"b.txt": "no such file or folder", "c.txt": "not a regular file",
                                           "d.txt": "not a regular file"}


def test_progress_counts_stored_bytes_as_records_are_read(tmp_path, monkeypatch):
    monkeypatch.setattr(records, "OPENING_BYTES", 4096)
    monkeypatch.setattr(records, "CHUNK_BYTES", 4096)
    rows = [{"id": f"r{n}", "title": f"T{n}", "body": os.urandom(500).hex()} for n in range(200)]
    with gzip.open(tmp_path / "a.jsonl.gz", "wt", encoding="utf-8") as out:
        out.writelines(json.dumps(r) + "\n" for r in rows)
    write_jsonl(tmp_path / "b.jsonl", rows)
    (tmp_path / "skip.png").write_bytes(b"x" * 100)
    steps: list[int] = []
    items = read_articles([tmp_path], on_bytes=steps.append)
    seen_at_first_article = None
    for item in items:
        if isinstance(item, Article) and seen_at_first_article is None:
            seen_at_first_article = sum(steps)
    assert sum(steps) == documents.total_bytes([tmp_path]) == sum(p.stat().st_size for p in tmp_path.iterdir())
    assert len([s for s in steps if s]) > 10 and seen_at_first_article < (tmp_path / "a.jsonl.gz").stat().st_size


def test_the_encoding_is_detected_from_the_opening_of_a_large_file(tmp_path):
    text = "Überschrift für Köln\n" + "Die Straße in Köln ist für alle Bürger offen und schön. " * 15_000
    (tmp_path / "latin.txt").write_bytes(text.encode("cp1252"))
    (tmp_path / "utf16.jsonl").write_bytes(
        (json.dumps({"id": "u", "title": "Straße", "body": "schön"}, ensure_ascii=False) + "\n").encode("utf-16"))
    articles, skipped = read(tmp_path)
    assert not skipped
    by_id = {a.id: a for a in articles}
    assert by_id["latin"].title == "Überschrift für Köln" and by_id["latin"].body == text.split("\n", 1)[1].strip()
    assert (by_id["u"].title, by_id["u"].body) == ("Straße", "schön")
