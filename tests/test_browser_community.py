"""Community features in chromium: submit by arXiv id, upvote (with and without JavaScript), comment and
reply, save to a collection and download its BibTeX. The user signs up and confirms their address through
the accounts service, then logs in through the real login form."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

import webdata
from browserkit import free_port, served_app
from communitydata import PASSWORD, Site, make_site
from paperfeed.accounts import users as accounts
from paperfeed.community.models import Vote
from paperfeed.config import Settings
from paperfeed.db.models import Paper
from replay import ReplayServer

pytestmark = pytest.mark.browser

DATA = Path(__file__).parent / "data" / "arxiv_api"
EMAIL = "reader@example.org"


@pytest.fixture
def served(settings: Settings, replay_server: ReplayServer) -> Iterator[tuple[str, Site]]:
    """A uvicorn server over a filled SQLite file; arXiv is the replay server; one confirmed account."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    configured = settings.model_copy(
        update={
            "base_url": base,
            "arxiv_api_url": replay_server.url + "/api/query",
            "arxiv_min_interval_s": 0.0,
            "submission_max_age_days": 36500,  # the recorded arXiv answers are of old papers
        }
    )
    with make_site(configured) as site:
        with site.factory() as db, db.begin():
            made = accounts.sign_up(db, configured, email=EMAIL, username="reader", password=PASSWORD)
            assert made.kind == "created"
            accounts.verify_email(db, configured, accounts.verify_token(configured, made.user))
        with served_app(site.app, port):
            yield base, site


def log_in(page: Page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill('input[name="email"]', EMAIL)
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("Log in")')
    expect(page.locator("a.nav-user")).to_have_text("reader")  # retries until the signed-in page is there


def votes_of(site: Site, key: str) -> tuple[int, int]:
    pid = site.paper_id(key)
    return site.paper(key).vote_count, site.count(Vote, Vote.paper_id == pid)


def test_submit_upvote_comment_collect(
    served: tuple[str, Site], browser: Browser, replay_server: ReplayServer
) -> None:
    base, site = served
    replay_server.load_arxiv_recording(next(DATA.glob("recorded_id_1605.08386_s0_m100_*.json")))
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda d: (errors.append(d.message), d.dismiss()))
    log_in(page, base)

    # Submit by arXiv id: the metadata comes from the (replayed) arXiv API.
    page.goto(f"{base}/submit")
    page.fill('input[name="arxiv"]', "1605.08386")
    page.click('button:has-text("Submit")')
    page.wait_for_url(f"{base}/submit?done=1605.08386")
    assert "is on today's list" in page.locator(".form-ok").inner_text()
    assert [r.param("id_list") for r in replay_server.requests] == ["1605.08386"]
    page.click(".form-ok a")
    page.wait_for_url(f"{base}/papers/1605.08386")
    assert page.locator("h1.title").inner_text() == "Heat-bath random walks with Markov bases"

    # Upvote without a reload: the count and the pressed state change in place.
    button = page.locator(".actions .vote-button")
    assert button.get_attribute("aria-pressed") == "false" and button.locator(".count").inner_text() == "0"
    page.evaluate("() => { window.__sameDocument = 1; }")
    button.click()
    page.wait_for_selector('.actions .vote-button[aria-pressed="true"]')
    assert button.locator(".count").inner_text() == "1"
    assert page.evaluate("() => window.__sameDocument") == 1  # no navigation happened
    assert votes_of(site, "1605.08386") == (1, 1)
    button.click()  # and back
    page.wait_for_selector('.actions .vote-button[aria-pressed="false"]')
    assert button.locator(".count").inner_text() == "0" and votes_of(site, "1605.08386") == (0, 0)
    button.click()
    page.wait_for_selector('.actions .vote-button[aria-pressed="true"]')
    page.reload()
    assert page.locator(".actions .vote-button").get_attribute("aria-pressed") == "true"

    # Comment, then reply.
    page.fill(
        '.community > form.comment-form textarea[name="body"]', "Nice walk on $\\mathbb{Z}^2$: *fast* mixing"
    )
    page.click('button:has-text("Post comment")')
    page.wait_for_selector(".comment .comment-body em")
    first = page.locator(".thread > .comment").first
    assert first.locator(".comment-body math").count() == 1
    first.locator("details.reply > summary").click()
    first.locator('details.reply textarea[name="body"]').fill("Agreed <script>window.__pwned=1</script>")
    first.locator('button:has-text("Post reply")').click()
    page.wait_for_selector(".replies .comment")
    reply = page.locator(".replies .comment .comment-body")
    assert "<script>window.__pwned=1</script>" in reply.inner_text()
    assert page.evaluate("() => typeof window.__pwned") == "undefined"

    # Save to a new collection, open it and download its BibTeX.
    page.locator("details.save-details > summary").click()
    page.fill('input[name="name"]', "Reading list")
    page.click('button:has-text("Create and save")')
    page.wait_for_selector('a[href="/u/reader/c/reading-list"]')
    page.click('a[href="/u/reader/c/reading-list"]')
    page.wait_for_url(f"{base}/u/reader/c/reading-list")
    assert (
        page.locator(".collection-items h2.title").inner_text() == "Heat-bath random walks with Markov bases"
    )
    with page.expect_download() as info:
        page.click('a:has-text("BibTeX")')
    download = info.value
    assert download.suggested_filename == "reading-list.bib"
    bib = Path(download.path()).read_text(encoding="utf-8")
    assert bib.startswith("@misc{stanley2016heat,\n")
    assert "title = {Heat-bath random walks with Markov bases}" in bib
    assert "author = {Caprice Stanley and Tobias Windisch}" in bib and "eprint = {1605.08386}" in bib
    assert errors == []
    context.close()


def test_upvote_without_javascript(served: tuple[str, Site], browser: Browser) -> None:
    base, site = served
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    log_in(page, base)
    page.goto(f"{base}/papers?date=2026-05-29")
    pid = site.paper_id(webdata.MATH_ID)
    box = page.locator(f"#v{pid}")
    assert box.locator(".count").inner_text() == "12"
    with page.expect_navigation():
        box.locator("button").click()
    assert page.url == f"{base}/papers?date=2026-05-29#v{pid}"
    box = page.locator(f"#v{pid}")
    assert box.locator(".count").inner_text() == "13"
    assert box.locator("button").get_attribute("aria-pressed") == "true"
    assert votes_of(site, webdata.MATH_ID) == (1, 1)
    with page.expect_navigation():
        box.locator("button").click()
    assert page.locator(f"#v{pid} .count").inner_text() == "12"
    assert site.paper(webdata.MATH_ID).vote_count == 0
    assert isinstance(site.paper(webdata.MATH_ID), Paper)
    context.close()
