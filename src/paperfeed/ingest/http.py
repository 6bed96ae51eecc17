"""A polite HTTP client: User-Agent, per-host interval, Retry-After, backoff with jitter."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, Self

import httpx

from paperfeed.config import Settings

__all__ = [
    "MAX_BACKOFF_S",
    "RETRY_STATUSES",
    "HttpError",
    "PoliteClient",
    "backoff_delay",
    "parse_retry_after",
]

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 120.0
MAX_REDIRECTS = 5
# Transient server states worth another try; other 4xx are the caller's fault and never retried.
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

QueryParams = Mapping[str, str | int | float | None]


class HttpError(Exception):
    """A request that failed for good; names the URL, the last status and why."""

    def __init__(
        self,
        url: str,
        reason: str,
        *,
        status: int | None = None,
        attempts: int = 1,
        response: httpx.Response | None = None,
    ) -> None:
        status_text = f"last status {status}" if status is not None else "no response"
        super().__init__(f"GET {url} failed after {attempts} attempt(s) ({status_text}): {reason}")
        self.url = url
        self.reason = reason
        self.status = status
        self.attempts = attempts
        # Kept so a caller can read an error document the server sent (arXiv explains a 400 in Atom).
        self.response = response


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date); None if absent or invalid."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        # RFC 9110 says integer seconds; fractions are accepted because being lenient costs nothing.
        seconds = float(text)
    except ValueError:
        pass
    else:
        return max(0.0, seconds) if seconds == seconds else None  # NaN check
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - now).total_seconds())


def backoff_delay(
    attempt: int, base_s: float, *, cap_s: float = MAX_BACKOFF_S, rand: Callable[[], float] = random.random
) -> float:
    """Exponential backoff with 'equal jitter': half the doubled delay is fixed, half random; capped."""
    full = min(cap_s, base_s * (2.0**attempt))
    # Keeping half fixed guarantees a real pause; the random half spreads out clients retrying together.
    return full / 2 + rand() * full / 2


class PoliteClient:
    """One httpx.Client that waits min_interval_s between requests to a host and retries transient errors."""

    def __init__(
        self,
        *,
        user_agent: str,
        timeout_s: float = 30.0,
        min_interval_s: float = 3.0,
        host_intervals: Mapping[str, float] | None = None,
        max_retries: int = 5,
        backoff_base_s: float = 2.0,
        max_backoff_s: float = MAX_BACKOFF_S,
        max_retry_after_s: float = 600.0,
        max_response_bytes: int = 100 * 2**20,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] | None = None,
        rand: Callable[[], float] = random.random,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        """Build the client; host_intervals overrides min_interval_s for named hosts."""
        if not user_agent.strip():
            raise ValueError("user_agent must not be empty: sites like arXiv ask for a contact address")
        self.user_agent = user_agent
        self.min_interval_s = min_interval_s
        self.host_intervals = dict(host_intervals or {})
        self.max_retries = max_retries
        self.backoff_base_s = backoff_base_s
        self.max_backoff_s = max_backoff_s
        self.max_retry_after_s = max_retry_after_s
        self.max_response_bytes = max_response_bytes
        self._sleep = sleep
        self._clock = clock
        self._wall_clock = wall_clock or (lambda: datetime.now(UTC))
        self._rand = rand
        self._last_request: dict[str, float] = {}
        # A lock per host: two threads sharing the client must not both take the same slot, but waiting
        # for arXiv must not hold up a request to another host.
        self._host_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._client = httpx.Client(
            headers={"User-Agent": user_agent},
            timeout=timeout_s,
            # Redirects are followed by get() itself, so every hop waits for its host's slot too.
            follow_redirects=False,
            transport=transport,
        )

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> PoliteClient:
        """A client configured from Settings (the arXiv interval applies to every host it talks to)."""
        values: dict[str, Any] = {
            "user_agent": settings.user_agent,
            "timeout_s": settings.http_timeout_s,
            "min_interval_s": settings.arxiv_min_interval_s,
            "max_retries": settings.http_max_retries,
            "backoff_base_s": settings.http_backoff_base_s,
            "max_retry_after_s": settings.http_max_retry_after_s,
            "max_response_bytes": settings.http_max_response_mb * 2**20,
        }
        values.update(overrides)
        return cls(**values)

    def interval_for(self, host: str) -> float:
        """The minimum seconds between two requests to host."""
        return self.host_intervals.get(host, self.min_interval_s)

    def _wait_for_slot(self, host: str) -> None:
        """Sleep until host may be asked again, then book the slot (start-to-start spacing)."""
        interval = self.interval_for(host)
        with self._locks_guard:
            lock = self._host_locks.setdefault(host, threading.Lock())
        with lock:
            last = self._last_request.get(host)
            if last is not None:
                remaining = last + interval - self._clock()
                if remaining > 0:
                    self._sleep(remaining)
            self._last_request[host] = self._clock()

    def get(self, url: str, params: QueryParams | None = None) -> httpx.Response:
        """GET url politely; return the 2xx/3xx response or raise HttpError once retries are spent."""
        clean = {k: str(v) for k, v in (params or {}).items() if v is not None}
        # params={} would wipe a query string already in `url` (httpx replaces it): pass None then.
        request = self._client.build_request("GET", url, params=clean or None)
        full_url = str(request.url)
        host = request.url.host
        attempts = self.max_retries + 1
        attempt = 0
        redirects = 0
        while attempt < attempts:
            self._wait_for_slot(host)
            try:
                response = self._client.send(request, stream=True)
                try:
                    self._read_capped(response, full_url)
                finally:
                    response.close()
            except httpx.TransportError as exc:
                reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if attempt + 1 >= attempts:
                    raise HttpError(full_url, reason, attempts=attempt + 1) from exc
                delay = backoff_delay(attempt, self.backoff_base_s, cap_s=self.max_backoff_s, rand=self._rand)
                log.warning("GET %s: %s; retry %d in %.2f s", full_url, reason, attempt + 1, delay)
                self._sleep(delay)
                attempt += 1
                continue

            status = response.status_code
            if response.has_redirect_location:  # not 304 Not Modified, which has no Location
                redirects += 1
                if redirects > MAX_REDIRECTS:
                    raise HttpError(full_url, f"more than {MAX_REDIRECTS} redirects", status=status)
                request = self._client.build_request("GET", request.url.join(response.headers["Location"]))
                full_url = str(request.url)
                host = request.url.host
                continue
            if status < 400:
                return response
            if status not in RETRY_STATUSES:
                raise HttpError(
                    full_url, _describe(response), status=status, attempts=attempt + 1, response=response
                )
            if attempt + 1 >= attempts:
                raise HttpError(
                    full_url,
                    f"gave up after {attempts} attempts: {_describe(response)}",
                    status=status,
                    attempts=attempt + 1,
                    response=response,
                )
            delay = self._retry_delay(full_url, response, attempt)
            log.warning("GET %s: HTTP %d; retry %d in %.2f s", full_url, status, attempt + 1, delay)
            self._sleep(delay)
            attempt += 1
        raise AssertionError("unreachable: the loop returns or raises")  # pragma: no cover

    def _read_capped(self, response: httpx.Response, url: str) -> None:
        """Read the body, refusing one larger than max_response_bytes (a runaway or hostile server)."""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            raise HttpError(url, f"response of {declared} bytes exceeds {self.max_response_bytes}")
        chunks: list[bytes] = []
        size = 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > self.max_response_bytes:
                raise HttpError(url, f"response exceeds {self.max_response_bytes} bytes")
            chunks.append(chunk)
        # What Response.read() does, with the bound applied on the way.
        response._content = b"".join(chunks)

    def _retry_delay(self, url: str, response: httpx.Response, attempt: int) -> float:
        """Retry-After when the server gave one (and it is within our limit), else backoff with jitter."""
        header = response.headers.get("Retry-After")
        wait = parse_retry_after(header, self._wall_clock())
        if wait is None:
            return backoff_delay(attempt, self.backoff_base_s, cap_s=self.max_backoff_s, rand=self._rand)
        if wait > self.max_retry_after_s:
            # Waiting longer than configured would stall the whole harvest; fail and let a later run resume.
            raise HttpError(
                url,
                f"server asks to retry after {wait:.0f} s (Retry-After: {header}), "
                f"more than the configured maximum of {self.max_retry_after_s:.0f} s",
                status=response.status_code,
                attempts=attempt + 1,
                response=response,
            )
        return wait

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._client.close()

    def __enter__(self) -> Self:
        """Use as a context manager: the pool is closed on exit."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the client."""
        self.close()


def _describe(response: httpx.Response) -> str:
    """'HTTP 404 Not Found' plus the start of the body, for error messages."""
    snippet = " ".join(response.text[:200].split())
    text = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
    return f"{text}: {snippet}" if snippet else text
