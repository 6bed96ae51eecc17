"""The trending score: a pure function of a paper's signals, the clock and the parameters, explained.

    score = (w_votes * ln(1 + votes) + w_comments * ln(1 + comments) + w_stars * ln(1 + stars_gained))
            / (1 + age_hours / age_scale_hours) ** gravity

Hacker News's gravity with log-damped signals: see docs/trending.md for the reasoning. Each term's
contribution is its damped signal times the same decay, so the contributions sum to the score.
`score_arrays` is the same formula over numpy arrays (the recompute of every paper); a test keeps them equal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from paperfeed.periods import WINDOW_DAYS, WINDOWS, Window

if TYPE_CHECKING:
    from paperfeed.config import Settings

__all__ = [
    "WINDOWS",
    "WINDOW_DAYS",
    "Signals",
    "Term",
    "TrendingParams",
    "TrendingScore",
    "Window",
    "age_hours",
    "score_arrays",
    "trending_score",
]


# Counts beyond this are clamped: no real paper comes near it, and it keeps every float finite.
_MAX_COUNT = 10**15
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class TrendingParams:
    """The formula's knobs (from Settings: trending_*)."""

    w_votes: float = 1.0
    w_comments: float = 0.5
    w_stars: float = 0.6
    gravity: float = 0.5
    age_scale_hours: float = 24.0

    def __post_init__(self) -> None:
        for name in ("w_votes", "w_comments", "w_stars"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        if not (math.isfinite(self.gravity) and self.gravity > 0):
            raise ValueError(f"gravity must be a finite number > 0, got {self.gravity!r}")
        if not (math.isfinite(self.age_scale_hours) and self.age_scale_hours > 0):
            raise ValueError(f"age_scale_hours must be a finite number > 0, got {self.age_scale_hours!r}")

    @classmethod
    def from_settings(cls, settings: Settings) -> TrendingParams:
        """The parameters configured in Settings."""
        return cls(
            w_votes=settings.trending_weight_votes,
            w_comments=settings.trending_weight_comments,
            w_stars=settings.trending_weight_stars,
            gravity=settings.trending_gravity,
            age_scale_hours=settings.trending_age_scale_hours,
        )


@dataclass(frozen=True, slots=True)
class Signals:
    """What a paper's trending score is made of.

    upvotes come from the source (Hugging Face), local_votes from paperfeed's users; stars_gained is the
    GitHub stars its repository gained in the window; listed_at is when it was published or listed.
    """

    upvotes: int
    local_votes: int
    comments: int
    stars_gained: int
    listed_at: datetime

    @property
    def votes(self) -> int:
        """Source and local upvotes together (negative counts count as none)."""
        return _count(self.upvotes) + _count(self.local_votes)


@dataclass(frozen=True, slots=True)
class Term:
    """One term of the score: the signal, its weight, the damped value before decay and its contribution."""

    name: str
    signal: int
    weight: float
    damped: float  # weight * ln(1 + signal)
    contribution: float  # damped * decay


@dataclass(frozen=True, slots=True)
class TrendingScore:
    """A score with its explanation: the terms (votes, comments, stars) sum to `score`."""

    score: float
    terms: tuple[Term, Term, Term]
    age_hours: float
    decay: float  # the age factor every term is multiplied by, in (0, 1]


def _count(value: int) -> int:
    return min(max(int(value), 0), _MAX_COUNT)


def age_hours(listed_at: datetime, now: datetime) -> float:
    """Hours from listing to now; 0 for a listing in the future (clock skew, a timezone slip)."""
    return max((now - listed_at) / timedelta(hours=1), 0.0)


def decay_factor(age: float, params: TrendingParams) -> float:
    """(1 + age/scale) ** -gravity: 1 when fresh, strictly smaller as the paper ages."""
    return float((1.0 + age / params.age_scale_hours) ** -params.gravity)


def trending_score(signals: Signals, now: datetime, params: TrendingParams) -> TrendingScore:
    """The trending score of one paper at `now`, with each term's contribution."""
    age = age_hours(signals.listed_at, now)
    decay = decay_factor(age, params)
    parts = (
        ("votes", signals.votes, params.w_votes),
        ("comments", _count(signals.comments), params.w_comments),
        ("stars", _count(signals.stars_gained), params.w_stars),
    )
    terms = tuple(
        Term(name, value, weight, weight * math.log1p(value), weight * math.log1p(value) * decay)
        for name, value, weight in parts
    )
    v, c, s = terms
    # The same left-to-right sum the vectorised version does, so both agree to the last bit of each term.
    return TrendingScore(v.contribution + c.contribution + s.contribution, (v, c, s), age, decay)


def score_arrays(
    *,
    upvotes: I64,
    local_votes: I64,
    comments: I64,
    stars_gained: I64,
    listed_h: F64,
    as_of: datetime,
    params: TrendingParams,
) -> tuple[F64, F64, F64, F64]:
    """trending_score over arrays: (score, votes, comments, stars terms); the same formula, vectorised."""
    as_of = as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of  # naive means UTC here
    now_h = (as_of - _EPOCH) / timedelta(hours=1)
    age = np.maximum(now_h - listed_h, 0.0)
    decay = (1.0 + age / params.age_scale_hours) ** -params.gravity
    cap = _MAX_COUNT
    votes = np.clip(upvotes, 0, cap) + np.clip(local_votes, 0, cap)
    v = params.w_votes * np.log1p(votes.astype(np.float64)) * decay
    c = params.w_comments * np.log1p(np.clip(comments, 0, cap).astype(np.float64)) * decay
    s = params.w_stars * np.log1p(np.clip(stars_gained, 0, cap).astype(np.float64)) * decay
    return v + c + s, v, c, s
