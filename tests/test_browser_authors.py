"""Authors in chromium: the author page (timeline chart, feeds, co-author links), follow, "this is me",
a moderator's approval, and the paper page's sparklines; the write paths run with JavaScript off."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from authordata import ODD, more_papers
from browserkit import free_port, served_app
from communitydata import PASSWORD, Site, make_site
from paperfeed.authors import claims
from paperfeed.authors.models import AuthorFollow
from paperfeed.community.models import Vote
from paperfeed.config import Settings
from paperfeed.db.models import Paper
from paperfeed.paths import author_path
from paperfeed.ranking.models import StarSnapshot
from webdata import MATH_ID

pytestmark = pytest.mark.browser

SCREENSHOT = Path(__file__).parent.parent / "docs" / "screenshot-author.png"


@pytest.fixture
def served(settings: Settings) -> Iterator[tuple[str, Site]]:
    """uvicorn over a filled SQLite file with a reader (ada) and a moderator (mod)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with make_site(settings.model_copy(update={"base_url": base})) as site:
        more_papers(site)
        site.user("ada")
        site.user("mod", role="moderator")
        with served_app(site.app, port):
            yield base, site


def log_in(page: Page, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.fill('input[name="email"]', f"{name}@example.org")
    page.fill('input[name="password"]', PASSWORD)
    page.click('button:has-text("Log in")')
    expect(page.locator("a.nav-user")).to_have_text(name)


def log_out(page: Page) -> None:
    page.click("form.nav-logout button")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()


def test_author_page_chart_feeds_and_coauthors(served: tuple[str, Site], browser: Browser) -> None:
    base, _ = served
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "console", lambda m: errors.append(m.text) if m.type == "error" else None
    )  # CSP refusals land here
    page.goto(f"{base}/papers/2603.00001")
    page.get_by_role("link", name=ODD).first.click()  # a name with a slash, '&' and '<' round-trips
    page.wait_for_url(base + author_path(ODD))
    expect(page.locator("h1")).to_have_text(ODD)
    page.goto(base + author_path("Ada Lovelace"))
    chart = page.locator("figure.timeline svg")
    box = chart.bounding_box()
    assert box is not None and box["width"] > 300 and box["height"] >= 60  # drawn, and drawn large enough
    assert page.locator("figure.timeline svg rect").count() == 4  # 2026-03 to 2026-06
    assert page.get_by_role("img", name="Papers per month by Ada Lovelace").count() == 1  # an accessible name
    # The numbers are in the page as text for screen readers (a visually hidden table).
    assert page.locator("table.sr-only td").all_inner_texts()[:2] == ["2026-03", "1"]
    feeds = page.locator("head link[rel=alternate]")
    assert feeds.evaluate_all("ls => ls.map(l => l.type)") == ["application/rss+xml", "application/atom+xml"]
    rss = page.request.get(base + feeds.first.get_attribute("href"))  # type: ignore[operator]
    assert rss.ok and "Another June Paper" in rss.text()
    page.locator("ul.coauthors").get_by_role("link", name="Alan Turing").click()
    page.wait_for_url(base + author_path("Alan Turing"))
    assert errors == []


def test_follow_claim_and_approve_without_javascript(served: tuple[str, Site], browser: Browser) -> None:
    base, site = served
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, base, "ada")

    page.goto(base + author_path("Charles Babbage"))
    page.get_by_role("button", name="Follow").click()
    page.wait_for_url(base + author_path("Charles Babbage"))
    expect(page.get_by_role("button", name="Following ✓ (unfollow)")).to_be_visible()
    page.goto(f"{base}/following")
    expect(page.locator("ul.followed a")).to_have_text(["Charles Babbage"])
    expect(page.locator("article.card h2")).to_have_text(["Variant Paper"])
    assert site.count(AuthorFollow) == 1

    page.goto(f"{base}/papers/2606.00001")
    page.locator("#authors li").first.get_by_role("button", name="this is me").click()
    page.wait_for_url(f"{base}/papers/2606.00001#authors")
    expect(page.locator("#authors li").first).to_contain_text("claim pending")
    log_out(page)

    log_in(page, base, "mod")
    page.goto(f"{base}/moderation/claims")
    row = page.locator("table.claims tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Ada Lovelace")
    row.get_by_role("button", name="Approve").click()
    page.wait_for_url(f"{base}/moderation/claims")
    expect(page.locator("p.empty")).to_have_text("No claims are waiting.")

    page.goto(f"{base}/papers/2606.00001")
    expect(page.locator("#authors a.claimed")).to_have_text("✓ ada")
    page.goto(base + author_path("Ada Lovelace"))
    expect(page.locator(".claimed-profile a")).to_have_attribute("href", "/u/ada")
    api = page.request.get(f"{base}/api/papers/2606.00001").json()
    assert api["authors"][0]["user"]["user"] == "ada" and api["authors"][0]["status"] == "claimed_verified"
    context.close()


