"""The real huggingface_hub client and its `hf papers` CLI against paperfeed on a loopback port.

The database holds tests/webdata.py's papers (arXiv listings, one submitted by a paperfeed user), the
recorded Hugging Face daily_papers response (30 papers with their submitters, comment counts and times)
and 105 more papers on one day, so a page can be longer than the 100 a page may hold.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
import pytest
from huggingface_hub import HfApi

import webdata
from browserkit import free_port, served_app
from paperfeed.accounts import users as accounts
from paperfeed.app import create_app
from paperfeed.community.comments import post_comment
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine, make_sessionmaker
from paperfeed.db.migrate import upgrade
from paperfeed.ingest.hf_daily import HfDailySource
from paperfeed.ingest.records import PaperRecord
from paperfeed.ingest.store import store_records
from paperfeed.search.keyword import keyword_dir
from paperfeed.search.keyword_store import build_keyword_index
from polling import HANG_S

HF_FIXTURE = Path(__file__).parent / "data" / "hf" / "daily_papers.json"
HF_DAY = "2026-06-12"
BULK_DAY = date(2026, 6, 20)
BULK = 105
MINIMAX = "2606.13392"  # 4 comments on Hugging Face, a GitHub repo and a Hugging Face model link


@dataclass(frozen=True)
class Served:
    """The server's base URL and the recorded Hugging Face items by arXiv id."""

    base: str
    hf: dict[str, dict[str, Any]]


