"""The `search` command: a thin layer over the library (parse options, call,
format). Library errors become one-line messages with a hint, never tracebacks."""

from __future__ import annotations

import html
import json
import re
import sys
from functools import wraps
from pathlib import Path

import click

from .errors import SearchError
from .index import Index
from .searching import search

DEFAULT_INDEX = "index"
DEFAULT_PATHS = ("seeds",)


def index_option(fn):
    return click.option(
        "--index-dir",
        envvar="SEARCH_INDEX_DIR",
        default=DEFAULT_INDEX,
        show_default=True,
        type=click.Path(file_okay=False),
        help="Where the index lives (env SEARCH_INDEX_DIR).",
    )(fn)


def json_option(fn):
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(fn)


def reports_errors(fn):
    """Show library errors as `Error: message` with exit status 1."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except SearchError as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


@click.group()
@click.version_option(package_name="multilingual-news-search")
def cli() -> None:
    """Multilingual full-text search for news articles."""


@cli.command("index")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@index_option
@click.option("--rebuild", is_flag=True, help="Build a fresh index beside the old one and switch when complete.")
@click.option("--workers", type=click.IntRange(1, 64), help="Processes that build the index (default: one per core).")
@json_option
@reports_errors
def index_command(paths: tuple[Path, ...], index_dir: str, rebuild: bool, workers: int | None, as_json: bool) -> None:
    """Index articles from files and folders (default: seeds/).

    Reads .txt/.md (title on the first line), .json, .jsonl, each optionally
    gzip-compressed. Only what changed is written: new articles are added,
    changed ones updated, and ones gone from their file removed.
    """
    from .documents import total_bytes

    paths = paths or tuple(Path(p) for p in DEFAULT_PATHS)
    missing = [p for p in paths if not p.exists()]
    if len(missing) == len(paths):
        raise click.ClickException(f"Nothing to index: {', '.join(map(str, missing))} does not exist.")
    ix = Index(index_dir)
    show_bar = sys.stderr.isatty() and not as_json
    with click.progressbar(
        length=total_bytes(paths), label="Indexing", file=sys.stderr, hidden=not show_bar
    ) as bar:
        report = ix.update(paths, rebuild=rebuild, on_bytes=bar.update, workers=workers)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report, ix)
    if not (report.added or report.updated or report.unchanged or report.removed):
        sys.exit(1)  # nothing could be indexed


def _print_report(report, ix: Index) -> None:
    verb = "Rebuilt" if report.rebuilt else "Updated"
    if not report.changed and not report.rebuilt:
        verb = "Unchanged"
    click.echo(
        f"{verb} {ix.path}: {report.added} added, {report.updated} updated, "
        f"{report.removed} removed, {report.unchanged} unchanged, {len(report.skipped)} skipped."
    )
    for path, reason in report.skipped[:20]:
        click.echo(f"  skipped {path}: {reason}", err=True)
    if len(report.skipped) > 20:
        click.echo(f"  ... and {len(report.skipped) - 20} more skipped (see --json)", err=True)


@cli.command("query")
@click.argument("text")
@index_option
@click.option("--lang", help="Only this language (ar, de, nl, en, und).")
@click.option("--source", help="Only this source.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 100), help="Results per page.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(1), help="Page number.")
@json_option
@reports_errors
def query_command(text: str, index_dir: str, lang, source, limit: int, page: int, as_json: bool) -> None:
    """Search the index; TEXT may use "phrases", AND/OR/NOT, -word, word*,
    lang:xx, source:name and title:word."""
    with Index(index_dir).searcher() as searcher:
        results = search(searcher, text, lang=lang, source=source, page=page, per_page=limit)
    if as_json:
        click.echo(json.dumps(results.to_dict(), ensure_ascii=False, indent=2))
        return
    tty = sys.stdout.isatty()
    first = (results.page - 1) * results.per_page
    click.echo(f"{results.total} results" + (f", page {results.page} of {results.pages}" if results.total else ""))
    if results.suggestion:
        click.echo(f"Did you mean: {results.suggestion}")
    for n, hit in enumerate(results.results, first + 1):
        meta = _display(" · ".join(x for x in (hit.lang, hit.source, hit.date) if x), tty)
        click.echo(f"\n{n}. {_display(hit.title, tty)}  [{meta}]  ({_display(hit.id, tty)}, score {hit.score})")
        click.echo("   " + _terminal_snippet(hit.snippet, tty))
    if results.facets.get("lang"):
        click.echo("\n" + "  ".join(f"{k}: {v}" for k, v in results.facets["lang"].items()))


_MARK_START, _MARK_END = "\ue000", "\ue001"  # private-use placeholders for <mark>


def _terminal_snippet(snippet: str, tty: bool) -> str:
    """A snippet for a terminal: its text made safe and displayable, then
    marks as reverse video (on a terminal) or **word** (in a pipe)."""
    start, end = ("\x1b[1;7m", "\x1b[0m") if tty else ("**", "**")
    text = html.unescape(snippet.replace("<mark>", _MARK_START).replace("</mark>", _MARK_END))
    return _display(text, tty).replace(_MARK_START, start).replace(_MARK_END, end)


_ARABIC = re.compile(r"[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]")


_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _display(text: str, tty: bool) -> str:
    """Text safe to print: control characters from articles (terminal escape
    sequences) removed, and on a terminal Arabic shaped and put in visual
    order, for terminals that cannot do it themselves; a pipe gets Arabic as
    stored."""
    text = _CONTROL.sub("", text)
    if not tty or not _ARABIC.search(text):
        return text
    import arabic_reshaper
    from bidi import get_display

    return get_display(arabic_reshaper.reshape(text))


@cli.command("serve")
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, envvar="SEARCH_HOST", help="Address to listen on (env SEARCH_HOST).")
@click.option("--port", default=5000, show_default=True, envvar="SEARCH_PORT", type=click.IntRange(0, 65535), help="Port (env SEARCH_PORT; 0 picks a free one).")
@click.option("--threads", default=8, show_default=True, envvar="SEARCH_THREADS", type=click.IntRange(1, 64), help="Threads serving requests.")
@click.option("--workers", type=click.IntRange(0, 64), envvar="SEARCH_WORKERS", help="Processes that run searches (env SEARCH_WORKERS; default: one per core; 0: none, search in the serving process).")
@click.option("--seeds", "seed_paths", multiple=True, type=click.Path(path_type=Path), help="What to index when there is no index yet (default: seeds/).")
@reports_errors
def serve_command(index_dir: str, host: str, port: int, threads: int, workers: int | None, seed_paths: tuple[Path, ...]) -> None:
    """Serve the search page, the JSON API and the widget (waitress), with
    searches run in worker processes.

    With no index yet, the seed articles are indexed first, so a fresh
    checkout gives a working search at once. Other settings (limits per
    client, timeouts, public URL, trusted hosts and proxies) come from
    SEARCH_* environment variables, listed in web/settings.py and in the
    README's section on the web service.
    """
    from web import create_app
    from web.searcher import default_workers
    from web.server import serve

    ix = Index(index_dir)
    if not ix.exists():
        paths = seed_paths or tuple(Path(p) for p in DEFAULT_PATHS)
        click.echo(f"No index at {ix.path} yet: indexing {', '.join(map(str, paths))} first.", err=True)
        _print_report(ix.update(paths), ix)
    ix.check_version()
    app = create_app({"INDEX_DIR": index_dir, "WORKERS": default_workers() if workers is None else workers})
    serve(app, host, port, threads,
          announce=lambda urls: click.echo(f"Serving on {' and '.join(u + '/' for u in urls)} (Ctrl+C to stop)", err=True))


@cli.command("stats")
@index_option
@json_option
@reports_errors
def stats_command(index_dir: str, as_json: bool) -> None:
    """Show what the index holds."""
    stats = Index(index_dir).stats()
    if as_json:
        click.echo(json.dumps(stats.to_dict(), ensure_ascii=False, indent=2))
        return
    click.echo(f"Index:     {stats.path}")
    click.echo(f"Documents: {stats.documents}")
    for code, count in stats.languages.items():
        click.echo(f"  {code}: {count}")
    click.echo(f"Size:      {stats.size_bytes / 1e6:.1f} MB")
    click.echo(f"Analyzer:  {stats.analyzer_version}")
    click.echo(f"Created:   {stats.created}")
    click.echo(f"Updated:   {stats.updated}")


def main() -> None:
    cli(prog_name="search")
