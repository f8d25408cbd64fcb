"""The `search` command: a thin layer over the library (parse options, call,
format). Library errors become one-line messages with a hint, never tracebacks."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import threading
from functools import wraps
from html import escape
from pathlib import Path

import click

from .dates import between
from .engine import SORTS, Engine, Progress, SearchRequest, open_engine
from .errors import IndexBusy, SearchError
from .keys import Keys
from .languages import LANGUAGES
from .limits import Limits
from .processes import default_workers
from .results import IndexReport
from .terminal import ProgressLine, render

DEFAULT_INDEX = "index"
DEFAULT_PATHS = ("seeds",)
BUNDLED_SEEDS = Path(__file__).resolve().parent.parent / "seeds"
"""The sample articles beside the package in a checkout (an editable
install); a wheel does not have them."""


def index_option(fn):
    return click.option(
        "--index-dir",
        "--engine",
        "index_dir",
        envvar="SEARCH_INDEX_DIR",
        default=DEFAULT_INDEX,
        show_default=True,
        type=click.Path(file_okay=False),
        help="Where the index is: a folder, or an OpenSearch index as opensearch+https://host:9200/NAME (env SEARCH_INDEX_DIR).",
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
@click.option("--no-embeddings", "no_embeddings", is_flag=True,
              help="Skip computing vectors for search by meaning (the keyword index is built either way).")
@click.option("--wait", default=60.0, show_default=True, type=click.FloatRange(0, 86400), metavar="SECONDS",
              help="How long to wait for another writer (another run, a write over HTTP) to finish.")
@click.option("--watch", type=click.Path(path_type=Path, file_okay=False, exists=True), metavar="FOLDER",
              help="Then keep indexing FOLDER's files as they arrive, change or go (every few seconds) until stopped.")
@json_option
@reports_errors
def index_command(paths: tuple[Path, ...], index_dir: str, rebuild: bool, workers: int | None, no_embeddings: bool,
                  wait: float, watch: Path | None, as_json: bool) -> None:
    """Index articles from files and folders (default: seeds/).

    Reads .txt/.md (title on the first line), .json, .jsonl, RSS and Atom
    feeds (.rss, .atom, .xml), each optionally gzip-compressed. Only what
    changed is written: new articles are added, changed ones updated, and
    ones gone from their file removed.
    """
    paths = paths + ((watch,) if watch else ()) or tuple(Path(p) for p in DEFAULT_PATHS)
    if not any(p.exists() for p in paths):
        raise click.ClickException(f"Nothing to index: {_names(paths)} does not exist. "
                                   "Name the files and folders to index: search index PATH ...")
    engine = open_engine(index_dir)
    report = _update(engine, paths, rebuild=rebuild, workers=workers, embeddings=not no_embeddings, wait=wait,
                     bar=sys.stderr.isatty() and not as_json)
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "index": _totals(engine)}, ensure_ascii=False, indent=2))
    else:
        _print_report(report, engine)
    if watch:
        _watch(engine, paths, watch, workers, embeddings=not no_embeddings)
    elif not (report.added or report.updated or report.unchanged or report.removed):
        sys.exit(1)  # nothing could be indexed


WATCH_SECONDS = 2.0
"""How often `search index --watch` looks for new, changed and removed files
(it reads only those: the others are known by size and times)."""


def _watch(engine: Engine, paths: tuple[Path, ...], folder: Path, workers: int | None, embeddings: bool) -> None:
    """Index `paths` again every WATCH_SECONDS until Ctrl+C or SIGTERM,
    reporting the runs that change something (and each skipped file once)."""
    stopped = threading.Event()

    def stop(signum: int, frame) -> None:
        """Only a flag: a KeyboardInterrupt raised here is lost (and printed)
        if the signal comes while a finalizer runs, a worker queue's say."""
        stopped.set()

    def give_up(progress: Progress) -> None:
        """An update under way is given up at its next report once told to
        stop; the index keeps what it had."""
        if stopped.is_set():
            raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGINT):  # how service managers stop it, and Ctrl+C
        signal.signal(signum, stop)
    click.echo(f"Watching {folder.absolute()} for articles; Ctrl+C stops.", err=True)
    told: set[tuple[str, str]] = set()
    try:
        while not stopped.wait(WATCH_SECONDS):
            try:
                report = engine.update(paths, workers=workers, embeddings=False, wait=WATCH_SECONDS,
                                       on_progress=give_up)
            except IndexBusy:
                continue  # another writer (a write over HTTP, another run): next time
            if report.changed and embeddings:  # only then: looking for missing vectors reads every article's id
                vectors = engine.embed(workers, give_up)  # never busy: it waits for another run's vectors, and writes go on
                report.embedded, report.embedding_seconds = vectors.embedded, vectors.embedding_seconds
            new = [item for item in report.skipped if item not in told]
            told.update(new)
            if report.changed or new:
                report.skipped = new
                _print_report(report, engine)
    except KeyboardInterrupt:
        pass
    click.echo("Stopped watching.", err=True)


