"""Rate limits stored in the database, so every web process and node shares the same counters.

Fixed windows: one row per (key, window start) holding a count, incremented with an atomic upsert
(INSERT ... ON CONFLICT DO UPDATE ... RETURNING, on SQLite and PostgreSQL alike). A request spends its hits
before the work they guard (spend(): count first, refuse when the count is over, commit, then work), so a
burst of concurrent requests cannot all pass a check made before any of them counted. A fixed window lets a
client spend up to twice the limit around a window boundary; for login guessing at 5 per 15 minutes that
is still 10, and the answer's Retry-After is exact, which a sliding estimate would not give.

How login limits avoid locking out the real owner (see docs/accounts.md):
- failures are counted per IP address, and per account *and* IP address: an attacker's address is blocked
  after a few wrong passwords on an account while the owner, from their own address, still logs in;
- a successful login resets that account's counter for that address (never the address's own counter,
  or an attacker with one valid account could wipe it between guesses);
- a much higher per-account limit across all addresses only slows a distributed guesser down.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Table, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.accounts.models import RateLimitCounter
from paperfeed.config import Settings
from paperfeed.errors import TooManyRequests

COUNTERS: Table = RateLimitCounter.__table__  # type: ignore[assignment]


@dataclass(frozen=True)
class Limit:
    """At most `limit` hits on `key` per `window_s` seconds."""

    key: str
    limit: int
    window_s: int


class RateLimited(TooManyRequests):
    """A limit was reached; retry after `retry_after` seconds (a UserError: 429 with Retry-After)."""

    def __init__(self, retry_after: int) -> None:
        minutes = max(1, math.ceil(retry_after / 60))
        super().__init__(
            f"too many attempts; try again in {minutes} minute{'s' if minutes != 1 else ''}",
            retry_after=retry_after,
        )


def _window(now: float, window_s: int) -> int:
    return int(now // window_s) * window_s


def count(db: Session, limit: Limit, *, now: float | None = None) -> int:
    """Hits on the key in the current window."""
    now = time.time() if now is None else now
    stmt = select(COUNTERS.c.count).where(
        COUNTERS.c.key == limit.key, COUNTERS.c.window_start == _window(now, limit.window_s)
    )
    return int(db.scalar(stmt) or 0)


def retry_after(limit: Limit, now: float) -> int:
    """Whole seconds until the current window ends (at least 1)."""
    return max(1, math.ceil(_window(now, limit.window_s) + limit.window_s - now))


def hit(db: Session, limit: Limit, *, now: float | None = None) -> int:
    """Count one hit (atomically, across processes); returns the count in the current window."""
    now = time.time() if now is None else now
    start = _window(now, limit.window_s)
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(COUNTERS)
        .values(key=limit.key, window_start=start, count=1)
        .on_conflict_do_update(index_elements=["key", "window_start"], set_={"count": COUNTERS.c.count + 1})
        .returning(COUNTERS.c.count)
    )
    value = int(db.execute(stmt).scalar_one())
    if value == 1:
        # A new window began for this key: drop this key's old windows so the table stays small.
        db.execute(delete(COUNTERS).where(COUNTERS.c.key == limit.key, COUNTERS.c.window_start < start))
    return value


def refund(db: Session, limit: Limit, *, now: float) -> None:
    """Take back one hit counted at `now` (the same window; never below zero)."""
    start = _window(now, limit.window_s)
    db.execute(
        update(COUNTERS)
        .where(COUNTERS.c.key == limit.key, COUNTERS.c.window_start == start, COUNTERS.c.count > 0)
        .values(count=COUNTERS.c.count - 1)
    )


def spend(db: Session, limits: Sequence[Limit], *, now: float | None = None) -> float:
    """Count one hit on each limit, in order, *before* the work they guard; returns the moment counted.

    Counting first is what makes a burst safe: each concurrent request gets its own count from the atomic
    upsert, so at most `limit` of them get through, where "check, work, then hit" let every request of a
    burst pass the check before any had hit. When a count goes over its limit, this request's hits are taken
    back (a refused request costs nothing, as before: a client blocked on one key cannot run up another key,
    such as an account's total, for the owner) and RateLimited is raised. The caller commits at once, before
    the work: until then the hits hold the counter row's lock (and SQLite's write lock).
    """
    now = time.time() if now is None else now
    counted: list[Limit] = []
    for lim in limits:
        counted.append(lim)
        if hit(db, lim, now=now) > lim.limit:
            for done in counted:
                refund(db, done, now=now)
            raise RateLimited(retry_after(lim, now))
    return now


def spend_now(factory: sessionmaker[Session], limits: Sequence[Limit], *, now: float | None = None) -> float:
    """spend() in its own short transaction, committed before the caller does the work."""
    with factory() as db, db.begin():
        return spend(db, limits, now=now)


def reset(db: Session, limit: Limit) -> None:
    """Forget every hit on the key."""
    db.execute(delete(COUNTERS).where(COUNTERS.c.key == limit.key))


def purge(db: Session, *, older_than_s: int, now: float | None = None) -> int:
    """Delete windows that started more than older_than_s ago; returns how many."""
    now = time.time() if now is None else now
    result = db.execute(delete(COUNTERS).where(COUNTERS.c.window_start < now - older_than_s))
    return int(getattr(result, "rowcount", 0) or 0)


def login_limits(settings: Settings, ip: str, email: str) -> tuple[Limit, Limit, Limit]:
    """(per IP, per account from this IP, per account from anywhere) limits on failed logins."""
    w = settings.rate_limit_window_s
    return (
        Limit(f"login:ip:{ip}", settings.login_limit_ip, w),
        Limit(f"login:acct-ip:{email}|{ip}", settings.login_limit_account, w),
        Limit(f"login:acct:{email}", settings.login_limit_account_total, w),
    )


def recheck_limits(settings: Settings, ip: str, user_id: int) -> list[Limit]:
    """(per IP, per user) limits on password re-checks (changing the password, deleting the account).

    A stolen session must not become a password oracle: re-checks count like failed logins, with the login
    limits, on their own keys (a signed-in attacker cannot spend the owner's login attempts).
    """
    w = settings.rate_limit_window_s
    return [
        Limit(f"recheck:ip:{ip}", settings.login_limit_ip, w),
        Limit(f"recheck:user:{user_id}", settings.login_limit_account, w),
    ]


def mail_limits(settings: Settings, ip: str, email: str) -> tuple[Limit, Limit]:
    """(per IP, per address) limits on requests that send mail: sign-up, reset, new verification link."""
    w = settings.rate_limit_window_s
    return (
        Limit(f"mail:ip:{ip}", settings.signup_limit_ip, w),
        Limit(f"mail:to:{email}", settings.signup_limit_email, w),
    )
