"""Turn ORM rows into the Hugging Face-shaped schemas (pure functions; no queries)."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, date, datetime, time

from paperfeed.api.schemas import AuthorOut, DailyPaperOut, PaperOut, UserOut
from paperfeed.authors.claims import ApprovedClaim
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


def user_out(submission: Submission | None, base_url: str) -> UserOut | None:
    """The submitter as a Hugging Face user object; None when nobody submitted the paper (an arXiv
    listing), which Hugging Face also leaves out rather than inventing a submitter."""
    if submission is None or not submission.submitted_by:
        return None
    name = submission.submitted_by
    uid = hashlib.blake2b(f"user:{name}".encode(), digest_size=12).hexdigest()
    return UserOut(
        id=uid,
        name=name,
        # The display name Hugging Face sent (29 of 30 differ from the username); ours: the username.
        fullname=submission.submitter_fullname or name,
        user=name,
        type="user",
        avatarUrl=f"{base_url.rstrip('/')}/static/avatar.svg",
    )


def num_comments(paper: Paper) -> int:
    """Comments as Hugging Face counts them: the source's count plus paperfeed's own (as with upvotes)."""
    return paper.source_comments + paper.comment_count


def discussion_id(paper: Paper) -> str:
    """The id of the paper's comment thread: 24 hex digits like Hugging Face's, stable per paper."""
    return hashlib.blake2b(f"discussion:{paper.key}".encode(), digest_size=12).hexdigest()


# Hugging Face's status of an author place whose claim was verified.
CLAIMED = "claimed_verified"


def claimant_out(username: str, base_url: str) -> UserOut:
    """A paperfeed user as Hugging Face's user object (the same _id as when they submit a paper)."""
    uid = hashlib.blake2b(f"user:{username}".encode(), digest_size=12).hexdigest()
    avatar = f"{base_url.rstrip('/')}/static/avatar.svg"
    return UserOut(id=uid, name=username, fullname=username, user=username, type="user", avatarUrl=avatar)


def author_out(
    paper: Paper, base_url: str, claims: Mapping[tuple[int, int], ApprovedClaim]
) -> list[AuthorOut]:
    """The byline; a place with an approved claim carries the user and Hugging Face's claimed status."""
    out = []
    for pa in paper.authors:
        claim = claims.get((paper.id, pa.position))
        author = AuthorOut(id=str(pa.author_id), name=pa.author.name)
        if claim is not None:
            author.user = claimant_out(claim.username, base_url)
            author.status = CLAIMED
            author.statusLastChangedAt = hf_time(claim.decided_at)
        out.append(author)
    return out


def paper_out(
    paper: Paper,
    submission: Submission | None,
    base_url: str,
    claims: Mapping[tuple[int, int], ApprovedClaim] | None = None,
    *,
    with_comments: bool = False,
) -> PaperOut:
    """The `paper` object (`claims`: approved claims by (paper id, position), see authors.claims;
    numComments when it is the whole answer, as GET /api/papers/{id})."""
    repo, stars = github_repo(paper)
    published = paper.published or (submission.day if submission else None) or paper.listing_date
    return PaperOut(
        id=paper.key,
        authors=author_out(paper, base_url, claims or {}),
        publishedAt=hf_time(published or paper.created_at),
        # The listing day, as Hugging Face reports it (midnight UTC); ingest time means nothing to readers.
        submittedOnDailyAt=hf_time(submission.day) if submission else None,
        submittedOnDailyBy=user_out(submission, base_url),
        title=paper.title,
        summary=paper.abstract,
        upvotes=paper.upvotes + paper.vote_count,  # the source's upvotes plus paperfeed users' votes
        githubRepo=repo,
        githubStars=stars if repo else None,
        # Stored URLs are http(s) since ingest checks them; rows from before that are checked here.
        projectPage=http_url(paper.project_page),
        discussionId=discussion_id(paper),
        numComments=num_comments(paper) if with_comments else None,
    )


def daily_out(
    submission: Submission, base_url: str, claims: Mapping[tuple[int, int], ApprovedClaim] | None = None
) -> DailyPaperOut:
    """One item of the daily list."""
    paper = paper_out(submission.paper, submission, base_url, claims)
    return DailyPaperOut(
        paper=paper,
        publishedAt=paper.publishedAt,
        title=paper.title,
        summary=paper.summary,
        # No per-paper social images: a generic one keeps the field's type for clients that show it.
        thumbnail=f"{base_url.rstrip('/')}/static/thumbnail.svg",
        numComments=num_comments(submission.paper),
        submittedBy=user_out(submission, base_url),
    )
