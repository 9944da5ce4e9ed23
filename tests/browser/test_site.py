"""The HTML book in a real browser: every page loads cleanly, with its math, figures and outputs;
navigation, search and every internal link work; no widget is left broken."""

from __future__ import annotations

import functools
import http.server
import re
import threading
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import pytest

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
BROKEN_WIDGET = ("Loading widget", "Error displaying widget", "HBox(", "VBox(", "Explorer(", "IntSlider(")


@pytest.fixture(scope="module")
def site():
    if not (HTML / "index.html").exists():
        pytest.fail("the HTML book is not built: run `python tools/build_book.py` (make test does) first")
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(HTML))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def pages() -> list[str]:
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                  if not p.relative_to(HTML).as_posix().startswith(("_static/", "_sources/", "_downloads/")))


@pytest.fixture(scope="module")
def crawl(browser, site):
    """Load every page once; keep what each showed and what went wrong."""
    seen = {}
    context = browser.new_context()
    page = context.new_page()
    for name in pages():
        problems: list[str] = []
        page.on("console", lambda m, p=problems: p.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e, p=problems: p.append(f"page error: {e}"))
        page.on("requestfailed", lambda r, p=problems: p.append(f"failed request: {r.url}"))
        page.on("response", lambda r, p=problems: p.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
        page.goto(site + name, wait_until="load")
        equations = page.locator("span.math, div.math").count()
        if equations:
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=60_000)
            page.evaluate("() => MathJax.startup.promise.then(() => true)")
        seen[name] = {
            "problems": list(problems),
            "text": page.inner_text("body"),
            "links": page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))"),
            "ids": set(page.eval_on_selector_all("[id]", "els => els.map(e => e.id)")),
            "images": page.eval_on_selector_all("img", "els => els.map(e => [e.getAttribute('src'), e.complete && e.naturalWidth > 0])"),
            "equations": equations,
            "math": page.locator("mjx-container").count(),
            "outputs": page.locator(".cell_output").count(),
            "static widgets": page.locator(".attn-edu-static-widget").count(),
            "next": page.locator("a.right-next").count(),
        }
        page.close()
        page = context.new_page()
    context.close()
    return seen


CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]-*.md"))


def test_every_page_loads_with_no_console_error_and_no_failed_request(crawl):
    assert len(crawl) >= len(CHAPTERS) + 3
    bad = {name: info["problems"] for name, info in crawl.items() if info["problems"]}
    assert not bad, bad


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_shows_its_outputs_figures_and_rendered_math(crawl, chapter):
    info = crawl[f"{chapter}.html"]
    assert info["outputs"] > 0, "no cell output on the page"
    assert all(ok for _, ok in info["images"]), [src for src, ok in info["images"] if not ok]
    if chapter != "00-how-to-use-this-book":  # the one chapter without a figure
        assert info["images"], "no figure on the page"
    if "$" in (ROOT / "book" / f"{chapter}.md").read_text():  # a chapter with equations shows them typeset
        assert info["equations"] > 0 and info["math"] >= info["equations"], (info["equations"], info["math"])
    for placeholder in BROKEN_WIDGET:
        assert placeholder not in info["text"], placeholder
    assert not re.search(r"\b0%\|", info["text"]), "a progress bar frozen at 0%"
    assert "This chapter as a notebook (.ipynb)" in info["text"]


def test_widgets_show_their_static_view(crawl):
    for chapter in ("01-attention-in-cnns", "02-squeeze-and-excitation", "90-widget-gallery"):
        assert crawl[f"{chapter}.html"]["static widgets"] > 0, chapter
    assert "(2, 64, 32, 32)" in crawl["02-squeeze-and-excitation.html"]["text"]  # the explorer's shape table


def test_navigation_follows_the_table_of_contents(browser, site, crawl):
    page = browser.new_page()
    page.goto(site + "index.html")
    sidebar = page.eval_on_selector_all("nav.bd-links a.reference.internal", "els => els.map(e => e.getAttribute('href'))")
    chapters_in_sidebar = [h.split("#")[0].removesuffix(".html") for h in sidebar if re.match(r"^\d\d-", h)]
    assert chapters_in_sidebar == CHAPTERS
    page.goto(site + "02-squeeze-and-excitation.html")
    page.click("a.right-next")
    page.wait_for_url("**/03-efficient-channel-attention.html")
    page.click("a.left-prev")
    page.wait_for_url("**/02-squeeze-and-excitation.html")
    page.close()


def test_search_finds_a_term_on_another_page(browser, site):
    page = browser.new_page()
    page.goto(site + "search.html?q=shrinkage")
    page.wait_for_selector("#search-results ul.search li", timeout=60_000)
    hits = page.eval_on_selector_all("#search-results ul.search li a", "els => els.map(e => e.getAttribute('href'))")
    assert any("08-residual-shrinkage" in h for h in hits), hits
    page.close()


def test_no_internal_link_is_broken(crawl):
    broken = []
    for name, info in crawl.items():
        base = f"http://site/{name}"
        for href in info["links"]:
            url = urlparse(urljoin(base, href))
            if url.scheme in ("mailto",) or url.netloc not in ("site", ""):
                continue
            target = unquote(url.path.lstrip("/")) or "index.html"
            if not (HTML / target).exists():
                broken.append(f"{name} -> {href}")
            elif url.fragment and target in crawl and url.fragment not in crawl[target]["ids"]:
                broken.append(f"{name} -> {href} (no such anchor)")
    assert not broken, broken[:20]


def test_the_book_opens_from_disk(browser):
    page = browser.new_page()
    page.goto((HTML / "index.html").as_uri())
    assert "attn-edu" in page.title()
    page.click("nav.bd-links a[href='02-squeeze-and-excitation.html']")
    page.wait_for_url("**/02-squeeze-and-excitation.html")
    assert page.locator(".cell_output").count() > 0
    page.close()
