"""For you in chromium with JavaScript off: a reader with a few signals opens /for-you, sees the reasons,
presses "Less like this" on a card (a plain form post), and the list changes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

import recokit
import webdata
from browserkit import free_port, served_app
from communitydata import PASSWORD, Site, make_site
from paperfeed.community import votes
from paperfeed.config import Settings
from paperfeed.recommend import signals

pytestmark = pytest.mark.browser
TWICE = webdata.TWICE_ID


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, Site]]:
    """A uvicorn server over webdata's papers with vectors; a reader who imported a paper and upvoted one."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    configured = settings.model_copy(update={"base_url": base})
    with make_site(configured) as site:
        ids = recokit.ids(site.factory)
        recokit.theme(site.factory)
        uid = site.user("reader")
        signals.record_signal(
            site.factory, user_id=uid, paper_id=ids["2605.00101"], kind="seed", now=recokit.NOW
        )
        votes.set_vote(site.factory, user_id=uid, paper_id=ids["2605.00201"], voted=True)
        fan = site.user("fan")  # the astro-ph paper trends: explored for the reader
        votes.set_vote(site.factory, user_id=fan, paper_id=ids[webdata.OLD_ID], voted=True)
        with served_app(site.app, port):
            yield base, site


def titles(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(".for-you-item h2.title a").all_inner_texts()]


def test_less_like_this_moves_the_list_without_javascript(served: tuple[str, Site], browser: Browser) -> None:
    base, _site = served
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill('input[name="email"]', "reader@example.org")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("Log in")')
    expect(page.locator("a.nav-user")).to_have_text("reader")

    # The landing page is the reader's own list now (they have signals).
    page.goto(f"{base}/")
    page.wait_for_url(f"{base}/for-you")
    page.click('nav.tabs a:has-text("Month")')
    page.wait_for_url(f"{base}/for-you?period=month")
    before = titles(page)
    # Theme A, near the imported paper, comes first (which of them leads is the model's call).
    theme_a = {"June Paper": "2606.00001", "Second Tuesday Paper": "2605.00102", "Twice Listed Paper": TWICE}
    assert set(before[:2]) <= set(theme_a)
    top = before[0]
    neighbours = [t for t in theme_a if t != top and t in before]
    first = page.locator(".for-you-item").first
    expect(first.locator(".reasons")).to_contain_text("because you imported Early Tuesday Paper")
    expect(first.locator(".reasons")).to_contain_text("shared terms")
    expect(page.locator(".exploring").first).to_have_text("Exploring")

    # "Less like this" on the first card: a plain form post, back to the same list.
    first.locator('button:has-text("Less like this")').click()
    page.wait_for_url(f"{base}/for-you?period=month#s*")
    after = titles(page)
    assert top not in after
    # ... and its near neighbours move down with it ("less like this", not just "not this one"): one
    # place lower at least, although the paper above them left the list.
    assert any(after.index(t) > before.index(t) for t in neighbours)

    # On the paper page the button shows pressed; pressing again clears it and the paper comes back.
    page.goto(f"{base}/papers/{theme_a[top]}")
    pressed = page.locator(".signals .signal-less")
    expect(pressed).to_have_attribute("aria-pressed", "true")
    pressed.click()
    expect(page.locator(".signals .signal-less")).to_have_attribute("aria-pressed", "false")
    page.goto(f"{base}/for-you?period=month")
    assert titles(page) == before
    context.close()
