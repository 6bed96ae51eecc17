"""In chromium: sign up, open the verification link read from the mail the loopback SMTP server received,
log in, see the account page, log out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

import webdata
from accountkit import link_in_mail
from browserkit import free_port, served_app
from paperfeed.config import Settings
from paperfeed.mailsink import SmtpSink
from polling import wait_until

pytestmark = pytest.mark.browser


@pytest.fixture
def mail_server(settings: Settings, smtp_sink: SmtpSink) -> Iterator[str]:
    """A real uvicorn server on a free loopback port whose mail goes to the smtp_sink."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = webdata.filled_app(settings.model_copy(update={"base_url": base, "smtp_port": smtp_sink.port}))
    with served_app(app, port):
        yield base


def _wait_for_mail(sink: SmtpSink, count: int) -> None:
    wait_until(lambda: len(sink.messages) >= count, "no mail arrived")


def test_sign_up_verify_log_in_log_out(mail_server: str, browser: Browser, smtp_sink: SmtpSink) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(f"{mail_server}/papers")
    page.get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(f"{mail_server}/signup")
    page.get_by_label("Email").fill("grace@example.org")
    page.get_by_label("Username").fill("grace")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

    _wait_for_mail(smtp_sink, 1)
    link = link_in_mail(smtp_sink, "grace@example.org", "/verify")
    page.goto(mail_server + link)
    page.get_by_role("button", name="Confirm my address").click()
    expect(page.get_by_role("heading", name="Address confirmed")).to_be_visible()

    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Email").fill("grace@example.org")
    page.get_by_label("Password").fill("a wrong passphrase")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("Wrong email or password")
    # The form does not echo the address back: the answer is byte-identical for known and unknown ones.
    page.get_by_label("Email").fill("grace@example.org")
    page.get_by_label("Password").fill("a long enough passphrase")
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(f"{mail_server}/")
    nav_user = page.locator("header .nav-user")
    expect(nav_user).to_have_text("grace")

    cookies = {c["name"]: c for c in context.cookies()}
    session = cookies["pf_session"]
    assert session["httpOnly"] and session["sameSite"] == "Lax"
    assert page.evaluate("document.cookie") == ""  # neither cookie is readable from script

    nav_user.click()
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    expect(page.locator(".chip", has_text="confirmed")).to_be_visible()

    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{mail_server}/")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    assert "pf_session" not in {c["name"] for c in context.cookies()}
    page.goto(f"{mail_server}/account")
    expect(page).to_have_url(f"{mail_server}/login?next=%2Faccount")
    assert errors == []
    context.close()
