"""Records from the bytes of a file: the text decoded (UTF-8, or the encoding
detected from its opening), JSON Lines read as a stream a chunk at a time,
a .json list parsed one record at a time, and a .txt or .md file's title and
body; all within limits that bound memory whatever the file holds.

`documents.py` opens the files and makes articles of the records.
"""

from __future__ import annotations

import codecs
import gzip
import json
import re
import zlib
from dataclasses import dataclass
from typing import BinaryIO, Callable, Iterable, Iterator

from charset_normalizer import from_bytes

from .feeds import FORMATS as FEEDS, feed_records

STREAMED = (".jsonl", ".ndjson")
"""Formats read a line at a time; the others are read whole."""
MAX_RECORD_CHARS = 4 * 2**20
"""Longest record as JSON text (a line of a JSON Lines file, or one object of
a .json file): 4,194,304 characters, 4 MiB of plain text. Parsed JSON takes up
to 25 times its text in memory, so one record never costs more than about
100 MB; the longest real article (a 62 KB line in ../shared/corpora) is 68
times shorter. A longer line is dropped as it is read, never held whole."""
MAX_FILE_BYTES = 64 * 2**20
"""Largest .txt, .md or .json file, uncompressed, since these are read whole
(a gzip bomb is stopped here, never decompressed further). JSON Lines files
are streamed and have no limit: big collections belong in JSON Lines."""
OPENING_BYTES = 256 * 1024
"""The first bytes of a file, which decide its encoding: detection on a whole
large file would cost time for nothing."""
CHUNK_BYTES = 2**20
"""Bytes read (and decompressed) at a time from a JSON Lines file."""
MAX_BAD_BYTES = 0.01
"""UTF-8 text with at most this share of invalid bytes is read as UTF-8 (bad
bytes become U+FFFD) rather than guessed to be in another encoding."""


class Unreadable(Exception):
    """A file (not one of its records) cannot be read on: the reason."""


@dataclass
class BadRecord:
    """A record that could not be parsed, and why."""

    reason: str


Record = tuple[int, object]
"""(number, record): the record's line (JSON Lines) or place in its list
(.json), 0 for the only record of a file; the record is parsed JSON (a dict
for a .txt or .md file), or a BadRecord."""


def records(stream: BinaryIO, ext: str, progress: Callable[[float], None],
            stored_fraction: Callable[[], float]) -> Iterator[Record]:
    """The records of a file of type `ext` (".txt", ".jsonl"...), read from
    `stream` (decompressed). `progress(fraction)` is called as they are read;
    for a stream, with `stored_fraction()`, the share of the stored file
    read so far. Raises Unreadable when the file cannot be read (on)."""
    if ext in FEEDS:
        yield from _feed_records(stream)
        return
    if ext not in STREAMED:
        text = _whole_text(stream)
        if ext in (".txt", ".md"):
            yield 0, _text_record(text)
        else:
            yield from _json_records(text, progress)
        return
    number = 0
    try:
        for number, line in _lines(_text_chunks(stream, lambda: progress(stored_fraction()))):
            yield number, _parsed(line)
    except Unreadable as exc:
        raise Unreadable(f"{exc} (after line {number})" if number else str(exc)) from None
    if not number:
        raise Unreadable("empty file")


def _read(stream: BinaryIO, size: int, whole: bool = True) -> bytes:
    """`size` bytes of a file or what is left, or (not `whole`) as many as
    one read of the file gives: a file cut short then gives all it has
    before the error."""
    try:
        return stream.read(size) if whole else stream.read1(size)
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise Unreadable(f"corrupt gzip data: {exc}") from None
    except OSError as exc:
        raise Unreadable(f"cannot read: {exc.strerror or exc}") from None


def _feed_records(stream: BinaryIO) -> Iterator[Record]:
    """The entries of an RSS or Atom file (see feeds.py), numbered from 1."""
    data = _whole_bytes(stream)
    try:
        yield from enumerate(feed_records(data), 1)
    except ValueError as exc:
        raise Unreadable(str(exc)) from None


