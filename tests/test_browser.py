"""The search page, the widget and the embed page in a real headless Chromium."""

import http.server
import os
import re
import threading
from pathlib import Path

import pytest

SCREENSHOTS = Path(__file__).parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run must install Debian's chromium")
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


@pytest.mark.parametrize(
    "query, lang, marked, count",
    [("Truppen", "de", "Truppen", 2), ("القوات الأمريكية", "ar", "القوات", 2), ("troepen", "nl", "troepen", 1)],
)
def test_typing_shows_marked_results_as_you_type(live_server, page, query, lang, marked, count):
    page.goto(live_server.url + "/")
    page.locator("#q").press_sequentially(query, delay=20)
    hits = page.locator(f"#results article.hit[lang={lang}]")
    hits.first.wait_for()
    assert hits.count() == count
    assert marked in page.locator("#results article.hit mark").all_inner_texts()
    assert page.url.endswith("?q=" + re.sub(" ", "+", query)) or "q=" in page.url  # shareable URL updated
    if lang == "ar":
        assert hits.first.get_attribute("dir") == "rtl"
        assert hits.first.locator(".snippet").evaluate("el => getComputedStyle(el).direction") == "rtl"


def test_results_come_while_a_word_is_still_being_typed(live_server, page):
    page.goto(live_server.url + "/")
    page.locator("#q").press_sequentially("Militärpr", delay=20)  # Militärpräsenz, half typed
    hit = page.locator("#results article.hit[lang=de]")
    hit.first.wait_for()
    assert hit.count() == 1 and hit.locator("h2 mark").first.inner_text() == "Militärpräsenz"
    page.locator("#q").press("Enter")  # a finished query: the word as it stands, no completion
    page.locator("#results .empty").wait_for()


def test_an_english_query_shows_the_story_in_every_language_with_its_counterparts(live_server, page):
    page.goto(live_server.url + "/")
    page.locator("#q").fill("US troops leave Iraq")
    page.locator("#q").press("Enter")
    page.locator("#results article.hit").first.wait_for()
    hits = page.locator("#results article.hit")
    assert {hits.nth(i).get_attribute("lang") for i in range(hits.count())} >= {"de", "ar", "nl"}
    arabic = page.locator("#results article.hit[lang=ar]").first
    assert arabic.get_attribute("dir") == "rtl" and arabic.locator(".by-meaning").count() == 1
    assert arabic.locator(".snippet mark").count() == 0  # nothing falsely marked
    german = page.locator("#results article.hit[lang=de]").first
    also = german.locator(".also-in a")
    assert sorted(also.all_inner_texts()) == sorted(["العربية", "Nederlands"])
    german.locator(".also-in a[hreflang=nl]").click()
    page.locator("article.full[lang=nl]").wait_for()
    assert "Deutsch" in page.locator(".same-story").inner_text()


def test_only_the_newest_query_is_shown(live_server, page):
    page.goto(live_server.url + "/")
    box = page.locator("#q")
    box.fill("troepen")
    page.wait_for_timeout(260)  # the first request goes out...
    box.fill("Truppen")  # ...and is overtaken by a newer one
    page.locator("#results article.hit[lang=de]").first.wait_for()
    page.wait_for_timeout(600)
    assert page.locator("#results article.hit[lang=nl]").count() == 0
    assert "q=Truppen" in page.url


def test_facet_and_pagination_links(live_server, page):
    page.goto(live_server.url + "/?q=2500&per_page=2")
    assert page.locator("#results article.hit").count() == 2
    page.get_by_role("link", name="Next ›").click()
    page.wait_for_url(re.compile(r"page=2"))
    assert page.locator("nav.pages a[aria-current=page]").inner_text() == "2"
    page.locator("nav.facets a", has_text="العربية").click()
    page.wait_for_url(re.compile(r"lang=ar"))
    hits = page.locator("#results article.hit")
    assert hits.count() == 2 and all(d == "rtl" for d in hits.evaluate_all("els => els.map(e => e.dir)"))


def test_without_javascript_the_form_and_links_work(live_server, browser):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/")
    page.locator("#q").fill("troepen")
    page.locator("#q").press("Enter")
    page.wait_for_url(re.compile(r"\?q=troepen"))
    assert page.locator("#results article.hit mark").first.inner_text() == "troepen"
    page.locator("#results article.hit h2 a").first.click()
    page.wait_for_url(re.compile(r"/articles/003_3692841fd95a15da"))
    assert page.locator("article.full mark").count() >= 2
    context.close()


