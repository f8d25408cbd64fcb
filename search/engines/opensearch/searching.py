"""Running a search: one request for the page of results, its marks and
its facets, and a few more only when they are needed (the date facet by
day, a spelling suggestion).

The language and source filters are post filters, so that each facet can
be counted without its own filter, showing what choosing another value
would give (as the Whoosh engine counts them); dates filter everything, and
the date facet narrows down (a year's matches by month, a month's by day).
"""

from __future__ import annotations

import re
import time

from opensearchpy import OpenSearch
from urllib3 import Timeout

from ...dates import DateRange, by_period, date_filters, date_tokens, period_width
from ...dates import parse as parse_date
from ...engine import SORTS, SearchRequest
from ...errors import BadQuery, EngineUnavailable, SearchTimeout, UnknownLanguage
from ...languages import resolve
from ...limits import Deadline, Limits
from ...results import Hit, SearchResults
from ...sources import clean_name
from . import marks
from .connection import translated
from .dsl import build, source_filter
from .mapping import INDEXED_LANGUAGES
from .syntax import parse
from ...querytext import check_length

CONNECT_SECONDS = 1.0
"""Least time a request may take to connect to a node, however little of
the deadline is left: a connection that times out is taken for a node
down (marked dead, the request sent to another), not for a slow search."""
SUGGEST_BELOW = 3
"""Offer a spelling suggestion when a query finds fewer results than this."""
SOURCES = 1000
"""Most sources the source facet counts (the most frequent)."""


