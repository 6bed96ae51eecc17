"""Onboarding: a new reader's categories and seed papers (matched here, fetched from arXiv, then recorded).

import_seeds() is a writing service (it takes the sessionmaker and owns its transactions):
1. one short read: each reference is matched by arXiv id, then by DOI, then by normalised title;
2. arXiv ids still missing are fetched from the arXiv API (batched id_list queries through the PoliteClient:
   its per-host interval, retries and Retry-After) and stored through the normal ingest store, OUTSIDE any
   transaction, so SQLite's single writer is never held while arXiv answers;
3. one transaction records a "seed" signal per matched paper. A paper the reader already has a signal on
   keeps it (an explicit "less like this" is not overturned by an old BibTeX file), so importing the same
   file twice changes nothing.

Titles match exactly after normalisation (seeds.normalize_title: LaTeX decoded, case and accents folded,
punctuation dropped), never fuzzily: a seed is a strong statement about the reader, and a near-miss title
("... for Image Recognition" vs "... for Image Segmentation") would teach the model the wrong paper. A title
that does not match exactly is reported as not found, and the reader can paste its arXiv id instead.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from paperfeed.config import Settings
from paperfeed.db.models import Paper, PaperCategory
from paperfeed.errors import UserError
from paperfeed.ingest.arxiv_api import ArxivApiSource, AtomError
from paperfeed.ingest.http import HttpError, PoliteClient
from paperfeed.ingest.records import PaperRecord, Rejected, resolved
from paperfeed.ingest.store import store_records
from paperfeed.recommend.models import SEED, ReaderProfile, ReaderSignal
from paperfeed.recommend.seeds import (
    SeedError,
    SeedParse,
    SeedRef,
    normalize_title,
    parse_seed_file,
    parse_text,
)
from paperfeed.text.arxiv_ids import is_arxiv_category

__all__ = [
    "Matched",
    "SeedReport",
    "category_groups",
    "import_seed_input",
    "import_seeds",
    "profile_categories",
    "set_categories",
]

TITLE_CANDIDATES = 200  # rows read per title: papers whose title holds the title's longest word


class CategoryError(UserError):
    """A category that is not shaped like arXiv's."""

    status = 400


@dataclass(frozen=True)
class Matched:
    """A reference that became a seed: which paper, and how it was found."""

    ref: str  # the reference as the report names it
    paper_id: int
    key: str
    title: str
    how: str  # "arXiv id", "DOI", "title", "fetched from arXiv"


@dataclass
class SeedReport:
    """What an import did: matched (and how), fetched from arXiv, not found, problems, signals recorded."""

    matched: list[Matched] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)  # arXiv ids fetched and stored
    not_found: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    recorded: int = 0  # new seed signals (0 on a repeated import)
    already: int = 0  # matched papers the reader already had a signal on
    unlisted_problems: int = 0  # parse problems beyond those listed
    truncated: bool = False  # the input named more papers than seed_max_refs: the rest were left out


def _longest_word(ref_title: str, norm: str) -> str | None:
    """The longest normalised word also spelled so in the raw title (so LIKE can find it in the table)."""
    raw = ref_title.casefold()
    words = sorted((w for w in norm.split() if len(w) >= 4 and w.isascii() and w in raw), key=len)
    return words[-1] if words else None


def _by_title(session: Session, refs: Sequence[SeedRef]) -> dict[str, tuple[int, str, str]]:
    """normalised title -> (id, key, title) for the refs' titles found exactly (after normalisation)."""
    found: dict[str, tuple[int, str, str]] = {}
    for ref in refs:
        if not ref.title:
            continue
        norm = normalize_title(ref.title)
        word = _longest_word(ref.title, norm) if norm else None
        if word is None or norm in found:
            continue
        rows = session.execute(
            select(Paper.id, Paper.key, Paper.title)
            .where(Paper.title.ilike(f"%{word}%"))
            .order_by(Paper.id)
            .limit(TITLE_CANDIDATES)
        )
        for pid, key, title in rows:
            if normalize_title(title) == norm:
                found[norm] = (int(pid), str(key), str(title))
                break
    return found


