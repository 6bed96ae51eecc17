"""GitHub stars: the refresh job (GET /repos/{owner}/{repo}) and the history "stars gained" is read from.

Stars gained in a window [start, end] for a repository = its newest snapshot at or before `end` minus its
baseline: the newest snapshot at or before `start`. A repository with no snapshot that old (first fetched
inside the window) uses its first snapshot in the window as the baseline, so it gains only what was seen
after paperfeed started watching it: stars it had collected over years before are never counted as
"gained this week". One snapshot, or none, means 0 gained. A drop (unstarring) counts as 0, never negative.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.db.models import CodeLinkRow, Paper
from paperfeed.ingest.http import HttpError, PoliteClient
from paperfeed.ranking.models import StarSnapshot
from paperfeed.timeutil import as_utc

__all__ = [
    "RateLimited",
    "RefreshReport",
    "refresh_stars",
    "repo_of",
    "stars_gained_by_repo",
]

log = logging.getLogger(__name__)

NOT_MODIFIED = "X-Paperfeed-Not-Modified"  # marks a 304 passed through the client (see _GitHubTransport)


# owner/name: letters, digits, '-', '_' and '.'; one regex call per URL (recompute maps every link each run).
_GITHUB_URL = re.compile(
    r"\s*https?://(?:www\.)?github\.com/([A-Za-z0-9_.-]{1,100})/([A-Za-z0-9_.-]{1,100}?)(?:\.git)?"
    r"(?:[/?#].*)?\s*",
    re.IGNORECASE,
)


def repo_of(url: str) -> str | None:
    """'owner/name' (lower-case: GitHub names are case-insensitive) of a github.com repository URL."""
    m = _GITHUB_URL.fullmatch(url)
    if m is None or m.group(1) in (".", "..") or m.group(2) in (".", ".."):
        return None
    return f"{m.group(1)}/{m.group(2)}".lower()


def stars_gained_by_repo(
    session: Session, *, start: datetime, end: datetime, repos: Sequence[str] | None = None
) -> dict[str, int]:
    """Stars each repository gained between `start` and `end` (see the module docstring for the rules)."""
    snap = StarSnapshot

    def stars_at(cutoff: datetime, newest: bool) -> Any:
        inner = select(snap.stars).where(snap.repo == outer.c.repo, snap.fetched_at <= cutoff)
        order = snap.fetched_at.desc() if newest else snap.fetched_at.asc()
        return inner.order_by(order, snap.id.desc()).limit(1).scalar_subquery()

    gained: dict[str, int] = {}
    groups: list[Sequence[str] | None] = [None]
    if repos is not None and len(repos) <= 5000:
        groups = [repos[i : i + 900] for i in range(0, len(repos), 900)]  # SQLite's parameter limit
    wanted = set(repos) if repos is not None else None
    for group in groups:
        base_q = select(snap.repo).where(snap.fetched_at <= end)
        if group is not None:
            base_q = base_q.where(snap.repo.in_(list(group)))
        outer = base_q.distinct().subquery()
        latest = stars_at(end, True)
        baseline = func.coalesce(stars_at(start, True), stars_at(end, False))
        for repo, new, old in session.execute(select(outer.c.repo, latest, baseline)):
            if wanted is None or repo in wanted:
                gained[repo] = max(int(new) - int(old), 0)
    return gained


class RateLimited(Exception):
    """GitHub's rate limit is spent until `reset_at` (None: unknown, a secondary limit)."""

    def __init__(self, message: str, reset_at: datetime | None = None) -> None:
        super().__init__(message)
        self.reset_at = reset_at


@dataclass
class RefreshReport:
    """What one stars refresh did."""

    fetched: int = 0  # 200: a new count
    not_modified: int = 0  # 304: unchanged since the last ETag (free on GitHub's rate limit)
    skipped: int = 0  # fetched recently (within stars_refresh_interval_h)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (repo, reason)
    rate_limited: str | None = None  # why the run stopped early, if it did
    remaining: int | None = None  # X-RateLimit-Remaining of the last response
    changed: list[tuple[str, int]] = field(default_factory=list)  # (repo, stars) written


