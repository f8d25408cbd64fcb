"""Publication dates: read from what a record says, kept as one sortable key,
filtered by, counted by period, and shown in the reader's language.

Records write dates in many ways (`Thu, 27 Jun 2019 16:17:49 +0200`,
`2015-08-03 21:18:16`, `2005-12-01`, `3 augustus 2015`, `٣ أغسطس ٢٠١٥`). Each
is read strictly: a form we know, with a real day, month and year, or
nothing; never a guess (a date we cannot read leaves its article undated,
and the indexing summary counts it). A time without a zone is taken as UTC.

The key is the moment in UTC as ISO 8601 with a fixed width
(`2019-06-27T14:17:49Z`), so that keys sort as the moments do and a range
is two string comparisons: the same for any engine.
"""

from __future__ import annotations

import email.utils
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Mapping


from .errors import BadQuery

EARLIEST, LATEST = 1800, 2199
"""Years a date may have: outside them a number is not a publication date."""

_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")

MONTHS: dict[str, tuple[str, ...]] = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September",
           "Oktober", "November", "Dezember"),
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
           "oktober", "november", "december"),
    "ar": ("يناير", "فبراير", "مارس", "أبريل", "مايو", "يونيو", "يوليو", "أغسطس", "سبتمبر", "أكتوبر",
           "نوفمبر", "ديسمبر"),
}
"""Month names as each language's newspapers write them (Arabic: the names of
Egypt and the Gulf, used by the Saudi papers of the corpora)."""

_MORE_MONTHS = {
    # other spellings and short forms readers and feeds use
    "jan": 1, "feb": 2, "mar": 3, "mrt": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
    "oct": 10, "okt": 10, "nov": 11, "dec": 12, "dez": 12, "mär": 3, "maerz": 3, "jänner": 1,
    "ابريل": 4, "إبريل": 4, "يونيه": 6, "يوليه": 7, "اغسطس": 8, "اكتوبر": 10,
    "كانون الثاني": 1, "شباط": 2, "آذار": 3, "اذار": 3, "نيسان": 4, "أيار": 5, "ايار": 5, "حزيران": 6,
    "تموز": 7, "آب": 8, "اب": 8, "أيلول": 9, "ايلول": 9, "تشرين الأول": 10, "تشرين الاول": 10,
    "تشرين الثاني": 11, "كانون الأول": 12, "كانون الاول": 12,
}
_MONTH = {name.casefold(): n for names in MONTHS.values() for n, name in enumerate(names, 1)} | _MORE_MONTHS
_MONTH_NAMES = "|".join(sorted(map(re.escape, _MONTH), key=len, reverse=True))
_TIME = r"(?:[,\s]+(?:um\s+|om\s+|at\s+)?(?P<hour>\d{1,2})[:.](?P<minute>\d{2})(?::(?P<second>\d{2}))?(?:\s*uhr)?)?"
_WRITTEN = [
    re.compile(rf"(?P<day>\d{{1,2}})\.?\s+(?P<month>{_MONTH_NAMES})\.?,?\s+(?P<year>\d{{4}}){_TIME}", re.I),
    re.compile(rf"(?P<month>{_MONTH_NAMES})\.?\s+(?P<day>\d{{1,2}}),?\s+(?P<year>\d{{4}}){_TIME}", re.I),
    re.compile(rf"(?P<day>\d{{1,2}})[./](?P<month>\d{{1,2}})[./](?P<year>\d{{4}}){_TIME}"),
]
"""Dates as newspapers print them: day first, or an English month first; a
date in digits is read day first (03.08.2015, 03/08/2015), as in all four
languages but American English."""
_WEEKDAY = re.compile(r"^[^\d,]+,\s*")
_ZONE_NAME = re.compile(r"\d\s+([A-Za-z]+)$")
"""A zone given by name at the end of an RFC 2822 date."""
_RFC822_ZONES = {"UT", "UTC", "GMT", "Z", "EST", "EDT", "CST", "CDT", "MST", "MDT", "PST", "PDT"}


