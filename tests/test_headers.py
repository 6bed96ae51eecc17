"""Every response says nosniff; /docs has its own Content-Security-Policy (the browser test runs it)."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

import webdata
from paperfeed.config import Settings
from paperfeed.http.headers import docs_csp


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(webdata.filled_app(settings)) as c:
        yield c


PATHS = [
    "/api/daily_papers",  # JSON
    f"/api/papers/{webdata.HOSTILE_ID}",
    "/api/papers/0000.00000",  # a JSON error
    "/openapi.json",
    "/rss",  # feeds
    "/atom",
    "/static/style.css",  # static files
    "/static/app.js",
    "/static-docs/swagger-ui-bundle.js",
    "/docs",
    "/papers",  # pages already set it themselves: still one header
    "/no/such/page",
]


def test_every_response_says_nosniff(client: TestClient) -> None:
    for path in PATHS:
        r = client.get(path)
        assert r.headers.get_list("x-content-type-options") == ["nosniff"], (path, r.status_code)


def test_docs_policy_admits_only_its_own_inline_script(client: TestClient) -> None:
    r = client.get("/docs")
    policy = r.headers["content-security-policy"]
    inline = re.findall(r"<script>(.*?)</script>", r.text, re.DOTALL)
    assert len(inline) == 1
    digest = base64.b64encode(hashlib.sha256(inline[0].encode()).digest()).decode()
    assert f"script-src 'self' 'sha256-{digest}';" in policy
    assert "default-src 'none'" in policy and "unsafe" not in policy and "frame-ancestors 'none'" in policy
    # Pages keep their own policy.
    assert "sha256" not in client.get("/papers").headers["content-security-policy"]


def test_docs_csp_of_a_page_without_inline_script() -> None:
    assert "script-src 'self';" in docs_csp(b'<script src="/x.js"></script>')
