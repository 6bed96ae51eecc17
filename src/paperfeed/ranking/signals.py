"""Reading trending signals from the database into numpy arrays (for ranking/service.py).

Numeric columns only, read on the driver's cursor: 94k papers in one scan of a covering index.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from paperfeed.db.models import USER_SOURCE, CodeLinkRow, Paper, Submission
from paperfeed.ranking.stars import repo_of

__all__ = ["epoch_hours", "first_listing_hours", "last_edition", "paper_repos", "signal_rows", "to_array"]


def epoch_hours(col: Any, dialect: str) -> Any:
    """A date/timestamp column as hours since the epoch, computed by the database (no Python per row)."""
    if dialect == "sqlite":
        return (func.julianday(col) - 2440587.5) * 24.0
    return func.extract("epoch", col) / 3600.0


def to_array(session: Session, stmt: Any, width: int) -> npt.NDArray[np.float64]:
    """Run a numeric SELECT straight on the driver's cursor into a float array.

    The values are ids, counts, dates and numbers only, rendered as SQL literals; skipping SQLAlchemy's Row
    objects halves the CPU time of reading 94k papers.
    """
    conn = session.connection()
    sql = str(stmt.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(sql)
        rows = cursor.fetchall()
    finally:
        cursor.close()
    # Ids, counts and hours are all exact in float64 (ids and counts far below 2**53).
    return np.array(rows, dtype=np.float64).reshape(len(rows), width)


def signal_rows(
    session: Session, *, start: date, end: date, eligible_only: bool, paper_ids: Sequence[int] | None
) -> npt.NDArray[np.float64]:
    """(id, upvotes, vote_count, comment_count, listed hours, has arXiv id) per paper, as one float array.

    Eligible papers (listed in the window): listed hours = their *first* listing on or before `end`, so a
    paper listed again (a submission of an old paper) keeps its age. Every paper (eligible_only=False): the
    dump's listing date, else the published date; compute_window then replaces it by the first listing for
    the papers whose age matters (see first_listing_hours).
    """
    dialect = session.get_bind().dialect.name
    has_id = case((Paper.arxiv_id.is_(None), 0), else_=1)
    counts = (Paper.id, Paper.upvotes, Paper.vote_count, Paper.comment_count)
    if eligible_only:
        listed = (
            select(Submission.paper_id.label("pid"))
            .where(Submission.day.between(start, end))
            .group_by(Submission.paper_id)
            .subquery()
        )
        earlier = aliased(Submission)
        # One index seek per eligible paper on (paper_id, day).
        first = (
            select(func.min(earlier.day))
            .where(earlier.paper_id == Paper.id, earlier.day <= end)
            .scalar_subquery()
        )
        hours = epoch_hours(first, dialect)
        stmt = select(*counts, hours, has_id).join(listed, listed.c.pid == Paper.id)
    else:
        hours = func.coalesce(
            epoch_hours(Paper.listing_date, dialect), epoch_hours(Paper.published, dialect), 0.0
        )
        stmt = select(*counts, hours, has_id)  # a scan of ix_papers_trending_signals alone
    if paper_ids is not None:
        stmt = stmt.where(Paper.id.in_(list(paper_ids)))
    return to_array(session, stmt, 6)


def last_edition(session: Session, until: date) -> date | None:
    """The latest day on or before `until` listed by a source (an ingest), not only by users' submissions."""
    return session.scalar(
        select(func.max(Submission.day)).where(Submission.day <= until, Submission.source != USER_SOURCE)
    )


def first_listing_hours(session: Session, ids: Sequence[int], until: date) -> npt.NDArray[np.float64]:
    """(paper id, hours of its first listing on or before `until`) for the given papers that were listed."""
    dialect = session.get_bind().dialect.name
    parts = [np.zeros((0, 2))]
    for i in range(0, len(ids), 900):  # SQLite's host-parameter limit
        stmt = (
            select(Submission.paper_id, epoch_hours(func.min(Submission.day), dialect))
            .where(Submission.paper_id.in_(list(ids[i : i + 900])), Submission.day <= until)
            .group_by(Submission.paper_id)
        )
        parts.append(to_array(session, stmt, 2))
    return np.concatenate(parts)


def paper_repos(
    session: Session,
    ids: npt.NDArray[np.int64],
    *,
    all_papers: bool,
    listed: tuple[date, date] | None = None,
) -> dict[int, list[str]]:
    """GitHub repositories ('owner/name') per paper among `ids`.

    `listed`: the ids are the papers listed in these days (a window's eligible papers); the links are
    then read with one join on the listings instead of IN lists of thousands of ids (a month's window:
    five queries of 900 bound ids each were most of the trending page's time on the 94k database).
    """
    stmt = select(CodeLinkRow.paper_id, CodeLinkRow.url).where(CodeLinkRow.kind == "github")
    rows: list[Any] = []
    if all_papers:
        rows = list(session.execute(stmt))
    elif listed is not None:
        window = select(Submission.paper_id).where(Submission.day.between(*listed))
        wanted = {int(x) for x in ids}
        rows = [r for r in session.execute(stmt.where(CodeLinkRow.paper_id.in_(window))) if r[0] in wanted]
    else:
        id_list = [int(x) for x in ids]
        for i in range(0, len(id_list), 900):  # SQLite's host-parameter limit
            rows.extend(session.execute(stmt.where(CodeLinkRow.paper_id.in_(id_list[i : i + 900]))))
    repos: dict[int, list[str]] = {}
    for pid, url in rows:
        repo = repo_of(url)
        if repo is not None:
            repos.setdefault(int(pid), []).append(repo)
    return repos
