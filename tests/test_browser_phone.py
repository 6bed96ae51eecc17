"""At 390 px wide (a phone), every page template fits without sideways scrolling, and the nav folds into a
menu that opens without JavaScript. Which templates were rendered is recorded, so a new template that no
URL below reaches fails the test instead of going unchecked."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

import webdata
from browserkit import free_port, served_app
from paperfeed.accounts import users as accounts
from paperfeed.app import create_app
from paperfeed.community.collections import add_paper, create_collection
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.db.models import Paper
from paperfeed.digests import subscriptions as subs
from paperfeed.digests.models import Subscription
from paperfeed.recommend.mail_links import rating_token

pytestmark = pytest.mark.browser

TEMPLATES = Path(__file__).parent.parent / "src" / "paperfeed" / "web" / "templates"
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct horse battery staple"
FITS = "() => document.documentElement.scrollWidth <= document.documentElement.clientWidth"
WIDTHS = "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"


@dataclass
class Site:
    """The server's base URL, the templates it rendered, and the signed links a reader gets by mail."""

    base: str
    rendered: set[str]
    links: dict[str, str]


def _tokens(settings: Settings) -> dict[str, str]:
    """A pending and a confirmed subscription: the links of their mails (never sent here)."""
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    try:
        subs.subscribe(factory, settings, "pending@example.org")
        subs.subscribe(factory, settings, "active@example.org")
        with factory() as s:
            rows = {x.email: x for x in s.scalars(select(Subscription))}
            pending, active = rows["pending@example.org"], rows["active@example.org"]
            confirm = subs.confirm_token(settings, pending)
            activate = subs.confirm_token(settings, active)
        subs.confirm(factory, settings, activate)
        with factory() as s:
            active = s.scalars(select(Subscription).where(Subscription.email == "active@example.org")).one()
            return {
                "confirm": f"/subscribe/confirm?token={confirm}",
                "preferences": f"/preferences?token={subs.preferences_token(settings, active)}",
                "unsubscribe": f"/unsubscribe?token={subs.unsubscribe_token(settings, active)}",
            }
    finally:
        engine.dispose()


def _reader(settings: Settings) -> tuple[int, int]:
    """Ada, a moderator (so the claims queue renders), with a public collection holding one paper."""
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    try:
        with factory() as db, db.begin():
            user = accounts.create_user(
                db, settings, email="ada@example.org", username="ada", password=PASSWORD, verified=True
            )
            user.role = "moderator"
            uid = int(user.id)
        col = create_collection(factory, user_id=uid, name="Reading list", public=True)
        with factory() as s:
            pid = s.scalar(select(Paper.id).where(Paper.key == webdata.MATH_ID))
        assert pid is not None
        add_paper(factory, user_id=uid, collection_id=col.id, paper_id=int(pid), note="A long note " * 20)
        return uid, int(pid)
    finally:
        engine.dispose()


@pytest.fixture
def site(settings: Settings) -> Iterator[Site]:
    """The web test papers, a reader and subscriptions, served in demo mode (so /dev/outbox answers)."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = settings.model_copy(update={"base_url": base, "demo": True})
    engine = make_engine(settings)
    try:
        upgrade(engine)
        webdata.fill(make_sessionmaker(engine))
    finally:
        engine.dispose()
    uid, pid = _reader(settings)
    links = _tokens(settings)
    # A digest's "More like this" link (the page shows one button; only its POST records).
    links["rate"] = "/for-you/rate?token=" + rating_token(settings, user_id=uid, paper_id=pid, kind="more")
    app = create_app(settings)
    rendered: set[str] = set()
    templates = app.state.templates
    original = templates.TemplateResponse

    def recording(request: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        rendered.add(name)
        return original(request, name, *args, **kwargs)

    templates.TemplateResponse = recording
    with served_app(app, port):
        yield Site(base, rendered, links)


def _fits(page: Page, url: str) -> None:
    page.goto(url)
    assert page.evaluate(FITS), (url, page.evaluate(WIDTHS))


def test_every_page_fits_a_phone(site: Site, browser: Browser) -> None:
    page = browser.new_page(viewport=PHONE)
    b = site.base
    signed_out = [
        "/",
        "/trending?window=month",
        "/papers?date=2026-05-29",
        "/papers?week=2026-W22&category=cs",
        f"/papers/{webdata.HOSTILE_ID}",
        f"/papers/{webdata.MANY_AUTHORS_ID}",
        "/search?q=paper",
        "/categories",
        "/papers/2601.99999",  # error.html
        "/login",
        "/signup",
        "/verify?token=x",
        "/reset",
        "/reset/confirm?token=bad",
        "/subscribe",
        site.links["confirm"],
        site.links["preferences"],
        site.links["unsubscribe"],
        "/subscribe/confirm?token=bad",  # subscribe_message.html
        "/u/ada",
        "/u/ada/c/reading-list",
        "/authors/Ada%20Lovelace",
        site.links["rate"],
        "/dev/outbox",
    ]
    for path in signed_out:
        _fits(page, b + path)

    # The nav folds behind "Menu" and opens with no JavaScript at all (a CSS checkbox).
    quiet = browser.new_context(viewport=PHONE, java_script_enabled=False)
    plain = quiet.new_page()
    plain.goto(b + "/papers")
    nav = plain.locator("header.site nav")
    expect(nav).to_be_hidden()
    plain.locator("label.nav-burger").click()
    expect(nav).to_be_visible()
    expect(nav.get_by_role("link", name="Categories")).to_be_visible()
    assert plain.evaluate(FITS)
    quiet.close()

    # Signed in: the pages only a reader sees.
    page.goto(b + "/login")
    page.locator('main input[name="email"]').fill("ada@example.org")
    page.locator('main input[name="password"]').fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    # Her saved paper is a profile, so "/" sends her on to her own list.
    page.wait_for_url(b + "/for-you")
    signed_in = ("/account", "/collections", "/submit", f"/papers/{webdata.MATH_ID}", "/papers", "/following")
    signed_in = (*signed_in, "/for-you", "/for-you?period=month", "/for-you/settings", "/for-you/setup")
    for path in (*signed_in, "/moderation/claims"):
        _fits(page, b + path)
    # account_message.html: what a deleted account is told (the last thing this reader does).
    page.goto(b + "/account")
    page.locator('form[action="/account/delete"] input[name="password"]').fill(PASSWORD)
    page.locator('form[action="/account/delete"] button').click()
    expect(page.locator("h1")).to_have_text("Account deleted")
    assert page.evaluate(FITS)

    pages = {p.name for p in TEMPLATES.glob("*.html") if not p.name.startswith("_") and p.name != "base.html"}
    missing = sorted(pages - site.rendered)
    assert not missing, f"templates no URL of this test rendered: {missing}"


def test_the_desktop_nav_is_not_folded(site: Site, browser: Browser) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(site.base + "/papers")
    expect(page.locator("header.site nav")).to_be_visible()
    expect(page.locator("label.nav-burger")).to_be_hidden()