def test_keyboard_reaches_the_search_box_and_results(live_server, page):
    page.goto(live_server.url + "/?q=troepen")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")  # skip the header
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    links = page.locator(".sort a, .facets a").count()
    for _ in range(2 + links):  # on through the button, the sort and the facets to the first result
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.closest('article.hit') !== null")


def test_hostile_article_is_shown_inert(live_server, page):
    page.goto(live_server.url + "/?q=troops")
    title = page.locator("article.hit h2 a").first
    assert "<script>alert('title')</script>" in title.inner_text()
    page.goto(live_server.url + "/articles/xss?q=troops")
    assert "<script>alert('body')</script>" in page.locator("article.full").inner_text()
    assert page.locator("article.full a[href^='javascript']").count() == 0
    page.goto(live_server.url + "/")
    page.locator("#q").press_sequentially("\"><img src=x onerror=alert('typed')> troops", delay=5)
    page.locator("#results article.hit").first.wait_for()
    page.wait_for_timeout(300)
    assert page.dialogs == []


class _HostPage(http.server.BaseHTTPRequestHandler):
    """Another site (another origin) embedding the widget."""

    pages: dict[str, bytes] = {}

    def do_GET(self):  # noqa: N802 (http.server's naming)
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.pages.get(self.path, b""))

    def log_message(self, *args):
        pass


@pytest.fixture
def host_site(live_server):
    _HostPage.pages["/frame"] = f'<!doctype html><iframe src="{live_server.url}/embed?lang=nl" width="600" height="400"></iframe>'.encode()
    _HostPage.pages["/"] = f"""<!doctype html><html><head><title>Host</title>
      <style>* {{ color: rgb(255, 0, 0) !important; }} input {{ display: none !important; }} mark {{ background: black; }}</style>
      </head><body><h1>A newspaper's own page</h1>
      <multilingual-search api="{live_server.url}" per-page="3"></multilingual-search>
      <script src="{live_server.url}/widget.js"></script></body></html>""".encode()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HostPage)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_widget_on_another_origin_returns_isolated_rtl_aware_results(host_site, page):
    page.goto(host_site)
    box = page.locator("multilingual-search input")
    assert box.is_visible()  # the host's `input {display: none}` does not reach inside
    box.press_sequentially("القوات", delay=20)
    hits = page.locator("multilingual-search article")
    hits.first.wait_for()
    assert hits.count() == 2 and hits.first.get_attribute("dir") == "rtl"
    assert hits.first.locator("mark").first.inner_text() == "القوات"
    box.fill("")
    box.press_sequentially("الولايات", delay=20)
    page.locator("multilingual-search article h3 mark").first.wait_for()  # titles are marked too
    assert "الولايات" in page.locator("multilingual-search article h3 mark").all_inner_texts()
    color = hits.first.locator("p.meta").evaluate("el => getComputedStyle(el).color")
    assert color != "rgb(255, 0, 0)"  # the host's styles do not leak in
    assert page.locator("h1").evaluate("el => getComputedStyle(el).color") == "rgb(255, 0, 0)"
    page.screenshot(path=str(_shot("widget-on-host-page")))


def test_widget_pages_keep_keyboard_focus(host_site, page):
    page.goto(host_site)
    page.locator("multilingual-search input").press_sequentially("2500", delay=20)  # 5 results, 3 per page
    next_button = page.locator("multilingual-search nav button", has_text="Next")
    next_button.wait_for()
    next_button.focus()
    page.keyboard.press("Enter")
    page.locator("multilingual-search nav .status", has_text="2 / 2").wait_for()
    focused = page.evaluate("document.querySelector('multilingual-search').shadowRoot.activeElement.textContent")
    assert focused == "‹ Previous"  # Next is disabled on the last page: focus moves, not lost


def test_widget_shows_hostile_text_inert(host_site, page):
    page.goto(host_site)
    page.locator("multilingual-search input").press_sequentially("troops", delay=20)
    title = page.locator("multilingual-search article h3 a").first
    title.wait_for()
    assert "<script>" in title.inner_text()
    assert page.locator("multilingual-search article script").count() == 0
    assert page.dialogs == []


def test_embed_page_can_be_framed_by_another_site_and_searches(host_site, page):
    page.goto(host_site + "frame")
    frame = page.frame_locator("iframe")
    frame.locator("multilingual-search input").press_sequentially("Irak", delay=20)
    hits = frame.locator("multilingual-search article")
    hits.first.wait_for()
    assert set(hits.evaluate_all("els => els.map(e => e.lang)")) == {"nl"}