class Search:
    """One search against the index (or alias) `index`."""

    def __init__(self, client: OpenSearch, index: str, location: str, request: SearchRequest, limits: Limits,
                 deadline: Deadline):
        self.client, self.index, self.location = client, index, location
        self.request, self.limits, self.deadline = request, limits, deadline
        self.took = 0  # milliseconds the cluster spent, over every request

    def run(self) -> SearchResults:
        request, limits = self.request, self.limits
        if request.sort not in SORTS:
            raise BadQuery(f"sort must be one of: {', '.join(SORTS)}.")
        check_length(request.text, limits.query_chars)  # before the date filters are read out of it, as after
        text, asked = date_filters(request.text)
        dates = request.dates.within(asked)
        if request.page < 1:
            raise BadQuery("page must be 1 or more.")
        if not 1 <= request.per_page <= limits.per_page:
            raise BadQuery(f"per_page must be between 1 and {limits.per_page}.")
        if (request.page - 1) * request.per_page >= limits.depth:
            raise BadQuery(f"Results are shown up to the {limits.depth:,}th; refine the query instead.")
        try:
            code = resolve(request.lang) if request.lang else None
        except UnknownLanguage as exc:
            raise BadQuery(str(exc)) from None
        parsed = parse(text, limits, request.typing)
        built = build(parsed, INDEXED_LANGUAGES)
        chosen = {"lang": {"term": {"lang": code}} if code else None,
                  "source": source_filter(request.source) if request.source else None}
        query = _filtered(built.query, _date_range(dates))
        response = self.send(self.body(query, chosen, built.marked))
        total = response["hits"]["total"]["value"]
        facets, names = self.facets(response["aggregations"], query, chosen)
        hits = [self.hit(h, names) for h in response["hits"]["hits"]]
        suggestion = None
        if total < SUGGEST_BELOW and parsed.words and not self.deadline.passed():
            filters = [*chosen.values(), _date_range(dates)]
            suggestion = self.suggest(text, parsed.words, total, filters)
            if suggestion and asked:  # the same dates asked for as in the query typed
                suggestion = " ".join([suggestion.strip(), *date_tokens(request.text)])
        return SearchResults(request.text, total, request.page, request.per_page, hits, facets, suggestion,
                             {source: names[source] for source in facets["source"]},
                             worker_seconds=self.took / 1000)

    def body(self, query: dict, chosen: dict[str, dict | None], marked: dict[str, dict]) -> dict:
        request = self.request
        body: dict = {
            "query": query,
            "from": (request.page - 1) * request.per_page,
            "size": request.per_page,
            "track_total_hits": True,
            "_source": ["id", "lang", "source", "url", "date", "title_*"],
            "aggs": _facet_aggregations(chosen),
        }
        if chosen_filters := [f for f in chosen.values() if f]:
            body["post_filter"] = {"bool": {"filter": chosen_filters}}
        if request.sort == "newest":  # latest first, undated last; the better match first on the same second
            body["sort"] = [{"published": {"order": "desc", "missing": "_last"}}, {"_score": "desc"}]
            body["track_scores"] = True
        if request.snippets:
            body["highlight"] = marks.highlight(marked)
        return body

    def send(self, body: dict, count: bool = False) -> dict:
        """Send a search (or a count) within what is left of the deadline.
        The cluster's own `timeout` stops only its query phase (fetching and
        highlighting run on past it), so the client stops reading the answer
        at the deadline too (connecting gets at least CONNECT_SECONDS)."""
        left = self.deadline.at - time.monotonic()
        if left <= 0:
            raise self.timeout()
        timeout = Timeout(connect=max(left, CONNECT_SECONDS), read=left)
        with translated(self.location, searching=True):
            if count:
                return self.client.count(index=self.index, body=body, request_timeout=timeout)
            body = body | {"timeout": f"{max(1, int(left * 1000))}ms"}
            response = self.client.search(index=self.index, body=body, request_timeout=timeout,
                                          allow_partial_search_results=False)
        self.took += response.get("took", 0)
        if response.get("timed_out"):
            raise self.timeout()
        return response

    def timeout(self) -> SearchTimeout:
        return SearchTimeout(f"The search took longer than {self.deadline.seconds:g} s and was stopped; "
                             "use fewer or more specific words.")

    def facets(self, aggs: dict, query: dict, chosen: dict[str, dict | None]
               ) -> tuple[dict[str, dict[str, int]], dict[str, str]]:
        """The facets, and the name to show for each source in them (the
        name its matching articles give most often, see sources.py)."""
        langs = {b["key"]: b["doc_count"] for b in aggs["lang"]["values"]["buckets"]}
        sources = {b["key"]: b["doc_count"] for b in aggs["source"]["values"]["buckets"]}
        names = {b["key"]: (b["name"]["buckets"][0]["key"] if b["name"]["buckets"] else clean_name(b["key"]))
                 for b in aggs["source"]["values"]["buckets"]}
        months = {b["key_as_string"]: b["doc_count"] for b in aggs["date"]["months"]["buckets"]}
        if months and period_width(min(months), max(months)) == 10 and not self.deadline.passed():
            try:
                months = self.days(query, chosen)  # by_period counts a span this short by day
            except (SearchTimeout, EngineUnavailable):  # the results stand, counted by month
                pass
        return {"lang": langs, "source": sources, "date": by_period(months)}, names

    def days(self, query: dict, chosen: dict[str, dict | None]) -> dict[str, int]:
        filters = [f for f in chosen.values() if f]
        body = {"query": _filtered(query, *filters), "size": 0, "track_total_hits": False,
                "aggs": {"days": {"date_histogram": {"field": "published.time", "calendar_interval": "day",
                                                     "format": "yyyy-MM-dd", "min_doc_count": 1}}}}
        return {b["key_as_string"]: b["doc_count"] for b in self.send(body)["aggregations"]["days"]["buckets"]}

    def hit(self, found: dict, names: dict[str, str]) -> Hit:
        doc = found["_source"]
        lang = doc.get("lang", "")
        title = doc.get(f"title_{lang}", "")
        highlighted = found.get("highlight", {})
        source = doc.get("source", "")
        return Hit(
            id=doc["id"],
            title=title,
            lang=lang,
            source=source,
            source_name=names.get(source) or (clean_name(source) if source else ""),
            url=doc.get("url", ""),
            date=doc.get("date", ""),
            published=published.iso if (published := parse_date(doc.get("date", ""))) else "",
            score=round(found.get("_score") or 0.0, 4),
            snippet=marks.snippet(highlighted, lang) if self.request.snippets else "",
            title_html=marks.marked_text(title, highlighted, [f"title_{lang}", f"title_{lang}.exact"]),
        )

    def suggest(self, text: str, words: list[str], total: int, filters: list[dict | None]) -> str | None:
        """A respelling of the query from words in the index, when one finds
        more; None when there is none, or no time left to look. Only the
        first SUGGEST_WORDS words are respelled: the cluster looks each up in
        every language (64 words took a second on 6,000 articles)."""
        words = words[:SUGGEST_WORDS]
        asks = {f"{n}:{lang}": {"text": word, "term": {
            "field": f"body_{lang}.exact", "suggest_mode": "popular", "max_edits": 1 if len(word) <= 4 else 2,
            "min_word_length": 2, "prefix_length": 1, "size": 1}}
            for n, word in enumerate(words) for lang in INDEXED_LANGUAGES}
        try:
            answer = self.send({"size": 0, "track_total_hits": False, "suggest": asks})["suggest"]
            suggestion = text
            for n, word in enumerate(words):
                options = [option for lang in INDEXED_LANGUAGES for entry in answer[f"{n}:{lang}"]
                           for option in entry["options"]]
                if options:
                    best = max(options, key=lambda o: (o["freq"], o["score"]))["text"]
                    suggestion = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", best, suggestion, count=1)
            if suggestion == text:
                return None
            query = _filtered(build(parse(suggestion, self.limits, self.request.typing)).query, *filters)
            found = self.send({"query": query}, count=True)["count"]
        except (BadQuery, EngineUnavailable):  # SearchTimeout included: the results stand without a suggestion
            return None
        return suggestion if found > total else None


SUGGEST_WORDS = 8


def _facet_aggregations(chosen: dict[str, dict | None]) -> dict:
    """Each facet counted under the other facets' filters, not its own."""
    def under(*names: str) -> dict:
        filters = [chosen[name] for name in names if chosen[name]]
        return {"bool": {"filter": filters}} if filters else {"match_all": {}}

    by_count = [{"_count": "desc"}, {"_key": "asc"}]
    return {
        "lang": {"filter": under("source"), "aggs": {"values": {"terms": {"field": "lang", "size": 10,
                                                                          "order": by_count}}}},
        "source": {"filter": under("lang"), "aggs": {"values": {
            "terms": {"field": "source", "size": SOURCES, "order": by_count},
            "aggs": {"name": {"terms": {"field": "source_name", "size": 1, "order": by_count}}}}}},
        "date": {"filter": under("lang", "source"), "aggs": {"months": {"date_histogram": {
            "field": "published.time", "calendar_interval": "month", "format": "yyyy-MM", "min_doc_count": 1}}}},
    }


def _date_range(dates: DateRange) -> dict | None:
    if not dates:
        return None
    bounds = {"gte": dates.start} if dates.start else {}
    if dates.end:
        bounds["lt"] = dates.end
    return {"range": {"published": bounds}}


def _filtered(query: dict, *filters: dict | None) -> dict:
    wanted = [f for f in filters if f]
    return {"bool": {"must": [query], "filter": wanted}} if wanted else query
