"""GitHub stars refresh against a local server replaying a recorded GitHub exchange (and derived variants)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.db.models import CodeLinkRow, Paper, Submission
from paperfeed.ranking import service
from paperfeed.ranking.models import StarSnapshot
from paperfeed.ranking.stars import refresh_stars, stars_gained_by_repo
from replay import ReplayServer, Reply

DATA = Path(__file__).parent / "data" / "github"
REPO_PATH = "/repos/octokit-fixture-org/hello-world"
T0 = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
FRAMING = {"content-length", "connection", "transfer-encoding"}


def recorded() -> tuple[dict[str, str], dict[str, Any]]:
    """Headers and JSON body of the recorded GET /repos/{owner}/{repo}."""
    exchange = json.loads((DATA / "get-repository.json").read_text(encoding="utf-8"))[0]
    headers = {k: str(v) for k, v in exchange["headers"].items() if k.lower() not in FRAMING}
    return headers, exchange["response"]


def reply_with(stars: int | None = None, **extra: str) -> Reply:
    """The recorded reply, optionally with another stargazers_count and extra/overridden headers."""
    headers, body = recorded()
    if stars is not None:
        body = {**body, "stargazers_count": stars}
    return Reply(200, {**headers, **extra}, json.dumps(body).encode())


class Clock:
    """A settable wall clock and a sleep that records instead of waiting (time is ours to inject)."""

    def __init__(self, start: datetime) -> None:
        self.at = start
        self.slept: list[float] = []

    def now(self) -> datetime:
        return self.at

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


def gh_settings(db_settings: Settings, server: ReplayServer, **extra: object) -> Settings:
    values: dict[str, object] = {
        "github_api_url": server.url,
        "github_token": "test-token-1",
        "github_min_interval_s": 0.0,
        "http_backoff_base_s": 0.01,
        "http_timeout_s": 5.0,
        "stars_refresh_interval_h": 24.0,
        **extra,
    }
    return db_settings.model_copy(update=values)


def add_paper(factory: sessionmaker[Session], key: str, *urls: str) -> int:
    with factory() as s, s.begin():
        paper = Paper(
            key=key,
            arxiv_id=key,
            version=1,
            title=f"Paper {key}",
            abstract="A.",
            source="test",
            content_hash="h",
            listing_date=T0.date(),
            created_at=T0,
            updated_at=T0,
        )
        s.add(paper)
        s.flush()
        s.add(Submission(paper_id=paper.id, day=T0.date(), submitted_at=T0, source="test"))
        for url in urls:
            s.add(CodeLinkRow(paper_id=paper.id, url=url, kind="github", origin="abstract"))
        return paper.id


def snapshots(factory: sessionmaker[Session]) -> list[tuple[str, int, str | None]]:
    with factory() as s:
        rows = s.execute(
            select(StarSnapshot.repo, StarSnapshot.stars, StarSnapshot.etag).order_by(StarSnapshot.id)
        )
        return [tuple(r) for r in rows]  # type: ignore[misc]


def link_stars(factory: sessionmaker[Session]) -> dict[str, int | None]:
    with factory() as s:
        return {url: stars for url, stars in s.execute(select(CodeLinkRow.url, CodeLinkRow.stars))}


@pytest.fixture
def hello(session_factory: sessionmaker[Session]) -> int:
    return add_paper(session_factory, "2607.00001", "https://github.com/octokit-fixture-org/hello-world")


def run(factory: sessionmaker[Session], settings: Settings, clock: Clock, **kw: Any) -> Any:
    return refresh_stars(factory, settings=settings, now=clock.now, sleep=clock.sleep, **kw)


def test_recorded_response_is_stored_with_token_and_headers(
    replay_server: ReplayServer, session_factory: sessionmaker[Session], db_settings: Settings, hello: int
) -> None:
    replay_server.add(REPO_PATH, reply_with())
    settings = gh_settings(db_settings, replay_server)
    clock = Clock(T0)
    report = run(session_factory, settings, clock)
    assert (report.fetched, report.failed, report.rate_limited) == (1, [], None)
    assert report.remaining == 4999
    assert snapshots(session_factory) == [
        ("octokit-fixture-org/hello-world", 42, '"00000000000000000000000000000000"')
    ]
    assert link_stars(session_factory) == {"https://github.com/octokit-fixture-org/hello-world": 42}
    (req,) = replay_server.requests_to(REPO_PATH)
    assert req.headers["Authorization"] == "Bearer test-token-1"
    assert req.headers["Accept"] == "application/vnd.github+json"
    assert "mailto:" in req.headers["User-Agent"]
    assert "If-None-Match" not in req.headers
    # Fetched an hour ago: not due yet, no request.
    clock.at += timedelta(hours=1)
    again = run(session_factory, settings, clock)
    assert (again.fetched, again.skipped) == (0, 1)
    assert len(replay_server.requests_to(REPO_PATH)) == 1


def test_no_token_no_authorization_header(
    replay_server: ReplayServer, session_factory: sessionmaker[Session], db_settings: Settings, hello: int
) -> None:
    replay_server.add(REPO_PATH, reply_with())
    run(session_factory, gh_settings(db_settings, replay_server, github_token=""), Clock(T0))
    (req,) = replay_server.requests_to(REPO_PATH)
    assert "Authorization" not in req.headers


def test_conditional_request_and_304(
    replay_server: ReplayServer, session_factory: sessionmaker[Session], db_settings: Settings, hello: int
) -> None:
    headers, _ = recorded()
    replay_server.add(
        REPO_PATH, [reply_with(), Reply(304, {"ETag": headers["etag"], "X-RateLimit-Remaining": "4998"})]
    )
    settings = gh_settings(db_settings, replay_server)
    clock = Clock(T0)
    run(session_factory, settings, clock)
    clock.at += timedelta(days=1)
    report = run(session_factory, settings, clock)
    assert (report.fetched, report.not_modified) == (0, 1)
    second = replay_server.requests_to(REPO_PATH)[1]
    assert second.headers["If-None-Match"] == headers["etag"]
    # The 304 is a data point with the same count: nothing gained between the two fetches.
    assert [s[1] for s in snapshots(session_factory)] == [42, 42]
    with session_factory() as s:
        assert stars_gained_by_repo(s, start=T0 - timedelta(hours=1), end=clock.at) == {
            "octokit-fixture-org/hello-world": 0
        }


def test_primary_rate_limit_403_stops_the_run_until_reset(
    replay_server: ReplayServer, session_factory: sessionmaker[Session], db_settings: Settings, hello: int
) -> None:
    add_paper(session_factory, "2607.00002", "https://github.com/other/repo")
    reset = int((T0 + timedelta(hours=1)).timestamp())
    limited = Reply(
        403,
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset), "Content-Type": "application/json"},
        b'{"message": "API rate limit exceeded for 127.0.0.1."}',
    )
    replay_server.add(REPO_PATH, limited)
    replay_server.add("/repos/other/repo", limited)
    clock = Clock(T0)
    report = run(session_factory, gh_settings(db_settings, replay_server), clock)
    assert report.rate_limited is not None and "rate limit spent until" in report.rate_limited
    assert report.fetched == 0 and snapshots(session_factory) == []
    # One request, then it stopped: the second repository was not asked for.
    assert len(replay_server.requests) == 1
    assert not any(s > 60 for s in clock.slept)


def test_short_rate_limit_is_waited_out(
    replay_server: ReplayServer, session_factory: sessionmaker[Session], db_settings: Settings, hello: int
) -> None:
    reset = int((T0 + timedelta(seconds=30)).timestamp())
    replay_server.add(
        REPO_PATH,
        [Reply(403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)}, b"{}"), reply_with(43)],
    )
    clock = Clock(T0)
    report = run(session_factory, gh_settings(db_settings, replay_server), clock)
    assert report.fetched == 1 and report.rate_limited is None
    assert 30 <= max(clock.slept) <= 32
    assert [s[1] for s in snapshots(session_factory)] == [43]


def test_secondary_limit_with_retry_after(
    replay_server: ReplayServer, session_factory: sessionmaker[Session], db_settings: Settings, hello: int
) -> None:
    secondary = Reply(403, {"Retry-After": "7"}, b'{"message": "You have exceeded a secondary rate limit."}')
    replay_server.add(REPO_PATH, [secondary, reply_with(44)])
    clock = Clock(T0)
    report = run(session_factory, gh_settings(db_settings, replay_server), clock)
    assert report.fetched == 1 and 7.0 in clock.slept


def test_secondary_limit_without_retry_after_stops(
    replay_server: ReplayServer, session_factory: sessionmaker[Session], db_settings: Settings, hello: int
) -> None:
    replay_server.add(REPO_PATH, Reply(403, {}, b'{"message": "You have exceeded a secondary rate limit."}'))
    report = run(session_factory, gh_settings(db_settings, replay_server), Clock(T0))
    assert report.rate_limited == "secondary rate limit (no Retry-After)"
    assert snapshots(session_factory) == []


def test_remaining_zero_on_a_success_pauses_before_the_next(
    replay_server: ReplayServer, session_factory: sessionmaker[Session], db_settings: Settings, hello: int
) -> None:
    add_paper(session_factory, "2607.00002", "https://github.com/zzz/last")
    far = str(int((T0 + timedelta(hours=2)).timestamp()))
    replay_server.add(REPO_PATH, reply_with(45, **{"x-ratelimit-remaining": "0", "x-ratelimit-reset": far}))
    replay_server.add("/repos/zzz/last", reply_with(1))
    report = run(session_factory, gh_settings(db_settings, replay_server), Clock(T0))
    assert report.fetched == 1 and report.rate_limited is not None
    assert replay_server.requests_to("/repos/zzz/last") == []


def test_missing_repository_and_bad_body_fail_alone(
    replay_server: ReplayServer, session_factory: sessionmaker[Session], db_settings: Settings, hello: int
) -> None:
    add_paper(session_factory, "2607.00002", "https://github.com/gone/away")
    add_paper(session_factory, "2607.00003", "https://github.com/bad/body")
    replay_server.add("/repos/gone/away", Reply(404, {}, b'{"message": "Not Found"}'))
    replay_server.add("/repos/bad/body", Reply(200, {}, b'{"stargazers_count": "many"}'))
    replay_server.add(REPO_PATH, reply_with())
    report = run(session_factory, gh_settings(db_settings, replay_server), Clock(T0))
    assert report.fetched == 1
    assert sorted(repo for repo, _ in report.failed) == ["bad/body", "gone/away"]
    assert [s[0] for s in snapshots(session_factory)] == ["octokit-fixture-org/hello-world"]


def test_history_makes_stars_gained_real(
    replay_server: ReplayServer, session_factory: sessionmaker[Session], db_settings: Settings, hello: int
) -> None:
    """Daily refreshes for ten days build a history; the week window counts only its own gain."""
    counts = [100, 100, 110, 130, 130, 160, 200, 260, 300, 380, 500]
    replay_server.add(REPO_PATH, [reply_with(n) for n in counts])
    settings = gh_settings(db_settings, replay_server)
    clock = Clock(T0 - timedelta(days=len(counts) - 1))
    for _ in counts:
        run(session_factory, settings, clock)
        clock.at += timedelta(days=1)
    assert [s[1] for s in snapshots(session_factory)] == counts
    with session_factory() as s:
        week = stars_gained_by_repo(s, start=T0 - timedelta(days=7), end=T0)
        day = stars_gained_by_repo(s, start=T0 - timedelta(days=1), end=T0)
        scores = service.compute_window(s, settings=settings, window="week", now=T0)
    # The snapshot at the window start (7 days before) held 130: 500 - 130.
    assert week == {"octokit-fixture-org/hello-world": 370}
    assert day == {"octokit-fixture-org/hello-world": 120}
    assert scores.stars_gained.tolist() == [370]
    assert scores.stars[0] > 0


def test_limit_takes_the_stalest_first(
    replay_server: ReplayServer, session_factory: sessionmaker[Session], db_settings: Settings, hello: int
) -> None:
    add_paper(session_factory, "2607.00002", "https://github.com/aaa/first")
    replay_server.add(REPO_PATH, reply_with(1))
    replay_server.add("/repos/aaa/first", reply_with(2))
    settings = gh_settings(db_settings, replay_server, stars_refresh_interval_h=0)
    clock = Clock(T0)
    seen: list[str] = []
    on: Callable[[str, str], None] = lambda repo, _status: seen.append(repo)  # noqa: E731
    run(session_factory, settings, clock, limit=1, on_repo=on)
    clock.at += timedelta(minutes=1)
    run(session_factory, settings, clock, limit=1, on_repo=on)
    clock.at += timedelta(minutes=1)
    run(session_factory, settings, clock, limit=1, on_repo=on)
    # Never-fetched first (alphabetical among them), then the one fetched longest ago.
    assert seen == ["aaa/first", "octokit-fixture-org/hello-world", "aaa/first"]


def test_cli_stars_then_rank(
    replay_server: ReplayServer, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`paperfeed stars` fetches through the replay server, `paperfeed rank` stores and prints the scores."""
    from typer.testing import CliRunner

    from paperfeed.cli import app
    from paperfeed.db.engine import make_engine, make_sessionmaker
    from paperfeed.db.migrate import upgrade

    engine = make_engine(settings)
    upgrade(engine)
    factory = make_sessionmaker(engine)
    add_paper(factory, "2607.00001", "https://github.com/octokit-fixture-org/hello-world")
    replay_server.add(REPO_PATH, reply_with())
    monkeypatch.setenv("PAPERFEED_GITHUB_API_URL", replay_server.url)
    monkeypatch.setenv("PAPERFEED_GITHUB_MIN_INTERVAL_S", "0")
    db = settings.database_url.removeprefix("sqlite:///")
    runner = CliRunner()
    result = runner.invoke(app, ["stars", "--db", db])
    assert result.exit_code == 0, result.output
    assert "octokit-fixture-org/hello-world: 42 stars" in result.output
    assert snapshots(factory)[0][1] == 42
    ranked = runner.invoke(app, ["rank", "--db", db, "--window", "day", "--top", "3"])
    assert ranked.exit_code == 0, ranked.output
    assert "stored 0 trending scores" in ranked.output  # one snapshot: nothing gained, no votes
    assert "2607.00001" in ranked.output
    bad = runner.invoke(app, ["rank", "--db", db, "--window", "year"])
    assert bad.exit_code == 2 and "expected one of day, week, month" in bad.output
    engine.dispose()
