"""Author pages, follows, claims and grouped name variants: services on SQLite and PostgreSQL, pages, API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from urllib.parse import quote

import pytest
from huggingface_hub.hf_api import PaperInfo
from lxml import etree
from lxml import html as lxml_html
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError

from authordata import ODD, more_papers
from communitydata import Site, csrf, make_site, sign_in_as
from paperfeed.authors import claims, follows, pages
from paperfeed.authors.models import AuthorClaim, AuthorFollow, AuthorVariant
from paperfeed.config import Settings
from paperfeed.errors import Conflict, NotFound, UserError
from paperfeed.paths import author_path


@pytest.fixture
def site(db_settings: Settings) -> Iterator[Site]:
    with make_site(db_settings) as s:
        more_papers(s)
        yield s


@pytest.fixture
def lite(settings: Settings) -> Iterator[Site]:
    """The same site on SQLite only, for tests about pages rather than storage."""
    with make_site(settings) as s:
        more_papers(s)
        yield s


# --- the read service ---


def test_author_page_newest_first_paged_with_coauthors_categories_timeline(site: Site) -> None:
    with site.factory() as s:
        first = pages.author_page(s, "Ada Lovelace", page=0, limit=5)
        second = pages.author_page(s, "Ada Lovelace", page=2, limit=5)
    assert first.total == 11  # ten of webdata plus the odd-name paper
    assert [p.key for p in first.papers][:2] == ["2606.00002", "2606.00001"]  # newest first
    dates = [p.published for p in first.papers]
    assert dates == sorted(dates, reverse=True)
    assert [p.key for p in second.papers] == ["2603.00001"] and not second.has_next
    assert first.has_next
    assert first.coauthors[0] == ("Alan Turing", 10)
    assert (ODD, 1) in first.coauthors
    assert dict(first.categories)["cs.LG"] == 8 and dict(first.categories)["cs.CL"] == 1
    # Every month from the first paper to the last, empty ones included.
    assert first.timeline[0] == ("2026-03", 1) and first.timeline[1] == ("2026-04", 0)
    assert first.timeline[-1] == ("2026-06", 2)


def test_unknown_names_are_not_found_and_names_are_exact(site: Site) -> None:
    with site.factory() as s:
        with pytest.raises(NotFound):
            pages.author_page(s, "Nobody At All")
        with pytest.raises(NotFound):
            pages.author_page(s, "ada lovelace")  # exact-name pages: case is part of the name
        with pytest.raises(UserError):
            pages.author_page(s, "Ada Lovelace", page=-1)


def test_month_counts_caps_at_the_last_months() -> None:
    days = [date(2000, 1, 1), date(2026, 12, 1)]
    months = pages.month_counts(days, max_months=3)
    assert months == [("2026-10", 0), ("2026-11", 0), ("2026-12", 1)]
    assert pages.month_counts([]) == []


# --- follows ---


def test_follow_twice_is_once_unfollow_and_following_papers(site: Site) -> None:
    uid = site.user("reader")
    assert follows.follow(site.factory, user_id=uid, name="Charles Babbage") is True
    assert follows.follow(site.factory, user_id=uid, name="Charles Babbage") is True
    assert site.count(AuthorFollow, AuthorFollow.user_id == uid) == 1
    follows.follow(site.factory, user_id=uid, name=ODD)
    with site.factory() as s:
        papers, total = follows.following_papers(s, uid, offset=0, limit=10)
        assert [p.key for p in papers] == ["2603.00001", "2401.00001"] and total == 2
        assert follows.followed_names(s, uid) == ["Charles Babbage", ODD]
    assert follows.follow(site.factory, user_id=uid, name=ODD, on=False) is False
    assert follows.follow(site.factory, user_id=uid, name=ODD, on=False) is False
    assert site.count(AuthorFollow, AuthorFollow.user_id == uid) == 1
    with pytest.raises(NotFound):
        follows.follow(site.factory, user_id=uid, name="Nobody At All")


def test_followed_by_email_counts_verified_accounts_only(site: Site) -> None:
    good = site.user("reader")
    bad = site.user("squatter", verified=False)
    follows.follow(site.factory, user_id=good, name="Charles Babbage")
    follows.follow(site.factory, user_id=bad, name="Alan Turing")
    with site.factory() as s:
        found = follows.followed_by_email(s, ["READER@example.org", "squatter@example.org"])
    assert found == {"reader@example.org": ["Charles Babbage"]}


# --- claims ---


def _place(site: Site, key: str, name: str) -> tuple[int, int]:
    with site.factory() as s:
        paper = s.scalars(select(pages.Paper).where(pages.Paper.key == key)).one()
        return paper.id, next(pa.position for pa in paper.authors if pa.author.name == name)


def test_claim_is_idempotent_and_one_approved_claim_per_place(site: Site) -> None:
    ada, eve = site.user("ada"), site.user("eve")
    mod = site.user("mod", role="moderator")
    pid, pos = _place(site, "2606.00001", "Ada Lovelace")
    assert claims.claim(site.factory, user_id=ada, paper_id=pid, position=pos) == "pending"
    assert claims.claim(site.factory, user_id=ada, paper_id=pid, position=pos) == "pending"
    claims.claim(site.factory, user_id=eve, paper_id=pid, position=pos)
    assert site.count(AuthorClaim) == 2
    with site.factory() as s:
        queue = claims.pending_claims(s)
    assert [(c.username, c.name) for c in queue] == [("ada", "Ada Lovelace"), ("eve", "Ada Lovelace")]
    with pytest.raises(Exception, match="moderators"):
        claims.decide(site.factory, moderator_id=ada, claim_id=queue[0].id, approve=True)
    assert claims.decide(site.factory, moderator_id=mod, claim_id=queue[0].id, approve=True) == "approved"
    assert claims.decide(site.factory, moderator_id=mod, claim_id=queue[0].id, approve=True) == "approved"
    with pytest.raises(Conflict):
        claims.decide(site.factory, moderator_id=mod, claim_id=queue[1].id, approve=True)
    with pytest.raises(Conflict):  # a third user cannot even queue a claim on an approved place
        claims.claim(site.factory, user_id=site.user("zed"), paper_id=pid, position=pos)
    with site.factory() as s:
        approved = claims.approved_for_papers(s, [pid])
    assert list(approved) == [(pid, pos)] and approved[(pid, pos)].username == "ada"
    with pytest.raises(NotFound):
        claims.claim(site.factory, user_id=ada, paper_id=pid, position=99)


def test_the_database_refuses_two_approved_claims_on_one_place(site: Site) -> None:
    # The partial unique index holds even when the service's check is raced past.
    ada, eve = site.user("ada"), site.user("eve")
    pid, pos = _place(site, "2606.00001", "Ada Lovelace")
    with site.factory() as s:
        author_id = s.scalar(
            text("SELECT author_id FROM paper_authors WHERE paper_id = :p AND position = :q"),
            {"p": pid, "q": pos},
        )
    now = datetime.now(UTC)
    with pytest.raises(IntegrityError), site.factory() as s, s.begin():
        for uid in (ada, eve):
            s.add(
                AuthorClaim(
                    user_id=uid,
                    paper_id=pid,
                    position=pos,
                    author_id=author_id,
                    status="approved",
                    created_at=now,
                )
            )
            s.flush()


def test_a_rejected_claim_stays_rejected(site: Site) -> None:
    ada, mod = site.user("ada"), site.user("mod", role="moderator")
    pid, pos = _place(site, "2606.00001", "Alan Turing")
    claims.claim(site.factory, user_id=ada, paper_id=pid, position=pos)
    with site.factory() as s:
        cid = claims.pending_claims(s)[0].id
    assert claims.decide(site.factory, moderator_id=mod, claim_id=cid, approve=False) == "rejected"
    assert claims.claim(site.factory, user_id=ada, paper_id=pid, position=pos) == "rejected"
    with site.factory() as s:
        assert claims.pending_claims(s) == []
        assert claims.approved_for_papers(s, [pid]) == {}


def _approve(site: Site, uid: int, mod: int, key: str, name: str) -> None:
    pid, pos = _place(site, key, name)
    claims.claim(site.factory, user_id=uid, paper_id=pid, position=pos)
    with site.factory() as s:
        cid = s.scalar(select(AuthorClaim.id).where(AuthorClaim.user_id == uid, AuthorClaim.paper_id == pid))
    assert cid is not None
    claims.decide(site.factory, moderator_id=mod, claim_id=cid, approve=True)


def test_a_claimed_profile_groups_the_variants_its_owner_picks(site: Site) -> None:
    ada, eve, mod = site.user("ada"), site.user("eve"), site.user("mod", role="moderator")
    _approve(site, ada, mod, "2606.00001", "Ada Lovelace")
    with pytest.raises(UserError):  # no approved claim under the variant yet
        claims.set_variants(site.factory, user_id=ada, names=["Ada Lovelace", "A. Lovelace"])
    _approve(site, ada, mod, "2401.00001", "A. Lovelace")
    assert claims.set_variants(site.factory, user_id=ada, names=["Ada Lovelace", "A. Lovelace"]) == [
        "A. Lovelace",
        "Ada Lovelace",
    ]
    with site.factory() as s:
        page = pages.author_page(s, "A. Lovelace", limit=50)
        exact = pages.author_page(s, "Charles Babbage")
    assert page.names == ("A. Lovelace", "Ada Lovelace") and page.total == 12
    assert {p.key for p in page.papers} >= {"2401.00001", "2606.00001"}
    assert [c.username for c in page.claimants] == ["ada"]
    assert exact.names == ("Charles Babbage",) and exact.claimants == []
    # A homonym cannot group a name another profile holds.
    _approve(site, eve, mod, "2603.00001", ODD)
    _approve(site, eve, mod, "2606.00002", "Alan Turing")
    claims.set_variants(site.factory, user_id=eve, names=[ODD, "Alan Turing"])
    with pytest.raises(UserError):
        claims.set_variants(site.factory, user_id=eve, names=[ODD, "Ada Lovelace"])
    # Ungrouping: fewer than two names clears the group.
    assert claims.set_variants(site.factory, user_id=ada, names=["Ada Lovelace"]) == []
    assert site.count(AuthorVariant, AuthorVariant.user_id == ada) == 0


# --- pages ---


def _doc(body: str) -> lxml_html.HtmlElement:
    return lxml_html.document_fromstring(body)


def test_author_page_html_feeds_chart_and_escaping(lite: Site) -> None:
    client = lite.client()
    r = client.get(author_path(ODD))
    assert r.status_code == 200
    doc = _doc(r.text)
    assert doc.xpath("string(//h1)") == ODD  # markup in a name is text
    alternates = {e.get("type"): e.get("href") for e in doc.xpath("//head/link[@rel='alternate']")}
    assert alternates["application/rss+xml"] == "/rss/authors/" + quote(ODD, safe="")
    assert alternates["application/atom+xml"] == "/atom/authors/" + quote(ODD, safe="")
    svg = doc.xpath("//figure[@class='timeline']/svg")[0]
    assert svg.get("role") == "img" and "2026-03: 1" in svg.xpath("string(desc)")
    assert doc.xpath("string(//table[@class='sr-only']//td[2])") == "1"
    assert doc.xpath("//ul[@class='coauthors']//a/@href") == [author_path("Ada Lovelace")]
    rss = client.get(alternates["application/rss+xml"])
    assert rss.status_code == 200 and rss.headers["content-type"].startswith("application/rss+xml")
    channel = etree.fromstring(rss.content).find("channel")
    assert channel.findtext("title").endswith(f"papers by {ODD}")
    assert [i.findtext("title") for i in channel.findall("item")] == ["Odd Name Paper"]
    atom = client.get(alternates["application/atom+xml"])
    assert atom.status_code == 200 and b"<entry>" in atom.content
    assert client.get("/authors/Nobody%20At%20All").status_code == 404
    assert client.get("/rss/authors/Nobody").status_code == 404


def test_names_on_cards_and_the_paper_page_link_to_author_pages(lite: Site) -> None:
    client = lite.client()
    for path in ("/papers?date=2026-06-01", "/trending?window=month", "/papers/2606.00001"):
        links = _doc(client.get(path).text).xpath("//*[contains(@class, 'authors')]//a/@href")
        assert author_path("Ada Lovelace") in links, path
        assert author_path("Alan Turing") in links, path
    assert client.get(author_path("Ada Lovelace")).status_code == 200


def test_follow_and_following_page_work_without_js_and_stay_private(lite: Site) -> None:
    lite.user("reader")
    client = lite.client()
    anon = client.post("/following", data={"name": "Charles Babbage"}, follow_redirects=False)
    assert anon.status_code in (303, 403)  # no session: login redirect or CSRF refusal, never a follow
    token = sign_in_as(lite, client, "reader")
    assert (
        client.post("/following", data={"name": "Charles Babbage"}, follow_redirects=False).status_code == 403
    )
    for _ in range(2):
        r = client.post(
            "/following", data={"name": "Charles Babbage", "csrf_token": token}, follow_redirects=False
        )
        assert r.status_code == 303 and r.headers["location"] == author_path("Charles Babbage")
    assert lite.count(AuthorFollow) == 1
    page = client.get(author_path("Charles Babbage")).text
    assert "Following ✓" in page
    following = _doc(client.get("/following").text)
    assert following.xpath("//ul[@class='followed']//a/text()") == ["Charles Babbage"]
    assert "Variant Paper" in following.text_content()
    # Private: the public profile does not list follows.
    assert "Charles Babbage" not in lite.client().get("/u/reader").text
    assert "Charles Babbage" not in client.get("/u/reader").text
    client.post("/following", data={"name": "Charles Babbage", "follow": "0", "csrf_token": token})
    assert lite.count(AuthorFollow) == 0


def test_claim_approve_and_the_api_carries_it_as_hugging_face_does(lite: Site) -> None:
    lite.user("ada")
    lite.user("mod", role="moderator")
    client, moderator = lite.client(), lite.client()
    token = sign_in_as(lite, client, "ada")
    paper = _doc(client.get("/papers/2606.00001").text)
    assert len(paper.xpath("//form[contains(@class, 'claim-form')]")) == 2  # one per byline place
    r = client.post(
        "/papers/2606.00001/claim", data={"position": "0", "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/papers/2606.00001#authors"
    assert "claim pending" in client.get("/papers/2606.00001").text
    assert client.get("/moderation/claims", follow_redirects=False).status_code == 403  # not a moderator
    mod_token = sign_in_as(lite, moderator, "mod")
    queue = _doc(moderator.get("/moderation/claims").text)
    action = queue.xpath("//table[@class='claims']//form/@action")[0]
    r = moderator.post(action, data={"decision": "approve", "csrf_token": mod_token}, follow_redirects=False)
    assert r.status_code == 303
    assert "No claims are waiting" in moderator.get("/moderation/claims").text

    shown = _doc(client.get("/papers/2606.00001").text)
    assert shown.xpath("//ul[@id='authors']//a[@class='claimed']/@href") == ["/u/ada"]
    author = _doc(client.get(author_path("Ada Lovelace")).text)
    assert author.xpath("//section[@class='claimed-profile']//a/@href") == ["/u/ada"]

    body = client.get("/api/papers/2606.00001").json()
    first, second = body["authors"]
    assert first["user"]["user"] == "ada" and first["user"]["type"] == "user" and "_id" in first["user"]
    assert first["status"] == "claimed_verified" and first["statusLastChangedAt"].endswith("Z")
    assert "user" not in second and "status" not in second
    daily = client.get("/api/daily_papers", params={"date": "2026-06-01"}).json()
    item = next(i for i in daily if i["paper"]["id"] == "2606.00001")
    assert item["paper"]["authors"][0]["status"] == "claimed_verified"
    # The official client parses it into PaperAuthor.user / .status.
    info = PaperInfo(**body)
    assert info.authors is not None
    assert info.authors[0].user is not None and info.authors[0].user.username == "ada"
    assert info.authors[0].status == "claimed_verified" and info.authors[1].user is None


def test_unverified_users_cannot_claim_and_forms_need_csrf(lite: Site) -> None:
    lite.user("new", verified=False)
    client = lite.client()
    token = sign_in_as(lite, client, "new")
    assert "claim-form" not in client.get("/papers/2606.00001").text
    r = client.post(
        "/papers/2606.00001/claim", data={"position": "0", "csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 403
    lite.user("ada")
    ada = lite.client()
    sign_in_as(lite, ada, "ada")
    r = ada.post("/papers/2606.00001/claim", data={"position": "0"}, follow_redirects=False)
    assert r.status_code == 403 and lite.count(AuthorClaim) == 0
    assert csrf(ada, "/papers")


def test_the_owner_groups_names_from_the_author_page_form(lite: Site) -> None:
    ada, mod = lite.user("ada"), lite.user("mod", role="moderator")
    _approve(lite, ada, mod, "2606.00001", "Ada Lovelace")
    _approve(lite, ada, mod, "2401.00001", "A. Lovelace")
    client, stranger = lite.client(), lite.client()
    token = sign_in_as(lite, client, "ada")
    sign_in_as(lite, stranger, "mod")
    form = _doc(client.get(author_path("Ada Lovelace")).text).xpath("//details[@class='variants']//form")
    assert len(form) == 1 and form[0].xpath(".//input[@name='names']/@value") == [
        "A. Lovelace",
        "Ada Lovelace",
    ]
    assert "variants" not in stranger.get(author_path("Ada Lovelace")).text  # only the owner sees the form
    r = client.post(
        "/account/author-names",
        data={
            "names": ["Ada Lovelace", "A. Lovelace"],
            "csrf_token": token,
            "next": author_path("A. Lovelace"),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == author_path("A. Lovelace")
    page = _doc(client.get(author_path("A. Lovelace")).text)
    assert page.xpath("//p[@class='period']/a/text()")[:1] == ["Ada Lovelace"]  # also published as
    assert "12 papers" in page.xpath("string(//p[@class='period'])")
    bad = client.post(
        "/account/author-names",
        data={"names": ["Charles Babbage"], "csrf_token": token},
        follow_redirects=False,
    )
    assert bad.status_code == 400  # no approved claim under that name
    assert lite.count(AuthorVariant) == 2


def test_deleting_an_account_takes_its_follows_claims_and_group_along(site: Site) -> None:
    from communitydata import PASSWORD
    from paperfeed.accounts import users as accounts
    from paperfeed.accounts.models import User

    ada, mod = site.user("ada"), site.user("mod", role="moderator")
    _approve(site, ada, mod, "2606.00001", "Ada Lovelace")
    _approve(site, ada, mod, "2401.00001", "A. Lovelace")
    claims.set_variants(site.factory, user_id=ada, names=["Ada Lovelace", "A. Lovelace"])
    follows.follow(site.factory, user_id=ada, name="Alan Turing")
    eve = site.user("eve")
    _approve(site, eve, mod, "2606.00002", "Alan Turing")  # decided by mod, whose account goes next
    with site.factory() as db, db.begin():
        user = db.get(User, ada)
        assert user is not None
        accounts.delete_account(db, site.settings, user, PASSWORD)
    for model in (AuthorFollow, AuthorVariant):
        assert site.count(model) == 0
    assert site.count(AuthorClaim, AuthorClaim.user_id == ada) == 0
    with site.factory() as db, db.begin():
        user = db.get(User, mod)
        assert user is not None
        accounts.delete_account(db, site.settings, user, PASSWORD)
    with site.factory() as s:
        [left] = s.scalars(select(AuthorClaim)).all()
        assert (left.user_id, left.status, left.decided_by) == (eve, "approved", None)  # the decision stays
        assert pages.author_page(s, "Ada Lovelace").names == ("Ada Lovelace",)  # the group went with it
