"""Text for a terminal: wrapped to its width, matched words in reverse video,
and right-to-left text shaped and put in visual order for terminals that
cannot do it themselves; and a progress bar.

The order of the steps is the point. A terminal wraps what it is given, so a
paragraph reordered as a whole would read bottom to top once wrapped. Here
text is wrapped first (in logical order, by display width); each line is
then shaped (Arabic letters take their joined forms) and reordered on its
own, as the Unicode bidirectional algorithm orders the lines of a paragraph.
Every character carries its mark through the reordering, so reverse video
stays on the matched words, and each line closes what it opens.

python-bidi's pure-Python algorithm gives each character its level; its
`get_display` cannot be used as is, since it would reorder the text without
the marks.
"""

from __future__ import annotations

import html
import re
import time
import unicodedata
from typing import TextIO

from arabic_reshaper import ArabicReshaper
from bidi import algorithm as uba

MARK_ON, MARK_OFF = "\x1b[1;7m", "\x1b[0m"
"""Reverse video (and bold) for matched words; MARK_OFF resets every attribute."""
PIPE_MARK = "**"

Cell = tuple[str, bool]
"""A character and whether it is marked."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
"""Control characters (terminal escape sequences in articles); tab and newline stay."""
_TAG = re.compile(r"(</?mark>)")

# One output character per input character (harakat kept, no ligatures), so
# each character keeps its mark; lam-alef is joined below, within one mark.
_RESHAPER = ArabicReshaper(configuration={"delete_harakat": False, "support_ligatures": False})
_LAM_ALEF = {
    (lam, alef): ligature
    for alef, isolated in (("\ufe8e", 0xFEFB), ("\ufe82", 0xFEF5), ("\ufe84", 0xFEF7), ("\ufe88", 0xFEF9))
    for lam, ligature in (("\ufedf", chr(isolated)), ("\ufee0", chr(isolated + 1)))
}
"""(lam, final alef) -> their ligature; a lam in its medial form makes the
ligature's final form. These are the ligatures Arabic requires."""
_UNSUPPORTED_CLASSES = {"", "LRI", "RLI", "FSI", "PDI"}
"""Bidi classes python-bidi's algorithm does not know (unassigned characters,
isolates): treated as neutral."""


def render(html_text: str, width: int, tty: bool = True, reorder: bool = True, direction: str | None = None) -> list[str]:
    """The lines to print for `html_text`: escaped text with <mark>, as in
    snippets (escape plain text first).

    In a pipe (`tty` false): one line, the text as stored, marks as **word**.
    On a terminal: lines at most `width` columns wide, marks in reverse video.
    With `reorder`, right-to-left text is shaped and in visual order, and a
    right-to-left paragraph is aligned right; without it (the terminal orders
    text itself) the lines stay in logical order. `direction` ("ltr", "rtl")
    is the paragraph's; by default its first letter decides, as in Unicode's
    algorithm.
    """
    cells = _cells(html_text)
    if not tty:
        return [_marked(cells, PIPE_MARK, PIPE_MARK)]
    cells = [(" " if ch.isspace() else ch, mark) for ch, mark in cells if ch != "\u200d"]  # ZWJ: nothing to see
    lines = wrap(cells, width)
    if not reorder:
        return [_marked(line, MARK_ON, MARK_OFF) for line in lines]
    rtl = direction == "rtl" if direction else uba.get_base_level("".join(ch for ch, _ in cells)) == 1
    shown = []
    for line in lines:
        visual = _visual(_shaped(line), rtl)
        if rtl:
            visual = [(" ", False)] * (width - _width(visual)) + visual
        shown.append(_marked(visual, MARK_ON, MARK_OFF))
    return shown


def display_width(text: str) -> int:
    """Columns `text` takes in a terminal: wide (East Asian) characters take
    two, combining marks and invisible formatting characters none."""
    return sum(map(_char_width, text))


def _char_width(ch: str) -> int:
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _width(cells: list[Cell]) -> int:
    return sum(_char_width(ch) for ch, _ in cells)


def _cells(html_text: str) -> list[Cell]:
    """The characters of escaped text with <mark>, unescaped, each with its
    mark; control characters removed."""
    cells: list[Cell] = []
    marked = False
    for part in _TAG.split(html_text):
        if part in ("<mark>", "</mark>"):
            marked = part == "<mark>"
        else:
            cells += ((ch, marked) for ch in _CONTROL.sub("", html.unescape(part)))
    return cells


