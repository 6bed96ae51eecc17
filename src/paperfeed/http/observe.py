"""Observing requests: a request id on every answer and log line, latency histograms, an access log line.

Pure ASGI middleware (no BaseHTTPMiddleware: it would buffer streamed bodies). The route label is the matched
route's template (`/papers/{paper_id:path}`), never the raw path, so the number of series stays bounded
whatever URLs clients send.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Histogram
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from paperfeed.logs import request_id_var

__all__ = ["Metrics", "ObserveMiddleware"]

access_log = logging.getLogger("paperfeed.access")

# A client's or proxy's request id is kept only when it is short and plain: it ends up in every log line.
_SAFE_ID = re.compile(r"[A-Za-z0-9._\-]{1,64}")
# Latency buckets (s): pages answer in milliseconds; the tail is what a p99 alert needs.
_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
SEARCH_ROUTES = frozenset({"/search", "/api/papers/search"})


@dataclass
class Metrics:
    """The app's own registry (one per app: tests build many apps in one process) and its histograms."""

    registry: CollectorRegistry
    requests: Histogram
    search: Histogram

    @classmethod
    def create(cls) -> Metrics:
        """A fresh registry with the request and search histograms."""
        registry = CollectorRegistry()
        requests = Histogram(
            "paperfeed_http_request_duration_seconds",
            "Time to answer a request, by method, route template and status class.",
            ["method", "route", "status"],
            registry=registry,
            buckets=_BUCKETS,
        )
        search = Histogram(
            "paperfeed_search_duration_seconds",
            "Time to answer a search (page or API), by surface.",
            ["surface"],
            registry=registry,
            buckets=_BUCKETS,
        )
        return cls(registry=registry, requests=requests, search=search)


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if scope.get("root_path") or scope["path"].startswith("/static"):
        return "/static"
    return "<unmatched>"


class ObserveMiddleware:
    """Sets the request id (context + `X-Request-ID`), times the request, records metrics, logs one line."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, access: bool = True) -> None:
        """`access`: write one access-log line a request."""
        self.app = app
        self.metrics = metrics
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Wrap one HTTP request."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _SAFE_ID.fullmatch(given) else uuid.uuid4().hex
        token = request_id_var.set(rid)
        started = time.perf_counter()
        status = 500  # what the client sees when the app dies before answering

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)["X-Request-ID"] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route(scope)
            self.metrics.requests.labels(scope["method"], route, f"{status // 100}xx").observe(elapsed)
            if route in SEARCH_ROUTES:
                self.metrics.search.labels("api" if route.startswith("/api") else "page").observe(elapsed)
            if self.access:
                access_log.info(
                    "%s %s %d",
                    scope["method"],
                    scope["path"],
                    status,
                    extra={"route": route, "status": status, "duration_ms": round(elapsed * 1000, 2)},
                )
            request_id_var.reset(token)
