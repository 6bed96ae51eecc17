"""as_utc and iso_utc: the naive-to-UTC helpers (SQLite returns naive datetimes; paperfeed stores UTC)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from paperfeed.timeutil import as_utc, iso_utc


def test_naive_is_taken_as_utc() -> None:
    naive = datetime(2026, 7, 1, 12, 30, 5, 123456)
    out = as_utc(naive)
    assert out.tzinfo is UTC
    assert out.replace(tzinfo=None) == naive  # the wall clock is kept: it already was UTC
    assert out.isoformat() == "2026-07-01T12:30:05.123456+00:00"


def test_aware_with_an_offset_is_converted_not_relabelled() -> None:
    paris_summer = timezone(timedelta(hours=2))
    out = as_utc(datetime(2026, 7, 1, 12, 0, tzinfo=paris_summer))
    assert out.tzinfo is UTC
    assert out.hour == 10  # the same instant, read in UTC (not 12:00 UTC)
    assert out.isoformat() == "2026-07-01T10:00:00+00:00"


def test_aware_utc_is_unchanged() -> None:
    value = datetime(2026, 7, 1, 23, 59, 59, tzinfo=UTC)
    out = as_utc(value)
    assert out == value
    assert out.utcoffset() == timedelta(0)
    assert out.isoformat() == "2026-07-01T23:59:59+00:00"


def test_iso_utc_writes_every_moment_in_utc() -> None:
    assert iso_utc(None) is None
    assert iso_utc(datetime(2026, 11, 28, 9, 30)) == "2026-11-28T09:30:00+00:00"
    paris = timezone(timedelta(hours=1))
    assert iso_utc(datetime(2026, 11, 28, 10, 30, tzinfo=paris)) == "2026-11-28T09:30:00+00:00"
