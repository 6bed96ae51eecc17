"""Digest periods: which listing days a digest covers, and on which days it goes out.

- daily: one listing day; due on weekdays (Monday to Friday, when arXiv announces). The digest sent on
  day D covers the papers listed on D, so the send job runs after that day's ingest (evening, UTC).
- weekly: one ISO week, Monday to Sunday; due on Mondays, covering the previous ISO week.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

__all__ = ["Frequency", "Period", "PeriodError", "due", "parse_period", "period_for_send_day"]

Frequency = Literal["daily", "weekly"]
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")


class PeriodError(ValueError):
    """A period text that names no valid day or ISO week."""


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
        start = day - timedelta(days=day.weekday())
        year, week, _ = start.isocalendar()
        return cls("weekly", start, start + timedelta(days=6), f"{year}-W{week:02d}")

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
    if m := _DATE.fullmatch(text):
        try:
            day = date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError as exc:
            raise PeriodError(f"invalid date {text!r}: {exc}") from None
        if not 1 <= day.year <= 9998:
            raise PeriodError(f"invalid year in {text!r}")
        return Period.day(day) if freq == "daily" else Period.week_of(day)
    if m := _WEEK.fullmatch(text):
        if freq == "daily":
            raise PeriodError(f"{text!r} is a week; a daily period is a day like 2026-11-27")
        try:
            monday = date.fromisocalendar(int(m[1]), int(m[2]), 1)
        except ValueError as exc:
            raise PeriodError(f"invalid ISO week {text!r}: {exc}") from None
        return Period.week_of(monday)
    raise PeriodError(f"invalid period {text!r}: use a day (2026-11-27) or an ISO week (2026-W48)")


def due(subscription_frequency: str, day: date) -> bool:
    """True when digests of this frequency go out on `day` (daily: weekdays; weekly: Mondays)."""
    freq = _check_frequency(subscription_frequency)
    return day.weekday() < 5 if freq == "daily" else day.weekday() == 0


def period_for_send_day(frequency: str, day: date) -> Period:
    """The period a digest sent on `day` covers: that day (daily) or the previous ISO week (weekly)."""
    freq = _check_frequency(frequency)
    return Period.day(day) if freq == "daily" else Period.week_of(day - timedelta(days=7))
