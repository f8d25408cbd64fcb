"""What the library returns: plain data, the same for the CLI, the web pages and
the JSON API, and independent of the engine behind it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Counterpart:
    """An article nearest a result in meaning: the same story in another
    language, a near-duplicate in its own, or a related article."""

    id: str
    lang: str
    title: str
    similarity: float


@dataclass
class Hit:
    id: str
    title: str
    lang: str
    source: str
    """The identifier (what source filters match)."""
    source_name: str
    """What readers are shown (see sources.py)."""
    url: str
    date: str
    """As the record wrote it."""
    published: str
    """The date read (see dates.py) as ISO 8601, "" when it could not be."""
    score: float
    snippet: str
    """Safe HTML: the text escaped, matched words wrapped in <mark>."""
    title_html: str = ""
    """The title as safe HTML, matched words wrapped in <mark> like the snippet's."""
    by_meaning: bool = False
    """Found by meaning only (in another language, or in other words): none
    of the query's words are in it, and nothing is marked."""
    also_in: list[Counterpart] = field(default_factory=list)
    """The same story in other languages, one article per language at most."""
    duplicates: list[Counterpart] = field(default_factory=list)
    """Near-duplicates (the same story republished in its language) folded
    into this result rather than shown apart."""


@dataclass
class SearchResults:
    query: str
    total: int
    page: int
    per_page: int
    results: list[Hit]
    facets: dict[str, dict[str, int]]
    suggestion: str | None = None
    source_names: dict[str, str] = field(default_factory=dict)
    """The name to show for each source of the source facet (see sources.py)."""
    worker_seconds: float = 0.0
    """Computing time the search took outside the calling thread (a worker
    process, a cluster): what a client's time budget is charged besides the
    request's own."""

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    def to_dict(self) -> dict:
        """The results as shown to readers and programs (without their cost)."""
        data = asdict(self)
        del data["worker_seconds"]
        return data


UNDATED_EXAMPLES = 3
"""Dates a run's report quotes among those it could not read."""


@dataclass
class IndexReport:
    """What one `search index` run did."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    """(path, reason) for every file or record that could not be indexed."""
    rebuilt: bool = False
    files_unchanged: int = 0
    """Files not read again: unchanged (size and times) since they were indexed."""
    languages: dict[str, int] = field(default_factory=dict)
    """Articles added or updated, by language."""
    text_bytes: int = 0
    """Size of the articles added or updated (title and body, UTF-8)."""
    seconds: float = 0.0
    """How long the run took."""
    embedded: int = 0
    """Articles given a vector (new, changed, or left without one before)."""
    embedding_seconds: float = 0.0
    """How long computing those took (part of `seconds`)."""
    undated: int = 0
    """Articles added or updated whose date could not be read (see
    dates.py): kept as written, with no time to sort or filter by."""
    undated_examples: list[str] = field(default_factory=list)
    """A few of those dates, as written."""

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)

    def count_written(self, title: str, body: str, date: str, published: str) -> None:
        """Count an article added or updated: the size of its text, and its
        date (as written) when it could not be read (`published` is "")."""
        self.text_bytes += sum(len(text.encode("utf-8", "surrogatepass")) for text in (title, body))
        if date and not published:
            self.undated += 1
            if len(self.undated_examples) < UNDATED_EXAMPLES and date not in self.undated_examples:
                self.undated_examples.append(date)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["skipped"] = [{"path": p, "reason": r} for p, r in self.skipped]
        return data


@dataclass
class IndexStats:
    documents: int
    languages: dict[str, int]
    size_bytes: int
    analyzer_version: str
    created: str
    updated: str
    path: str

    def to_dict(self) -> dict:
        return asdict(self)