class _GitHubTransport(httpx.BaseTransport):
    """Adds GitHub's headers, the token and the ETag of the last fetch to requests to the API host only."""

    def __init__(self, api_url: str, token: str, inner: httpx.BaseTransport | None = None) -> None:
        api = httpx.URL(api_url)
        self._origin = (api.scheme, api.host, api.port)
        self._token = token
        self._inner = inner or httpx.HTTPTransport()
        self.etags: dict[str, str] = {}  # URL path -> ETag to send as If-None-Match

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send the request; the token never leaves for another host (a redirect elsewhere)."""
        if (request.url.scheme, request.url.host, request.url.port) == self._origin:
            request.headers["Accept"] = "application/vnd.github+json"
            request.headers["X-GitHub-Api-Version"] = "2022-11-28"
            if self._token:
                request.headers["Authorization"] = f"Bearer {self._token}"
            etag = self.etags.get(request.url.path)
            if etag:
                request.headers["If-None-Match"] = etag
        else:
            request.headers.pop("Authorization", None)
        response = self._inner.handle_request(request)
        if response.status_code == 304:
            # PoliteClient takes every 3xx for a redirect and wants a Location; hand it a marked 200.
            response.close()
            headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
            return httpx.Response(200, headers=[*headers, (NOT_MODIFIED, "1")], content=b"", request=request)
        return response

    def close(self) -> None:
        """Close the wrapped transport."""
        self._inner.close()


def _reset_at(headers: httpx.Headers) -> datetime | None:
    raw = headers.get("X-RateLimit-Reset", "").strip()
    if not raw.isdigit():
        return None
    value = int(raw)
    if value > 10**11:  # milliseconds (seen in recorded fixtures); GitHub documents epoch seconds
        value //= 1000
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _remaining(headers: httpx.Headers) -> int | None:
    raw = headers.get("X-RateLimit-Remaining", "").strip()
    return int(raw) if raw.isdigit() else None


@dataclass
class _Due:
    repo: str
    urls: list[str]
    last_stars: int | None
    etag: str | None


def _due_repos(
    session: Session, *, now: datetime, interval: timedelta, popular_first: bool = False
) -> tuple[list[_Due], int]:
    """Repositories to fetch, never-fetched first then the stalest; and how many are fresh enough.

    popular_first: the newest papers' repositories first, most-voted first within a day (the worker's
    order: a run the rate limit cuts short has fetched what trending shows).
    """
    urls: dict[str, list[str]] = {}
    rank: dict[str, tuple[date, int]] = {}
    query = (
        select(CodeLinkRow.url, Paper.listing_date, Paper.published, Paper.upvotes + Paper.vote_count)
        .join(Paper, Paper.id == CodeLinkRow.paper_id)
        .where(CodeLinkRow.kind == "github")
    )
    for url, listed, published, votes in session.execute(query):
        repo = repo_of(url)
        if repo is None:
            continue
        if url not in urls.setdefault(repo, []):
            urls[repo].append(url)
        day = listed or (as_utc(published).date() if published else date.min)
        rank[repo] = max(rank.get(repo, (date.min, 0)), (day, int(votes or 0)))
    last = (
        select(StarSnapshot.repo, func.max(StarSnapshot.id).label("sid"))
        .group_by(StarSnapshot.repo)
        .subquery()
    )
    latest: dict[str, tuple[datetime, int, str | None]] = {
        repo: (as_utc(at), stars, etag)
        for repo, at, stars, etag in session.execute(
            select(StarSnapshot.repo, StarSnapshot.fetched_at, StarSnapshot.stars, StarSnapshot.etag).join(
                last, last.c.sid == StarSnapshot.id
            )
        )
    }
    due: list[tuple[datetime, _Due]] = []
    fresh = 0
    never = datetime.min.replace(tzinfo=UTC)
    for repo, repo_urls in sorted(urls.items()):
        seen = latest.get(repo)
        if seen is not None and now - seen[0] < interval:
            fresh += 1
            continue
        at = seen[0] if seen else never
        due.append((at, _Due(repo, repo_urls, seen[1] if seen else None, seen[2] if seen else None)))
    due.sort(key=lambda item: item[0])
    if popular_first:
        never_first = {d.repo for at, d in due if at == never}
        # Stable sorts: within one (day, votes) the never-fetched, then the stalest, come first.
        due.sort(key=lambda item: item[1].repo not in never_first)
        due.sort(key=lambda item: rank[item[1].repo], reverse=True)
    return [d for _, d in due], fresh


def _record(
    session_factory: sessionmaker[Session], due: _Due, stars: int, etag: str | None, at: datetime
) -> None:
    """One snapshot row and the papers' code_links.stars, in one transaction."""
    with session_factory() as session, session.begin():
        session.add(StarSnapshot(repo=due.repo, stars=stars, fetched_at=at, etag=etag))
        session.execute(
            update(CodeLinkRow)
            .where(CodeLinkRow.kind == "github", CodeLinkRow.url.in_(due.urls))
            .values(stars=stars)
        )


