"""A real local HTTP server on 127.0.0.1 that replays programmed or recorded responses and logs requests.

Every test module has the `replay_server` fixture (tests/conftest.py loads this module as a plugin):

    server.add("/api/query", [Reply(503, {"Retry-After": "0.1"}), Reply(200, body=b"...")])
    server.load_arxiv_recording(path)   # {url, status_code, body}
    server.load_nock(path)              # nock recordings: a list of {method, path, status, response, ...}

Routes are matched newest first, so a test can override a loaded recording. Each route replies with its
sequence in order and then repeats the last reply forever (so "500 forever" is one Reply).

Requests carry no arrival time on purpose: on a loaded machine arrival times jitter, so a test about spacing
runs the client on a `FakeClock` and reads when each request left the client (`clocked_client`).

PYTEST_DONT_REWRITE: it has no asserts, so pytest need not rewrite it when loading the plugin.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from paperfeed.ingest.http import PoliteClient

__all__ = [
    "FakeClock",
    "RecordedRequest",
    "ReplayServer",
    "Reply",
    "Route",
    "clocked_client",
    "fast_client",
    "recorded_body_bytes",
    "replay_server",
]


@dataclass(frozen=True)
class Reply:
    """One programmed response; drop closes the socket without one, hold never answers (until stop())."""

    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    drop: bool = False
    # A held reply, not a slow one: a client's timeout always fires, however loaded the machine is.
    hold: bool = False


@dataclass(frozen=True)
class RecordedRequest:
    """A request the server saw, in arrival order."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    def param(self, name: str) -> str | None:
        """The single value of a query parameter, or None."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Route:
    """(method, path, query) -> replies; query None matches anything, else the query must equal it."""

    method: str
    path: str
    query: dict[str, list[str]] | None
    replies: list[Reply]
    hits: int = 0

    def matches(self, method: str, path: str, query: dict[str, list[str]]) -> bool:
        """True when this route answers the request."""
        if method != self.method or path != self.path:
            return False
        return self.query is None or _normalise(query) == _normalise(self.query)

    def next_reply(self) -> Reply:
        """The next reply in the sequence; the last one repeats."""
        reply = self.replies[min(self.hits, len(self.replies) - 1)]
        self.hits += 1
        return reply


def _normalise(query: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """Drop empty parameters: `id_list=` and no id_list at all mean the same to the servers we replay."""
    return {k: v for k, v in query.items() if any(x != "" for x in v)}


def _parse_query(raw: str) -> dict[str, list[str]]:
    return parse_qs(raw, keep_blank_values=True)


def recorded_body_bytes(body: str) -> bytes:
    """The bytes a recording's text body came from.

    The arXiv recordings were decoded as Latin-1 (their Content-Type has no charset), so UTF-8 text shows
    as mojibake ("WÃ¼bben"); encoding back to Latin-1 restores the exact bytes arXiv sent.
    """
    try:
        raw = body.encode("latin-1")
        raw.decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return body.encode("utf-8")
    return raw


class _QuietServer(ThreadingHTTPServer):
    """Ignores clients that hang up early (a timeout test's client leaves before the held reply)."""

    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        """Drop the traceback: a vanished client is expected in timeout tests."""


class ReplayServer:
    """A threaded http.server serving routes and recording every request."""

    def __init__(self) -> None:
        self.routes: list[Route] = []
        self.requests: list[RecordedRequest] = []
        self.unmatched: list[RecordedRequest] = []
        self._lock = threading.Lock()
        self._released = threading.Event()  # lets held replies go when the server stops
        self._httpd = _QuietServer(("127.0.0.1", 0), self._handler_class())
        # A short poll interval makes stop() (and so each test's teardown) quick.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, args=(0.02,), name="replay-server", daemon=True
        )

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:43117."""
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._released.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def add(
        self,
        path: str,
        replies: Reply | Sequence[Reply],
        *,
        method: str = "GET",
        query: Mapping[str, str | Sequence[str]] | None = None,
    ) -> Route:
        """Program a route; query (if given) must equal the request's query, ignoring empty values."""
        seq = [replies] if isinstance(replies, Reply) else list(replies)
        if not seq:
            raise ValueError("a route needs at least one reply")
        q = None
        if query is not None:
            q = {k: [v] if isinstance(v, str) else list(v) for k, v in query.items()}
        route = Route(method.upper(), path, q, seq)
        with self._lock:
            self.routes.insert(0, route)
        return route

    def add_url(self, url: str, replies: Reply | Sequence[Reply], *, method: str = "GET") -> Route:
        """Program a route from a full recorded URL (its host is ignored, its query must match)."""
        parts = urlsplit(url)
        query = {k: v for k, v in _parse_query(parts.query).items()}
        return self.add(parts.path, replies, method=method, query=query)

    def load_arxiv_recording(self, path: Path) -> Route:
        """Serve an arXiv API recording: a JSON object {url, status_code, body}."""
        data = json.loads(path.read_text(encoding="utf-8"))
        reply = Reply(
            int(data["status_code"]),
            {"Content-Type": "application/atom+xml; charset=utf-8"},
            recorded_body_bytes(data["body"]),
        )
        return self.add_url(data["url"], reply)

    def load_nock(self, path: Path) -> list[Route]:
        """Serve a nock recording; consecutive exchanges for one request become one reply sequence."""
        exchanges = json.loads(path.read_text(encoding="utf-8"))
        grouped: dict[tuple[str, str], list[Reply]] = {}
        for ex in exchanges:
            raw = ex.get("rawHeaders") or []
            headers = {
                str(raw[i]): str(raw[i + 1])
                for i in range(0, len(raw) - 1, 2)
                # The server computes its own framing; recorded values would not fit the replayed body.
                if str(raw[i]).lower() not in {"content-length", "connection", "transfer-encoding"}
            }
            body = ex.get("response", "")
            payload = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode()
            key = (str(ex.get("method", "GET")).upper(), str(ex["path"]))
            grouped.setdefault(key, []).append(Reply(int(ex.get("status", 200)), headers, payload))
        return [self.add_url(p, replies, method=m) for (m, p), replies in grouped.items()]

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """Recorded requests for one path, in arrival order."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _dispatch(self, method: str, raw_path: str, headers: dict[str, str]) -> Reply | None:
        parts = urlsplit(raw_path)
        req = RecordedRequest(method, parts.path, _parse_query(parts.query), headers)
        with self._lock:
            self.requests.append(req)
            for route in self.routes:
                if route.matches(req.method, req.path, req.query):
                    return route.next_reply()
            self.unmatched.append(req)
        return None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                reply = server._dispatch(self.command, self.path, dict(self.headers.items()))
                if reply is None:
                    reply = Reply(404, {"Content-Type": "text/plain"}, f"no route for {self.path}".encode())
                if reply.hold:
                    server._released.wait()
                if reply.drop or reply.hold:
                    self.close_connection = True
                    return
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(reply.body)

            do_GET = do_POST = do_HEAD = _handle

            def log_message(self, format: str, *args: object) -> None:
                """Stay quiet: pytest shows the request log via server.requests when needed."""

        return Handler


@pytest.fixture
def replay_server() -> Iterator[ReplayServer]:
    """A started ReplayServer, stopped after the test."""
    server = ReplayServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


UA = "paperfeed-test/1.0 (mailto:test@example.org)"


def fast_client(**overrides: object) -> PoliteClient:
    """A PoliteClient for tests against the replay server: short timeout and backoff, test User-Agent."""
    values: dict[str, object] = {"user_agent": UA, "timeout_s": 2.0, "backoff_base_s": 0.01, **overrides}
    return PoliteClient(**values)  # type: ignore[arg-type]


class FakeClock:
    """A monotonic clock that moves only when the client sleeps on it; `sent` is when each request left.

    Spacing measured on it is the client's own arithmetic, exact and independent of the machine's load.
    """

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.slept: list[float] = []
        self.sent: list[float] = []
        self._lock = threading.Lock()

    def __call__(self) -> float:
        """The current fake time."""
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        """Record the wait and move the clock by it, without waiting."""
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds

    def gaps(self) -> list[float]:
        """Seconds between consecutive sends."""
        return [b - a for a, b in itertools.pairwise(self.sent)]


def clocked_client(clock: FakeClock, **overrides: object) -> PoliteClient:
    """A fast_client on a FakeClock that records in clock.sent when each request leaves it.

    httpx runs its request hooks after the polite wait, as the request goes out. One thread only: with
    several, another thread's sleep could move the clock between a slot and its hook.
    """
    client = fast_client(clock=clock, sleep=clock.sleep, **overrides)
    client._client.event_hooks["request"].append(lambda _request: clock.sent.append(clock()))
    return client
