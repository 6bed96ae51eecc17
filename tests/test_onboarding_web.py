"""/for-you/setup: categories with counts, seed import by paste or upload, the report, CSRF, sign-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import webdata
from communitydata import Site, make_site, sign_in_as
from paperfeed.config import Settings
from paperfeed.recommend.models import ReaderProfile, ReaderSignal

SEEDS = Path(__file__).parent / "data" / "seeds"


@pytest.fixture
def site(settings: Settings) -> Iterator[Site]:
    with make_site(settings) as s:
        yield s


def test_setup_needs_a_signed_in_reader(site: Site) -> None:
    r = site.client().get("/for-you/setup", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_categories_are_listed_with_counts_and_saved(site: Site) -> None:
    uid = site.user("ada")
    client = site.client()
    token = sign_in_as(site, client, "ada")
    page = client.get("/for-you/setup").text
    assert "<legend>cs</legend>" in page and 'value="cs.LG"> cs.LG <span class="muted">(9)</span>' in page
    r = client.post(
        "/for-you/setup/categories",
        data={"csrf_token": token, "category": ["cs.LG", "astro-ph"]},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/for-you/setup?saved=1"
    with site.factory() as s:
        profile = s.get(ReaderProfile, uid)
        assert profile is not None and profile.categories == "astro-ph cs.LG"
    assert 'value="cs.LG" checked' in client.get("/for-you/setup").text
    # Without the CSRF token nothing is saved.
    r = client.post("/for-you/setup/categories", data={"category": ["cs.AI"]}, follow_redirects=False)
    assert r.status_code == 403
    assert site.count(ReaderProfile, ReaderProfile.categories == "astro-ph cs.LG") == 1


def test_paste_and_upload_import_and_show_the_report(site: Site) -> None:
    uid = site.user("ada")
    client = site.client()
    token = sign_in_as(site, client, "ada")
    r = client.post(
        "/for-you/setup/seeds",
        data={
            "csrf_token": token,
            "ids": f"arXiv:2605.00101v2\nhttps://arxiv.org/abs/{webdata.OLD_ID}\nnonsense",
        },
    )
    assert r.status_code == 200
    assert "<strong>2</strong> matched (2 new seeds)" in r.text
    assert "line 3: no arXiv id or DOI in &#39;nonsense&#39;" in r.text
    assert site.count(ReaderSignal, ReaderSignal.user_id == uid, ReaderSignal.kind == "seed") == 2
    bib = b"@misc{w, title={{Wednesday} Paper}}\n@misc{x, title={Nothing Like It}}\n"
    r = client.post(
        "/for-you/setup/seeds",
        data={"csrf_token": token, "ids": ""},
        files={"file": ("library.bib", bib, "application/x-bibtex")},
    )
    assert r.status_code == 200
    assert "by title" in r.text and "“Nothing Like It”" in r.text
    assert site.count(ReaderSignal, ReaderSignal.user_id == uid) == 3


def test_empty_and_oversized_input_are_refused_beside_the_form(site: Site) -> None:
    site.user("ada")
    client = site.client()
    token = sign_in_as(site, client, "ada")
    r = client.post("/for-you/setup/seeds", data={"csrf_token": token, "ids": "   "})
    assert r.status_code == 400 and "paste arXiv ids or choose a BibTeX" in r.text
    big = b"@misc{a, title={x}}\n" * 60_000  # 1.2 MB > seed_max_bytes (1 MiB)
    r = client.post(
        "/for-you/setup/seeds",
        data={"csrf_token": token},
        files={"file": ("huge.bib", big, "application/x-bibtex")},
    )
    assert r.status_code == 400 and "larger than 1024 KiB" in r.text
    assert site.count(ReaderSignal) == 0


def test_import_needs_csrf(site: Site) -> None:
    site.user("ada")
    client = site.client()
    sign_in_as(site, client, "ada")
    r = client.post("/for-you/setup/seeds", data={"ids": "2605.00101"})
    assert r.status_code == 403 and site.count(ReaderSignal) == 0
