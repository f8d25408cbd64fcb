"""Articles and reading them from files.

`read_articles(paths)` walks files and folders and yields an `Article` for
every record it can read and a `Skipped` (with the reason) for every file,
folder or record it cannot, so no file, name or record ever stops a run.

Only regular files are opened, and `records.py` reads each within limits, so
memory stays bounded whatever the files hold.
"""

from __future__ import annotations

import errno
import gzip
import hashlib
import itertools
import json
import math
import os
import re
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping

from .dates import parse as parse_date
from .errors import UnknownLanguage
from .feeds import FORMATS as FEEDS
from .languages import NEUTRAL, detect, resolve
from .records import BadRecord, Unreadable, records

FORMATS = (".txt", ".md", ".json", ".jsonl", ".ndjson", *FEEDS)
"""File types read as articles, each also gzip-compressed (name ending .gz)."""

MAX_ARTICLE_CHARS = 1_000_000
"""Most characters of title and body together, 30 times the longest real
article (34,000): this bounds the work of analyzing, storing and showing one
article."""
MAX_ID_CHARS = 512
"""Longest id: an article's address (/articles/<id>) must fit in a request
line of 16 KB even with every character percent-encoded."""
MAX_FIELD_CHARS = 2000
"""Longest source, url, date or lang (a record with a longer one is skipped),
and longest other field kept (longer ones are left out): these are stored
and sent with the article, and real ones are short."""
MAX_OTHER_FIELDS = 50
"""Other simple fields kept from a record (the first ones), for the same
reason."""
MAX_SKIPS_LISTED = 100
"""Skipped records of one file listed one by one; the rest are counted in one
line, so a file of a million bad lines does not make a report of a million."""

_TEXT_FIELDS = {"id": "id", "title": "title", "body": "body", "text": "body", "lang": "lang", "language": "lang",
                "source": "source", "url": "url", "date": "date"}
"""Record fields read as text, and what they are (`text` is the body when
there is no `body`)."""


POSTED = "<posted over HTTP>"
"""The origin of articles written over HTTP (Engine.put): never a file's
path, so no update removes them and a rebuild keeps them."""


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

    def published_key(self) -> str:
        """The sortable key of the article's date (see dates.py), "" when it has none we can read."""
        published = parse_date(self.date) if self.date else None
        return published.key if published else ""

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
    """The file, folder or record (`file:line`), printable: bytes of a name
    that are not UTF-8 are shown as backslash escapes."""
    reason: str
    unread: str = ""
    """The real path of a file or folder that exists but could not be read to
    its end: the index keeps the articles it had from there."""


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


def _stamp(st: os.stat_result) -> Stamp:
    return (st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino)


def is_gone(path: str | os.PathLike) -> bool:
    """Whether a file positively no longer exists. A file that cannot be
    checked (a folder on the way is unreadable, a link loops) is not gone:
    its articles must not be removed for that."""
    try:
        os.stat(path)
    except OSError as exc:
        return exc.errno in (errno.ENOENT, errno.ENOTDIR)
    return False


def article_files(root: Path) -> Iterator[Path | Skipped]:
    """The files under a folder, recursively and in a stable order, skipping
    hidden files and folders. Folders that cannot be listed, links to folders
    (not followed: they could loop) and folder names that are not UTF-8 come
    as Skipped."""
    if not root.is_dir():
        yield root
        return
    errors: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(root, onerror=errors.append):
        yield from map(_unlisted, errors)
        errors.clear()
        folders = []
        for name in sorted(d for d in dirnames if not d.startswith(".")):
            path = Path(dirpath, name)
            if _not_utf8(name):
                yield Skipped(_shown(path), "name is not valid UTF-8")
            elif path.is_symlink():
                yield Skipped(_shown(path), "link to a folder: not followed")
            else:
                folders.append(name)
        dirnames[:] = folders
        for name in sorted(filenames):
            if not name.startswith("."):
                yield Path(dirpath, name)
    yield from map(_unlisted, errors)


def _unlisted(exc: OSError) -> Skipped:
    return Skipped(_shown(exc.filename), f"cannot read folder: {exc.strerror}", os.path.realpath(exc.filename))


