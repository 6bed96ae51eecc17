"""Trending over the database: vectorised scores for a window, the stored scores, top-N and one paper's why.

Time: a window "ends" on `until`, a listing day (default: the latest day with submissions, like the daily
list). Its papers are those listed on one of its days (day: 1, week: 7, month: 30 days up to `until`);
when only users' submissions came after the last day a source listed (a demo database, a quiet spell),
the window reaches back to cover the window ending on that day (window_span), so a lone submission never
empties the page. Ages are measured to `as_of` = the end of `until` (midnight after it), or `now` when
that is earlier, so a past window ranks as it did on its last day. A paper's age counts from its first
listing on or before `until` (its published date or listing_date when it was never listed): listing an
old paper again does not make it new.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy import delete, func, select, text
from sqlalchemy.orm import Session, selectinload, sessionmaker

from paperfeed import periods
from paperfeed.categories import CategoryScope
from paperfeed.config import Settings
from paperfeed.db.models import Paper, PaperAuthor, PaperCategory, Submission
from paperfeed.periods import window_start
from paperfeed.ranking.models import TRENDING_SCORES, TrendingScoreRow
from paperfeed.ranking.signals import first_listing_hours, last_edition, paper_repos, signal_rows
from paperfeed.ranking.stars import stars_gained_by_repo
from paperfeed.ranking.trending import (
    WINDOW_DAYS,
    WINDOWS,
    Signals,
    TrendingParams,
    TrendingScore,
    Window,
    score_arrays,
    trending_score,
)
from paperfeed.timeutil import as_utc

__all__ = [
    "Explanation",
    "RankedItem",
    "RankedPage",
    "WindowScores",
    "as_of_for",
    "compute_window",
    "explain",
    "ranked_page",
    "recompute",
    "score_arrays",
    "top_trending",
    "window_days",
    "window_span",
]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def as_of_for(until: date, now: datetime | None = None) -> datetime:
    """The clock a window ending on `until` is scored at: the end of that day, or `now` if earlier."""
    end = _midnight(until + timedelta(days=1))
    return end if now is None else min(end, as_utc(now))


def window_days(window: Window, until: date) -> tuple[date, date]:
    """The first and last listing day of a window ending on `until` (both inclusive)."""
    return window_start(window, until), until


def window_span(session: Session, window: Window, until: date) -> tuple[date, date]:
    """The listing days a window ending on `until` covers: window_days, reaching back to the window ending
    on the last day a source listed when only users' submissions came after it."""
    start, end = window_days(window, until)
    edition = last_edition(session, until)
    if edition is not None and edition < start:
        start = window_days(window, edition)[0]
    return start, end


def check_window(window: str) -> Window:
    """The window named by `window`, or PeriodError (a UserError: 400) naming the valid ones."""
    return periods.check_window(window)


def latest_until(session: Session, now: datetime | None = None) -> date | None:
    """The latest listing day (not after `now`), or None on an empty database."""
    stmt = select(func.max(Submission.day))
    if now is not None:
        stmt = stmt.where(Submission.day <= as_utc(now).date())
    return session.scalar(stmt)


@dataclass(frozen=True, slots=True)
class WindowScores:
    """Scores of many papers at once (parallel arrays), best first after `ranked()`."""

    window: Window
    until: date
    as_of: datetime
    paper_id: I64
    score: F64
    votes: F64
    comments: F64
    stars: F64
    stars_gained: I64
    listed_h: F64  # listing time, hours since the epoch
    upvotes: I64  # the raw signals, for explanations
    local_votes: I64
    comment_count: I64
    has_id: I64  # 1 for arXiv papers: id-less seed papers never lead a tie (as on the daily list)

    def __len__(self) -> int:
        return int(self.paper_id.size)

    def order(self) -> I64:
        """Indices best first: score, the more recent listing, arXiv papers, the newer id (a total order)."""
        keys = (-self.paper_id, -self.has_id, -self.listed_h, -self.score)
        return np.lexsort(keys).astype(np.int64)

    def ranked_ids(self, limit: int | None = None) -> list[int]:
        """Paper ids best first."""
        idx = self.order()
        if limit is not None:
            idx = idx[:limit]
        return [int(x) for x in self.paper_id[idx]]


