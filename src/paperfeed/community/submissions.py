"""Submit a paper to today's list by arXiv id or arXiv URL.

The submitted text is only ever parsed, never fetched: an id is extracted from it (an arXiv URL must name
arxiv.org itself, over http(s), with no credentials or port), and the metadata comes from the configured
arXiv API endpoint (`settings.arxiv_api_url`). A URL pointing anywhere else is refused before any network
traffic, so a submission cannot make the server connect to an address of the submitter's choosing (SSRF).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.db.models import USER_SOURCE, Paper, Submission
from paperfeed.errors import Conflict, NotFound, UpstreamError, UserError
from paperfeed.ingest.arxiv_api import ArxivApiSource, AtomError
from paperfeed.ingest.http import HttpError, PoliteClient
from paperfeed.ingest.records import PaperRecord, Rejected, resolved
from paperfeed.ingest.store import store_records
from paperfeed.text.arxiv_ids import InvalidArxivId, parse_arxiv_id

__all__ = ["ARXIV_HOSTS", "SOURCE", "Submitted", "extract_arxiv_id", "submission_day", "submit_paper"]

ARXIV_HOSTS = frozenset({"arxiv.org", "www.arxiv.org", "export.arxiv.org"})
SOURCE = USER_SOURCE  # submissions.source of a paper a user submitted
_MAX_INPUT = 300
_PATH = re.compile(r"/(?:abs|pdf)/(.+)", re.IGNORECASE)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(frozen=True, slots=True)
class Submitted:
    """The outcome of a submission: the paper, the day it is listed on, and whether arXiv was asked."""

    paper_id: int
    key: str
    title: str
    day: date
    fetched: bool


def _refuse_url(reason: str) -> UserError:
    return UserError(f"{reason}: give an arXiv id (2401.00001) or an arxiv.org/abs or /pdf link")


def _from_url(text: str) -> str:
    """The id part of an arxiv.org abs/pdf URL; anything else raises."""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise _refuse_url("that is not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise _refuse_url(f"only http(s) links to arXiv are accepted, not {parts.scheme.lower()}:")
    if "@" in parts.netloc:
        raise _refuse_url("links with a user name or password are not accepted")
    host = (parts.hostname or "").lower().rstrip(".")
    if host not in ARXIV_HOSTS:
        raise _refuse_url(f"only links to arxiv.org are accepted, not {host or 'an empty host'}")
    if port not in (None, 80, 443):
        raise _refuse_url("links to arxiv.org with an explicit port are not accepted")
    m = _PATH.fullmatch(parts.path)
    if m is None:
        raise _refuse_url("the link must be an arXiv abstract (/abs/...) or PDF (/pdf/...) page")
    ident = m.group(1).rstrip("/")
    return ident[:-4] if ident.lower().endswith(".pdf") else ident


def extract_arxiv_id(text: str) -> tuple[str, int | None]:
    """(canonical id, version) from an arXiv id or an arxiv.org abs/pdf URL; UserError otherwise."""
    raw = text.strip()
    if not raw:
        raise UserError("give an arXiv id (2401.00001) or an arxiv.org/abs or /pdf link")
    if len(raw) > _MAX_INPUT or not raw.isprintable() or any(c.isspace() for c in raw):
        raise _refuse_url("that does not look like an arXiv id or link")
    lowered = raw.lower()
    if lowered.startswith(("arxiv.org/", "www.arxiv.org/", "export.arxiv.org/")):
        raw = "https://" + raw  # a link pasted without its scheme
    if "://" in raw or (_SCHEME.match(raw) and not lowered.startswith("arxiv:")):
        ident = _from_url(raw)
    else:
        ident = raw[6:] if lowered.startswith("arxiv:") else raw
    try:
        return parse_arxiv_id(ident)
    except InvalidArxivId as exc:
        raise UserError(f"{ident!r} is not an arXiv id: {exc.reason}") from None


def submission_day(settings: Settings, now: datetime | None = None) -> date:
    """Today in the site's time zone (settings.submission_timezone): the list a submission joins."""
    moment = now or datetime.now(UTC)
    return moment.astimezone(ZoneInfo(settings.submission_timezone)).date()