def _lookup(session: Session, refs: Sequence[SeedRef]) -> dict[SeedRef, Matched]:
    """Refs found in the database: by arXiv id, then DOI, then normalised title."""
    out: dict[SeedRef, Matched] = {}
    ids = sorted({r.arxiv_id for r in refs if r.arxiv_id})
    by_id: dict[str, tuple[int, str, str]] = {}
    for start in range(0, len(ids), 500):
        stmt = select(Paper.id, Paper.key, Paper.title, Paper.arxiv_id).where(
            Paper.arxiv_id.in_(ids[start : start + 500])
        )
        for pid, key, title, arxiv_id in session.execute(stmt):
            by_id[str(arxiv_id)] = (int(pid), str(key), str(title))
    dois = sorted({r.doi for r in refs if r.doi})
    by_doi: dict[str, tuple[int, str, str]] = {}
    if dois:
        stmt2 = select(Paper.id, Paper.key, Paper.title, func.lower(Paper.doi)).where(
            func.lower(Paper.doi).in_(dois)
        )
        for pid, key, title, doi in session.execute(stmt2):
            by_doi.setdefault(str(doi), (int(pid), str(key), str(title)))
    rest = [r for r in refs if not (r.arxiv_id in by_id or (r.doi and r.doi in by_doi))]
    by_title = _by_title(session, rest)
    for ref in refs:
        hit, how = None, ""
        if ref.arxiv_id and ref.arxiv_id in by_id:
            hit, how = by_id[ref.arxiv_id], "arXiv id"
        elif ref.doi and ref.doi in by_doi:
            hit, how = by_doi[ref.doi], "DOI"
        elif ref.title and (norm := normalize_title(ref.title)) in by_title:
            hit, how = by_title[norm], "title"
        if hit is not None:
            out[ref] = Matched(ref.label(), hit[0], hit[1], hit[2], how)
    return out


def _fetch(
    settings: Settings, arxiv_ids: Sequence[str], client: PoliteClient | None, report: SeedReport
) -> list[PaperRecord]:
    """arXiv's records of these ids, asked for in batches; failures become problems of the report."""
    own = client is None
    http = client or PoliteClient.from_settings(settings)
    records: list[PaperRecord] = []
    try:
        batch = settings.seed_fetch_batch
        for start in range(0, len(arxiv_ids), batch):
            chunk = list(arxiv_ids[start : start + batch])
            source = ArxivApiSource(
                http, base_url=settings.arxiv_api_url, id_list=chunk, page_size=100, name="seed"
            )
            try:
                items = list(resolved(source.records()))
            except HttpError as exc:
                report.problems.append(f"arXiv did not answer for {', '.join(chunk)} ({exc.reason})")
                continue
            except AtomError as exc:
                report.problems.append(f"arXiv sent an unreadable answer for {', '.join(chunk)} ({exc})")
                continue
            wanted = set(chunk)
            for item in items:
                if isinstance(item, PaperRecord) and item.arxiv_id in wanted:
                    records.append(item)
                elif isinstance(item, Rejected):
                    report.problems.append(f"arXiv's record {item.record}: {item.reason}")
    finally:
        if own:
            http.close()
    return records


def _record(session: Session, user_id: int, paper_ids: Iterable[int], now: datetime) -> int:
    """Insert a seed signal per paper unless the reader has one on it already; the number inserted."""
    rows = [{"user_id": user_id, "paper_id": pid, "kind": SEED, "created_at": now} for pid in paper_ids]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(ReaderSignal).on_conflict_do_nothing(index_elements=["user_id", "paper_id"])
    before = _count(session, user_id)
    session.execute(stmt, rows)
    return _count(session, user_id) - before


def _count(session: Session, user_id: int) -> int:
    return int(session.scalar(select(func.count()).where(ReaderSignal.user_id == user_id)) or 0)