def compute_window(
    session: Session,
    *,
    settings: Settings,
    window: Window,
    until: date | None = None,
    now: datetime | None = None,
    eligible_only: bool = True,
    paper_ids: Sequence[int] | None = None,
) -> WindowScores:
    """Scores of the window's papers (or, eligible_only=False, of every paper), computed now from the DB."""
    window = check_window(window)
    until = until or latest_until(session, now) or (as_utc(now).date() if now else date.today())
    as_of = as_of_for(until, now)
    start_day, end_day = window_span(session, window, until)
    rows = signal_rows(
        session, start=start_day, end=end_day, eligible_only=eligible_only, paper_ids=paper_ids
    )
    n = rows.shape[0]
    ids = rows[:, 0].astype(np.int64)
    upvotes = rows[:, 1].astype(np.int64)
    local = rows[:, 2].astype(np.int64)
    comments = rows[:, 3].astype(np.int64)
    listed_h = np.ascontiguousarray(rows[:, 4])
    has_id = rows[:, 5].astype(np.int64)

    gained = np.zeros(n, dtype=np.int64)
    repos = paper_repos(
        session,
        ids,
        all_papers=not eligible_only and paper_ids is None,
        listed=(start_day, end_day) if eligible_only and paper_ids is None else None,
    )
    if repos:
        # Clamped: a window ending in year 1 would start before datetime.min.
        start = as_of - min(timedelta(days=WINDOW_DAYS[window]), as_of - datetime.min.replace(tzinfo=UTC))
        wanted = sorted({r for rs in repos.values() for r in rs})
        by_repo = stars_gained_by_repo(session, start=start, end=as_of, repos=wanted)
        order = np.argsort(ids)
        for pid, rs in repos.items():
            k = int(np.searchsorted(ids, pid, sorter=order))
            i = int(order[k]) if k < n and ids[order[k]] == pid else None
            if i is not None:
                # A paper linking several repositories counts its best one, not the sum: a paper that
                # also links a popular framework must not inherit that framework's stars.
                gained[i] = max((by_repo.get(r, 0) for r in rs), default=0)

    if not eligible_only and n:
        # Age only matters for a paper with a signal (0 decays to 0): look up the first listing of those
        # alone (all of them when explaining a few), not of every paper in the database.
        need = np.flatnonzero((upvotes > 0) | (local > 0) | (comments > 0) | (gained > 0))
        if paper_ids is not None:
            need = np.arange(n)
        found = first_listing_hours(session, [int(x) for x in ids[need]], until)
        if found.size:
            pos = np.searchsorted(ids, found[:, 0].astype(np.int64), sorter=np.argsort(ids))
            listed_h[np.argsort(ids)[pos]] = found[:, 1]

    params = TrendingParams.from_settings(settings)
    score, v, c, s = score_arrays(
        upvotes=upvotes,
        local_votes=local,
        comments=comments,
        stars_gained=gained,
        listed_h=listed_h,
        as_of=as_of,
        params=params,
    )
    return WindowScores(
        window, until, as_of, ids, score, v, c, s, gained, listed_h, upvotes, local, comments, has_id
    )


def top_trending(
    session: Session,
    *,
    settings: Settings,
    window: Window = "week",
    until: date | datetime | None = None,
    limit: int = 10,
) -> list[int]:
    """Ids of the `limit` best-scoring papers listed in the window ending on `until` (default: latest day).

    Computed from the live counts (a month is a few thousand papers: milliseconds), so it never serves a
    stale ranking. A datetime `until` also sets the clock ages are measured to.
    """
    now = until if isinstance(until, datetime) else None
    day = until.date() if isinstance(until, datetime) else until
    scores = compute_window(session, settings=settings, window=window, until=day, now=now)
    return scores.ranked_ids(max(limit, 0))