def read_articles(
    paths: Iterable[str | os.PathLike],
    on_bytes: Callable[[int], None] | None = None,
    known: Mapping[str, Stamp] | None = None,
) -> Iterator[Item]:
    """Yield articles, skips and file-done markers for files and folders.

    `on_bytes(n)` is called with the bytes of each file as stored, as its
    records are read, for progress bars (see `total_bytes`). A file whose
    absolute path `known` maps to its current stamp is not read:
    FileUnchanged stands for it.
    """
    known = known or {}
    for root in map(Path, paths):
        try:
            folder = stat.S_ISDIR(os.stat(root).st_mode)
        except OSError as exc:
            yield _cannot_open(root, exc, os.path.realpath(root))
            continue
        base = root if folder else root.parent
        for path in article_files(root):
            if isinstance(path, Skipped):
                yield path
            else:
                yield from _read_path(path, base, on_bytes, known)


def total_bytes(paths: Iterable[str | os.PathLike]) -> int:
    return sum(_size(p) for root in map(Path, paths) if root.exists()
               for p in article_files(root) if isinstance(p, Path))


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


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


def _shown(path: str | os.PathLike) -> str:
    """A path as text that can be printed and written as JSON: bytes of a
    name that are not UTF-8 become backslash escapes (b"\\xff" -> "\\\\xff")."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


_SURROGATE = re.compile("[\ud800-\udfff]")


def _not_utf8(name: str) -> bool:
    """Python gives bytes of a file name that are not UTF-8 as lone
    surrogates; such a name cannot be stored in the index, nor found again."""
    return _SURROGATE.search(name) is not None


def _cannot_open(path: Path, exc: OSError, unread: str = "") -> Skipped:
    """The Skipped for a path that stat or open failed on. A file that is
    gone takes its articles with it; one that exists keeps them (`unread`)."""
    if exc.errno == errno.ELOOP:
        reason = "symbolic link loop"
    elif exc.errno in (errno.ENOENT, errno.ENOTDIR):
        reason, unread = ("broken symbolic link" if path.is_symlink() else "no such file or folder"), ""
    else:
        reason = f"cannot read: {exc.strerror or exc}"
    return Skipped(_shown(path), reason, unread)


def _format(path: Path) -> tuple[str, bool]:
    name = path.name.lower()
    compressed = name.endswith(".gz")
    if compressed:
        name = name[:-3]
    return os.path.splitext(name)[1], compressed


def _read_path(path: Path, base: Path, on_bytes: Callable[[int], None] | None,
               known: Mapping[str, Stamp]) -> Iterator[Item]:
    """One file's items. Only regular files are opened (a FIFO or a device
    could block the run forever), after following links."""
    try:
        st = os.stat(path)
    except OSError as exc:
        yield _cannot_open(path, exc, os.path.realpath(path))
        return
    progress = _Progress(on_bytes, st.st_size)
    origin = os.path.realpath(path)
    ext, compressed = _format(path)
    if _not_utf8(origin):
        yield Skipped(_shown(path if _not_utf8(str(path)) else origin), "name is not valid UTF-8")
    elif ext not in FORMATS:
        yield Skipped(_shown(path), f"not an article file (reads {', '.join(FORMATS)} and .gz)")
    elif not stat.S_ISREG(st.st_mode):
        yield Skipped(_shown(path), "not a regular file", origin)
    elif known.get(origin) == _stamp(st):
        yield FileUnchanged(origin, _stamp(st))
    else:
        yield from _read_file(path, base, origin, progress)
    progress.at(1.0)


def _read_file(path: Path, base: Path, origin: str, progress: _Progress) -> Iterator[Item]:
    """The articles of a regular file, then FileRead once it was read to its
    end; a file that could not be read to its end gives a Skipped instead
    (after the articles read before the problem), so the index keeps the
    articles it had from it."""
    ext, compressed = _format(path)
    rel = path.relative_to(base).as_posix()
    default_id = rel[: -len(ext) - (3 if compressed else 0)]
    try:
        # O_NONBLOCK: should a FIFO have taken the file's place since stat,
        # opening it must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        yield _cannot_open(path, exc, origin)
        return
    skips, problem = 0, ""
    with open(fd, "rb") as raw:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            yield Skipped(_shown(path), "not a regular file", origin)
            return
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
        try:
            for number, record in records(stream, ext, progress.at, lambda: raw.tell() / (st.st_size or 1)):
                single = number == 0
                article = record.reason if isinstance(record, BadRecord) else to_article(
                    record, default_id if single else f"{default_id}#{number}", origin)
                if isinstance(article, Article):
                    yield article
                    continue
                skips += 1
                if skips <= MAX_SKIPS_LISTED:
                    yield Skipped(_shown(path) if single else f"{_shown(path)}:{number}", article)
        except Unreadable as exc:
            problem = str(exc)
    if skips > MAX_SKIPS_LISTED:
        yield Skipped(_shown(path), f"{skips - MAX_SKIPS_LISTED:,} more records skipped "
                                   f"(the first {MAX_SKIPS_LISTED} are listed)")
    yield Skipped(_shown(path), problem, origin) if problem else FileRead(origin, _stamp(st))


def _simple(value: object) -> bool:
    if isinstance(value, float) and not math.isfinite(value):
        return False  # NaN and Infinity are not valid JSON for API clients
    return isinstance(value, (str, int, float, bool)) and len(str(value)) <= MAX_FIELD_CHARS


_VISIBLE = re.compile(r"[^\s\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff]")
"""A character that shows: not whitespace, control or invisible formatting."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def to_article(record: object, default_id: str, origin: str = "") -> Article | str:
    """An Article from a JSON-like record, or the reason it is not one. Every
    string kept has lone surrogates (which JSON's \\ud800 escapes make, and
    which cannot be encoded for the index, the API or a terminal) replaced
    by U+FFFD."""
    if not isinstance(record, dict):
        return f"not a JSON object but {type(record).__name__}"
    fields: dict[str, str] = {}
    for key in _TEXT_FIELDS:
        value = record.get(key)
        if value is None or value == "" or _TEXT_FIELDS[key] in fields:
            continue
        if isinstance(value, (dict, list, bool)):
            return f"{key} is not text but {type(value).__name__}"
        fields[_TEXT_FIELDS[key]] = _clean(str(value)).strip()
    title = fields.get("title", "")
    body = fields.get("body", "")
    if not _VISIBLE.search(body):
        body = ""
    if not _VISIBLE.search(title):  # a title is what a result shows: use the opening of the body
        title = body.partition("\n")[0][:200]
    if not title and not body:
        return "no title or body"
    if len(title) + len(body) > MAX_ARTICLE_CHARS:
        return f"title and body longer than {MAX_ARTICLE_CHARS:,} characters, the limit for one article"
    doc_id = fields.get("id") or default_id
    if len(doc_id) > MAX_ID_CHARS:
        return f"id longer than {MAX_ID_CHARS} characters"
    if not _VISIBLE.search(doc_id) or _CONTROL.search(doc_id):
        return f"id {doc_id!r} is not printable"
    for name in ("lang", "source", "url", "date"):
        if len(fields.get(name, "")) > MAX_FIELD_CHARS:
            return f"{name} longer than {MAX_FIELD_CHARS:,} characters"
    others = ((k, v) for k, v in record.items() if k not in _TEXT_FIELDS and len(k) <= MAX_FIELD_CHARS and _simple(v))
    return Article(
        id=doc_id,
        title=title,
        body=body,
        lang=fields.get("lang") or None,
        source=fields.get("source", ""),
        url=fields.get("url", ""),
        date=fields.get("date", ""),
        extra={_clean(k): _clean(v) if isinstance(v, str) else v for k, v in itertools.islice(others, MAX_OTHER_FIELDS)},
        origin=origin,
    )


def _clean(text: str) -> str:
    try:
        text.encode("utf-8")  # twice as fast as searching for surrogates
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def article_language(article: Article) -> str:
    """The record's language when it names one of ours, NEUTRAL when it names
    another, and the detected language when it names none."""
    if article.lang:
        try:
            code = resolve(article.lang)
        except UnknownLanguage:
            return NEUTRAL
        return code
    return detect(f"{article.title}\n{article.body}")