_PHASES = {"reading": "Reading", "writing": "Writing", "committing": "Committing", "embedding": "Embedding",
           "done": "Done"}


def _update(engine: Engine, paths, rebuild: bool = False, workers: int | None = None, embeddings: bool = True,
            wait: float = 0.0, bar: bool = False) -> IndexReport:
    """engine.update (with embeddings unless told not to), with a progress bar on stderr when `bar`."""
    if not bar:
        return engine.update(paths, rebuild=rebuild, workers=workers, embeddings=embeddings, wait=wait)
    line = ProgressLine(sys.stderr, shutil.get_terminal_size().columns)
    try:
        return engine.update(paths, rebuild=rebuild, workers=workers, embeddings=embeddings, wait=wait,
                         on_progress=lambda p: line.show(_PHASES[p.phase], p.done, p.total))
    finally:
        line.close()


def _totals(engine: Engine) -> dict | None:
    """What the index holds after a run: articles, and by language (none
    when no index could be built)."""
    if not engine.exists():
        return None
    stats = engine.stats()
    return {"documents": stats.documents, "languages": stats.languages}


def _print_report(report: IndexReport, engine: Engine) -> None:
    verb = "Rebuilt" if report.rebuilt else "Updated"
    if not report.changed and not report.rebuilt:
        verb = "Unchanged"
    click.echo(
        f"{verb} {engine.location}: {report.added} added, {report.updated} updated, "
        f"{report.removed} removed, {report.unchanged} unchanged, {len(report.skipped)} skipped."
    )
    # The keywords' own time: vectors, which take longer, have their own line.
    indexed, megabytes = report.added + report.updated, report.text_bytes / 1e6
    seconds = max(report.seconds - report.embedding_seconds, 1e-3)
    if indexed:
        click.echo(f"Indexed {_count(indexed, 'article')} ({megabytes:.2f} MB of text) in {seconds:.1f} s: "
                   f"{indexed / seconds:,.0f} articles/s, {megabytes / seconds:.2f} MB/s.")
        click.echo(f"  added or updated: {_by_language(report.languages)}")
    else:
        click.echo(f"Took {report.seconds:.1f} s.")
    if report.undated:
        examples = ", ".join(repr(_printable(d)) for d in report.undated_examples)
        click.echo(f"  dates not read:   {_count(report.undated, 'article')} (e.g. {examples}): kept as written, "
                   "not sorted or filtered by date")
    if report.embedded:
        click.echo(f"  by meaning:       {_count(report.embedded, 'article')} embedded in "
                   f"{report.embedding_seconds:.1f} s ({report.embedded / max(report.embedding_seconds, 1e-3):,.1f} articles/s)")
    totals = _totals(engine)
    if totals:
        click.echo(f"  in the index:     {_by_language(totals['languages'])} ({_count(totals['documents'], 'article')})")
    for path, reason in report.skipped[:20]:
        click.echo(f"  skipped {_printable(path)}: {_printable(reason)}", err=True)
    if len(report.skipped) > 20:
        click.echo(f"  ... and {len(report.skipped) - 20} more skipped (see --json)", err=True)