def import_seeds(
    factory: sessionmaker[Session],
    refs: Sequence[SeedRef],
    *,
    user_id: int,
    settings: Settings,
    now: datetime,
    client: PoliteClient | None = None,
) -> SeedReport:
    """Match, fetch what is missing from arXiv, and record each found paper as a seed of the reader."""
    report = SeedReport()
    refs = list(dict.fromkeys(refs))[: settings.seed_max_refs]
    with factory() as session:
        found = _lookup(session, refs)
    missing = sorted({r.arxiv_id for r in refs if r not in found and r.arxiv_id})
    if missing:
        # Outside any transaction: arXiv may take seconds, and the store owns its own transactions.
        records = _fetch(settings, missing, client, report)
        if records:
            stored = store_records(factory, records)
            report.problems.extend(stored.errors)
        with factory() as session:
            again = _lookup(session, [r for r in refs if r not in found and r.arxiv_id])
        for ref, m in again.items():
            found[ref] = Matched(m.ref, m.paper_id, m.key, m.title, "fetched from arXiv")
            report.fetched.append(m.key)
    for ref in refs:
        if ref in found:
            report.matched.append(found[ref])
        else:
            report.not_found.append(ref.label())
    paper_ids = sorted({m.paper_id for m in report.matched})
    with factory() as session, session.begin():
        report.recorded = _record(session, user_id, paper_ids, now)
        if paper_ids and session.get(ReaderProfile, user_id) is None:
            # Seeds make a profile: the digest's For-you section and the landing page look for one.
            session.add(ReaderProfile(user_id=user_id, created_at=now, updated_at=now))
    report.already = len(paper_ids) - report.recorded
    return report


def import_seed_input(
    factory: sessionmaker[Session],
    *,
    text: str,
    upload: bytes | None,
    filename: str | None,
    user_id: int,
    settings: Settings,
    now: datetime,
    client: PoliteClient | None = None,
) -> SeedReport:
    """Parse pasted text and/or an uploaded file (BibTeX, CSL-JSON, ids), then import; SeedError if empty."""
    caps = {"max_refs": settings.seed_max_refs, "max_bytes": settings.seed_max_bytes}
    parsed = SeedParse()
    if text.strip():
        parsed = parse_text(text, **caps)
    if upload:
        more = parse_seed_file(upload, filename=filename, **caps)
        for ref in more.refs:
            parsed.add(ref, settings.seed_max_refs)
        for problem in more.problems:
            parsed.problem(problem)
        parsed.problem_count += more.problem_count - len(more.problems)
        parsed.truncated = parsed.truncated or more.truncated
    if not parsed.refs:
        if parsed.problems:
            raise SeedError("no paper found in the input: " + "; ".join(parsed.problems[:3]))
        raise SeedError("paste arXiv ids or choose a BibTeX or CSL-JSON file")
    report = import_seeds(factory, parsed.refs, user_id=user_id, settings=settings, now=now, client=client)
    report.problems = parsed.problems + report.problems
    report.unlisted_problems = parsed.problem_count - len(parsed.problems)
    report.truncated = parsed.truncated
    return report


def set_categories(
    factory: sessionmaker[Session], *, user_id: int, categories: Iterable[str], now: datetime
) -> list[str]:
    """Store the reader's chosen categories in their profile (created when missing); the stored list."""
    chosen = sorted({c.strip() for c in categories if c.strip()})
    bad = [c for c in chosen if not is_arxiv_category(c)]
    if bad:
        raise CategoryError(f"not an arXiv category: {', '.join(bad[:5])}")
    if len(chosen) > 200:
        raise CategoryError("choose at most 200 categories")
    with factory() as session, session.begin():
        profile = session.get(ReaderProfile, user_id)
        if profile is None:
            profile = ReaderProfile(user_id=user_id, created_at=now, updated_at=now)
            session.add(profile)
        profile.categories = " ".join(chosen)
        profile.updated_at = now
    return chosen


def profile_categories(session: Session, user_id: int) -> list[str]:
    """The reader's chosen categories ([] without a profile)."""
    profile = session.get(ReaderProfile, user_id)
    return (profile.categories or "").split() if profile is not None else []


def category_groups(session: Session) -> list[tuple[str, list[tuple[str, int]]]]:
    """The categories present in the database with their paper counts, grouped by archive (cs, math...)."""
    stmt = select(PaperCategory.category, func.count()).group_by(PaperCategory.category)
    groups: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for category, count in session.execute(stmt):
        if is_arxiv_category(str(category)):
            groups[str(category).split(".", 1)[0]].append((str(category), int(count)))
    return [(archive, sorted(groups[archive])) for archive in sorted(groups)]