def _whole_bytes(stream: BinaryIO) -> bytes:
    """A file read whole, up to MAX_FILE_BYTES."""
    data = _read(stream, MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise Unreadable(f"over {MAX_FILE_BYTES // 2**20} MiB uncompressed, the limit for a "
                         f".txt, .md, .json or feed file (JSON Lines files have none)")
    return data


def _whole_text(stream: BinaryIO) -> str:
    """The text of a file read whole, up to MAX_FILE_BYTES."""
    data = _whole_bytes(stream)
    text = _decoder(data[:OPENING_BYTES]).decode(data, final=True)
    if _BLANK.match(text).end() == len(text):
        raise Unreadable("empty file")
    return text


def _text_chunks(stream: BinaryIO, after_chunk: Callable[[], None]) -> Iterator[str]:
    """The text of a file a chunk at a time, decompressing only as much; the
    first chunk decides the encoding."""
    decoder = None
    while data := _read(stream, CHUNK_BYTES if decoder else OPENING_BYTES, whole=False):
        decoder = decoder or _decoder(data)
        yield decoder.decode(data)
        after_chunk()
    if decoder:
        yield decoder.decode(b"", final=True)


_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def _decoder(opening: bytes) -> codecs.IncrementalDecoder:
    """A decoder for a file from its opening bytes: UTF-8 (with or without
    BOM), UTF-16 or -32 with a BOM, else the encoding charset-normalizer
    detects. Raises Unreadable for what is not text. Bytes the encoding
    cannot decode become U+FFFD."""
    encoding = next((name for bom, name in _BOMS if opening.startswith(bom)), None)
    if encoding is None:
        if b"\x00" in opening[:8192]:
            raise Unreadable("binary file (contains NUL bytes)")
        if _mostly_utf8(opening):
            encoding = "utf-8-sig"
        else:
            best = from_bytes(opening).best()
            if best is None:
                raise Unreadable("not text in any known encoding")
            encoding = best.encoding
    return codecs.getincrementaldecoder(encoding)(errors="replace")


def _mostly_utf8(data: bytes) -> bool:
    """Whether at most MAX_BAD_BYTES of `data` is not UTF-8 (a character cut
    at its end does not count)."""
    text = codecs.getincrementaldecoder("utf-8-sig")(errors="replace").decode(data)
    bad = text.count("\ufffd") - data.count("\ufffd".encode())
    return bad <= MAX_BAD_BYTES * len(text)


_BLANK = re.compile(r"\s*")
"""Whitespace, matched as a run (four times as fast as searching for \\S)."""
_LINE_BREAK = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
"""What str.splitlines breaks lines at."""


def _text_record(text: str) -> dict:
    """Title = the first non-empty line, body = the rest (its line breaks
    made newlines), found without splitting the whole text into lines."""
    text = text.strip()
    first = _LINE_BREAK.search(text)
    if first is None:
        return {"title": text, "body": ""}
    return {"title": text[: first.start()].strip(), "body": _LINE_BREAK.sub("\n", text[first.end():]).strip()}


def _lines(chunks: Iterable[str]) -> Iterator[tuple[int, str | None]]:
    """(line number, line) for each line of a text (given in chunks) that
    holds more than whitespace. Lines end at "\n" only: JSON strings may hold
    U+2028 and other characters `splitlines` would break a record at. A line
    longer than MAX_RECORD_CHARS comes as None: it is dropped as it is read,
    never held whole. Runs of blank lines are skipped a chunk at a time, not
    a line at a time (a file may be a gigabyte of newlines)."""
    number = 1
    parts: list[str] = []  # the line so far, while it is not too long
    size = 0  # its length
    for chunk in chunks:
        pos = 0
        while pos < len(chunk):
            if not size:  # between lines: skip blank ones
                end = _BLANK.match(chunk, pos).end()
                number += chunk.count("\n", pos, end)
                pos = end
                if pos == len(chunk):
                    break
            end = chunk.find("\n", pos)
            stop = len(chunk) if end < 0 else end
            size += stop - pos
            if size <= MAX_RECORD_CHARS:
                parts.append(chunk[pos:stop])
            else:
                parts.clear()
            if end < 0:
                break
            yield number, "".join(parts) if size <= MAX_RECORD_CHARS else None
            parts.clear()
            size = 0
            number += 1
            pos = end + 1
    if size:
        yield number, "".join(parts) if size <= MAX_RECORD_CHARS else None


def _parsed(text: str | None) -> object:
    """A record from its JSON text (None: too long to keep), or a BadRecord."""
    if text is None or len(text) > MAX_RECORD_CHARS:
        return BadRecord(f"longer than {MAX_RECORD_CHARS:,} characters, the limit for one record")
    try:
        return json.loads(text)
    except RecursionError:
        return BadRecord("JSON nested too deeply")
    except ValueError as exc:  # also numbers too long to convert
        return BadRecord(f"invalid JSON: {exc}")


_JSON_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[][{},"]', re.DOTALL)
"""A string, or a character of JSON's structure; a lone quote is a string
that does not end."""


def _json_records(text: str, progress: Callable[[float], None]) -> Iterator[Record]:
    """The records of a .json file: the one object it holds, or each element
    of its list. A list's elements are found by their brackets and commas
    without parsing, then parsed one at a time: memory holds one record's
    objects, whatever the list holds (parsed whole, 64 MiB of `[{},{},...]`
    would take 1.4 GB)."""
    start = _BLANK.match(text).end()
    if text[start] != "[":
        record = _parsed(text)
        if isinstance(record, BadRecord):
            raise Unreadable(record.reason)
        yield 0, record
        return
    depth, begin, number = 0, start + 1, 0
    for token in _JSON_TOKEN.finditer(text, start):
        char = text[token.start()]
        if char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == '"' and token.end() == token.start() + 1:
            raise Unreadable(f"invalid JSON: a string does not end (after element {number})")
        if (depth == 1 and char == ",") or depth == 0:
            element = text[begin : token.start()]
            if number or char == "," or not _BLANK.fullmatch(element):  # [] holds no element
                number += 1
                yield number, _parsed(element)
                if number % 200 == 0:
                    progress(token.end() / len(text))
            begin = token.end()
        if depth == 0:
            if char != "]" or _BLANK.match(text, token.end()).end() != len(text):
                raise Unreadable(f"invalid JSON: the list is not closed by its last ] (after element {number})")
            return
    raise Unreadable(f"invalid JSON: the list does not end (after element {number})")