@dataclass(frozen=True)
class Published:
    """When an article was published, as far as its record says."""
    moment: datetime
    """In the zone the record gave (UTC when it gave none)."""
    has_time: bool
    """False when the record gave a day only."""

    @property
    def key(self) -> str:
        """The sortable key (see the module's docstring)."""
        return self.moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    @property
    def iso(self) -> str:
        """ISO 8601 as written: the day alone, or the time with its zone."""
        return self.moment.date().isoformat() if not self.has_time else self.moment.isoformat()

    def shown(self, lang: str) -> str:
        """The day, as a reader of `lang` writes it (ISO 8601 for other languages)."""
        day, month, year = self.moment.day, self.moment.month, self.moment.year
        if lang == "de":
            return f"{day}. {MONTHS['de'][month - 1]} {year}"
        if lang in ("en", "nl"):
            return f"{day} {MONTHS[lang][month - 1]} {year}"
        if lang == "ar":
            return f"{day} {MONTHS['ar'][month - 1]} {year}".translate(_ARABIC_INDIC)
        return self.moment.date().isoformat()


_ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


def parse(text: str) -> Published | None:
    """The publication date `text` gives, None if it gives none we can be
    sure of (see the module's docstring)."""
    text = " ".join(unicodedata.normalize("NFKC", text).translate(_DIGITS).split())
    if not text or len(text) > 64:
        return None
    for read in (_iso, _rfc2822, _written):
        try:
            found = read(text)
        except (ValueError, TypeError, OverflowError, IndexError):
            found = None
        if found is not None:
            return found if EARLIEST <= found.moment.year <= LATEST else None
    return None


def _iso(text: str) -> Published | None:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?", text):
        return None
    moment = datetime.fromisoformat(text)
    return Published(_zoned(moment), has_time=len(text) > 10)


def _rfc2822(text: str) -> Published | None:
    if not re.search(r"\d:\d\d", text) or not re.search(r"[A-Za-z]{3}", text):
        return None  # email.utils reads many things; only a day, a month name and a time are RFC 2822
    zone = _ZONE_NAME.search(text)
    if zone and zone[1].upper() not in _RFC822_ZONES:
        return None  # a zone RFC 822 does not name (CEST, MEZ): email.utils would take it as UTC
    moment = email.utils.parsedate_to_datetime(text)
    if str(moment.year) not in text:
        return None  # email.utils reads years 0-99 as 19xx or 20xx: "0001" is not 2001
    return Published(_zoned(moment), has_time=True)


def _written(text: str) -> Published | None:
    text = _WEEKDAY.sub("", text)
    for pattern in _WRITTEN:
        if m := pattern.fullmatch(text):
            month = m["month"]
            number = int(month) if month.isdigit() else _MONTH[month.casefold()]
            parts = [int(m[name] or 0) for name in ("hour", "minute", "second")]
            moment = datetime(int(m["year"]), number, int(m["day"]), *parts, tzinfo=timezone.utc)
            return Published(moment, has_time=m["hour"] is not None)
    return None