def _printable(text: str) -> str:
    """`text` from a folder of articles (a file's name) with what a terminal
    would obey rather than show (escape sequences that set its title or
    clipboard, line breaks that fake a line of the report, bidi overrides)
    written out as escapes."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in str(text))


def _by_language(counts: dict[str, int]) -> str:
    return ", ".join(f"{code} {n:,}" for code, n in counts.items()) or "none"


@cli.command("query")
@click.argument("text")
@index_option
@click.option("--lang", help="Only this language (ar, de, nl, en, und, or its name).")
@click.option("--source", help="Only this source.")
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, Limits().per_page), help="Results per page.")
@click.option("--page", default=1, show_default=True, type=click.IntRange(1), help="Page number.")
@click.option("--sort", type=click.Choice(SORTS), default=SORTS[0], show_default=True, help="Best match, or latest first.")
@click.option("--from", "date_from", metavar="DATE", help="Only articles published from this year, month or day (2019, 2019-06, 2019-06-01).")
@click.option("--to", "date_to", metavar="DATE", help="Only articles published up to this year, month or day (included).")
@click.option("--terminal-bidi", is_flag=True, envvar="SEARCH_TERMINAL_BIDI",
              help="The terminal shapes and orders right-to-left text itself: print Arabic in logical order (env SEARCH_TERMINAL_BIDI=1).")
@click.option("--no-meaning", "no_meaning", is_flag=True, help="Keywords only: no search by meaning, across languages.")
@json_option
@reports_errors
def query_command(text: str, index_dir: str, lang, source, limit: int, page: int, sort: str, date_from: str | None,
                  date_to: str | None, terminal_bidi: bool, no_meaning: bool, as_json: bool) -> None:
    """Search the index; TEXT may use "phrases", AND/OR/NOT, -word, word*,
    lang:xx, source:name, title:word and date:2019-06 (or date:>2019-06-01).
    A query of plain words is also searched by meaning, in every language
    (when the index has vectors)."""
    with open_engine(index_dir) as engine:
        results = engine.search(SearchRequest(text, lang=lang, source=source, page=page, per_page=limit,
                                              meaning=not no_meaning, dates=between(date_from, date_to), sort=sort))
    if as_json:
        click.echo(json.dumps(results.to_dict(), ensure_ascii=False, indent=2))
        return
    show = _Screen(sys.stdout.isatty(), reorder=not terminal_bidi)
    if results.total and not results.results:
        pages = f"{results.pages} page" + ("s" if results.pages > 1 else "")
        click.echo(f"No results on page {results.page}: {_count(results.total, 'result')} on {pages}.")
    else:
        click.echo(_count(results.total, "result") + (f", page {results.page} of {results.pages}" if results.total else ""))
    if results.suggestion:
        show("Did you mean: ", escape(results.suggestion))
    first = (results.page - 1) * results.per_page
    for n, hit in enumerate(results.results, first + 1):
        direction = LANGUAGES[hit.lang].direction if hit.lang in LANGUAGES else None
        number = f"{n}. "
        indent = " " * len(number)
        meaning = "related in meaning" if hit.by_meaning else ""
        meta = " · ".join(x for x in (hit.lang, hit.source_name, hit.published or hit.date, hit.id, f"score {hit.score}", meaning) if x)
        click.echo()
        show(number, hit.title_html, direction)
        show(indent, escape(meta))
        show(indent, hit.snippet, direction)
        if hit.also_in:
            show(indent, escape("also in: " + " · ".join(f"{other.lang} {other.id}" for other in hit.also_in)))
    for facet in ("lang", "date"):
        if results.facets.get(facet):
            click.echo("\n" + "  ".join(f"{k}: {v}" for k, v in results.facets[facet].items()))


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}{'' if n == 1 else 's'}"


class _Screen:
    """Prints text from articles (titles, meta lines, snippets) through
    terminal.render: on a terminal wrapped to its width, beside a prefix."""

    def __init__(self, tty: bool, reorder: bool):
        self.tty, self.reorder = tty, reorder
        self.width = shutil.get_terminal_size().columns

    def __call__(self, prefix: str, html_text: str, direction: str | None = None) -> None:
        """Print `html_text` (escaped, with <mark>) after `prefix`, its next
        lines indented as far."""
        lines = render(html_text, max(self.width - len(prefix), 20), self.tty, self.reorder, direction)
        click.echo(prefix + lines[0])
        for line in lines[1:]:
            click.echo(" " * len(prefix) + line)


class _ServeCommand(click.Command):
    """`search serve --help` ends with every setting of the web service,
    from its one table (web/settings.py), read when help is asked for."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from web.settings import SETTINGS

        with formatter.section("Settings (environment variables)"):
            formatter.write_dl([(s.env, f"{s.help} Default: {s.default!r}.") for s in SETTINGS])


