"""Hostile URLs at every route, on SQLite and PostgreSQL: any answer but a 5xx (a crash) is fine."""

from __future__ import annotations

import json
from urllib.parse import quote

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import webdata
from paperfeed.config import Settings

# Values that once broke, or sit on an edge: out-of-range years, NUL, bad UTF-8, traversal, huge numbers.
SPECIAL = [
    "%ff",
    "%00",
    "%ed%a0%80",  # an encoded UTF-16 surrogate: not valid UTF-8
    "%c0%af",  # overlong '/'
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "9999-12",
    "9999-12-31",
    "9999-W52",
    "0000-01",
    "0001-W01",
    "0001-01-01",
    "2026-W53",
    "2026-05-29",
    "2026-W22%00",
    "%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-06-01",  # full-width digits
    "1e400",
    "-0",
    "9" * 40,
    "x" * 5000,
    "%25" * 300,
    webdata.HOSTILE_ID,
    webdata.OLD_ID.replace("/", "%2F"),
    "arxiv:" + webdata.MATH_ID,
]
KEYS = ["date", "week", "month", "p", "limit", "sort", "category", "submitter", "q"]
ROUTES = [
    "/",
    "/papers",
    "/trending",
    "/rss",
    "/atom",
    "/categories",
    "/api/daily_papers",
    "/api/papers/search",
    "/docs",
    "/openapi.json",
    "/api",
]
ID_ROUTES = ["/papers/", "/api/papers/", "/static/", "/api/arxiv/"]


def encode_bytes(raw: bytes) -> str:
    """Every byte percent-encoded: the server sees exactly these bytes, valid UTF-8 or not."""
    return "".join(f"%{b:02x}" for b in raw)


values = st.one_of(
    st.sampled_from(SPECIAL),
    st.binary(max_size=40).map(encode_bytes),
    st.text(max_size=40).map(lambda t: quote(t, safe="")),  # any code point (NUL too), UTF-8 encoded
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(alphabet="0123456789-W", max_size=12),  # near-misses of dates, weeks and months
)
queries = st.lists(st.tuples(st.sampled_from(KEYS) | values, values), max_size=4).map(
    lambda pairs: "&".join(f"{k}={v}" for k, v in pairs)
)
urls = st.one_of(
    st.tuples(st.sampled_from(ROUTES), queries).map(lambda rq: f"{rq[0]}?{rq[1]}" if rq[1] else rq[0]),
    st.tuples(st.sampled_from(ID_ROUTES), st.lists(values, min_size=1, max_size=3)).map(
        lambda rs: rs[0] + "/".join(rs[1])
    ),
)


# The app is read-only here, so one app per backend serves every example.
@settings(
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(url=urls)
def check(client: TestClient, url: str) -> None:
    """One URL: no 5xx, and every /api answer is JSON."""
    r = client.get(url, follow_redirects=False)
    assert r.status_code < 500, (url, r.status_code, r.text[:500])
    if r.url.path.startswith("/api/") and r.status_code != 307:
        json.loads(r.content)


def test_no_url_makes_the_server_fail(db_settings: Settings) -> None:
    with TestClient(webdata.filled_app(db_settings)) as client:
        check(client)


def test_edge_values_everywhere(db_settings: Settings) -> None:
    """Each edge value under every period key and as a paper id, deterministically, on both databases."""
    with TestClient(webdata.filled_app(db_settings)) as client:
        for value in SPECIAL:
            for route in ("/papers", "/api/daily_papers", "/rss"):
                for key in ("date", "week", "month", "category", "submitter"):
                    r = client.get(f"{route}?{key}={value}")
                    assert r.status_code in (200, 400), (route, key, value, r.status_code)
            for route in ("/papers/", "/api/papers/"):
                r = client.get(route + value)
                assert r.status_code in (200, 404), (route, value, r.status_code)
                for suffix in (".md", ".bib"):
                    r = client.get(f"/papers/{value}{suffix}")
                    assert r.status_code in (200, 404), (value, suffix, r.status_code)
