"""`make cluster` driven for real: PostgreSQL, Redis, two `serve` processes and one `worker` on loopback.

A paper the worker harvests (from the local replay server) becomes searchable on both web nodes; a vote cast
on node A shows on node B; node A killed with SIGKILL leaves node B serving. Waits are generous (the worker's
harvest runs on a one-minute crontab) and nothing here asserts on elapsed time.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from paperfeed.accounts import tokens
from paperfeed.accounts.users import create_user
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from replay import ReplayServer, Reply

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from cluster import Cluster, create_database, drop_database

DAILY = Path(__file__).parent / "data" / "hf" / "daily_papers.json"


def _wait(check: Callable[[], bool], what: str, timeout_s: float = 240.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for: {what}")


@pytest.fixture
def cluster(tmp_path: Path, replay_server: ReplayServer) -> Iterator[Cluster]:
    admin = os.environ.get("PAPERFEED_TEST_PG_URL")
    redis = os.environ.get("PAPERFEED_TEST_REDIS_URL")
    if not admin or not redis:
        pytest.fail(
            "PAPERFEED_TEST_PG_URL / PAPERFEED_TEST_REDIS_URL are not set: run `make test`", pytrace=False
        )
    replay_server.add("/api/daily_papers", Reply(200, body=DAILY.read_bytes()))
    name = f"pf_cluster_{uuid.uuid4().hex[:10]}"
    # A Redis database of its own: the worker's queue must not meet the queues of other tests.
    redis_db = redis.rsplit("/", 1)[0] + "/9"
    ports = (_free_port(), _free_port())
    node = Cluster(
        tmp_path / "cluster",
        create_database(admin, name),
        redis_db,
        ports=ports,
        env={
            "PAPERFEED_HF_API_URL": f"{replay_server.url}/api/daily_papers",
            "PAPERFEED_JOBS_INGEST_SOURCE": "hf",
            "PAPERFEED_JOBS_INGEST_CRON": "* * * * *",
            "PAPERFEED_JOBS_RANK_CRON": "",
            "PAPERFEED_JOBS_DIGEST_CRON": "",
            "PAPERFEED_SEARCH_POLL_S": "1",
            "PAPERFEED_SEARCH_EMBED_IN_BACKGROUND": "false",
            "PAPERFEED_USER_AGENT": "paperfeed-test/1 (mailto:test@example.org)",
        },
    )
    try:
        node.start()
        yield node
    finally:
        node.stop()
        drop_database(admin, name)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token(cluster: Cluster) -> str:
    settings = Settings(database_url=cluster.database_url, data_dir=cluster.base / "tokens")
    engine = make_engine(settings)
    factory = make_sessionmaker(engine)
    with factory() as session, session.begin():
        user = create_user(
            session,
            settings,
            email="c@example.org",
            username="clusterer",
            password="a-long-password",
            verified=True,
        )
        secret = tokens.create(session, user, "cluster", scope="write").secret
    engine.dispose()
    return secret


def _found(base: str, title: str) -> bool:
    answer = httpx.get(f"{base}/api/papers/search", params={"q": title}, timeout=10)
    return answer.status_code == 200 and any(item["paper"]["title"] == title for item in answer.json())


def test_harvest_search_vote_and_a_killed_node(cluster: Cluster) -> None:
    first = json.loads(DAILY.read_text())[0]["paper"]
    title, key = " ".join(first["title"].split()), first["id"]
    # Harvested by the worker (the crontab fires at the next minute), then synced by each node's maintainer.
    for node in (0, 1):
        _wait(lambda n=node: _found(cluster.url(n), title), f"'{title}' searchable on node {node + 1}")

    secret = _token(cluster)
    before = httpx.get(f"{cluster.url(1)}/api/papers/{key}", timeout=10).json()["upvotes"]
    voted = httpx.post(
        f"{cluster.url(0)}/api/papers/{key}/vote", headers={"Authorization": f"Bearer {secret}"}, timeout=10
    )
    assert voted.status_code == 200, voted.text
    after = httpx.get(f"{cluster.url(1)}/api/papers/{key}", timeout=10).json()["upvotes"]
    assert after == before + 1  # node B reads the vote node A wrote: one database, no node-local state

    cluster.kill("web1")
    with pytest.raises(httpx.TransportError):
        httpx.get(cluster.url(0) + "/healthz", timeout=5)
    assert httpx.get(cluster.url(1) + "/healthz", timeout=10).status_code == 200
    assert httpx.get(cluster.url(1) + "/readyz", timeout=10).status_code == 200
    assert _found(cluster.url(1), title)
