"""For you on the site: the list with tabs and reasons, signal buttons without JavaScript, landing page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import html as lxml_html

import recokit
import webdata
from communitydata import Site, assert_inert, make_site, sign_in_as
from paperfeed.community import votes
from paperfeed.config import Settings
from paperfeed.recommend import signals
from paperfeed.recommend.models import ReaderSignal


@pytest.fixture
def site(settings: Settings) -> Iterator[Site]:
    """webdata's site with THEMES' vectors and a reader who imported one paper."""
    with make_site(settings) as s:
        recokit.theme(s.factory)
        yield s


def _reader(site: Site, name: str = "reader") -> tuple[TestClient, str, int]:
    uid = site.user(name)
    client = site.client()
    token = sign_in_as(site, client, name)
    return client, token, uid


def _seed(site: Site, uid: int, key: str = "2605.00101") -> None:
    signals.record_signal(
        site.factory, user_id=uid, paper_id=site.paper_id(key), kind="seed", now=recokit.NOW
    )


def css(tree: Any, selector: str) -> list[Any]:
    """Elements matching a small CSS subset: '.class', 'tag.class', descendants, [attr="v"]."""
    return list(tree.xpath(_xpath(selector)))


def _xpath(selector: str) -> str:
    out = []
    for part in selector.split():
        m = re.fullmatch(r'([a-z0-9]*)((?:\.[\w-]+)*)(?:\[(\w+)="([^"]*)"\])?', part)
        assert m, part
        tag, classes, attr, value = m.groups()
        cond = [
            f'contains(concat(" ", normalize-space(@class), " "), " {c} ")' for c in classes.split(".")[1:]
        ]
        if attr:
            cond.append(f'@{attr}="{value}"')
        out.append((tag or "*") + "".join(f"[{c}]" for c in cond))
    return ".//" + "//".join(out)


def _titles(page: str) -> list[str]:
    tree = lxml_html.document_fromstring(page)
    return [a.text_content().strip() for a in css(tree, ".for-you-item h2.title a")]


def test_for_you_lists_with_tabs_reasons_and_exploring_marker(site: Site) -> None:
    client, _token, uid = _reader(site)
    _seed(site, uid)
    fan = site.user("fan")  # the astro-ph paper trends: one vote
    votes.set_vote(site.factory, user_id=fan, paper_id=site.paper_id(webdata.OLD_ID), voted=True)
    r = client.get("/for-you?period=month")
    assert r.status_code == 200 and r.headers["cache-control"] == "private, no-store"
    titles = _titles(r.text)
    assert titles[:2] == ["Second Tuesday Paper", "June Paper"]
    tree = lxml_html.document_fromstring(r.text)
    first = css(tree, ".for-you-item")[0]
    reasons = css(first, ".reasons")[0]
    assert "because you imported" in reasons.text_content()
    assert css(reasons, "a")[0].get("href") == "/papers/2605.00101"
    assert "shared terms" in reasons.text_content()
    # Day / Week / Month tabs, the month active.
    tabs = css(tree, "nav.tabs a")
    assert [t.text_content() for t in tabs] == ["Day", "Week", "Month"]
    assert tabs[2].get("aria-current") == "page"
    # The default exploration share (0.1 of 30) marks the trending paper outside cs.LG/cs.AI (the paper
    # without categories has no votes: not trending, so not explored).
    exploring = [css(li, "h2.title a")[0].text_content() for li in css(tree, "li.exploring-item")]
    assert exploring == ["An Old-Style Identifier Paper"]
    assert all(css(li, ".exploring") for li in css(tree, "li.exploring-item"))
    assert_inert(r.text)
    # Every card has the reader's three buttons, none pressed yet.
    assert len(css(first, ".signal-form")) == 3


def test_empty_state_links_to_setup(site: Site) -> None:
    client, _token, _uid = _reader(site)
    r = client.get("/for-you")
    assert r.status_code == 200
    tree = lxml_html.document_fromstring(r.text)
    assert css(tree, '.empty a[href="/for-you/setup"]')
    assert not css(tree, ".for-you-item")


def test_anonymous_is_sent_to_login_and_sees_no_signal_buttons(site: Site) -> None:
    anon = site.client()
    r = anon.get("/for-you", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?")
    for path in ("/papers", "/trending", "/papers/2605.00101", "/search?q=paper"):
        page = anon.get(path)
        assert page.status_code == 200, path
        assert "signal-form" not in page.text, path


def test_less_like_this_without_javascript_changes_the_list_and_pressing_again_clears_it(site: Site) -> None:
    client, token, uid = _reader(site)
    _seed(site, uid)
    before = _titles(client.get("/for-you?period=month").text)
    pid = site.paper_id("2605.00102")
    r = client.post(
        "/papers/2605.00102/signal",
        data={"csrf_token": token, "kind": "less", "on": "1", "next": "/for-you?period=month"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/for-you?period=month"
    after = _titles(client.get(r.headers["location"]).text)
    assert "Second Tuesday Paper" in before and "Second Tuesday Paper" not in after
    # The paper page shows the pressed state; pressing again clears it.
    page = lxml_html.document_fromstring(client.get("/papers/2605.00102").text)
    pressed = css(page, ".signal-less")[0]
    assert pressed.get("aria-pressed") == "true"
    on = css(page, '.signal-form input[name="on"]')
    assert [i.get("value") for i in on] == ["1", "0"]
    client.post("/papers/2605.00102/signal", data={"csrf_token": token, "kind": "less", "on": "0"})
    assert site.count(ReaderSignal, ReaderSignal.paper_id == pid) == 0
    assert _titles(client.get("/for-you?period=month").text) == before


def test_signal_json_for_the_script_and_csrf_is_required(site: Site) -> None:
    client, token, _uid = _reader(site)
    r = client.post(
        "/papers/2605.00102/signal",
        data={"csrf_token": token, "kind": "more", "on": "1"},
        headers={"Accept": "application/json"},
    )
    assert r.json() == {"paperId": "2605.00102", "signal": "more"}
    bad = client.post("/papers/2605.00102/signal", data={"kind": "more", "on": "1"})
    assert bad.status_code == 403
    unknown = client.post("/papers/2605.00102/signal", data={"csrf_token": token, "kind": "seed", "on": "1"})
    assert unknown.status_code == 400


def test_landing_page_is_for_you_for_a_reader_with_a_profile_only(site: Site) -> None:
    anon = site.client()
    assert anon.get("/", follow_redirects=False).status_code == 200
    client, _token, uid = _reader(site)
    assert client.get("/", follow_redirects=False).status_code == 200  # nothing to learn from yet
    _seed(site, uid)
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/for-you"
    assert client.get("/trending").status_code == 200 and client.get("/papers").status_code == 200
    assert "For you" in client.get("/trending").text  # the nav link
