"""The JSON API: Hugging Face's shape and field types, and clean 400/404 errors (never 500)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

import webdata
from paperfeed.config import Settings

HF_SAMPLE = Path(__file__).parent / "data" / "api" / "daily_papers.json"

# Keys Hugging Face sends that paperfeed leaves out (see paperfeed/api/schemas.py for why).
OMITTED = {
    "paper.ai_summary",
    "paper.ai_keywords",
    "paper.ai_summary_model",
    "paper.organization",
    "paper.githubRepoAddedBy",
    "paper.mediaUrls",
    "organization",
    "mediaUrls",
    "submittedBy.followerCount",
    "paper.authors[].status",
    "paper.authors[].statusLastChangedAt",
    "paper.authors[].user",
}


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    """An API client over a SQLite file filled with the web test papers."""
    with TestClient(webdata.filled_app(settings)) as c:
        yield c


def shape(value: Any, path: str = "", out: dict[str, str] | None = None) -> dict[str, str]:
    """Every key path in a JSON value (lists merged as '[]') with its JSON type name."""
    out = {} if out is None else out
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            out[sub] = type(item).__name__
            shape(item, sub, out)
    elif isinstance(value, list):
        for item in value:
            shape(item, f"{path}[]", out)
    return out


def test_daily_papers_has_hugging_faces_keys_and_types(client: TestClient) -> None:
    hf = shape(json.loads(HF_SAMPLE.read_text()))
    # The May 29 listing holds a paper with a GitHub repo, stars and project page, and an HF submitter.
    ours = shape(client.get("/api/daily_papers", params={"date": "2026-05-29"}).json())
    wanted = {k: t for k, t in hf.items() if k.removeprefix("[].") not in OMITTED}
    wanted = {k: t for k, t in wanted.items() if not any(k.startswith(f"[].{o}.") for o in OMITTED)}
    missing = sorted(k for k in wanted if k not in ours)
    assert not missing, missing
    wrong = {k: (t, ours[k]) for k, t in wanted.items() if ours[k] != t}
    assert not wrong, wrong
    assert "[].paper.submittedOnDailyBy.user" in ours and "[].paper.githubStars" in ours
    assert "[].paper.discussionId" in ours  # comments exist: every paper has a thread


def test_daily_papers_values(client: TestClient) -> None:
    items = client.get("/api/daily_papers", params={"date": "2026-05-29", "sort": "trending"}).json()
    first = items[0]
    assert first["paper"]["id"] == webdata.MATH_ID
    assert first["paper"]["githubRepo"] == "https://github.com/example/quadratic"
    assert first["paper"]["githubStars"] == 1234
    assert first["paper"]["upvotes"] == 12
    assert first["paper"]["submittedOnDailyAt"] == "2026-05-29T00:00:00.000Z"
    assert first["paper"]["publishedAt"] == "2026-05-29T12:00:00.000Z"
    assert first["submittedBy"]["name"] == "alice" and first["submittedBy"]["type"] == "user"
    assert [a["name"] for a in first["paper"]["authors"]] == ["Ada Lovelace", "Alan Turing"]
    hostile = next(i for i in items if i["paper"]["id"] == webdata.HOSTILE_ID)
    # JSON carries the text verbatim; escaping is the HTML renderer's job.
    assert hostile["title"] == webdata.HOSTILE_TITLE
    # Optional keys are absent, not null, when unknown (as on Hugging Face).
    no_repo = next(i for i in items if i["paper"]["id"] == webdata.MANY_AUTHORS_ID)
    assert "githubRepo" not in no_repo["paper"] and "projectPage" not in no_repo["paper"]
    # Nobody submitted it (an arXiv listing): no made-up submitter, as Hugging Face leaves it out.
    assert "submittedBy" not in no_repo and "submittedOnDailyBy" not in no_repo["paper"]


def test_daily_papers_default_paging_and_periods(client: TestClient) -> None:
    latest = client.get("/api/daily_papers", params={"sort": "trending"}).json()
    assert [i["paper"]["id"] for i in latest] == ["2606.00002", "2606.00001"]
    week = client.get("/api/daily_papers", params={"week": "2026-W22", "limit": 100}).json()
    assert len(week) == 9
    pages = [
        client.get("/api/daily_papers", params={"week": "2026-W22", "limit": 4, "p": p}).json()
        for p in (0, 1, 2)
    ]
    assert [len(p) for p in pages] == [4, 4, 1]
    assert [i["paper"]["id"] for p in pages for i in p] == [i["paper"]["id"] for i in week]
    newest = client.get("/api/daily_papers", params={"date": "2026-05-29", "sort": "publishedAt"}).json()
    assert newest[-1]["paper"]["id"] == webdata.MANY_AUTHORS_ID


@pytest.mark.parametrize("ident", [webdata.MATH_ID, f"{webdata.MATH_ID}v2", f"arxiv:{webdata.MATH_ID}"])
def test_paper_by_id(client: TestClient, ident: str) -> None:
    r = client.get(f"/api/papers/{ident}")
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == webdata.MATH_ID and body["projectPage"] == "https://example.org/quadratic"
    assert set(body) >= {"id", "authors", "publishedAt", "title", "summary", "upvotes", "submittedOnDailyAt"}


def test_old_style_id_keeps_its_slash(client: TestClient) -> None:
    r = client.get(f"/api/papers/{webdata.OLD_ID}")
    assert r.status_code == 200 and r.json()["id"] == webdata.OLD_ID


@pytest.mark.parametrize("ident", ["2501.99999", "nope", "..%2F..%2Fetc", "%3Cscript%3E", "x" * 400])
def test_unknown_paper_is_404_json(client: TestClient, ident: str) -> None:
    r = client.get(f"/api/papers/{ident}")
    assert r.status_code == 404
    assert "not found" in r.json()["error"]


@pytest.mark.parametrize(
    ("params", "status", "needle"),
    [
        ({"date": "2026-13-45"}, 400, "invalid date"),
        ({"date": "yesterday"}, 400, "invalid date"),
        ({"week": "2026-W54"}, 400, "no ISO week 54"),
        ({"month": "2026-00"}, 400, "month"),
        ({"limit": 0}, 400, "limit"),
        ({"limit": -5}, 400, "limit"),
        ({"p": -1}, 400, "page"),
        ({"p": 10**15}, 400, "page"),
        ({"sort": "random"}, 400, "sort"),
        ({"date": "2026-05-29", "month": "2026-05"}, 400, "only one"),
        ({"p": "two"}, 400, "p: Input should be a valid integer"),
        ({"limit": "1.5"}, 400, "limit: Input should be a valid integer"),
    ],
)
def test_bad_parameters_are_client_errors(
    client: TestClient, params: dict[str, Any], status: int, needle: str
) -> None:
    r = client.get("/api/daily_papers", params=params)
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    assert needle in r.json()["error"]


def test_empty_period_is_an_empty_list(client: TestClient) -> None:
    r = client.get("/api/daily_papers", params={"date": "2020-01-01"})
    assert r.status_code == 200 and r.json() == []


def test_unknown_api_route_is_json_404(client: TestClient) -> None:
    r = client.get("/api/nothing-here")
    assert r.status_code == 404 and r.json() == {"error": "Not Found"}


def test_openapi_documents_the_api(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/api/daily_papers", "/api/papers/{paper_id}"} <= set(spec["paths"])
    docs = client.get("/docs")
    assert docs.status_code == 200
    # Swagger UI comes from the package, not a CDN: the page works offline.
    assert "cdn." not in docs.text and "/static-docs/swagger-ui-bundle.js" in docs.text
    assert client.get("/static-docs/swagger-ui-bundle.js").status_code == 200
