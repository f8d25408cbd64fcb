"""Articles and reading them from files.

`read_articles(paths)` walks files and folders and yields an `Article` for
every record it can read and a `Skipped` (with the reason) for everything it
cannot, so one bad file never stops a batch.
"""

from __future__ import annotations

import gzip
import io
import hashlib
import json
import math
import os
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

from charset_normalizer import from_bytes

FORMATS = (".txt", ".md", ".json", ".jsonl", ".ndjson")
"""File types read as articles, each also gzip-compressed (name ending .gz)."""

_KNOWN_FIELDS = {"id", "title", "body", "text", "lang", "language", "source", "url", "date"}
_MAX_EXTRA = 1000  # longest simple value kept from an unknown field


@dataclass
class Article:
    id: str
    title: str
    body: str
    lang: str | None = None
    source: str = ""
    url: str = ""
    date: str = ""
    extra: dict = field(default_factory=dict)
    origin: str = ""
    """The absolute path of the file the article was read from."""

    def to_dict(self) -> dict:
        """The article as shown to users (without the local file path)."""
        data = asdict(self)
        del data["origin"]
        return data

    def fingerprint(self) -> str:
        """Changes whenever anything we index or store about the article does.
        Each part is hashed with its length, so text cannot move between parts
        unnoticed; only `extra` needs JSON (every article is fingerprinted on
        every run, so this is kept cheap)."""
        digest = hashlib.blake2b(digest_size=12)
        extra = json.dumps(self.extra, ensure_ascii=False, sort_keys=True) if self.extra else ""
        for part in (self.title, self.body, self.lang or "", self.source, self.url, self.date, extra):
            data = part.encode("utf-8", "surrogatepass")
            digest.update(b"%d:" % len(data))
            digest.update(data)
        return digest.hexdigest()


@dataclass
class Skipped:
    path: str
    reason: str


Stamp = tuple[int, int, int, int]
"""A file's size, modification and change times (ns) and inode: if all are
the same, the file has not been written to."""


@dataclass
class FileRead:
    """Sent after each file that could be read, so the indexer knows which
    files' articles are complete (and which may be removed from the index)."""

    path: str
    stamp: Stamp | None = None
    """The file's stamp from before it was read."""


@dataclass
class FileUnchanged:
    """Sent instead of a file's articles when its stamp is the one the caller
    knows: the articles the caller has from it are current."""

    path: str
    stamp: Stamp


Item = Article | Skipped | FileRead | FileUnchanged


def file_stamp(path: Path) -> Stamp | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def article_files(root: Path) -> Iterator[Path]:
    """The files under a folder, recursively and in a stable order, skipping
    hidden files and folders."""
    if root.is_file():
        yield root
        return
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath, name)


def read_articles(
    paths: Iterable[str | os.PathLike],
    on_bytes: Callable[[int], None] | None = None,
    known: Mapping[str, Stamp] | None = None,
) -> Iterator[Item]:
    """Yield articles, skips and file-done markers for files and folders.

    `on_bytes(n)` is called with the size of each file once it is read, for
    progress bars (see `total_bytes`). A file whose absolute path `known`
    maps to its current stamp is not read: FileUnchanged stands for it.
    """
    known = known or {}
    for root in map(Path, paths):
        if not root.exists():
            yield Skipped(str(root), "no such file or folder")
            continue
        base = root.parent if root.is_file() else root
        for path in article_files(root):
            stamp = file_stamp(path)
            progress = _Progress(on_bytes, stamp[0] if stamp else 0)
            origin = str(path.resolve())
            if stamp is not None and known.get(origin) == stamp:
                yield FileUnchanged(origin, stamp)
            else:
                yield from _read_file(path, base, progress, stamp)
            progress.at(1.0)


class _Progress:
    """Reports a file's bytes as its records are read, so a progress bar moves
    through a single large file too."""

    def __init__(self, on_bytes: Callable[[int], None] | None, size: int):
        self.on_bytes, self.size, self.done = on_bytes, size, 0

    def at(self, fraction: float) -> None:
        if self.on_bytes:
            now = int(self.size * min(fraction, 1.0))
            self.on_bytes(now - self.done)
            self.done = now


def total_bytes(paths: Iterable[str | os.PathLike]) -> int:
    return sum(_size(p) for root in map(Path, paths) if root.exists() for p in article_files(root))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _format(path: Path) -> tuple[str, bool]:
    name = path.name.lower()
    compressed = name.endswith(".gz")
    if compressed:
        name = name[:-3]
    return os.path.splitext(name)[1], compressed