def wrap(cells: list[Cell], width: int) -> list[list[Cell]]:
    """Lines of at most `width` columns, broken between words; a word wider
    than a line is cut. Spaces are single, and none starts or ends a line."""
    width = max(width, 2)  # room for one wide character
    lines: list[list[Cell]] = []
    line: list[Cell] = []
    used = 0
    for space, word in _words(cells):
        size = _width(word)
        if line and used + 1 + size <= width:
            line += [space, *word]
            used += 1 + size
            continue
        if line:
            lines.append(line)
        line, used = [], 0
        for cell in word:  # cut only a word too wide for any line
            size = _char_width(cell[0])
            if used + size > width:
                lines.append(line)
                line, used = [], 0
            line.append(cell)
            used += size
    if line or not lines:
        lines.append(line)
    return lines


def _words(cells: list[Cell]) -> list[tuple[Cell, list[Cell]]]:
    """(the space before it, the word) for each word: a space keeps its mark,
    so a marked phrase stays marked between its words."""
    words: list[tuple[Cell, list[Cell]]] = []
    space: Cell = (" ", False)
    word: list[Cell] = []
    for cell in cells:
        if cell[0] != " ":
            if not word:
                words.append((space, word))
            word.append(cell)
        elif word:
            space, word = cell, []
    return words


def _shaped(line: list[Cell]) -> list[Cell]:
    """Arabic letters in the forms that join them to their neighbours,
    shaped across the whole line (a partly marked word still joins); lam-alef
    joined where both letters share a mark. Harakat go: after reordering they
    would sit on the wrong letter, as most terminals draw them."""
    text = "".join(ch for ch, _ in line)
    shaped = _RESHAPER.reshape(text)
    if len(shaped) != len(text):  # not one for one (not expected): leave the line unshaped
        shaped = text
    out: list[Cell] = []
    for ch, (_, mark) in zip(shaped, line):
        if unicodedata.category(ch) == "Mn" and out and unicodedata.bidirectional(out[-1][0]) in ("R", "AL"):
            continue
        if out and out[-1][1] == mark and (out[-1][0], ch) in _LAM_ALEF:
            out[-1] = (_LAM_ALEF[out[-1][0], ch], mark)
            continue
        out.append((ch, mark))
    return out


def _visual(line: list[Cell], rtl: bool) -> list[Cell]:
    """The line in visual order (left to right), brackets mirrored in
    right-to-left runs, by Unicode's bidirectional algorithm with the
    paragraph's direction; each cell keeps its mark. Invisible formatting
    characters (bidi controls) steer the order but are not printed."""
    storage = uba.get_empty_storage()
    storage["base_level"] = int(rtl)
    storage["base_dir"] = "R" if rtl else "L"
    for ch, mark in line:
        kind = unicodedata.bidirectional(ch)
        kind = "ON" if kind in _UNSUPPORTED_CLASSES else kind
        storage["chars"].append({"ch": ch, "level": int(rtl), "type": kind, "orig": kind, "mark": mark})
    uba.explicit_embed_and_overrides(storage)
    uba.resolve_weak_types(storage)
    uba.resolve_neutral_types(storage, False)
    uba.resolve_implicit_levels(storage, False)
    uba.reorder_resolved_levels(storage, False)
    uba.apply_mirroring(storage, False)
    return [(c["ch"], c["mark"]) for c in storage["chars"] if unicodedata.category(c["ch"]) != "Cf"]


def _marked(cells: list[Cell], start: str, end: str) -> str:
    """The cells' text with each marked run between `start` and `end`; a
    mark still open at the end is closed."""
    out: list[str] = []
    marked = False
    for ch, mark in cells:
        if mark != marked:
            out.append(start if mark else end)
            marked = mark
        out.append(ch)
    if marked:
        out.append(end)
    return "".join(out)


class ProgressLine:
    """A progress bar on one terminal line, redrawn in place: what is under
    way, how far, and the time left, estimated from the pace since the bar
    first moved (the work units are meant to take equal time; what comes
    before the first, such as decompressing a large first file, is not
    part of the pace). A new total means work counted in other units (articles
    embedded after bytes indexed): the pace starts again."""

    def __init__(self, stream: TextIO, width: int):
        self.stream = stream
        self.bar_width = max(10, min(40, width - 36))
        self.start: tuple[float, int] | None = None  # when the bar first moved, and from where
        self.total: int | None = None
        self.drawn = False

    def show(self, label: str, done: int, total: int) -> None:
        fraction = min(done / total, 1.0) if total else 1.0
        filled = round(fraction * self.bar_width)
        now = time.monotonic()
        if total != self.total:
            self.start, self.total = None, total
        if self.start is None and done:
            self.start = (now, done)
        left = ""
        if self.start and done > self.start[1] and fraction < 1:
            pace = (now - self.start[0]) / (done - self.start[1])
            left = f"{_minutes(pace * (total - done))} left"
        self.stream.write(f"\r{label:<10} [{'#' * filled}{'-' * (self.bar_width - filled)}] {fraction:4.0%}  {left:<12}")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        """End the line (once something was drawn), so what follows starts on its own."""
        if self.drawn:
            self.stream.write("\n")
            self.stream.flush()


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"
