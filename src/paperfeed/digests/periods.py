"""Digest periods: which listing days a digest covers, and on which days it goes out.

- daily: one listing day; due on weekdays (Monday to Friday, when arXiv announces). The digest sent on
  day D covers the papers listed on D, so the send job runs after that day's ingest (evening, UTC).
- weekly: one ISO week, Monday to Sunday; due on Mondays, covering the previous ISO week.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

from paperfeed import periods
from paperfeed.periods import PeriodError

__all__ = ["Frequency", "Period", "PeriodError", "due", "parse_period", "period_for_send_day"]

Frequency = Literal["daily", "weekly"]


@dataclass(frozen=True, slots=True)
class Period:
    """The listing days one digest covers (both ends inclusive) and its label (2026-11-27, 2026-W48)."""

    frequency: Frequency
    start: date
    end: date
    label: str

    @classmethod
    def day(cls, day: date) -> Period:
        """The daily period of one listing day."""
        return cls("daily", day, day, day.isoformat())

    @classmethod
    def week_of(cls, day: date) -> Period:
        """The weekly period of the ISO week containing `day`."""
        week = periods.Period.containing("week", day)  # the calendar arithmetic lives in paperfeed.periods
        return cls("weekly", week.start, week.end, week.param)

    @property
    def title(self) -> str:
        """A reader's name: 'November 27, 2026' or 'the week of November 23, 2026'."""
        if self.frequency == "daily":
            return f"{self.start:%B} {self.start.day}, {self.start.year}"
        return f"the week of {self.start:%B} {self.start.day}, {self.start.year}"


def _check_frequency(frequency: str) -> Frequency:
    if frequency == "daily":
        return "daily"
    if frequency == "weekly":
        return "weekly"
    raise PeriodError(f"unknown frequency {frequency!r}: daily or weekly")


def parse_period(text: str, frequency: str) -> Period:
    """'2026-11-27' (a day; for weekly, the ISO week containing it) or '2026-W48' (weekly only)."""
    freq = _check_frequency(frequency)
    text = text.strip()
    if "W" in text:
        if freq == "daily":
            raise PeriodError(f"{text!r} is a week; a daily period is a day like 2026-11-27")
        return Period.week_of(periods.parse_week(text).start)
    try:
        day = periods.parse_day(text)
    except PeriodError:
        raise PeriodError(
            f"invalid period {text!r}: use a day (2026-11-27) or an ISO week (2026-W48)"
        ) from None
    return Period.day(day) if freq == "daily" else Period.week_of(day)


def due(subscription_frequency: str, day: date) -> bool:
    """True when digests of this frequency go out on `day` (daily: weekdays; weekly: Mondays)."""
    freq = _check_frequency(subscription_frequency)
    return day.weekday() < 5 if freq == "daily" else day.weekday() == 0


def period_for_send_day(frequency: str, day: date) -> Period:
    """The period a digest sent on `day` covers: that day (daily) or the previous ISO week (weekly)."""
    freq = _check_frequency(frequency)
    return Period.day(day) if freq == "daily" else Period.week_of(day - timedelta(days=7))
