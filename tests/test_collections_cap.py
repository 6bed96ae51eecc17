"""Collections per account are capped (collection_max_per_user), also when the creates arrive at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from communitydata import Site, login, make_site
from paperfeed.community import collections
from paperfeed.community.models import Collection
from paperfeed.config import Settings
from paperfeed.errors import UserError

CAP = 4


@pytest.fixture
def site(db_settings: Settings) -> Iterator[Site]:
    with make_site(db_settings.model_copy(update={"collection_max_per_user": CAP})) as s:
        yield s


def test_a_burst_of_creates_stops_at_the_cap(site: Site) -> None:
    alice, bob = site.user("alice"), site.user("bob")
    burst = 12
    start = threading.Barrier(burst)
    made: list[int] = []
    refused: list[str] = []
    other: list[BaseException] = []

    def create(i: int) -> None:
        start.wait()
        try:
            row = collections.create_collection(
                site.factory, user_id=alice, name=f"List {i}", max_per_user=CAP
            )
            made.append(row.id)
        except UserError as exc:
            refused.append(str(exc))
        except BaseException as exc:  # a database error here would be a 500 for the user
            other.append(exc)

    threads = [threading.Thread(target=create, args=(i,)) for i in range(burst)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert other == []
    assert len(made) == CAP and len(refused) == burst - CAP
    assert site.count(Collection, Collection.user_id == alice) == CAP
    assert all("you have 4 collections, the most one account can have" in r for r in refused)
    # The cap is per account: another user still creates hers.
    assert collections.create_collection(site.factory, user_id=bob, name="Mine", max_per_user=CAP).id


def test_web_and_api_refuse_beyond_the_setting(site: Site) -> None:
    alice = site.user("alice")
    token = site.api_token(alice)
    api = site.client()
    auth = {"Authorization": f"Bearer {token}"}
    for i in range(CAP):
        assert api.post("/api/collections", json={"name": f"L{i}"}, headers=auth).status_code == 201
    refused = api.post("/api/collections", json={"name": "One more"}, headers=auth)
    assert refused.status_code == 400 and "the most one account can have" in refused.text
    browser = site.client()
    csrf = login(browser, "alice")
    page = browser.post("/collections", data={"name": "Again", "csrf_token": csrf}, follow_redirects=False)
    assert page.status_code == 400 and "the most one account can have" in page.text
    assert site.count(Collection, Collection.user_id == alice) == CAP