@cli.command("serve", cls=_ServeCommand)
@index_option
@click.option("--host", default="127.0.0.1", show_default=True, envvar="SEARCH_HOST", help="Address to listen on (env SEARCH_HOST).")
@click.option("--port", default=5000, show_default=True, envvar="SEARCH_PORT", type=click.IntRange(0, 65535), help="Port (env SEARCH_PORT; 0 picks a free one).")
@click.option("--threads", default=8, show_default=True, envvar="SEARCH_THREADS", type=click.IntRange(1, 64), help="Threads serving requests.")
@click.option("--workers", type=click.IntRange(0, 64), envvar="SEARCH_WORKERS", help="Processes that run searches (env SEARCH_WORKERS; default: one per core; 0: none, search in the serving process).")
@click.option("--seeds", "seed_paths", multiple=True, type=click.Path(path_type=Path), help="What to index when there is no index yet (default: seeds/).")
@click.option("--allow-empty", is_flag=True, help="Serve even with no articles (creating an empty index if there is none); articles indexed later are found at once.")
@reports_errors
def serve_command(index_dir: str, host: str, port: int, threads: int, workers: int | None,
                  seed_paths: tuple[Path, ...], allow_empty: bool) -> None:
    """Serve the search page, the JSON API and the widget (waitress), with
    searches run in worker processes.

    With no index yet, the seed articles are indexed first, so a fresh
    checkout gives a working search at once. With no articles at all it
    refuses to start, unless --allow-empty. Other settings (limits per
    client, timeouts, public URL, trusted hosts and proxies) come from
    the SEARCH_* environment variables listed below.
    """
    from web import create_app
    from web.server import serve

    engine = open_engine(index_dir)
    paths = seed_paths or tuple(Path(p) for p in DEFAULT_PATHS)
    if not engine.exists() and any(p.exists() for p in paths):
        click.echo(f"No index at {engine.location} yet: indexing {_names(paths)} first.", err=True)
        _print_report(_update(engine, paths, bar=sys.stderr.isatty()), engine)
    with engine:  # the app opens its own
        if allow_empty:
            engine.create()
        else:
            _refuse_to_serve_nothing(engine, paths)
    app = create_app({"INDEX_DIR": index_dir, "WORKERS": default_workers() if workers is None else workers})
    serve(app, host, port, threads,
          announce=lambda urls: click.echo(f"Serving on {' and '.join(u + '/' for u in urls)} (Ctrl+C to stop)", err=True))


def _refuse_to_serve_nothing(engine: Engine, seeds: tuple[Path, ...]) -> None:
    """Stop, saying what to do, when there are no articles to serve: a new
    user who runs `search serve` in the wrong folder should not get a silent
    empty search page."""
    if engine.exists():
        if engine.stats().documents:
            return
        problem = f"The index at {engine.location} holds no articles"
    elif not any(p.exists() for p in seeds):
        problem = f"No index at {engine.location}, and no {_names(seeds)} to build one from"
    else:
        problem = f"No index at {engine.location}: nothing could be indexed from {_names(seeds)}"
    serve = "search serve" + ("" if engine.location == str(Path(DEFAULT_INDEX).absolute()) else f" --index-dir {engine.location}")
    fixes = [f"  build one:              search index PATH --index-dir {engine.location}"]
    if BUNDLED_SEEDS.is_dir() and BUNDLED_SEEDS not in (p.resolve() for p in seeds):
        fixes.append(f"  serve the sample ones:  {serve} --seeds {BUNDLED_SEEDS}")
    fixes.append(f"  or start empty:         {serve} --allow-empty  (articles indexed later are found at once)")
    raise click.ClickException("\n".join([f"{problem}: nothing to serve. Either", *fixes]))


def _names(paths) -> str:
    """Paths as absolute paths, for messages."""
    return ", ".join(str(Path(p).absolute()) for p in paths)


@cli.command("stats")
@index_option
@json_option
@reports_errors
def stats_command(index_dir: str, as_json: bool) -> None:
    """Show what the index holds."""
    with open_engine(index_dir) as engine:
        stats = engine.stats()
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


@cli.group("keys")
def keys_group() -> None:
    """Keys that allow writing articles over HTTP (POST, PUT and DELETE on
    /api/articles, sent as `Authorization: Bearer KEY`)."""


def _keys(index_dir: str) -> Keys:
    """The keys of the index, where the server looks for them too (SEARCH_KEYS_DIR, else beside the index)."""
    return Keys.of(index_dir, os.environ.get("SEARCH_KEYS_DIR", ""))


@keys_group.command("create")
@index_option
@click.option("--name", default="", help="What the key is for (shown by `search keys list`).")
@reports_errors
def keys_create(index_dir: str, name: str) -> None:
    """Make a key and print it: the only time it is shown (only its hash is kept)."""
    key, secret = _keys(index_dir).create(name)
    click.echo(secret)
    click.echo(f"Key {key.id} created{f' for {name}' if name else ''}; keep it secret: it is not shown again.", err=True)


@keys_group.command("list")
@index_option
@reports_errors
def keys_list(index_dir: str) -> None:
    """The keys: id, when made, and name (never the keys themselves)."""
    for key in _keys(index_dir).all():
        click.echo(f"{key.id}  {key.created}  {key.name}")


@keys_group.command("revoke")
@click.argument("key_id")
@index_option
@reports_errors
def keys_revoke(key_id: str, index_dir: str) -> None:
    """Revoke a key: writes with it are refused from the next request on."""
    key = _keys(index_dir).revoke(key_id)
    click.echo(f"Key {key.id} revoked.")


def main() -> None:
    cli(prog_name="search")