@pytest.fixture(scope="module")
def dated_server(tmp_path_factory):
    """The dated articles of test_dates.py, served."""
    from .conftest import LiveServer, write_jsonl
    from .test_dates import DATED
    from search.engines.whoosh.index import Index

    folder = tmp_path_factory.mktemp("dated-web")
    write_jsonl(folder / "dated.jsonl", DATED)
    ix = Index(tmp_path_factory.mktemp("dated-web-ix"))
    ix.update([folder])
    server = LiveServer(ix.path)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def dated_site(dated_server):
    """A site embedding the widget with the latest first, from 2015 on."""
    _HostPage.pages["/dated"] = f"""<!doctype html><multilingual-search api="{dated_server.url}" sort="newest" from="2015">
      </multilingual-search><script src="{dated_server.url}/widget.js"></script>""".encode()
    host = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _HostPage)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{host.server_address[1]}/dated"
    host.shutdown()


def test_a_reader_filters_by_source_and_by_year_on_the_page_and_sorts_newest_first(dated_server, page):
    page.goto(dated_server.url + "/?q=Mosul")
    page.get_by_role("navigation", name="Filter by source").get_by_role("link", name="BBC News").click()
    page.wait_for_url(re.compile(r"source=bbc\.co\.uk"))
    assert page.locator("article.hit").count() == 2
    assert page.locator("article.hit .source").all_inner_texts() == ["BBC News", "BBC News"]
    page.get_by_role("link", name="newest first").click()
    page.wait_for_url(re.compile(r"sort=newest"))
    assert page.locator("article.hit time").all_inner_texts() == ["27 June 2019", "3 August 2015"]
    page.get_by_role("navigation", name="Filter by date").get_by_role("link", name=re.compile("^2019")).click()
    page.wait_for_url(re.compile(r"from=2019&to=2019"))
    assert page.locator("article.hit").count() == 1 and page.locator("p.filters").is_visible()


def test_widget_shows_the_latest_first_with_dates_in_each_articles_language_and_filters_by_source(dated_site, page):
    page.goto(dated_site)
    box = page.locator("multilingual-search input")
    box.press_sequentially("Mosul", delay=20)
    page.locator("multilingual-search article time").first.wait_for()
    shown = page.locator("multilingual-search article time").all_inner_texts()
    assert shown == ["30 oktober 2019", "30. Oktober 2019", "27 June 2019", "3 August 2015"]  # from 2015: not 2005
    assert page.locator("multilingual-search article time").first.get_attribute("datetime") == "2019-10-30T15:14:33+01:00"
    articles = "document.querySelector('multilingual-search').shadowRoot.querySelectorAll('article').length"
    sources = page.locator("multilingual-search [aria-label='Filter by source'] button")
    assert sources.all_inner_texts() == ["BBC News 2", "nos.nl 1", "derstandard.at 1"]
    sources.nth(1).click()
    page.wait_for_function(f"{articles} === 1")
    assert page.locator("multilingual-search article").get_attribute("lang") == "nl"
    assert "nos.nl" in page.locator("multilingual-search article p.meta").inner_text()
    sources.nth(1).click()  # again: every source
    page.wait_for_function(f"{articles} === 4")
    periods = page.locator("multilingual-search [aria-label='Filter by date'] button")
    assert periods.all_inner_texts() == ["2015 1", "2019 3"]
    periods.nth(1).click()
    page.wait_for_function(f"{articles} === 3")
    assert periods.all_inner_texts() == ["2019 3", "2019-06 1", "2019-10 2"]  # the year chosen, its results by month
    periods.first.click()  # again: every date
    page.wait_for_function(f"{articles} === 4")
    box.fill("")
    box.press_sequentially("الموصل", delay=20)
    page.locator("multilingual-search article[lang=ar] time").wait_for()
    assert page.locator("multilingual-search article time").inner_text() == "٣ أغسطس ٢٠١٥"


def _shot(name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    return SCREENSHOTS / f"{name}.png"


@pytest.mark.parametrize("name, width, height", [("desktop", 1280, 900), ("phone", 390, 844)])
def test_screenshots_of_the_search_page(live_server, browser, name, width, height):
    context = browser.new_context(viewport={"width": width, "height": height}, device_scale_factor=1)
    page = context.new_page()
    page.goto(live_server.url + "/?q=2500+Soldaten")
    page.locator("#results article.hit").first.wait_for()
    scroll_width = page.evaluate("document.documentElement.scrollWidth")
    assert scroll_width <= width  # nothing overflows sideways on a phone
    page.screenshot(path=str(_shot(f"search-{name}")), full_page=True)
    context.close()
