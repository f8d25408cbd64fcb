"""Text on a terminal: wrapped, marks on the matched words, Arabic shaped and
ordered line by line. What is on screen is read back from the escapes and
compared with what a reader should see."""

import io
import re
import textwrap

import arabic_reshaper
import pytest
from hypothesis import given, settings, strategies as st

from search.terminal import MARK_OFF, MARK_ON, ProgressLine, display_width, render

SGR = re.compile(r"\x1b\[[0-9;]*m")
MIRROR = str.maketrans("()[]", ")(][")

ARABIC = ("ويقول المسؤولون <mark>الأمريكيون</mark> إنه لم يتم اتخاذ قرارات بسحب <mark>القوات</mark> من "
          "العراق أو سوريا لكن إدارة بايدن منفتحة على <mark>دراسة</mark> الخيارات المستقبلية")
MIXED = ("قال مسؤول في <mark>CNN</mark> إن <mark>2500</mark> جندي من <mark>القوات</mark> (الأمريكية) "
         "سيغادرون العراق في 2024 وفق [مصادر] رسمية")
LATIN = ("Die <mark>Truppen</mark> befinden sich hauptsächlich auf drei großen Basen (eine in Bagdad), "
         "und viele <mark>Truppen</mark> bleiben dort.")


def shaped(text: str) -> str:
    """Arabic letters in their joined forms, as arabic_reshaper writes them."""
    return arabic_reshaper.reshape(text)


def plain(html_text: str) -> str:
    return re.sub("</?mark>", "", html_text)


def screen(line: str, width: int) -> list[tuple[str, bool]]:
    """The characters a terminal shows for `line`, each with whether it is
    in reverse video; checks the line fits and leaves no attribute on."""
    cells, on, start = [], False, 0
    for escape in SGR.finditer(line):
        assert escape.group() in (MARK_ON, MARK_OFF)
        cells += [(ch, on) for ch in line[start:escape.start()]]
        on, start = escape.group() == MARK_ON, escape.end()
    cells += [(ch, on) for ch in line[start:]]
    assert not on, f"reverse video left on after {line!r}"
    assert display_width("".join(ch for ch, _ in cells)) <= width
    return cells


def visible(line: str, width: int) -> str:
    return "".join(ch for ch, _ in screen(line, width))


def marked(lines: list[str], width: int) -> list[str]:
    """The runs of characters shown in reverse video, line by line."""
    runs = []
    for line in lines:
        text = "".join(ch if on else "\0" for ch, on in screen(line, width))
        runs += [run for run in text.split("\0") if run]
    return runs


@pytest.mark.parametrize("width", [24, 40, 80])
def test_arabic_lines_are_wrapped_first_then_each_shaped_and_ordered_right_to_left(width):
    lines = render(ARABIC, width, direction="rtl")
    logical = textwrap.wrap(plain(ARABIC), width)
    assert len(lines) == len(logical) > 1
    for line, words in zip(lines, logical):
        shown = visible(line, width)
        assert shown == shaped(words)[::-1].rjust(width)  # the line's own words, read from the right
    assert visible(lines[0], width).endswith(shaped("ويقول المسؤولون")[::-1])
    assert sorted(marked(lines, width)) == sorted(shaped(w)[::-1] for w in ("الأمريكيون", "القوات", "دراسة"))


@pytest.mark.parametrize("width", [24, 40, 80])
def test_mixed_arabic_latin_and_digits_keep_their_own_order_and_marks(width):
    lines = render(MIXED, width, direction="rtl")
    text = "\n".join(visible(line, width) for line in lines)
    assert sorted(marked(lines, width)) == sorted(["CNN", "2500", shaped("القوات")[::-1]])
    assert "2024" in text and "CNN" in text  # numbers and Latin words read left to right
    assert visible(lines[0], width).endswith(shaped("قال مسؤول")[::-1])  # the first words at the right of line 1
    assert "(" + shaped("الأمريكية")[::-1] + ")" in text  # brackets mirrored: they open to the right
    assert "[" + shaped("مصادر")[::-1] + "]" in text
    for line, words in zip(lines, textwrap.wrap(plain(MIXED), width)):  # each line holds its own words
        assert sorted(visible(line, width).split()) == sorted(
            w if w.isascii() else shaped(w)[::-1].translate(MIRROR) for w in words.split())