@dataclass(frozen=True, slots=True)
class RankedItem:
    """One paper of a trending page: its place, its listing (paper loaded) and its score's terms."""

    rank: int
    submission: Submission
    score: float
    votes: float
    comments: float
    stars: float
    stars_gained: int

    @property
    def paper(self) -> Paper:
        """The paper."""
        return self.submission.paper


@dataclass(frozen=True, slots=True)
class RankedPage:
    """A page of a window's trending list."""

    window: Window
    until: date | None  # None: the database has no listings
    as_of: datetime | None
    total: int
    offset: int
    items: list[RankedItem]
    start: date | None = None  # the window's first listing day (window_span)


def ranked_page(
    session: Session,
    *,
    settings: Settings,
    window: Window,
    until: date | None = None,
    now: datetime | None = None,
    offset: int = 0,
    limit: int = 50,
    category: CategoryScope | None = None,
) -> RankedPage:
    """One page of the window's papers (those in `category`), best first, scored live, each with its
    latest listing there. Scores are the window's own: scoping filters the list, it never rescales."""
    window = check_window(window)
    until = until or latest_until(session, now)
    if until is None:
        return RankedPage(window, None, None, 0, offset, [])
    scores = compute_window(session, settings=settings, window=window, until=until, now=now)
    order = scores.order()
    if category is not None:
        ids_all = [int(x) for x in scores.paper_id]
        inside: set[int] = set()
        for i in range(0, len(ids_all), 5000):  # bounded IN lists (a month is a few thousand papers)
            where = PaperCategory.paper_id.in_(ids_all[i : i + 5000])
            inside.update(session.scalars(category.paper_ids().where(where)))
        keep = np.fromiter(inside, dtype=np.int64, count=len(inside))
        order = order[np.isin(scores.paper_id[order], keep)]
    total = int(order.size)
    idx = order[offset : offset + limit]
    ids = [int(x) for x in scores.paper_id[idx]]
    start, end = window_span(session, window, until)
    stmt = (
        select(Submission)
        .where(Submission.paper_id.in_(ids), Submission.day.between(start, end))
        .options(
            selectinload(Submission.paper).options(
                selectinload(Paper.authors).joinedload(PaperAuthor.author),
                selectinload(Paper.categories),
                selectinload(Paper.code_links),
            )
        )
    )
    latest: dict[int, Submission] = {}
    for sub in session.scalars(stmt).unique():
        if sub.paper_id not in latest or sub.day > latest[sub.paper_id].day:
            latest[sub.paper_id] = sub
    items = [
        RankedItem(
            offset + n + 1,
            latest[int(scores.paper_id[i])],
            float(scores.score[i]),
            float(scores.votes[i]),
            float(scores.comments[i]),
            float(scores.stars[i]),
            int(scores.stars_gained[i]),
        )
        for n, i in enumerate(idx)
        if int(scores.paper_id[i]) in latest
    ]
    return RankedPage(window, until, scores.as_of, total, offset, items, start)


def recompute(
    session_factory: sessionmaker[Session],
    *,
    settings: Settings,
    now: datetime,
    window: Window | None = None,
) -> int:
    """Score every paper for each window (or one) at `now` and replace the stored scores; rows written
    (scores above 0: a paper without votes, comments or stars gained has no row).

    One transaction per window: readers see the old scores or the new ones, never a mix.
    """
    windows: tuple[Window, ...] = (check_window(window),) if window else WINDOWS
    written = 0
    computed_at = as_utc(now)
    for win in windows:
        with session_factory() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                # Two concurrent runs take turns (the second would hit the first's new keys); readers
                # are not blocked by this mode. SQLite serialises writers by itself.
                session.execute(text("LOCK TABLE trending_scores IN SHARE ROW EXCLUSIVE MODE"))
            scores = compute_window(session, settings=settings, window=win, now=now, eligible_only=False)
            session.execute(delete(TrendingScoreRow).where(TrendingScoreRow.window == win))
            written += _insert_scores(session, scores, computed_at)
    return written


