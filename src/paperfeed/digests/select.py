"""Which papers go into one subscriber's digest, and why each was picked.

Rules, in order (a paper appears once, with the first reason that picked it):
1. Personal matches: papers of the period matching one of the subscriber's saved searches (every word or
   "quoted phrase" of the query in the title or abstract; case, accents and a plural -s ignored) or written
   by a followed author (same name, case and accents ignored). Ordered by trending score. Categories do
   not filter these: a saved search or a followed author is an explicit ask.
2. Trending fill: the period's papers by trending score, restricted to the subscriber's categories when it
   has any ("cs" means every cs.* category), until max_papers.
`only_code` drops papers without a code link everywhere, `exclude` (the ids already sent to this reader)
is never picked, and no match at all gives [] (nothing is sent).

The order is the trending service's (paperfeed.ranking.service.top_trending over the period's window:
"day" for a daily digest, "week" for a weekly one); papers it leaves out follow by upvotes + votes, then
newest. A paper is labelled "Trending" only when someone voted for it (Hugging Face upvotes or paperfeed
votes); otherwise "In <category>" or "New today/this week".

Saved searches are matched in memory over the period's papers, not through the search service:
a period holds at most a few thousand papers, the context indexes their words once, and a query then costs
a set intersection (cached for every subscriber with the same search), with no index files to keep in sync.

Fast path for sending to many subscribers: build one `SelectionContext` per period
(`SelectionContext.build(session, period, settings)`: a handful of queries loading the period's papers,
their authors, categories and code links, plus in-memory indexes), then call
`select_digest(..., context=ctx)` per subscriber: it does no SQL, and results for a given saved search,
author or category set are cached in the context, so 10,000 subscribers cost milliseconds each at most.
`ctx.papers` holds everything rendering needs (see render.render_digest_from).
"""

from __future__ import annotations

import heapq
import re
import unicodedata
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import Subquery, func, select
from sqlalchemy.orm import Session

from paperfeed.config import Settings
from paperfeed.db.models import Author, CodeLinkRow, Paper, PaperAuthor, PaperCategory, Submission
from paperfeed.digests.models import Subscription
from paperfeed.digests.periods import Period

__all__ = [
    "DigestPaper",
    "Pick",
    "SelectionContext",
    "load_papers",
    "normalise_name",
    "select_digest",
]

_WORD = re.compile(r"\w+")
_QUERY_TERM = re.compile(r'"([^"]*)"|(\S+)')


@dataclass(frozen=True, slots=True)
class Pick:
    """One paper of a digest and the reader-facing reason it was picked."""

    paper_id: int
    reason: str


@dataclass(frozen=True, slots=True)
class CodeLink:
    """A code link as a digest shows it."""

    url: str
    kind: str
    stars: int | None


@dataclass(frozen=True, slots=True)
class DigestPaper:
    """What selection and rendering need of one paper (plain values, no ORM session)."""

    id: int
    key: str
    arxiv_id: str | None
    title: str
    abstract: str
    authors: tuple[str, ...]
    categories: tuple[str, ...]
    code_links: tuple[CodeLink, ...]
    upvotes: int
    score: int
    published: datetime | None = None


def _fold(text: str) -> str:
    """Case- and accent-insensitive form of text."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def _stem(token: str) -> str:
    # A light plural fold so "transformers" finds "transformer"; both sides get the same treatment.
    return token[:-1] if len(token) > 3 and token.endswith("s") and not token.endswith("ss") else token


def _tokens(text: str) -> list[str]:
    return [_stem(t) for t in _WORD.findall(_fold(text))]


def normalise_name(name: str) -> str:
    """An author name for matching: case and accents folded, whitespace collapsed."""
    return " ".join(_fold(name).split())


def _query_terms(query: str) -> list[list[str]]:
    """A saved search as terms; each term is a list of tokens (several for a quoted phrase)."""
    terms = []
    for phrase, word in _QUERY_TERM.findall(query):
        toks = _tokens(phrase or word)
        if toks:
            terms.append(toks)
    return terms


def load_papers(session: Session, ids: Iterable[int]) -> dict[int, DigestPaper]:
    """DigestPaper rows for these ids (missing ids are left out), in 4 queries."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return _load(session, select(Paper.id.label("pid")).where(Paper.id.in_(wanted)).subquery())


