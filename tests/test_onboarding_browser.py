"""In chromium: a new reader signs up, imports a BibTeX of ten papers at /for-you/setup, /for-you shows
related papers first with reasons, and "Less like this" moves the papers similar to the one turned down."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

import onboardkit
from accountkit import link_in_mail
from browserkit import free_port, served_app
from communitydata import Site
from paperfeed.app import create_app
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.db.models import Paper
from paperfeed.mailsink import SmtpSink
from paperfeed.search.models import PaperVector
from paperfeed.search.vector_store import decode_vector
from polling import wait_until

pytestmark = pytest.mark.browser

PASSWORD = "a long enough passphrase"


@pytest.fixture
def served(settings: Settings, smtp_sink: SmtpSink) -> Iterator[tuple[str, Site]]:
    """uvicorn over the demo papers with real vectors; mail to the loopback sink."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    configured = settings.model_copy(update={"base_url": base, "smtp_port": smtp_sink.port})
    engine = make_engine(configured)
    try:
        upgrade(engine)
        factory = make_sessionmaker(engine)
        onboardkit.fill(factory)
        site = Site(configured, create_app(configured), factory)
        with served_app(site.app, port):
            yield base, site
    finally:
        engine.dispose()


def _bibtex(path: Path) -> Path:
    """Ten cs.CV papers as a reader's library: five as arXiv exports them, five as Google Scholar does."""
    entries = []
    for i, arxiv_id in enumerate(onboardkit.seed_ids("cs.CV")):
        rec = onboardkit.by_id(arxiv_id)
        authors = " and ".join(rec.authors[:3]) or "Anonymous"
        if i % 2:
            entries.append(
                f"@misc{{seed{i},\n  title={{{rec.title}}},\n  author={{{authors}}},\n  year={{2026}},\n"
                f"  eprint={{{arxiv_id}}},\n  archivePrefix={{arXiv}},\n  primaryClass={{cs.CV}},\n"
                f"  url={{https://arxiv.org/abs/{arxiv_id}}},\n}}\n"
            )
        else:  # title only: matched by its normalised title
            entries.append(
                f"@article{{seed{i},\n  title={{{rec.title}}},\n  author={{{authors}}},\n"
                "  year={2026}\n}\n"
            )
    path.write_text("\n".join(entries), encoding="utf-8")
    return path


def _keys(page: Page) -> list[str]:
    hrefs = page.locator(".for-you-item:not(.exploring-item) h2.title a").evaluate_all(
        "els => els.map(e => e.getAttribute('href'))"
    )
    return [str(h).rsplit("/papers/", 1)[1] for h in hrefs]


def _vectors(site: Site) -> dict[str, np.ndarray]:
    with site.factory() as session:
        rows = session.execute(
            select(Paper.key, PaperVector.vector).join(PaperVector, PaperVector.paper_id == Paper.id)
        )
        return {str(k): decode_vector(v) for k, v in rows}


def test_new_reader_imports_bibtex_and_gets_related_papers(
    served: tuple[str, Site], browser: Browser, smtp_sink: SmtpSink, tmp_path: Path
) -> None:
    base, site = served
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    # Sign up, confirm the address from the mail, log in.
    page.goto(f"{base}/signup")
    page.get_by_label("Email").fill("vera@example.org")
    page.get_by_label("Username").fill("vera")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()
    wait_until(lambda: len(smtp_sink.messages) >= 1, "no verification mail")
    page.goto(base + link_in_mail(smtp_sink, "vera@example.org", "/verify"))
    page.get_by_role("button", name="Confirm my address").click()
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill("vera@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.locator("header .nav-user")).to_have_text("vera")

    # Import the library file.
    page.goto(f"{base}/for-you/setup")
    page.set_input_files('input[name="file"]', str(_bibtex(tmp_path / "library.bib")))
    page.get_by_role("button", name="Import").click()
    report = page.locator(".import-report")
    expect(report).to_contain_text("10 matched (10 new seeds)")
    expect(report.locator(".report-matched li", has_text="by title")).to_have_count(5)
    expect(report.locator(".report-matched li", has_text="by arXiv id")).to_have_count(5)

    # /for-you: the reader's field first, each with its reason.
    page.goto(f"{base}/for-you?period=week&date=2026-07-01")
    before = _keys(page)
    top = before[:10]
    assert len(top) == 10
    vision = sum(onboardkit.by_id(k).categories[:1] == ["cs.CV"] for k in top)
    assert vision >= 7, [onboardkit.by_id(k).categories for k in top]
    first = page.locator(".for-you-item:not(.exploring-item)").first
    expect(first.locator(".reasons")).to_contain_text("because you imported")

    # "Less like this" on the first card: it goes, and the papers most like it move down.
    rated = before[0]
    vecs = _vectors(site)
    others = before[1:]
    near = sorted(others, key=lambda k: -float(vecs[k] @ vecs[rated]))[:3]
    first.locator('button:has-text("Less like this")').click()
    page.wait_for_url("**/for-you?**")
    after = _keys(page)
    assert rated not in after

    def position(keys: list[str], key: str) -> int:
        return keys.index(key) if key in keys else len(keys)

    # Compared with the same list minus the rated paper (everything below it moves up one by itself).
    assert sum(position(after, k) for k in near) > sum(position(others, k) for k in near)
    context.close()
