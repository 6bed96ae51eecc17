"""CSRF: every state-changing HTML route depends on require_csrf, and the check refuses what it must."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient

from paperfeed.app import create_app
from paperfeed.config import Settings
from paperfeed.http.csrf import COOKIE, CsrfDep

# State-changing routes that must work without the browser's cookie, each with the reason.
EXEMPT = {
    # RFC 8058 one-click unsubscribe: mail clients POST without cookies; the signed token authorises it.
    "/unsubscribe/one-click",
    # A digest's "More / Less like this" button: the reader may open the mail's link in a browser that is not
    # signed in; the signed, expiring token names the reader, the paper and the signal, so a forged POST
    # without the mail's token records nothing (tests/test_digest_for_you.py).
    "/for-you/rate",
}


def _dependency_calls(route: APIRoute) -> set[object]:
    seen: set[object] = set()
    stack = [route.dependant]
    while stack:
        dep = stack.pop()
        seen.add(dep.call)
        stack.extend(dep.dependencies)
    return seen


def test_every_html_form_post_is_csrf_protected(settings: Settings) -> None:
    from paperfeed.http.csrf import require_csrf

    app = create_app(settings)
    # FastAPI keeps included routers nested: iter_route_contexts walks them with their full paths.
    writes = [
        (ctx.path, ctx.route)
        for ctx in iter_route_contexts(app.routes)
        if isinstance(ctx.route, APIRoute)
        and (ctx.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}
        and not str(ctx.path).startswith("/api/")  # the JSON API authenticates with bearer tokens
    ]
    paths = {path for path, _ in writes}
    assert {"/login", "/signup", "/subscribe"} <= paths  # the walk sees the forms (not a vacuous pass)
    unprotected = [
        path for path, route in writes if path not in EXEMPT and require_csrf not in _dependency_calls(route)
    ]
    assert unprotected == []


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    app: FastAPI = create_app(settings)
    router = APIRouter()

    @router.post("/test-csrf")
    def change(_csrf: CsrfDep) -> dict[str, bool]:
        return {"changed": True}

    app.include_router(router)
    with TestClient(app, base_url="http://testserver") as c:
        yield c


def _token(client: TestClient) -> str:
    from paperfeed.http.csrf import _expected

    cookie = client.get("/docs").cookies.get(COOKIE) or client.cookies.get(COOKIE)
    assert cookie
    return _expected(client.app.state.settings, cookie)  # type: ignore[attr-defined]


def test_valid_token_passes(client: TestClient) -> None:
    token = _token(client)
    r = client.post("/test-csrf", data={"csrf_token": token})
    assert r.status_code == 200
    r = client.post("/test-csrf", headers={"X-CSRF-Token": token, "Origin": "http://testserver"})
    assert r.status_code == 200


@pytest.mark.parametrize(
    ("data", "headers"),
    [
        ({}, {}),
        ({"csrf_token": "0" * 64}, {}),
        ("right", {"Origin": "https://evil.example"}),
        ("right", {"Referer": "https://evil.example/page"}),
    ],
)
def test_refused(client: TestClient, data: object, headers: dict[str, str]) -> None:
    form = {"csrf_token": _token(client)} if data == "right" else data
    r = client.post("/test-csrf", data=form, headers=headers)  # type: ignore[arg-type]
    assert r.status_code == 403


def test_token_from_another_browser_is_refused(settings: Settings, client: TestClient) -> None:
    token = _token(client)
    client.cookies.clear()
    client.cookies.set(COOKIE, "another-browser-cookie-value")
    assert client.post("/test-csrf", data={"csrf_token": token}).status_code == 403
