"""For you: one reader's ranked papers of a window, with reasons, and a share of trending exploration.

The reader's examples (votes, saves, more/less/dismiss/seed) train the model (`recommend/model.py`) on
the request; the window's candidates come from `candidates.py` (cached per process: they are the same for
every reader). Deterministic: the same signals and the same window give the same list.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from paperfeed.config import Settings
from paperfeed.db.models import Paper, PaperAuthor, Submission
from paperfeed.periods import PeriodKind, window_start
from paperfeed.ranking.service import latest_until
from paperfeed.ranking.signals import signal_rows
from paperfeed.ranking.trending import TrendingParams, score_arrays
from paperfeed.recommend import signals
from paperfeed.recommend.candidates import CandidateCache, background, load_paper_set, window_candidates
from paperfeed.recommend.model import Example, Recommendation, rank, train
from paperfeed.recommend.models import DISMISS, LESS, ReaderProfile

__all__ = [
    "ForYouItem",
    "ForYouList",
    "Reason",
    "for_you",
    "profile_categories",
    "reader_exploration",
    "recommend",
    "window_for",
]

# Reason verbs by the kind of the reader's signal about the paper a recommendation leans on.
VERBS: dict[str, str] = {
    "vote": "because you upvoted",
    "save": "because you saved",
    "more": "more like",
    "seed": "because you imported",
    "claim": "because you wrote",
    "follow": "because you follow an author of",
}
DEFAULT_EXPLORATION = 0.1
NEGATIVE = frozenset({LESS, DISMISS})


@dataclass(frozen=True)
class Reason:
    """A paper of the reader's a recommendation is close to, and what the reader did with it."""

    paper_id: int
    key: str
    title: str
    kind: str

    @property
    def verb(self) -> str:
        """'because you saved', 'more like', ..."""
        return VERBS.get(self.kind, "like")


@dataclass(frozen=True)
class ForYouItem:
    """One recommended paper (loaded with authors, categories, links) and why."""

    paper: Paper
    recommendation: Recommendation
    reasons: tuple[Reason, ...] = field(default=())

    @property
    def exploration(self) -> bool:
        """True for a trending paper outside the reader's profile, shown to widen it."""
        return self.recommendation.exploration

    @property
    def terms(self) -> tuple[str, ...]:
        """Terms the paper shares with the reader's paper it is closest to."""
        return self.recommendation.terms


def window_for(kind: PeriodKind, until: date) -> tuple[date, date]:
    """The half-open listing days [start, end) of the day / week / month window ending on `until`."""
    return window_start(kind, until), until + timedelta(days=1)


def profile_categories(session: Session, user_id: int) -> list[str]:
    """The categories the reader chose (empty without a profile)."""
    text = session.scalar(select(ReaderProfile.categories).where(ReaderProfile.user_id == user_id))
    return sorted(set((text or "").split()))


def reader_exploration(session: Session, user_id: int) -> float:
    """The reader's exploration share (the default without a profile)."""
    value = session.scalar(select(ReaderProfile.exploration).where(ReaderProfile.user_id == user_id))
    return DEFAULT_EXPLORATION if value is None else float(value)


def _trending_order(session: Session, settings: Settings, start: date, end: date, now: datetime) -> list[int]:
    """The window's trending papers (some votes or comments) by trending score (ties: newer listing, id)."""
    # A paper without votes or comments is not trending: look up the few that have some, then score
    # only those (reading the whole window's signals cost more than the rest of a request).
    active = session.scalars(
        select(Paper.id)
        .join(Submission, Submission.paper_id == Paper.id)
        .where(
            Submission.day >= start,
            Submission.day < end,
            Paper.upvotes + Paper.vote_count + Paper.comment_count > 0,
        )
        .distinct()
    ).all()
    if not active:
        return []
    rows = signal_rows(
        session, start=start, end=end - timedelta(days=1), eligible_only=True, paper_ids=list(active)
    )
    if rows.shape[0] == 0:
        return []
    ids = rows[:, 0].astype(np.int64)
    score, *_ = score_arrays(
        upvotes=rows[:, 1].astype(np.int64),
        local_votes=rows[:, 2].astype(np.int64),
        comments=rows[:, 3].astype(np.int64),
        stars_gained=np.zeros(len(ids), dtype=np.int64),
        listed_h=np.ascontiguousarray(rows[:, 4]),
        as_of=now,
        params=TrendingParams.from_settings(settings),
    )
    order = np.lexsort((-ids, -rows[:, 4], -score))
    return [int(ids[i]) for i in order]


def _interleave(
    picks: list[Recommendation], explore: list[Recommendation], limit: int
) -> list[Recommendation]:
    """Spread the exploration items evenly through the list (never first): deterministic positions."""
    if not explore:
        return picks[:limit]
    n_explore = min(len(explore), limit)
    n_picks = min(len(picks), limit - n_explore)
    total = n_picks + n_explore
    step = total / n_explore
    slots = {min(total - 1, int((k + 1) * step) - 1) for k in range(n_explore)}
    out: list[Recommendation] = []
    p = iter(picks[:n_picks])
    e = iter(explore[:n_explore])
    for pos in range(total):
        item = next(e, None) if pos in slots else next(p, None)
        if item is None:  # slots collided at the end: take whatever is left
            item = next(p, None) or next(e, None)
        if item is not None:
            out.append(item)
    return out


