"""Reading articles: every format, stable ids, and bad files skipped with a reason."""

import gzip
import json

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
