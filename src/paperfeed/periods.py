"""Day / week / month, once: calendar periods of the daily list, rolling windows of trending and search.

- A *calendar period* (`Period`) is one listing day, an ISO week (Monday to Sunday) or a calendar month,
  named in URLs as 2026-05-29, 2026-W22 or 2026-05. The daily list and the digests count by these.
- A *rolling window* (`Window`, `WINDOW_DAYS`) is the last 1, 7 or 30 listing days up to a day: trending
  and search's date filter count by these, so "week" on /trending is always seven days, not an ISO week.
- `TABS` are the Day / Week / Month tabs every listing page shows.

Every parse error is a PeriodError (a UserError: 400 with the reason, never a 500).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from paperfeed.errors import UserError

__all__ = [
    "KINDS",
    "MAX_YEAR",
    "TABS",
    "WINDOWS",
    "WINDOW_DAYS",
    "Period",
    "PeriodError",
    "PeriodKind",
    "Window",
    "check_window",
    "parse_day",
    "parse_period",
    "parse_week",
    "window_start",
]

PeriodKind = Literal["day", "week", "month"]
Window = PeriodKind
KINDS: tuple[PeriodKind, ...] = ("day", "week", "month")
WINDOWS: tuple[Window, ...] = KINDS
WINDOW_DAYS: dict[Window, int] = {"day": 1, "week": 7, "month": 30}
TABS: tuple[tuple[str, PeriodKind], ...] = (("Day", "day"), ("Week", "week"), ("Month", "month"))

# ASCII digits only: \d alone would also take full-width and Arabic-Indic digits, which int() accepts.
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
# The week or month around a day in year 9999 ends past date.max: such years are refused when parsing.
# (Year 1 is accepted; window_start() clamps a window that would begin before date.min.)
MIN_YEAR = 1
MAX_YEAR = 9998


class PeriodError(UserError):
    """A day, week, month or window that names nothing valid; the message says what is expected."""


@dataclass(frozen=True, slots=True)
class Period:
    """A listing period: one day, an ISO week or a calendar month (both ends inclusive)."""

    kind: PeriodKind
    start: date
    end: date

    @property
    def param(self) -> str:
        """The query-string value naming this period: 2026-05-29, 2026-W22 or 2026-05."""
        if self.kind == "day":
            return self.start.isoformat()
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"{year}-W{week:02d}"
        return f"{self.start.year:04d}-{self.start.month:02d}"

    @property
    def query_key(self) -> str:
        """The query-string parameter for this kind: date, week or month."""
        return {"day": "date", "week": "week", "month": "month"}[self.kind]

    @property
    def label(self) -> str:
        """A human label: 'May 29, 2026', 'Week 22, 2026', 'May 2026'."""
        if self.kind == "day":
            return f"{self.start:%B} {self.start.day}, {self.start.year}"
        if self.kind == "week":
            year, week, _ = self.start.isocalendar()
            return f"Week {week}, {year}"
        return f"{self.start:%B %Y}"

    @classmethod
    def containing(cls, kind: PeriodKind, day: date) -> Period:
        """The period of `kind` that contains `day`."""
        if kind == "day":
            return cls("day", day, day)
        if kind == "week":
            start = day - timedelta(days=day.weekday())
            return cls("week", start, start + timedelta(days=6))
        start = day.replace(day=1)
        following = (start + timedelta(days=32)).replace(day=1)
        return cls("month", start, following - timedelta(days=1))


def _check_year(text: str, year: int) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise PeriodError(f"invalid year in {text!r}: must be between {MIN_YEAR:04d} and {MAX_YEAR}")


def parse_day(text: str, *, name: str = "date") -> date:
    """A YYYY-MM-DD day within the supported years, or PeriodError naming `name`."""
    m = _DATE.fullmatch(text.strip())
    if not m:
        raise PeriodError(f"invalid {name} {text!r}: expected YYYY-MM-DD")
    _check_year(text, int(m.group(1)))
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError as exc:
        raise PeriodError(f"invalid {name} {text!r}: {exc}") from None


def parse_week(text: str) -> Period:
    """A YYYY-Www ISO week, or PeriodError."""
    m = _WEEK.fullmatch(text.strip())
    if not m:
        raise PeriodError(f"invalid week {text!r}: expected YYYY-Www, e.g. 2026-W22")
    year, week = int(m.group(1)), int(m.group(2))
    _check_year(text, year)
    try:
        start = date.fromisocalendar(year, week, 1)
    except ValueError:
        # Years have 52 or 53 ISO weeks; fromisocalendar knows which.
        raise PeriodError(f"invalid week {text!r}: {year} has no ISO week {week}") from None
    return Period("week", start, start + timedelta(days=6))


def _parse_month(text: str) -> Period:
    m = _MONTH.fullmatch(text.strip())
    if not m:
        raise PeriodError(f"invalid month {text!r}: expected YYYY-MM")
    year, month = int(m.group(1)), int(m.group(2))
    _check_year(text, year)
    if not 1 <= month <= 12:
        raise PeriodError(f"invalid month {text!r}: month must be 01-12")
    return Period.containing("month", date(year, month, 1))


def parse_period(
    *, day: str | date | None = None, week: str | None = None, month: str | None = None
) -> Period | None:
    """The period named by at most one of day/week/month, or None when none is given."""
    given = [v for v in (day, week, month) if v not in (None, "")]
    if len(given) > 1:
        raise PeriodError("give only one of date, week and month")
    if isinstance(day, date):
        return Period("day", day, day)
    if day:
        parsed = parse_day(day)
        return Period("day", parsed, parsed)
    if week:
        return parse_week(week)
    if month:
        return _parse_month(month)
    return None


def window_start(window: Window, until: date) -> date:
    """The first listing day of the rolling `window` ending on `until` (never before date.min)."""
    back = WINDOW_DAYS[window] - 1
    return date.min if until.toordinal() - back < 1 else until - timedelta(days=back)


def check_window(window: str) -> Window:
    """The rolling window named by `window`, or PeriodError naming the valid ones."""
    for known in WINDOWS:
        if window == known:
            return known
    raise PeriodError(f"invalid window {window!r}: expected one of {', '.join(WINDOWS)}")
