"""Load what the database holds for papers about to be merged (only for records whose hash changed)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from paperfeed.db.models import AUTHORS, CODE_LINKS, PAPER_AUTHORS, PAPER_CATEGORIES, PAPERS, SUBMISSIONS
from paperfeed.ingest.bulk import chunks
from paperfeed.ingest.merge import RECORD_COLUMNS, StoredPaper


def load_stored(session: Session, ids: Sequence[int]) -> dict[int, StoredPaper]:
    """Columns, byline, categories, code links and submissions of each paper id."""
    stored = {pid: StoredPaper(pid, {}) for pid in ids}
    for chunk in chunks(ids):
        for row in session.execute(
            select(PAPERS.c.id, *(PAPERS.c[c] for c in RECORD_COLUMNS)).where(PAPERS.c.id.in_(chunk))
        ):
            stored[row[0]].columns = dict(zip(RECORD_COLUMNS, row[1:], strict=True))
        for pid, name in session.execute(
            select(PAPER_AUTHORS.c.paper_id, AUTHORS.c.name)
            .join(AUTHORS, AUTHORS.c.id == PAPER_AUTHORS.c.author_id)
            .where(PAPER_AUTHORS.c.paper_id.in_(chunk))
            .order_by(PAPER_AUTHORS.c.paper_id, PAPER_AUTHORS.c.position)
        ):
            stored[pid].authors.append(name)
        for pid, cat in session.execute(
            select(PAPER_CATEGORIES.c.paper_id, PAPER_CATEGORIES.c.category)
            .where(PAPER_CATEGORIES.c.paper_id.in_(chunk))
            .order_by(PAPER_CATEGORIES.c.paper_id, PAPER_CATEGORIES.c.position)
        ):
            stored[pid].categories.append(cat)
        for pid, url, stars in session.execute(
            select(CODE_LINKS.c.paper_id, CODE_LINKS.c.url, CODE_LINKS.c.stars).where(
                CODE_LINKS.c.paper_id.in_(chunk)
            )
        ):
            stored[pid].links[url] = stars
        for pid, day, by, fullname in session.execute(
            select(
                SUBMISSIONS.c.paper_id,
                SUBMISSIONS.c.day,
                SUBMISSIONS.c.submitted_by,
                SUBMISSIONS.c.submitter_fullname,
            ).where(SUBMISSIONS.c.paper_id.in_(chunk))
        ):
            stored[pid].submissions[day] = by
            stored[pid].fullnames[day] = fullname
    return stored
