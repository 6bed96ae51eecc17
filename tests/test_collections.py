"""Collections: CRUD with notes, privacy, BibTeX / JSON / RSS exports, web forms and the API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

import feedparser
import pytest
from lxml import etree

import webdata
from communitydata import PASSWORD, Site, login, make_site
from paperfeed.accounts import users as accounts
from paperfeed.accounts.models import User
from paperfeed.community import collections, exports
from paperfeed.community.models import Collection, CollectionItem
from paperfeed.config import Settings
from paperfeed.db.models import Paper
from paperfeed.errors import NotFound, UserError


@pytest.fixture
def site(db_settings: Settings) -> Iterator[Site]:
    with make_site(db_settings) as s:
        yield s


def entries_of(site: Site, collection_id: int) -> list[collections.Entry]:
    with site.factory() as s:
        return collections.entries(s, collection_id)


def test_slugify() -> None:
    assert collections.slugify("Reading list: LLMs & RAG!") == "reading-list-llms-rag"
    assert collections.slugify("Über Déjà vu") == "uber-deja-vu"
    assert collections.slugify("<script>") == "script"
    assert collections.slugify("数学") == "collection"
    assert len(collections.slugify("x" * 500)) <= 80


def test_crud_notes_and_ownership(site: Site) -> None:
    alice, bob = site.user("alice"), site.user("bob")
    first = collections.create_collection(site.factory, user_id=alice, name="  Reading   list ")
    second = collections.create_collection(site.factory, user_id=alice, name="Reading list", public=True)
    other = collections.create_collection(site.factory, user_id=bob, name="Reading list")
    assert (first.name, first.slug, second.slug, other.slug) == (
        "Reading list",
        "reading-list",
        "reading-list-2",
        "reading-list",
    )
    with pytest.raises(UserError, match="needs a name"):
        collections.create_collection(site.factory, user_id=alice, name="   ")

    math, old = site.paper_id(webdata.MATH_ID), site.paper_id(webdata.OLD_ID)
    assert collections.add_paper(
        site.factory, user_id=alice, collection_id=first.id, paper_id=math, note="read"
    )
    assert not collections.add_paper(site.factory, user_id=alice, collection_id=first.id, paper_id=math)
    assert [e.note for e in entries_of(site, first.id)] == ["read"]  # no note given: kept
    collections.add_paper(site.factory, user_id=alice, collection_id=first.id, paper_id=math, note="re-read")
    collections.add_paper(site.factory, user_id=alice, collection_id=first.id, paper_id=old)
    assert [(e.paper.key, e.note) for e in entries_of(site, first.id)] == [
        (webdata.OLD_ID, ""),
        (webdata.MATH_ID, "re-read"),
    ]
    with pytest.raises(UserError, match="at most 2 papers"):
        collections.add_paper(
            site.factory,
            user_id=alice,
            collection_id=first.id,
            paper_id=site.paper_id(webdata.TWICE_ID),
            max_items=2,
        )

    # Bob can neither change nor read Alice's private collection.
    with pytest.raises(NotFound):
        collections.add_paper(site.factory, user_id=bob, collection_id=first.id, paper_id=math)
    with pytest.raises(NotFound):
        collections.update_collection(site.factory, user_id=bob, collection_id=first.id, public=True)
    with pytest.raises(NotFound):
        collections.delete_collection(site.factory, user_id=bob, collection_id=first.id)
    with site.factory() as s:
        with pytest.raises(NotFound):
            collections.find_collection(s, "alice", "reading-list", viewer_id=bob)
        assert collections.find_collection(s, "alice", "reading-list", viewer_id=alice).size == 2
        assert collections.find_collection(s, "alice", "reading-list-2", viewer_id=None).size == 0
        assert [x.collection.slug for x in collections.user_collections(s, alice, public_only=True)] == [
            "reading-list-2"
        ]

    renamed = collections.update_collection(
        site.factory, user_id=alice, collection_id=first.id, name="Renamed"
    )
    assert renamed.slug == "reading-list"  # links keep working
    collections.remove_paper(site.factory, user_id=alice, collection_id=first.id, paper_id=math)
    collections.remove_paper(site.factory, user_id=alice, collection_id=first.id, paper_id=math)
    assert [e.paper.key for e in entries_of(site, first.id)] == [webdata.OLD_ID]
    collections.delete_collection(site.factory, user_id=alice, collection_id=first.id)
    assert site.count(CollectionItem, CollectionItem.collection_id == first.id) == 0
    assert site.count(Paper, Paper.id == math) == 1  # papers stay

    # Deleting the account deletes its collections.
    with site.factory() as db, db.begin():
        user = db.get(User, alice)
        assert user is not None
        accounts.delete_account(db, site.settings, user, PASSWORD)
    assert site.count(Collection, Collection.user_id == alice) == 0


def _balanced(text: str) -> bool:
    depth = 0
    for m in re.finditer(r"\\.|[{}]", text):
        tok = m.group(0)
        if tok == "{":
            depth += 1
        elif tok == "}":
            depth -= 1
            if depth < 0:
                return False
    return depth == 0


def test_bibtex_export(site: Site) -> None:
    alice = site.user("alice")
    made = collections.create_collection(site.factory, user_id=alice, name="Bib")
    for key, note in (
        (webdata.MATH_ID, "50% of {it} & more"),
        (webdata.HOSTILE_ID, ""),
        (webdata.OLD_ID, ""),
    ):
        collections.add_paper(
            site.factory, user_id=alice, collection_id=made.id, paper_id=site.paper_id(key), note=note
        )
    with site.factory() as db, db.begin():  # a title that tries to run LaTeX in the reader's document
        db.get(Paper, site.paper_id(webdata.OLD_ID)).title = "The} \\input{/etc/passwd} #1 _x_ ~ ^"  # type: ignore[union-attr]
    bib = exports.bibtex(entries_of(site, made.id))
    blocks = [b for b in bib.split("\n\n") if b.strip()]
    assert len(blocks) == 3 and all(_balanced(b) for b in blocks)
    keys = re.findall(r"@misc\{([^,]+),", bib)
    assert keys == ["lovelace2026input", "lovelace2026script", "lovelace2026quadratic"]
    assert "title = {The\\} \\textbackslash{}input\\{/etc/passwd\\} \\#1 \\_x\\_ \\~{} \\^{}}" in bib
    assert "\\input{" not in bib
    assert "author = {Ada Lovelace and Alan Turing}" in bib
    assert (
        "eprint = {2605.01001}" in bib
        and "archivePrefix = {arXiv}" in bib
        and "primaryClass = {cs.LG}" in bib
    )
    assert "annote = {50\\% of \\{it\\} \\& more}" in bib
    assert "title = {Quadratic Bounds in \\$O(n\\^{}2)\\$ Time}" in bib


def test_bibtex_keys_are_unique_and_ascii() -> None:
    def paper(title: str, authors: list[str], year: int | None) -> Paper:
        p = Paper(key=f"t:{title}", title=title, abstract="", source="x", content_hash="0")
        p.published = datetime(year, 1, 1, tzinfo=UTC) if year else None
        p.listing_date = None
        p.authors = []
        from paperfeed.db.models import Author, PaperAuthor

        p.authors = [PaperAuthor(position=i, author=Author(name=n)) for i, n in enumerate(authors)]
        return p

    now = datetime(2026, 1, 1, tzinfo=UTC)
    items = [
        collections.Entry(paper("Attention Is All You Need", ["Ashish Vaswani"], 2017), "", now),
        collections.Entry(paper("Attention again", ["Ashish Vaswani"], 2017), "", now),
        collections.Entry(paper("A $k$-NN Study", ["Zoë Çelik"], None), "", now),
        collections.Entry(paper("数学", [], None), "", now),
        collections.Entry(paper("Lab paper", ["Smith and Wesson Lab"], 2020), "", now),
    ]
    bib = exports.bibtex(items)
    assert re.findall(r"@misc\{([^,]+),", bib) == [
        "vaswani2017attention",
        "vaswani2017attentiona",
        "celikndnn",
        "anonnd",
        "lab2020lab",
    ]
    assert "author = {{Smith and Wesson Lab}}" in bib


def test_json_and_rss_exports(site: Site) -> None:
    alice = site.user("alice")
    made = collections.create_collection(
        site.factory, user_id=alice, name="Feed <me>", description="<b>desc</b>", public=True
    )
    collections.add_paper(
        site.factory,
        user_id=alice,
        collection_id=made.id,
        paper_id=site.paper_id(webdata.HOSTILE_ID),
        note="<img src=x onerror=alert(1)>",
    )
    with site.factory() as s:
        found = collections.find_collection(s, "alice", made.slug, viewer_id=None)
        items = collections.entries(s, made.id)
    data = exports.collection_json(found, items, "https://papers.example/")
    assert data["url"] == "https://papers.example/u/alice/c/feed-me"
    [p] = data["papers"]
    assert p["id"] == webdata.HOSTILE_ID and p["title"] == webdata.HOSTILE_TITLE
    assert p["url"] == f"https://papers.example/papers/{webdata.HOSTILE_ID}"
    assert p["authors"] == [{"name": "Ada Lovelace"}, {"name": "Alan Turing"}]

    rss = exports.collection_rss(found, items, base_url="https://papers.example", site_name="pf")
    root = etree.fromstring(rss.encode())
    assert root.tag == "rss" and root.get("version") == "2.0"
    parsed = feedparser.parse(rss)
    assert not parsed.bozo and parsed.feed.link == "https://papers.example/u/alice/c/feed-me"
    [entry] = parsed.entries
    assert entry.link == f"https://papers.example/papers/{webdata.HOSTILE_ID}"
    description = root.find("channel/item/description").text  # type: ignore[union-attr]
    assert description is not None and "&lt;img src=x onerror=alert(1)&gt;" in description


def test_collection_pages(site: Site) -> None:
    alice_id = site.user("alice")
    site.user("bob")
    alice, bob, anon = site.client(), site.client(), site.client()
    ta, tb = login(alice, "alice"), login(bob, "bob")
    paper_page = f"/papers/{webdata.MATH_ID}"
    # From a paper page: create a collection and save the paper in one go, back to the paper.
    r = alice.post(
        "/collections",
        data={
            "csrf_token": ta,
            "name": "To read",
            "paper": webdata.MATH_ID,
            "next": paper_page + "#community",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == paper_page + "#community"
    with site.factory() as s:
        [mine] = collections.user_collections(s, alice_id, public_only=False)
    cid = mine.collection.id
    page = alice.get(paper_page).text
    assert 'href="/u/alice/c/to-read">To read</a>' in page  # "In your collections"
    r = alice.post(
        f"/collections/{cid}/papers",
        data={"csrf_token": ta, "paper": webdata.OLD_ID, "note": "classic", "next": "https://evil.example"},
        follow_redirects=False,
    )
    assert r.status_code == 303 and r.headers["location"] == "/u/alice/c/to-read"
    page = alice.get("/u/alice/c/to-read")
    assert page.status_code == 200 and "classic" in page.text and "Edit this collection" in page.text

    # Private: nobody else sees it, or its exports.
    for url in (
        "/u/alice/c/to-read",
        "/u/alice/c/to-read.bib",
        "/u/alice/c/to-read.json",
        "/u/alice/c/to-read/rss",
    ):
        assert anon.get(url).status_code == 404, url
        assert bob.get(url).status_code == 404, url
    assert "To read" not in anon.get("/u/alice").text
    assert "To read" in alice.get("/u/alice").text

    bib = alice.get("/u/alice/c/to-read.bib")
    assert bib.status_code == 200 and bib.headers["content-type"].startswith("application/x-bibtex")
    assert bib.headers["content-disposition"] == 'attachment; filename="to-read.bib"'
    assert "@misc{lovelace2026quadratic," in bib.text and "annote = {classic}" in bib.text

    # Bob cannot change it through the forms either.
    r = bob.post(f"/collections/{cid}/edit", data={"csrf_token": tb, "name": "mine", "public": "1"})
    assert r.status_code == 404
    r = bob.post(f"/collections/{cid}/papers", data={"csrf_token": tb, "paper": webdata.TWICE_ID})
    assert r.status_code == 404
    assert len(entries_of(site, cid)) == 2

    r = alice.post(
        f"/collections/{cid}/edit",
        data={"csrf_token": ta, "name": "To read", "description": "Shared now", "public": "1"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert anon.get("/u/alice/c/to-read").status_code == 200
    assert anon.get("/u/alice/c/to-read.json").json()["papers"][0]["note"] == "classic"
    feed = feedparser.parse(anon.get("/u/alice/c/to-read/rss").text)
    assert len(feed.entries) == 2
    assert "To read" in anon.get("/u/alice").text

    pid = site.paper_id(webdata.OLD_ID)
    r = alice.post(f"/collections/{cid}/papers/{pid}/note", data={"csrf_token": ta, "note": "new note"})
    assert r.status_code == 200 and "new note" in r.text
    alice.post(f"/collections/{cid}/papers/{pid}/remove", data={"csrf_token": ta})
    assert [e.paper.key for e in entries_of(site, cid)] == [webdata.MATH_ID]
    r = alice.post(f"/collections/{cid}/delete", data={"csrf_token": ta}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/collections"
    assert site.count(Collection) == 0
    assert anon.get("/collections", follow_redirects=False).status_code == 303


def test_collections_api(site: Site) -> None:
    alice, bob = site.user("alice"), site.user("bob")
    a = {"Authorization": f"Bearer {site.api_token(alice)}"}
    b = {"Authorization": f"Bearer {site.api_token(bob)}"}
    api = site.client()
    r = api.post("/api/collections", json={"name": "API list", "public": False}, headers=a)
    assert r.status_code == 201
    made = r.json()
    assert made["slug"] == "api-list" and made["owner"] == "alice" and made["size"] == 0
    cid = made["id"]
    url = f"/api/collections/{cid}/papers/{webdata.OLD_ID}"
    assert api.put(url, json={"note": "n1"}, headers=a).status_code == 204
    assert api.put(url, json={"note": "n2"}, headers=a).status_code == 204
    one = api.get(f"/api/collections/{cid}", headers=a).json()
    assert [(p["id"], p["note"]) for p in one["papers"]] == [(webdata.OLD_ID, "n2")]
    assert api.get(f"/api/collections/{cid}", headers=b).status_code == 404
    assert api.put(url, json={"note": "x"}, headers=b).status_code == 404
    assert api.get("/api/users/alice/collections").json() == []
    r = api.patch(f"/api/collections/{cid}", json={"public": True, "description": "d"}, headers=a)
    assert r.status_code == 200 and r.json()["public"] is True and r.json()["size"] == 1
    assert [c["slug"] for c in api.get("/api/users/alice/collections").json()] == ["api-list"]
    assert [c["id"] for c in api.get("/api/collections", headers=a).json()] == [cid]
    assert api.delete(url, headers=a).status_code == 204
    assert api.delete(url, headers=a).status_code == 204
    assert api.put(f"/api/collections/{cid}/papers/2401.99999", json={}, headers=a).status_code == 404
    assert api.delete(f"/api/collections/{cid}", headers=b).status_code == 404
    assert api.delete(f"/api/collections/{cid}", headers=a).status_code == 204
    assert api.get("/api/collections").status_code == 401