def _bulk() -> list[PaperRecord]:
    return [
        PaperRecord(
            title=f"Bulk Paper {i:03d}",
            abstract="A paper of the bulk day.",
            source="arxiv_api",
            arxiv_id=f"2606.2{i:04d}",
            version=1,
            authors=["Bulk Author"],
            categories=["math.CO"],
            published=datetime(2026, 6, 19, 12, i % 60, tzinfo=UTC),
            listing_date=BULK_DAY,
        )
        for i in range(BULK)
    ]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A filled SQLite file (one local comment on MINIMAX) served by uvicorn on a free loopback port."""
    tmp = tmp_path_factory.mktemp("hf")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(database_url=f"sqlite:///{tmp / 'paperfeed.db'}", data_dir=tmp, base_url=base)
    engine = make_engine(settings)
    try:
        upgrade(engine)
        factory = make_sessionmaker(engine)
        webdata.fill(factory)
        report = store_records(factory, HfDailySource.from_path(HF_FIXTURE).records())
        assert report.new == 30 and report.rejected == 0, report
        store_records(factory, _bulk())
        with factory() as db, db.begin():
            user = accounts.create_user(
                db, settings, email="reader@example.org", username="reader", password="x" * 16, verified=True
            )
            uid = int(user.id)
        post_comment(factory, settings, user_id=uid, paper_ref=MINIMAX, body="Nice sparse attention.")
        build_keyword_index(factory, keyword_dir(settings))  # `hf papers search` needs the index
    finally:
        engine.dispose()
    hf = {item["paper"]["id"]: item for item in json.loads(HF_FIXTURE.read_text(encoding="utf-8"))}
    with served_app(create_app(settings), port):
        yield Served(base, hf)


@pytest.fixture
def api(served: Served) -> HfApi:
    """The official client, pointed at paperfeed, with no token."""
    return HfApi(endpoint=served.base, token=False)


def hf_cli(served: Served, tmp_path: Path, *args: str) -> str:
    """Run `hf papers ...` (huggingface_hub's own CLI) against the server; its standard output."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "HF_HOME": str(tmp_path / "hf"),
        "HF_ENDPOINT": served.base,
        "HF_HUB_DISABLE_UPDATE_CHECK": "1",  # it would ask PyPI for a newer version
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
        "NO_COLOR": "1",
        "COLUMNS": "200",
    }
    done = subprocess.run(
        [sys.executable, "-m", "huggingface_hub.cli.hf", "papers", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_S,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_list_daily_papers_filters_by_submitter(api: HfApi) -> None:
    mine = list(api.list_daily_papers(date=HF_DAY, submitter="RKocielnik"))
    assert len(mine) == 2
    assert all(p.submitted_by is not None and p.submitted_by.username == "RKocielnik" for p in mine)
    assert list(api.list_daily_papers(date=HF_DAY, submitter="nobody-at-all")) == []
    assert len(list(api.list_daily_papers(date=HF_DAY))) == 30


def test_default_sort_is_published_at_like_hugging_face(api: HfApi) -> None:
    default = [p.id for p in api.list_daily_papers(date=HF_DAY)]
    newest = [p.id for p in api.list_daily_papers(date=HF_DAY, sort="publishedAt")]
    trending = [p.id for p in api.list_daily_papers(date=HF_DAY, sort="trending")]
    assert default == newest != trending
    times = [p.published_at for p in api.list_daily_papers(date=HF_DAY)]
    assert all(a is not None and b is not None and a >= b for a, b in pairwise(times))


def test_submitter_full_name_comments_and_time_are_hugging_faces(served: Served, api: HfApi) -> None:
    for paper in api.list_daily_papers(date=HF_DAY, limit=100):
        sent = served.hf[paper.id]
        assert paper.submitted_by is not None
        assert paper.submitted_by.fullname == sent["submittedBy"]["fullname"]
        assert paper.submitted_by.username == sent["submittedBy"]["name"]
        # Their count plus ours: MINIMAX has one comment posted on paperfeed.
        assert paper.comments == sent["numComments"] + (1 if paper.id == MINIMAX else 0)
        # The real time (20:00 UTC), not the midnight paper.publishedAt carries.
        assert paper.published_at == datetime.fromisoformat(sent["publishedAt"].replace("Z", "+00:00"))


def test_paper_info_has_comments_and_a_discussion(served: Served, api: HfApi) -> None:
    info = api.paper_info(MINIMAX)
    assert info.comments == 4 + 1
    assert info.discussion_id and len(info.discussion_id) == 24
    assert info.github_repo == "https://github.com/MiniMax-AI/MSA"


def test_papers_nobody_submitted_have_no_submitter(api: HfApi) -> None:
    assert api.paper_info(webdata.MANY_AUTHORS_ID).submitted_by is None
    listed = {p.id: p for p in api.list_daily_papers(date="2026-05-29")}
    assert listed[webdata.MANY_AUTHORS_ID].submitted_by is None
    assert listed[webdata.MATH_ID].submitted_by is not None  # alice did submit this one


def test_read_paper_is_markdown(api: HfApi) -> None:
    text = api.read_paper(MINIMAX)
    assert text.startswith("# MiniMax Sparse Attention\n")
    assert "**Authors:** Xunhao Lai, Weiqi Xu, Yufeng Yang" in text
    assert "- arXiv: <https://arxiv.org/abs/2606.13392>" in text
    assert "## Abstract" in text and "## Code" in text
    assert "<https://github.com/MiniMax-AI/MSA> (★ 251)" in text
    assert "**Comments:** 5" in text


def test_list_papers_without_query_gives_the_latest(api: HfApi) -> None:
    latest = list(api.list_papers(limit=5))
    assert [p.title for p in latest][:1] == ["Bulk Paper 059"]  # published 2026-06-19 12:59, the newest
    times = [p.published_at for p in latest]
    assert all(a is not None and b is not None and a >= b for a, b in pairwise(times))


def test_limit_above_100_is_clamped(api: HfApi) -> None:
    day = BULK_DAY.isoformat()
    assert len(list(api.list_daily_papers(date=day, limit=150))) == 100
    assert len(list(api.list_daily_papers(date=day, limit=150, p=1))) == BULK - 100
    assert len(list(api.list_papers(limit=500))) == 100
    assert len(list(api.list_papers(query="bulk", limit=500))) == 100


def test_arxiv_repos_lists_what_paperfeed_knows(served: Served) -> None:
    body = httpx.get(f"{served.base}/api/arxiv/{MINIMAX}/repos").json()
    assert [m["id"] for m in body["models"]] == ["MiniMaxAI/MiniMax-M3"]
    assert body["datasets"] == [] and body["spaces"] == []
    assert body["code"] == [{"url": "https://github.com/MiniMax-AI/MSA", "kind": "github", "stars": 251}]
    assert httpx.get(f"{served.base}/api/arxiv/2601.99999/repos").status_code == 404


def test_hf_cli_ls_info_search_read(served: Served, tmp_path: Path) -> None:
    ls = ("ls", "--date", HF_DAY, "--submitter", "ryanlee-dev", "--format", "json")
    listed = json.loads(hf_cli(served, tmp_path, *ls))
    assert [row["id"] for row in listed] == [MINIMAX]
    assert listed[0]["submitted_by_name"] == "Ryanlee" and listed[0]["comments"] == 5
    info = hf_cli(served, tmp_path, "info", MINIMAX)
    shown = json.loads(info)  # `hf papers info` prints the PaperInfo as JSON
    assert shown["title"] == "MiniMax Sparse Attention" and shown["comments"] == 5
    assert shown["discussion_id"] and shown["submitted_by"]["fullname"] == "Ryanlee"
    found = json.loads(hf_cli(served, tmp_path, "search", "MiniMax Sparse Attention", "--format", "json"))
    assert found and found[0]["id"] == MINIMAX
    read = hf_cli(served, tmp_path, "read", MINIMAX)
    assert read.startswith("# MiniMax Sparse Attention") and "**Comments:** 5" in read