def _insert_scores(session: Session, scores: WindowScores, computed_at: datetime) -> int:
    """One driver-level executemany: the ORM's per-row work would dominate for 94k rows."""
    # A score of 0 (no votes, comments or stars gained) is not stored: a missing row reads as 0, and on a
    # real site most papers have none, so the table (and its rewrite) stays small.
    keep = np.flatnonzero(scores.score > 0)
    if not keep.size:
        return 0
    conn = session.connection()
    dialect = conn.dialect
    table = TRENDING_SCORES
    cols = [c.name for c in table.columns]
    # The dialect's own DateTime encoding (SQLite: the ORM's text format), once for the whole batch.
    proc = table.c.as_of.type.dialect_impl(dialect).bind_processor(dialect)
    as_of = proc(scores.as_of) if proc else scores.as_of
    at = proc(computed_at) if proc else computed_at
    n = int(keep.size)
    rows = list(
        zip(
            scores.paper_id[keep].tolist(),
            [scores.window] * n,
            scores.score[keep].tolist(),
            scores.votes[keep].tolist(),
            scores.comments[keep].tolist(),
            scores.stars[keep].tolist(),
            scores.stars_gained[keep].tolist(),
            [as_of] * n,
            [at] * n,
            strict=True,
        )
    )
    quote = dialect.identifier_preparer.quote  # "window" is a reserved word in PostgreSQL
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(quote(c) for c in cols)}) "  # noqa: S608 - our own names
        f"VALUES ({', '.join([mark] * len(cols))})"
    )
    conn.exec_driver_sql(sql, rows)
    return n


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a paper is (or is not) trending in a window: its signals, the score and each term's part."""

    paper_id: int
    window: Window
    until: date
    as_of: datetime
    eligible: bool  # listed within the window
    signals: Signals
    result: TrendingScore
    rank: int | None  # 1-based place in the window, None when not eligible


def explain(
    session: Session,
    paper_id: int,
    *,
    settings: Settings,
    window: Window = "week",
    now: datetime | None = None,
    until: date | None = None,
    with_rank: bool = True,
) -> Explanation | None:
    """The explanation of one paper's score in the window ending on `until` (default: latest day)."""
    window = check_window(window)
    until = until or latest_until(session, now) or (as_utc(now).date() if now else date.today())
    as_of = as_of_for(until, now)
    one = compute_window(
        session,
        settings=settings,
        window=window,
        until=until,
        now=now,
        eligible_only=False,
        paper_ids=[paper_id],
    )
    if not len(one):
        return None
    start, end = window_span(session, window, until)
    in_window = session.scalar(
        select(func.count())
        .select_from(Submission)
        .where(Submission.paper_id == paper_id, Submission.day.between(start, end))
    )
    listed_at = _EPOCH + timedelta(hours=float(one.listed_h[0]))
    signals = Signals(
        upvotes=int(one.upvotes[0]),
        local_votes=int(one.local_votes[0]),
        comments=int(one.comment_count[0]),
        stars_gained=int(one.stars_gained[0]),
        listed_at=listed_at,
    )
    result = trending_score(signals, as_of, TrendingParams.from_settings(settings))
    rank = None
    if in_window and with_rank:
        scores = compute_window(session, settings=settings, window=window, until=until, now=now)
        ranked = scores.ranked_ids()
        rank = ranked.index(paper_id) + 1 if paper_id in ranked else None
    return Explanation(paper_id, window, until, as_of, bool(in_window), signals, result, rank)
