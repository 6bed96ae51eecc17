"""In chromium: a category chip opens its scoped list, the categories page links there, and a paper's
BibTeX copies with one click (and is plain selectable text with JavaScript off)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

import webdata
from browserkit import free_port, served_app
from paperfeed.config import Settings

pytestmark = pytest.mark.browser


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    """The web test papers served by uvicorn on a free loopback port."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with served_app(webdata.filled_app(settings.model_copy(update={"base_url": base})), port):
        yield base


def test_a_chip_opens_its_category_list(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server}/papers?date=2026-05-29")
    assert page.locator("article.card").count() == 5
    page.locator("article.card a.chip", has_text="astro-ph").first.click()
    page.wait_for_url(f"{server}/papers?category=astro-ph")
    expect(page.locator("h1")).to_contain_text("in astro-ph (Astrophysics)")
    titles = page.locator("article.card h2.title")
    expect(titles).to_have_count(1)
    expect(titles.first).to_have_text("An Old-Style Identifier Paper")
    # The head names the scoped feed.
    rss = page.locator('head link[rel="alternate"][type="application/rss+xml"]')
    assert rss.get_attribute("href") == "/rss?date=2026-05-29&category=astro-ph"

    page.goto(f"{server}/categories")
    page.locator(".category-list a", has_text="cs.LG").click()
    page.wait_for_url(f"{server}/papers?category=cs.LG")
    expect(page.locator("h1")).to_contain_text("in cs.LG (Machine Learning)")
    expect(page.locator("article.card")).to_have_count(2)  # the latest day with cs.LG papers: June 1


def test_bibtex_copies_with_one_click(server: str, browser: Browser) -> None:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    page.goto(f"{server}/papers/{webdata.MATH_ID}")
    bib = page.locator("pre#bibtex")
    expect(bib).to_contain_text("eprint = {2605.01001}")
    button = page.locator('button[data-copy="bibtex"]')
    expect(button).to_have_text("Copy BibTeX")
    expect(button).to_be_visible()  # app.js showed it
    button.click()
    # Plain http on 127.0.0.1 is a secure context, so the clipboard API wrote it.
    expect(button).to_have_text("Copied")
    assert page.evaluate("() => navigator.clipboard.readText()") == bib.inner_text()
    context.close()

    quiet = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    plain = quiet.new_page()
    plain.goto(f"{server}/papers/{webdata.MATH_ID}")
    expect(plain.locator("pre#bibtex")).to_contain_text("archivePrefix = {arXiv}")
    expect(plain.get_by_role("button", name="Copy BibTeX")).to_be_hidden()  # no button that does nothing
    quiet.close()
