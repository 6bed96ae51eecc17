"""In chromium: subscribe from the daily page's footer, get the mail, confirm, and save preferences."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, expect

import webdata
from browserkit import free_port, served_app
from paperfeed.config import Settings
from paperfeed.mailsink import SmtpSink
from polling import wait_until

pytestmark = pytest.mark.browser


@pytest.fixture
def server(settings: Settings, smtp_sink: SmtpSink) -> Iterator[str]:
    """A real uvicorn server over a filled SQLite file, mailing to the loopback sink."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = webdata.filled_app(settings.model_copy(update={"base_url": base, "smtp_port": smtp_sink.port}))
    with served_app(app, port):
        yield base


def test_subscribe_from_the_footer_confirm_and_choose(
    server: str, browser: Browser, smtp_sink: SmtpSink
) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844})  # a phone: the form must fit
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)

    page.goto(f"{server}/papers?date=2026-05-29")
    box = page.locator("footer form.subscribe-box")
    assert box.is_visible()
    box.locator("input[type=email]").fill("browser.reader@example.org")
    box.locator("button[type=submit]").click()
    # expect() retries until the next page is there; reading at once could still see the page before.
    expect(page.locator("h1")).to_have_text("Check your inbox")

    wait_until(lambda: smtp_sink.messages, "no confirmation mail arrived")
    [mail] = smtp_sink.messages
    assert mail.rcpt_tos == ["browser.reader@example.org"]
    body = mail.message.get_body(preferencelist=("plain",))
    assert body is not None
    link = re.search(r"http://127\.0\.0\.1:\d+/subscribe/confirm\?token=[\w.-]+", body.get_content())
    assert link and link.group(0).startswith(server)

    page.goto(link.group(0))
    assert page.locator("h1").inner_text() == "Confirm your subscription"
    page.get_by_role("button", name="Confirm my subscription").click()
    expect(page.locator("h1")).to_have_text("You are subscribed")
    page.get_by_role("link", name="Set your preferences").click()
    expect(page.locator("h1")).to_have_text("Digest preferences")
    page.get_by_label("Weekly, on Mondays (the previous week)").check()
    page.locator("#pref-categories").fill("cs.CL cs.LG")
    page.locator("#pref-searches").fill("retrieval augmented\nmixture of experts")
    page.locator("#pref-max").fill("5")
    page.get_by_role("button", name="Save preferences").click()
    expect(page.locator(".form-ok")).to_contain_text("Saved.")
    assert page.locator("#pref-categories").input_value() == "cs.CL cs.LG"
    assert page.locator("#pref-max").input_value() == "5"
    assert page.get_by_label("Weekly, on Mondays (the previous week)").is_checked()
    assert errors == []