def _load(session: Session, chosen: Subquery) -> dict[int, DigestPaper]:
    """DigestPapers for the ids in the subquery's `pid` column."""
    cols = (
        Paper.id,
        Paper.key,
        Paper.arxiv_id,
        Paper.title,
        Paper.abstract,
        Paper.upvotes,
        Paper.vote_count,
        Paper.published,
    )
    rows = session.execute(select(*cols).join(chosen, chosen.c.pid == Paper.id)).all()
    ids = [r.id for r in rows]
    authors: dict[int, list[str]] = {}
    categories: dict[int, list[str]] = {}
    links: dict[int, list[CodeLink]] = {}
    # Children by id, in chunks that stay below every driver's bound-parameter limit.
    for chunk_start in range(0, len(ids), 5000):
        chunk = ids[chunk_start : chunk_start + 5000]
        for pid, name in session.execute(
            select(PaperAuthor.paper_id, Author.name)
            .join(Author, Author.id == PaperAuthor.author_id)
            .where(PaperAuthor.paper_id.in_(chunk))
            .order_by(PaperAuthor.paper_id, PaperAuthor.position)
        ):
            authors.setdefault(pid, []).append(name)
        for pid, cat in session.execute(
            select(PaperCategory.paper_id, PaperCategory.category)
            .where(PaperCategory.paper_id.in_(chunk))
            .order_by(PaperCategory.paper_id, PaperCategory.position)
        ):
            categories.setdefault(pid, []).append(cat)
        for pid, url, kind, stars in session.execute(
            select(CodeLinkRow.paper_id, CodeLinkRow.url, CodeLinkRow.kind, CodeLinkRow.stars)
            .where(CodeLinkRow.paper_id.in_(chunk))
            .order_by(CodeLinkRow.paper_id, CodeLinkRow.id)
        ):
            links.setdefault(pid, []).append(CodeLink(url, kind, stars))
    return {
        r.id: DigestPaper(
            id=r.id,
            key=r.key,
            arxiv_id=r.arxiv_id,
            title=r.title,
            abstract=r.abstract,
            authors=tuple(authors.get(r.id, ())),
            categories=tuple(categories.get(r.id, ())),
            code_links=tuple(links.get(r.id, ())),
            upvotes=r.upvotes or 0,
            score=(r.upvotes or 0) + (r.vote_count or 0),
            published=r.published,
        )
        for r in rows
    }