@pytest.mark.parametrize("width", [20, 33, 80])
def test_latin_text_is_wrapped_with_the_matched_words_marked(width):
    lines = render(LATIN, width)
    assert [visible(line, width) for line in lines] == textwrap.wrap(plain(LATIN), width)
    assert marked(lines, width) == ["Truppen", "Truppen"]


def test_a_mark_inside_a_word_keeps_the_word_joined_and_marks_only_its_part():
    lines = render("ب<mark>القوات</mark> و<mark>القوات الأمريكية</mark>", 40, direction="rtl")
    whole = shaped("بالقوات")
    assert visible(lines[0], 40).strip().endswith(whole[::-1])  # ب joined to what follows
    assert marked(lines, 40) == [shaped("والقوات الأمريكية")[1:][::-1], whole[1:][::-1]]  # a marked phrase: its space too


def test_pipes_get_the_text_as_stored_with_star_marks():
    assert render(ARABIC, 40, tty=False) == [ARABIC.replace("<mark>", "**").replace("</mark>", "**")]
    assert render("a &lt;b&gt; \x1b[31mred\x1b[0m", 40, tty=False) == ["a <b> [31mred[0m"]


def test_terminals_that_order_text_themselves_get_logical_order_wrapped_and_marked():
    lines = render(ARABIC, 40, reorder=False)
    assert [visible(line, 40) for line in lines] == textwrap.wrap(plain(ARABIC), 40)
    assert sorted(marked(lines, 40)) == sorted(["الأمريكيون", "القوات", "دراسة"])


def test_wide_characters_count_two_columns():
    lines = render("日本語のテキスト <mark>検索</mark>", 6)
    assert [visible(line, 6) for line in lines] == ["日本語", "のテキ", "スト", "検索"]


@settings(max_examples=150, deadline=None)
@given(
    parts=st.lists(st.tuples(st.text(st.sampled_from(
        "ابتثلاأإآةىيوم ًُ abcXYZ 0123٤٥ ()[]«»-.,،؟!?日\u200d\u200f\u202e\u2066\u2069\u0301\ue000\U000e0001"), max_size=20),
        st.booleans()), max_size=8),
    width=st.integers(1, 60),
    reorder=st.booleans(),
    rtl=st.sampled_from([None, "rtl", "ltr"]),
)
def test_any_text_fits_its_width_and_leaves_no_attribute_on(parts, width, reorder, rtl):
    html_text = "".join(f"<mark>{t}</mark>" if on else t for t, on in parts)
    for line in render(html_text, width, reorder=reorder, direction=rtl):
        screen(line, max(width, 2))


def test_the_time_left_counts_the_pace_since_the_bar_first_moved(monkeypatch):
    clock = iter([0.0, 100.0, 110.0, 111.0])  # a slow start (a large first file), then 1 s per unit
    monkeypatch.setattr("search.terminal.time.monotonic", lambda: next(clock))
    out = io.StringIO()
    line = ProgressLine(out, 80)
    for label, done in (("Reading", 0), ("Reading", 10), ("Writing", 20), ("Done", 100)):
        line.show(label, done, 100)
    line.close()
    drawn = out.getvalue().split("\r")[1:]
    assert [d.split()[0] for d in drawn] == ["Reading", "Reading", "Writing", "Done"]
    assert "20%  1:20 left" in drawn[2] and "100%" in drawn[3] and "left" not in drawn[3]
    assert out.getvalue().endswith("\n")