def test_sparklines_on_the_paper_page(served: tuple[str, Site], browser: Browser) -> None:
    base, site = served
    pid = site.paper_id(MATH_ID)
    voters = [site.user(f"voter{i}") for i in range(3)]
    with site.factory() as s, s.begin():
        for i, uid in enumerate(voters):
            s.add(Vote(user_id=uid, paper_id=pid, created_at=datetime(2026, 6, 1 + i, tzinfo=UTC)))
        for i, stars in enumerate((1100, 1180, 1234)):
            s.add(
                StarSnapshot(
                    repo="example/quadratic", stars=stars, fetched_at=datetime(2026, 6, 1 + i, tzinfo=UTC)
                )
            )
    page = browser.new_page(java_script_enabled=False)
    page.goto(f"{base}/papers/{MATH_ID}")
    rows = page.locator("section.history p.spark-row")
    expect(rows).to_have_count(2)
    for i in range(2):
        box = rows.nth(i).locator("svg").bounding_box()
        assert box is not None and box["width"] == 120 and box["height"] == 24
    expect(page.get_by_role("img", name="Upvotes over time")).to_have_count(1)
    expect(rows.nth(0).locator(".spark-text")).to_have_text("13 (2026-06-01) → 15 (2026-06-03)")
    expect(rows.nth(1).locator(".spark-text")).to_have_text("★ 1100 (2026-06-01) → 1234 (2026-06-03)")

    # The trending card of the same paper draws its star gain over the window, also without JavaScript.
    with site.factory() as s, s.begin():
        s.add(StarSnapshot(repo="example/quadratic", stars=1000, fetched_at=datetime(2026, 5, 1, tzinfo=UTC)))
    page.goto(f"{base}/trending?window=month&until=2026-06-03")
    card = page.locator("li.trending-item", has=page.locator(f'h2 a[href="/papers/{MATH_ID}"]'))
    spark = card.locator("p.trend-spark")
    expect(spark.locator(".spark-text")).to_have_text("+234 ★ this month (1000 → 1234)")
    box = spark.locator("svg").bounding_box()
    assert box is not None and box["width"] == 80 and box["height"] == 18


def test_screenshot_of_an_author_page(served: tuple[str, Site], browser: Browser) -> None:
    """A claimed author with a grouped name variant: what docs/screenshot-author.png shows."""
    base, site = served
    ada, mod = site.user("lovelace"), site.user("moderator2", role="moderator")
    for key, name in (("2606.00001", "Ada Lovelace"), ("2401.00001", "A. Lovelace")):
        with site.factory() as s:
            paper = s.scalars(select(Paper).where(Paper.key == key)).one()
            pos = next(pa.position for pa in paper.authors if pa.author.name == name)
            pid = paper.id
        claims.claim(site.factory, user_id=ada, paper_id=pid, position=pos)
    with site.factory() as s:
        queue = claims.pending_claims(s)
    for c in queue:
        claims.decide(site.factory, moderator_id=mod, claim_id=c.id, approve=True)
    claims.set_variants(site.factory, user_id=ada, names=["Ada Lovelace", "A. Lovelace"])
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(base + author_path("Ada Lovelace"))
    expect(page.locator(".author-head .period")).to_contain_text("also published as A. Lovelace")
    assert page.locator("figure.timeline svg rect").count() == 30  # 2024-01 to 2026-06, empty months too
    if os.environ.get("PAPERFEED_SCREENSHOT") == "1":
        page.screenshot(path=str(SCREENSHOT), full_page=False)