def refresh_stars(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    limit: int | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] | None = None,
    transport: httpx.BaseTransport | None = None,
    on_repo: Callable[[str, str], None] | None = None,
    popular_first: bool = False,
) -> RefreshReport:
    """Fetch the stargazer count of every GitHub repository linked by a paper that is due for a refresh.

    Serial and paced (github_min_interval_s). Stops early, with the reason in the report, when the rate
    limit is spent (X-RateLimit-Remaining: 0) until a reset further away than http_max_retry_after_s, or on
    a secondary limit without Retry-After; a shorter wait is slept. A later run resumes with the stalest.
    """
    import time as _time

    do_sleep = sleep or _time.sleep
    report = RefreshReport()
    with session_factory() as session:
        due, report.skipped = _due_repos(
            session,
            now=as_utc(now()),
            interval=timedelta(hours=settings.stars_refresh_interval_h),
            popular_first=popular_first,
        )
    if limit is not None:
        due = due[: max(limit, 0)]
    github = _GitHubTransport(settings.github_api_url, settings.github_token, transport)
    api = settings.github_api_url.rstrip("/")
    host = httpx.URL(api).host
    client = PoliteClient.from_settings(
        settings,
        transport=github,
        min_interval_s=settings.github_min_interval_s,
        host_intervals={host: settings.github_min_interval_s},
        sleep=do_sleep,
    )
    with client:
        for item in _iter_with_retry(due, report, client, github, api, now, do_sleep, settings):
            due_item, response = item
            if response is None:
                continue
            status = _apply(session_factory, due_item, response, report, now)
            if on_repo is not None:
                on_repo(due_item.repo, status)
    return report


def _iter_with_retry(
    due: list[_Due],
    report: RefreshReport,
    client: PoliteClient,
    github: _GitHubTransport,
    api: str,
    now: Callable[[], datetime],
    sleep: Callable[[float], None],
    settings: Settings,
) -> Iterator[tuple[_Due, httpx.Response | None]]:
    """GET each repository; waits out short rate limits, stops on long ones (report.rate_limited)."""
    for item in due:
        path = f"/repos/{item.repo}"
        url = f"{api}{path}"
        github.etags.clear()
        if item.etag and item.last_stars is not None:
            github.etags[httpx.URL(url).path] = item.etag
        for _attempt in range(3):
            try:
                response = client.get(url)
            except HttpError as exc:
                wait = _limit_wait(exc, now(), settings)
                if wait is None:
                    report.failed.append((item.repo, exc.reason))
                    yield item, None
                    break
                if isinstance(wait, str):
                    report.rate_limited = wait
                    return
                log.warning("GitHub rate limit: waiting %.0f s", wait)
                sleep(wait)
                continue
            report.remaining = _remaining(response.headers)
            yield item, response
            if report.remaining == 0:
                reset = _reset_at(response.headers)
                wait_s = (reset - as_utc(now())).total_seconds() if reset else None
                if wait_s is not None and wait_s > settings.http_max_retry_after_s:
                    report.rate_limited = f"rate limit spent until {reset:%Y-%m-%d %H:%M:%S} UTC"
                    return
                if wait_s is not None and wait_s > 0:
                    sleep(wait_s)
            break
        else:
            report.failed.append((item.repo, "still rate limited after 3 waits"))


def _limit_wait(exc: HttpError, now: datetime, settings: Settings) -> float | str | None:
    """Seconds to wait before retrying, a reason to stop the run, or None (an ordinary failure)."""
    response = exc.response
    if response is None or exc.status not in (403, 429):
        return None
    headers = response.headers
    retry_after = headers.get("Retry-After", "").strip()
    if retry_after.isdigit():  # secondary limit: GitHub says how long
        wait = float(retry_after)
        if wait > settings.http_max_retry_after_s:
            return f"secondary rate limit: Retry-After {retry_after} s"
        return wait
    if _remaining(headers) == 0:  # primary limit spent
        reset = _reset_at(headers)
        if reset is None:
            return "rate limit spent (no X-RateLimit-Reset)"
        wait = max((reset - now).total_seconds(), 0.0) + 1.0
        if wait > settings.http_max_retry_after_s:
            return f"rate limit spent until {reset:%Y-%m-%d %H:%M:%S} UTC"
        return wait
    if exc.status == 429 or b"secondary rate limit" in response.content.lower():
        # No header to go by: GitHub asks for at least a minute; leave it to the next run.
        return "secondary rate limit (no Retry-After)"
    return None  # a 403 for another reason (a private or blocked repository)


def _apply(
    session_factory: sessionmaker[Session],
    due: _Due,
    response: httpx.Response,
    report: RefreshReport,
    now: Callable[[], datetime],
) -> str:
    """Store what one response says; the status word for progress output."""
    at = as_utc(now())
    if (response.status_code == 304 or response.headers.get(NOT_MODIFIED)) and due.last_stars is not None:
        # Unchanged: still a data point ("no stars gained since"), at no rate-limit cost.
        _record(session_factory, due, due.last_stars, due.etag, at)
        report.not_modified += 1
        return "not modified"
    try:
        payload = response.json()
        stars = payload["stargazers_count"]
    except (ValueError, KeyError, TypeError):
        report.failed.append((due.repo, f"HTTP {response.status_code}: no stargazers_count in the response"))
        return "failed"
    if isinstance(stars, bool) or not isinstance(stars, int) or stars < 0:
        report.failed.append((due.repo, f"invalid stargazers_count {stars!r}"))
        return "failed"
    _record(session_factory, due, stars, response.headers.get("ETag"), at)
    report.fetched += 1
    report.changed.append((due.repo, stars))
    return f"{stars} stars"
