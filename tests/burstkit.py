"""Concurrent bursts against a real uvicorn: N browsers, each its own cookies, released at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import httpx

from accountkit import CSRF_FIELD, PASSWORD
from browserkit import free_port, served_app
from paperfeed.app import create_app
from paperfeed.config import Settings
from paperfeed.db.engine import make_engine
from paperfeed.db.migrate import upgrade

T = TypeVar("T")


def burst(n: int, request: Callable[[int], T]) -> list[T]:
    """Run request(0..n-1) in n threads that start together; their results in index order."""
    barrier = threading.Barrier(n)
    results: list[T | None] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        barrier.wait()
        try:
            results[i] = request(i)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return [r for r in results if r is not None]


@contextmanager
def served(settings: Settings) -> Iterator[str]:
    """The app on a migrated database, served by uvicorn on loopback; yields its base URL."""
    # A burst on SQLite queues every writer behind one lock; on a loaded machine the last of 27 can wait
    # longer than the 5 s default and get a 503. These tests count what a limit lets through, not how long a
    # lock is waited for, so the wait is made long enough never to decide the outcome.
    settings = settings.model_copy(update={"sqlite_busy_timeout_ms": 120_000})
    engine = make_engine(settings)
    upgrade(engine)
    engine.dispose()
    with served_app(create_app(settings), free_port()) as url:
        yield url


class Browser:
    """One browser: its own cookie jar and the CSRF token its forms carry."""

    def __init__(self, url: str, page: str = "/login") -> None:
        # No keep-alive: uvicorn closes an idle connection after 5 s, and on a loaded machine the burst can
        # start later than that after this browser's first page, then meet a connection being closed.
        self.http = httpx.Client(base_url=url, timeout=60, limits=httpx.Limits(max_keepalive_connections=0))
        self.csrf = self.csrf_of(self.http.get(page).text)

    @staticmethod
    def csrf_of(html: str) -> str:
        """The CSRF token of the first form in a page."""
        match = CSRF_FIELD.search(html)
        assert match, "no CSRF field on the page"
        return match.group(1)

    def post(self, path: str, data: dict[str, str]) -> httpx.Response:
        """A form POST with this browser's CSRF token."""
        return self.http.post(path, data={"csrf_token": self.csrf, **data})

    def login(self, email: str = "ada@example.org", password: str = PASSWORD) -> httpx.Response:
        """Log in through the form (a 303 on success)."""
        return self.post("/login", {"email": email, "password": password, "next": "/"})

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()