def _read_file(path: Path, base: Path, progress: _Progress, stamp: Stamp | None) -> Iterator[Item]:
    ext, compressed = _format(path)
    if ext not in FORMATS:
        yield Skipped(str(path), f"not an article file (reads {', '.join(FORMATS)} and .gz)")
        return
    try:
        data = path.read_bytes()
        if compressed:
            data = gzip.decompress(data)
    except (OSError, EOFError, zlib.error) as exc:
        yield Skipped(str(path), f"cannot read: {exc.strerror or exc}" if isinstance(exc, OSError) else f"corrupt gzip data: {exc}")
        return
    text, problem = decode(data)
    del data  # a large file's text is held once, not twice
    if text is None:
        yield Skipped(str(path), problem)
        return
    rel = path.relative_to(base).as_posix()
    default_id = rel[: -len(ext) - (3 if compressed else 0)]
    origin = str(path.resolve())
    count = 1
    if ext in (".txt", ".md"):
        records: Iterable[tuple[int, object]] = [(0, _text_record(text))]
        single = True
    elif ext == ".json":
        try:
            loaded = json.loads(text)
        except json.JSONDecodeError as exc:
            yield Skipped(str(path), f"invalid JSON: {exc}")
            return
        single = not isinstance(loaded, list)
        records = enumerate([loaded] if single else loaded, 1)
        count = 1 if single else len(loaded)
    else:
        records = _json_lines(text)
        single = False
        count = text.count("\n") + 1
    for number, record in records:
        if number % 200 == 0:
            progress.at(number / count)
        where = str(path) if single else f"{path}:{number}"
        if isinstance(record, Skipped):
            yield Skipped(where, record.reason)
            continue
        article = to_article(record, default_id if single else f"{default_id}#{number}", origin)
        if isinstance(article, str):
            yield Skipped(where, article)
        else:
            yield article
    yield FileRead(origin, stamp)


def decode(data: bytes) -> tuple[str | None, str]:
    """Text from bytes: UTF-8 (with or without BOM), else the encoding
    charset-normalizer detects. Returns (None, reason) for what is not text."""
    if not data.strip():
        return None, "empty file"
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        pass  # UTF-16 with BOM: NUL bytes are expected, let detection handle it
    elif b"\x00" in data[:8192]:
        return None, "binary file (contains NUL bytes)"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _mostly_utf8(data) or _detected(data)
        if text is None:
            return None, "not text in any known encoding"
    if not text.strip():
        return None, "empty file"
    return text, ""


MAX_BAD_BYTES = 0.01
"""UTF-8 text with at most this share of invalid bytes is read as UTF-8 (bad
bytes become U+FFFD) rather than guessed to be in another encoding."""


def _mostly_utf8(data: bytes) -> str | None:
    text = data.decode("utf-8-sig", errors="replace")
    bad = text.count("\ufffd") - data.decode("utf-8-sig", errors="ignore").count("\ufffd")
    return text if bad <= MAX_BAD_BYTES * len(text) else None


def _detected(data: bytes) -> str | None:
    best = from_bytes(data).best()
    return None if best is None else str(best)


def _text_record(text: str) -> dict:
    lines = text.strip().splitlines()
    return {"title": lines[0].strip(), "body": "\n".join(lines[1:]).strip()}


def _json_lines(text: str) -> Iterator[tuple[int, object]]:
    """Records one line at a time. Lines end at "\n" only: JSON strings may
    hold U+2028 and other characters `splitlines` would break a record at."""
    for number, line in enumerate(io.StringIO(text, newline="\n"), 1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, Skipped("", f"invalid JSON: {exc}")


def _simple(value: object) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return False  # NaN and Infinity are not valid JSON for API clients
    return isinstance(value, (str, int, float, bool)) and len(str(value)) <= _MAX_EXTRA


def to_article(record: object, default_id: str, origin: str = "") -> Article | str:
    """An Article from a JSON-like record, or the reason it is not one."""
    if not isinstance(record, dict):
        return f"not a JSON object but {type(record).__name__}"
    title = _text(record.get("title"))
    body = _text(record.get("body") if record.get("body") is not None else record.get("text"))
    if not title and not body:
        return "no title or body"
    if not title:  # a title is what a result shows: use the opening of the body
        title = body.strip().split("\n", 1)[0][:200]
    record_id = record.get("id")
    return Article(
        id=str(record_id).strip() if record_id not in (None, "") else default_id,
        title=title,
        body=body,
        lang=_text(record.get("lang") or record.get("language")) or None,
        source=_text(record.get("source")),
        url=_text(record.get("url")),
        date=_text(record.get("date")),
        extra={k: v for k, v in record.items() if k not in _KNOWN_FIELDS and _simple(v)},
        origin=origin,
    )


def _text(value: object) -> str:
    if value is None:
        return ""
    return value.strip() if isinstance(value, str) else str(value).strip()
