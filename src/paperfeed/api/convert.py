"""Turn ORM rows into the Hugging Face-shaped schemas (pure functions; no queries)."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, time

from paperfeed.api.schemas import AuthorOut, DailyPaperOut, PaperOut, UserOut
from paperfeed.db.models import Paper, Submission
from paperfeed.text.urls import http_url


def hf_time(value: datetime | date) -> str:
    """Hugging Face's timestamp format: UTC, milliseconds, 'Z' (naive values are taken as UTC)."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(0, 0), tzinfo=UTC)
    elif value.tzinfo is None:
        # SQLite hands back naive datetimes; everything paperfeed stores is UTC.
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def github_repo(paper: Paper) -> tuple[str | None, int | None]:
    """The paper's first GitHub link and its stars (when known)."""
    for link in paper.code_links:
        if link.kind == "github":
            return link.url, link.stars
    return None, None


def user_out(submission: Submission, base_url: str) -> UserOut:
    """The submitter as a Hugging Face user object; automatic listings name their source instead."""
    name = submission.submitted_by or submission.source
    kind = "user" if submission.submitted_by else "source"
    uid = hashlib.blake2b(f"{kind}:{name}".encode(), digest_size=12).hexdigest()
    return UserOut(
        id=uid,
        name=name,
        fullname=name,
        user=name,
        type=kind,
        avatarUrl=f"{base_url.rstrip('/')}/static/avatar.svg",
    )


def paper_out(paper: Paper, submission: Submission | None, base_url: str) -> PaperOut:
    """The `paper` object."""
    repo, stars = github_repo(paper)
    published = paper.published or (submission.day if submission else None) or paper.listing_date
    return PaperOut(
        id=paper.key,
        authors=[AuthorOut(id=str(pa.author_id), name=pa.author.name) for pa in paper.authors],
        publishedAt=hf_time(published or paper.created_at),
        # The listing day, as Hugging Face reports it (midnight UTC); ingest time means nothing to readers.
        submittedOnDailyAt=hf_time(submission.day) if submission else None,
        submittedOnDailyBy=user_out(submission, base_url) if submission else None,
        title=paper.title,
        summary=paper.abstract,
        upvotes=paper.upvotes + paper.vote_count,  # the source's upvotes plus paperfeed users' votes
        githubRepo=repo,
        githubStars=stars if repo else None,
        # Stored URLs are http(s) since ingest checks them; rows from before that are checked here.
        projectPage=http_url(paper.project_page),
    )


def daily_out(submission: Submission, base_url: str) -> DailyPaperOut:
    """One item of the daily list."""
    paper = paper_out(submission.paper, submission, base_url)
    return DailyPaperOut(
        paper=paper,
        publishedAt=paper.publishedAt,
        title=paper.title,
        summary=paper.summary,
        # No per-paper social images: a generic one keeps the field's type for clients that show it.
        thumbnail=f"{base_url.rstrip('/')}/static/thumbnail.svg",
        numComments=submission.paper.comment_count,
        submittedBy=user_out(submission, base_url),
    )