def _load_papers(session: Session, ids: Sequence[int]) -> dict[int, Paper]:
    stmt = (
        select(Paper)
        .where(Paper.id.in_(list(ids)))
        .options(
            selectinload(Paper.authors).joinedload(PaperAuthor.author),
            selectinload(Paper.categories),
            selectinload(Paper.code_links),
        )
    )
    return {p.id: p for p in session.scalars(stmt).unique()}


def recommend(
    session: Session,
    *,
    user_id: int,
    start: date,
    end: date,
    limit: int,
    now: datetime,
    settings: Settings,
    exploration: float | None = None,
    cache: CandidateCache | None = None,
) -> list[ForYouItem]:
    """The reader's papers among those listed in [start, end), best first, with exploration interleaved.

    Papers the reader dismissed or marked "less" never show; papers already voted, saved, marked "more"
    or imported are left out (the reader has them). exploration: the share of trending papers outside
    the profile (None: the reader's setting; 0 turns it off).
    """
    if limit <= 0 or end <= start:
        return []
    examples = signals.examples(session, user_id, follow_before=start)
    seen = {ex.paper_id for ex in examples}
    candidates = window_candidates(session, start, end, cache=cache)
    if len(candidates) == 0:
        return []
    share = reader_exploration(session, user_id) if exploration is None else exploration
    share = min(max(share, 0.0), 1.0)
    chosen = profile_categories(session, user_id)
    picks: list[Recommendation] = []
    kinds: dict[int, str] = {}
    if examples:
        known = load_paper_set(session, sorted(seen), dim=int(candidates.vectors.shape[1]))
        model = train(examples, known, categories=chosen, background=background(session))
        # The model may return papers the reader knows; ask for enough to fill the list without them.
        ranked = rank(model, candidates, limit=limit + len(seen))
        picks = [r for r in ranked if r.paper_id not in seen]
        kinds = _example_kinds(examples)
    # Exploration widens a list; without one (no signals yet) there is nothing to widen.
    n_explore = round(limit * share) if share > 0 and picks else 0
    if share > 0 and picks and n_explore == 0:
        n_explore = 1  # a small list still gets its one exploring paper
    explore: list[Recommendation] = []
    if n_explore:
        # The model's surest picks stay its own; beyond them, a trending paper outside the profile is
        # shown as exploration (a window smaller than the page would otherwise leave no room for any).
        top = {r.paper_id for r in picks[: min(limit - n_explore, len(picks) // 2)]}
        inside = set(chosen) | _positive_categories(session, examples)
        rows = candidates.index()
        for pid in _trending_order(session, settings, start, end, now):
            if len(explore) >= n_explore:
                break
            if pid in seen or pid in top or pid not in rows:
                continue
            cats = candidates.categories[rows[pid]]
            if inside and cats and cats[0] in inside:
                continue  # inside the profile: the model already had its chance at it
            explore.append(Recommendation(paper_id=pid, score=0.0, exploration=True))
        taken = {r.paper_id for r in explore}
        picks = [r for r in picks if r.paper_id not in taken]
    final = _interleave(picks, explore, limit)
    anchors = {pid for r in final for pid in r.because}
    papers = _load_papers(session, [r.paper_id for r in final] + sorted(anchors))
    out: list[ForYouItem] = []
    for rec in final:
        paper = papers.get(rec.paper_id)
        if paper is None:
            continue
        reasons = tuple(
            Reason(pid, papers[pid].key, papers[pid].title, kinds.get(pid, "seed"))
            for pid in rec.because
            if pid in papers
        )
        out.append(ForYouItem(paper, rec, reasons))
    return out


def _example_kinds(examples: Sequence[Example]) -> dict[int, str]:
    """The kind each reason paper is named by: an explicit signal over a save over a vote."""
    order = {"more": 5, "claim": 4, "seed": 3, "save": 2, "vote": 1, "follow": 0}
    out: dict[int, str] = {}
    for ex in sorted(examples, key=lambda e: (e.paper_id, order.get(e.kind, -1))):
        if ex.kind in order:
            out[ex.paper_id] = ex.kind
    return out


def _positive_categories(session: Session, examples: Sequence[Example]) -> set[str]:
    """Primary categories of the reader's positive papers: what 'inside the profile' means."""
    ids = sorted({ex.paper_id for ex in examples if ex.kind not in NEGATIVE})
    if not ids:
        return set()
    rows = session.scalars(select(Paper.primary_category).where(Paper.id.in_(ids)))
    return {str(c) for c in rows if c}


@dataclass(frozen=True)
class ForYouList:
    """A reader's list for one tab: the window (None dates: no listings at all) and the items."""

    kind: PeriodKind
    until: date | None
    start: date | None
    items: list[ForYouItem]


def for_you(
    session: Session,
    *,
    user_id: int,
    kind: PeriodKind,
    until: date | None,
    now: datetime,
    limit: int,
    settings: Settings,
    exploration: float | None = None,
    cache: CandidateCache | None = None,
) -> ForYouList:
    """The reader's list for the day / week / month window ending on `until` (default: the latest listing)."""
    day = until or latest_until(session, now)
    if day is None:
        return ForYouList(kind, None, None, [])
    start, end = window_for(kind, day)
    items = recommend(
        session,
        user_id=user_id,
        start=start,
        end=end,
        limit=limit,
        now=now,
        settings=settings,
        exploration=exploration,
        cache=cache,
    )
    return ForYouList(kind, day, start, items)
