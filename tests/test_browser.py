"""What a reader sees in chromium: the daily list, clicking through to a paper, math, no injected script."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

import webdata
from browserkit import free_port, served_app
from paperfeed.config import Settings

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).parent.parent / "docs" / "screenshot-daily.png"


@pytest.fixture
def server(settings: Settings) -> Iterator[str]:
    """A real uvicorn server on a free loopback port, over a filled SQLite file."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = webdata.filled_app(settings.model_copy(update={"base_url": base}))
    with served_app(app, port):
        yield base


def test_reader_sees_the_daily_list_and_a_paper(server: str, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))

    page.goto(f"{server}/papers?date=2026-05-29")
    assert page.title().startswith("Papers of May 29, 2026")
    titles = page.locator("article.card h2.title")
    assert titles.count() == 5
    assert titles.first.is_visible()
    # The hostile title shows as literal text; its <script> never ran.
    hostile = page.get_by_role("link", name="Robust & <b>Safe</b>", exact=False)
    assert hostile.is_visible()
    assert "<script>window.__pwned = 1</script>" in hostile.inner_text()
    # Our one script file (static/app.js, progressive enhancement) is the only script on the page.
    own = "script:not([src='/static/app.js'])"
    assert page.evaluate(f'() => document.querySelectorAll("{own}, img").length') == 0
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    # Math in titles and excerpts is real MathML that the browser lays out.
    math = page.locator("article.card math").first
    assert math.is_visible() and math.bounding_box() is not None
    if os.environ.get("PAPERFEED_SCREENSHOT") == "1":
        SCREENSHOT.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOT), full_page=True)

    page.get_by_role("link", name="Quadratic Bounds in").click()
    page.wait_for_url(f"{server}/papers/{webdata.MATH_ID}")
    assert page.locator("h1.title").inner_text().startswith("Quadratic Bounds in")
    assert page.locator(".abstract math").count() == 2
    assert page.evaluate("() => document.querySelector('.abstract math').namespaceURI") == (
        "http://www.w3.org/1998/Math/MathML"
    )
    assert (
        page.get_by_role("link", name="PDF").get_attribute("href")
        == f"https://arxiv.org/pdf/{webdata.MATH_ID}"
    )

    # Day navigation: "previous" skips the empty 28th.
    page.goto(f"{server}/papers?date=2026-05-29")
    page.locator("a.prev").click()
    page.wait_for_url(f"{server}/papers?date=2026-05-27")
    assert page.locator("article.card").count() == 2  # the Wednesday paper and the twice-listed one

    page.goto(f"{server}/papers/{webdata.HOSTILE_ID}")
    assert "window.__pwned" in page.locator("h1.title").inner_text()
    assert page.evaluate("() => typeof window.__pwned") == "undefined"
    assert page.locator(".abstract math").count() >= 1
    assert page.locator('a[href^="javascript:"]').count() == 0
    assert errors == [] and dialogs == []
    page.close()


def test_unknown_paper_shows_not_found(server: str, browser: Browser) -> None:
    page = browser.new_page()
    response = page.goto(f"{server}/papers/2501.99999")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text() == "Not found"
    page.close()


def test_api_docs_render_offline(server: str, browser: Browser) -> None:
    """Swagger UI is served from the package, so /docs renders with no network beyond loopback, and under
    its Content-Security-Policy (which the browser enforces: a violation shows in the console)."""
    page = browser.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda req: failed.append(req.url))
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text))
    response = page.goto(f"{server}/docs")
    assert response is not None
    assert "script-src 'self' 'sha256-" in response.headers["content-security-policy"]
    page.get_by_text("/api/daily_papers", exact=True).first.wait_for()
    expect(page.get_by_text("/api/papers/{paper_id}", exact=True).first).to_be_visible()
    # Try an operation: "Try it out" runs the request from the page (connect-src 'self').
    page.get_by_text("/api/daily_papers", exact=True).first.click()
    page.get_by_role("button", name="Try it out").first.click()
    page.get_by_role("button", name="Execute").first.click()
    status = page.locator(".live-responses-table tbody .response-col_status").first
    status.wait_for()
    assert status.inner_text().strip() == "200"
    assert failed == []
    assert [m for m in console if "Content Security Policy" in m] == []
    page.close()