def _fetch(settings: Settings, arxiv_id: str, client: PoliteClient | None) -> PaperRecord:
    """The paper's metadata from the configured arXiv API (never from a URL the user gave)."""
    own = client is None
    http = client or PoliteClient.from_settings(settings, max_retries=settings.submission_fetch_retries)
    try:
        source = ArxivApiSource(http, base_url=settings.arxiv_api_url, id_list=[arxiv_id], name="submission")
        items = list(resolved(source.records()))
    except HttpError as exc:
        raise UpstreamError(f"arXiv did not answer ({exc.reason}); try again in a minute") from None
    except AtomError as exc:
        raise UpstreamError(f"arXiv sent an unreadable answer ({exc}); try again later") from None
    finally:
        if own:
            http.close()
    for item in items:
        if isinstance(item, PaperRecord) and item.arxiv_id == arxiv_id:
            return item
    reasons = "; ".join(i.reason for i in items if isinstance(i, Rejected))
    raise NotFound(f"arXiv has no paper {arxiv_id}" + (f" ({reasons})" if reasons else ""))


def _listed(session: Session, paper_id: int, day: date) -> Submission | None:
    stmt = select(Submission).where(Submission.paper_id == paper_id, Submission.day == day)
    return session.scalars(stmt).first()


def _since(paper: Paper | PaperRecord, first_listed: date | None) -> date | None:
    """The day a paper first appeared: its arXiv publication or its first listing here, the earlier."""
    days = [d for d in (paper.published.date() if paper.published else None, first_listed) if d is not None]
    return min(days, default=None)


def _check_recent(settings: Settings, arxiv_id: str, since: date | None, day: date) -> None:
    """Refuse an old paper: today's list is for new work, and trending ages count from the first listing,
    so an old paper listed again would only sit on today's list with old votes, not rank as new."""
    limit = settings.submission_max_age_days
    if since is not None and day - since > timedelta(days=limit):
        raise UserError(
            f"{arxiv_id} dates from {since.isoformat()}: only papers from the last {limit} days can be "
            "submitted to today's list (its page is open to votes and comments)"
        )


def _duplicate(arxiv_id: str, day: date, existing: Submission) -> Conflict:
    who = f" by {existing.submitted_by}" if existing.submitted_by else ""
    return Conflict(f"{arxiv_id} is already on the list of {day.isoformat()} (submitted{who})")


def submit_paper(
    factory: sessionmaker[Session],
    settings: Settings,
    *,
    text: str,
    username: str,
    client: PoliteClient | None = None,
    now: datetime | None = None,
) -> Submitted:
    """Put the paper named by `text` on today's list, submitted by `username`.

    A paper already stored is not fetched again. A second submission of the same paper on the same day
    (by anyone, or an arXiv listing) raises Conflict and writes nothing. A paper published or first listed
    more than settings.submission_max_age_days before today is refused (UserError), and writes nothing.
    """
    arxiv_id, _version = extract_arxiv_id(text)
    now = now or datetime.now(UTC)
    day = submission_day(settings, now)
    with factory() as session:
        paper = session.scalars(select(Paper).where(Paper.key == arxiv_id)).first()
        if paper is not None and (existing := _listed(session, paper.id, day)) is not None:
            raise _duplicate(arxiv_id, day, existing)
        if paper is not None:
            first = session.scalar(select(func.min(Submission.day)).where(Submission.paper_id == paper.id))
            _check_recent(settings, arxiv_id, _since(paper, first), day)
    fetched = paper is None
    if paper is None:
        record = _fetch(settings, arxiv_id, client)
        _check_recent(settings, arxiv_id, _since(record, None), day)
        report = store_records(factory, [record])
        if report.rejected:
            reason = report.errors[0] if report.errors else "rejected"
            raise UpstreamError(f"arXiv's record of {arxiv_id} could not be stored: {reason}")
    try:
        with factory() as session, session.begin():
            paper = session.scalars(select(Paper).where(Paper.key == arxiv_id)).one()
            existing = _listed(session, paper.id, day)
            if existing is not None:
                raise _duplicate(arxiv_id, day, existing)
            session.add(
                Submission(paper_id=paper.id, day=day, submitted_at=now, submitted_by=username, source=SOURCE)
            )
            result = Submitted(paper.id, paper.key, paper.title, day, fetched)
    except IntegrityError:
        # Two people submitted it in the same instant: the unique (paper, day) key let one through.
        with factory() as session:
            found = session.scalars(select(Paper).where(Paper.key == arxiv_id)).one()
            existing = _listed(session, found.id, day)
        if existing is None:
            raise
        raise _duplicate(arxiv_id, day, existing) from None
    return result