@dataclass
class SelectionContext:
    """Everything selection needs about one period, loaded once and shared by every subscriber."""

    period: Period
    papers: dict[int, DigestPaper]
    order: list[int]  # paper ids, best trending score first
    code_ids: frozenset[int]
    _words: dict[str, set[int]] = field(default_factory=dict, repr=False)
    _texts: dict[int, str] = field(default_factory=dict, repr=False)
    _authors: dict[str, set[int]] = field(default_factory=dict, repr=False)
    _categories: dict[str, set[int]] = field(default_factory=dict, repr=False)
    _rank: dict[int, int] = field(default_factory=dict, repr=False)
    _cache: dict[object, tuple[int, ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def build(cls, session: Session, period: Period, settings: Settings) -> SelectionContext:
        """Load the papers listed in `period` and index them (a few queries, then memory only)."""
        listed = (
            select(Submission.paper_id.label("pid"))
            .where(Submission.day.between(period.start, period.end))
            .group_by(Submission.paper_id)
            .subquery()
        )
        papers = _load(session, listed)
        from paperfeed.ranking.service import top_trending

        window: Literal["day", "week"] = "day" if period.frequency == "daily" else "week"
        ranking = top_trending(session, settings=settings, window=window, until=period.end, limit=len(papers))
        return cls.from_papers(period, papers, ranking=ranking)

    @classmethod
    def from_papers(
        cls, period: Period, papers: dict[int, DigestPaper], *, ranking: Sequence[int] = ()
    ) -> SelectionContext:
        """A context over already loaded papers (pure: no database).

        `ranking` (the trending service's order) comes first; papers it leaves out follow, by upvotes +
        votes, then newest.
        """
        epoch = datetime.min

        def key(p: DigestPaper) -> tuple[int, datetime, int]:
            published = p.published.replace(tzinfo=None) if p.published else epoch
            return (p.score, published, p.id)

        ranked = [pid for pid in dict.fromkeys(ranking) if pid in papers]
        seen = set(ranked)
        rest = sorted((p for p in papers.values() if p.id not in seen), key=key, reverse=True)
        order = ranked + [p.id for p in rest]
        ctx = cls(
            period=period,
            papers=papers,
            order=order,
            code_ids=frozenset(p.id for p in papers.values() if p.code_links),
        )
        ctx._rank = {pid: i for i, pid in enumerate(order)}
        for p in papers.values():
            toks = _tokens(p.title + " \n " + p.abstract)
            ctx._texts[p.id] = " " + " ".join(toks) + " "
            for tok in set(toks):
                ctx._words.setdefault(tok, set()).add(p.id)
            for name in p.authors:
                ctx._authors.setdefault(normalise_name(name), set()).add(p.id)
            for cat in p.categories:
                ctx._categories.setdefault(cat.lower(), set()).add(p.id)
                archive = cat.split(".", 1)[0].lower()
                if archive != cat.lower():
                    ctx._categories.setdefault(archive, set()).add(p.id)
        return ctx

    def _ranked(self, ids: Iterable[int]) -> tuple[int, ...]:
        return tuple(sorted(ids, key=self._rank.__getitem__))

    def search(self, query: str) -> tuple[int, ...]:
        """Papers matching a saved search (every term in title or abstract), best first."""
        cache_key = ("q", query)
        hit = self._cache.get(cache_key)
        if hit is not None:
            return hit
        terms = _query_terms(query)
        found: set[int] | None = None
        for term in terms:
            ids = set.intersection(*(self._words.get(t, set()) for t in term))
            if len(term) > 1:
                phrase = " " + " ".join(term) + " "
                ids = {pid for pid in ids if phrase in self._texts[pid]}
            found = ids if found is None else found & ids
            if not found:
                break
        result = self._ranked(found or ())
        self._cache[cache_key] = result
        return result

    def by_author(self, name: str) -> tuple[int, ...]:
        """Papers with this author on the byline, best first."""
        cache_key = ("a", name)
        hit = self._cache.get(cache_key)
        if hit is None:
            hit = self._ranked(self._authors.get(normalise_name(name), ()))
            self._cache[cache_key] = hit
        return hit

    def in_categories(self, categories: Collection[str]) -> tuple[int, ...]:
        """The period's papers in any of these categories (all papers when empty), best first."""
        cats = tuple(sorted({c.strip().lower() for c in categories if c.strip()}))
        if not cats:
            return tuple(self.order)
        cache_key = ("c", cats)
        hit = self._cache.get(cache_key)
        if hit is None:
            union: set[int] = set()
            for c in cats:
                union |= self._categories.get(c, set())
            hit = self._ranked(union)
            self._cache[cache_key] = hit
        return hit


def _keyed(rank: dict[int, int], ids: tuple[int, ...], i: int) -> Iterator[tuple[int, int, int]]:
    return ((rank[pid], pid, i) for pid in ids)


def _shown_query(query: str) -> str:
    shown = " ".join(query.split())
    # 'Matches your saved search ""a phrase""' reads badly: drop the quotes of a query that is one phrase.
    if len(shown) > 2 and shown[0] == shown[-1] == '"' and '"' not in shown[1:-1]:
        shown = shown[1:-1]
    return shown


def _category_reason(paper: DigestPaper, wanted: Collection[str]) -> str | None:
    folded = {c.strip().lower() for c in wanted}
    for cat in paper.categories:
        if cat.lower() in folded or cat.split(".", 1)[0].lower() in folded:
            return f"In {cat}"
    return None


def _fill_reason(ctx: SelectionContext, paper: DigestPaper, categories: Collection[str]) -> str:
    if paper.score > 0:
        return "Trending"
    where = _category_reason(paper, categories) if categories else None
    if where:
        return where
    return "New today" if ctx.period.frequency == "daily" else "New this week"


def select_digest(
    session: Session,
    *,
    subscription: Subscription,
    period: Period,
    settings: Settings,
    exclude: Collection[int] = (),
    context: SelectionContext | None = None,
    followed: Collection[str] = (),
) -> list[Pick]:
    """The papers of this subscriber's digest for `period`, best first; [] means send nothing.

    `followed`: the authors the subscriber follows on the site (authors.follows.followed_by_email), merged
    with the subscription's own author list: one name counts once, and a paper is picked once.
    """
    ctx = context if context is not None else SelectionContext.build(session, period, settings)
    if ctx.period != period:
        raise ValueError(f"context is for {ctx.period.label}, not {period.label}")
    excluded = exclude if isinstance(exclude, (set, frozenset, dict)) else set(exclude)
    limit = max(1, min(50, int(subscription.max_papers or 10)))
    only_code = bool(subscription.only_code)
    chosen: dict[int, str] = {}

    def usable(pid: int) -> bool:
        return pid not in chosen and pid not in excluded and (not only_code or pid in ctx.code_ids)

    # Personal matches: each saved search's and author's ids are already ranked (and cached in the
    # context); merge them lazily by rank and stop at the limit. On equal ids heapq.merge yields the
    # earlier list first, so a saved search's reason wins over an author's.
    lists: list[tuple[tuple[int, ...], str | None, str]] = []
    for query in subscription.saved_searches or ():
        lists.append((ctx.search(query), f'Matches your saved search "{_shown_query(query)}"', query))
    names = {normalise_name(n): n for n in (*followed, *(subscription.authors or ()))}
    for name in names.values():
        lists.append((ctx.by_author(name), None, name))
    if lists:
        rank = ctx._rank
        merged = heapq.merge(*(_keyed(rank, ids, i) for i, (ids, _, _) in enumerate(lists)))
        for _, pid, i in merged:
            if len(chosen) >= limit:
                break
            if usable(pid):
                reason, raw = lists[i][1], lists[i][2]
                if reason is None:
                    # The byline's own spelling ("José García"), not the reader's ("jose garcia").
                    target = normalise_name(raw)
                    shown = next((a for a in ctx.papers[pid].authors if normalise_name(a) == target), raw)
                    reason = f"By {' '.join(shown.split())}, whom you follow"
                chosen[pid] = reason

    categories = list(subscription.categories or ())
    if len(chosen) < limit:
        for pid in ctx.in_categories(categories):
            if usable(pid):
                chosen[pid] = _fill_reason(ctx, ctx.papers[pid], categories)
                if len(chosen) >= limit:
                    break
    return [Pick(pid, reason) for pid, reason in chosen.items()]


def count_listed(session: Session, period: Period) -> int:
    """How many papers were listed in the period (for reports)."""
    stmt = select(func.count(func.distinct(Submission.paper_id))).where(
        Submission.day.between(period.start, period.end)
    )
    return int(session.scalar(stmt) or 0)
