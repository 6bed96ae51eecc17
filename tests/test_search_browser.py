"""A reader types into the search box of the daily page in chromium and gets results, then pages on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

import searchkit as sk
import webdata
from browserkit import free_port, served_app
from paperfeed.app import create_app
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.search.keyword import keyword_dir
from paperfeed.search.keyword_store import build_keyword_index

pytestmark = pytest.mark.browser


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    """A real uvicorn server over real papers plus the hostile web papers, keyword index built."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    engine = make_engine(settings)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    sk.fill(factory)
    webdata.fill(factory)
    build_keyword_index(factory, keyword_dir(settings))
    engine.dispose()
    app = create_app(settings.model_copy(update={"base_url": base}))
    with served_app(app, port):
        yield base


def test_typing_a_query_in_the_header_box_shows_results(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{server}/papers")
    box = page.get_by_role("searchbox", name="Search papers")
    assert box.is_visible()
    box.fill("mammogram synthesis")
    box.press("Enter")
    page.wait_for_url(f"{server}/search?q=mammogram+synthesis")
    titles = page.locator("article.card h2.title")
    assert titles.count() > 1
    assert titles.first.inner_text().startswith("MammoFlow")
    marks = page.locator("article.card .snippet mark")
    assert marks.count() > 0 and marks.first.is_visible()
    assert page.get_by_role("searchbox", name="Search papers").input_value() == "mammogram synthesis"

    # A hostile query and hostile results stay text in the browser.
    page.get_by_role("searchbox", name="Search query").fill(
        '<img src=x onerror="window.__pwned=1"> Robust Safe'
    )
    page.get_by_role("button", name="Search").click()
    # expect() retries until the new results are there; reading at once could see the previous page's.
    expect(page.locator("article.card h2.title").first).to_contain_text("Robust")
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    assert page.evaluate("() => document.querySelectorAll('main img, main script').length") == 0

    # Filters from the form, then the next page.
    page.get_by_role("searchbox", name="Search query").fill("learning")
    page.get_by_label("Mode").select_option("keyword")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url("**/search?q=learning&mode=keyword**")
    first_page = page.locator("article.card h2.title").all_inner_texts()
    page.get_by_role("link", name="Next page →").click()
    page.wait_for_url("**page=1**")
    assert page.locator("article.card h2.title").all_inner_texts()[0] not in first_page
    assert errors == []
    page.close()