def _zoned(moment: datetime) -> datetime:
    """`moment` with its zone, UTC where it has none."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


@dataclass(frozen=True)
class DateRange:
    """Keys from `start` (included) to `end` (left out); None leaves that side open."""
    start: str | None = None
    end: str | None = None

    def __bool__(self) -> bool:
        return self.start is not None or self.end is not None

    def __contains__(self, key: str) -> bool:
        return bool(key) and (self.start is None or key >= self.start) and (self.end is None or key < self.end)

    def within(self, other: DateRange) -> DateRange:
        """The part of this range that is also in `other`."""
        starts = [s for s in (self.start, other.start) if s is not None]
        ends = [e for e in (self.end, other.end) if e is not None]
        return DateRange(max(starts, default=None), min(ends, default=None))


_PERIOD = re.compile(r"(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?")


def period(text: str) -> DateRange:
    """The year, month or day `text` names (`2019`, `2019-06`, `2019-06-01`)
    as a range; BadQuery if it names none."""
    m = _PERIOD.fullmatch(text.translate(_DIGITS).strip())
    try:
        if m is None:
            raise ValueError
        year, month, day = int(m[1]), int(m[2] or 1), int(m[3] or 1)
        first = date(year, month, day)
        if m[3]:
            after = first + timedelta(days=1)
        elif m[2]:
            after = date(year + month // 12, month % 12 + 1, 1)
        else:
            after = date(year + 1, 1, 1)
    except (ValueError, OverflowError):
        raise BadQuery(f"{text!r} is not a date: write a year, month or day, as 2019, 2019-06 or 2019-06-01.") from None
    return DateRange(_day_key(first), _day_key(after))


def _day_key(day: date) -> str:
    return f"{day.isoformat()}T00:00:00Z"


def between(start: str | None, end: str | None) -> DateRange:
    """From the beginning of `start` to the end of `end` (each a year, month
    or day, or None for no bound): what a reader means by from 2019-06 to
    2019-07. BadQuery when `start` is after `end`."""
    wanted = DateRange(period(start).start if start else None, period(end).end if end else None)
    if wanted.start and wanted.end and wanted.start >= wanted.end:
        raise BadQuery(f"The dates are the wrong way round: from {start} to {end}.")
    return wanted


_FILTER = re.compile(r"(?<!\S)date:(\S*)", re.I)
_EXCLUDED = re.compile(r"(?<!\S)(?:-|NOT\s+)date:", re.I)
_COMPARISON = re.compile(r"(>=|<=|>|<)?(.*)")


def date_filters(text: str) -> tuple[str, DateRange]:
    """The query without its `date:` filters, and the range they ask for:
    `date:2019-06` (that month), `date:>2019-06-01` (after that day; `>=`,
    `<`, `<=` alike), `date:2019-06-01..2019-06-30` (both days included)."""
    if _EXCLUDED.search(text):
        raise BadQuery("date: cannot be excluded; ask for the dates wanted instead (date:<2019, date:>2019-06-30).")
    filters = _FILTER.findall(text)
    if not filters:
        return text, DateRange()
    wanted = DateRange()
    for value in filters:
        if ".." in value:
            start, _, end = value.partition("..")
            wanted = wanted.within(between(start or None, end or None))
            continue
        sign, rest = _COMPARISON.fullmatch(value).groups()
        named = period(rest)
        wanted = wanted.within({
            None: named, ">": DateRange(named.end), ">=": DateRange(named.start),
            "<": DateRange(None, named.start), "<=": DateRange(None, named.end),
        }[sign])
    return _FILTER.sub("", text), wanted


def date_tokens(text: str) -> list[str]:
    """The `date:` filters of a query, as typed."""
    return [m.group(0) for m in _FILTER.finditer(text)]


def period_width(first: str, last: str) -> int:
    """How many characters of a key name its period in the date facet, for
    matches from `first` to `last` (keys, or their months or days): years
    over more than two years, months over more than two months, else days."""
    months = _months_apart(first, last)
    return 4 if months > 24 else 7 if months > 2 else 10


def by_period(counts: Mapping[str, int]) -> dict[str, int]:
    """The date facet from the matches' counts by key (or by any period as
    short as the span calls for, see period_width), oldest first; each
    period as `period` reads it. Empty keys (undated articles) are left out."""
    counts = {key: n for key, n in counts.items() if key}
    if not counts:
        return {}
    width = period_width(min(counts), max(counts))
    periods: dict[str, int] = {}
    for key in sorted(counts):
        periods[key[:width]] = periods.get(key[:width], 0) + counts[key]
    return periods


def _months_apart(first: str, last: str) -> int:
    return (int(last[:4]) - int(first[:4])) * 12 + int(last[5:7]) - int(first[5:7])
