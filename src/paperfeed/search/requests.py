"""What a search is asked and what it answers: requests, hits, results (plain data, no queries)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Literal

from markupsafe import Markup

from paperfeed.feed import FeedError
from paperfeed.periods import WINDOW_DAYS as WINDOWS

if TYPE_CHECKING:
    from paperfeed.db.models import Paper
    from paperfeed.search.query import ParsedQuery

__all__ = [
    "MAX_DEPTH",
    "MAX_LIMIT",
    "MODES",
    "WINDOWS",
    "Hit",
    "Mode",
    "SearchEntry",
    "SearchError",
    "SearchRequest",
    "SearchResult",
    "SimilarResult",
    "request_from_params",
]

Mode = Literal["hybrid", "keyword", "semantic"]
MODES: tuple[str, ...] = ("hybrid", "keyword", "semantic")
MAX_LIMIT = 100
MAX_DEPTH = 1000  # page * limit: deeper pages of a ranked list help nobody and cost a bigger candidate pool


class SearchError(FeedError):
    """A request the service cannot answer (bad mode, page, limit, date or too long a query).

    A FeedError, so the app's handler answers it with a 400 (HTML page, or {"error": ...} under /api).
    """


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _param_date(name: str, value: str | None) -> date | None:
    if value is None or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise SearchError(f"invalid {name} {value!r}: expected YYYY-MM-DD") from None


def request_from_params(
    *,
    q: str | None,
    mode: str | None = None,
    category: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    code: str | None = None,
    window: str | None = None,
    page: int = 0,
    limit: int = 20,
    count: bool = False,
) -> SearchRequest:
    """A SearchRequest from query-string values (blank means unset); raises SearchError naming a bad one."""
    code_value: bool | None = None
    if code is not None and code.strip():
        flag = code.strip().lower()
        if flag not in _TRUE + _FALSE:
            raise SearchError(f"invalid code {code!r}: expected 1 or 0")
        code_value = flag in _TRUE
    return SearchRequest(
        q=q or "",
        mode=(mode or "hybrid").strip().lower(),
        category=category.strip() if category and category.strip() else None,
        date_from=_param_date("from", date_from),
        date_to=_param_date("to", date_to),
        has_code=code_value,
        window=window.strip().lower() if window and window.strip() else None,
        page=page,
        limit=limit,
        count=count,
    )


@dataclass(frozen=True, slots=True)
class SearchRequest:
    """One search. Dates filter on the listing date; `window` is relative to the latest listing day."""

    q: str
    mode: str = "hybrid"
    category: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    has_code: bool | None = None
    window: str | None = None
    page: int = 0
    limit: int = 20
    count: bool = False  # count every keyword match (costs a full scan of the matches)
    snippets: bool = True
    load_papers: bool = True
    max_authors: int | None = 5  # authors loaded per paper (a card shows 4, then "et al."); None: all


@dataclass(slots=True)
class Hit:
    """One result: the paper id, its fused score, which sides found it, and an escaped, marked snippet."""

    paper_id: int
    score: float
    matched_by: tuple[str, ...]
    keyword_rank: int | None = None
    semantic_rank: int | None = None
    similarity: float | None = None
    snippet: Markup | None = None


@dataclass(slots=True)
class SearchResult:
    """A page of hits (and their papers), with what the caller should tell the user."""

    request: SearchRequest
    query: ParsedQuery | None
    mode: str  # the mode actually used (hybrid falls back to keyword when no vectors exist)
    hits: list[Hit] = field(default_factory=list)
    papers: list[Paper] = field(default_factory=list)
    total: int | None = None  # matches when known (keyword mode with count=True, or the fused pool)
    has_next: bool = False
    semantic_coverage: float | None = None  # share of indexed papers that have a vector
    pending_vectors: int = 0
    notices: list[str] = field(default_factory=list)

    @property
    def entries(self) -> list[SearchEntry]:
        """Hits with their papers, for templates (the card macro reads entry.paper)."""
        by_id = {p.id: p for p in self.papers}
        return [SearchEntry(by_id[h.paper_id], h) for h in self.hits if h.paper_id in by_id]


@dataclass(frozen=True, slots=True)
class SearchEntry:
    """A paper and its hit (what the result cards render)."""

    paper: Paper
    hit: Hit


@dataclass(slots=True)
class SimilarResult:
    """Papers like a given one, best first: fused scores, the method ('hybrid' when the paper has a vector,
    'keyword' until then) and, per paper, which sides found it."""

    papers: list[Paper]
    scores: list[float]
    method: str
    matched_by: list[tuple[str, ...]]
