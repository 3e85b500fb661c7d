"""The banking calendar of the ACH network: weekends and the Federal Reserve's holidays, and US Eastern time.

The Federal Reserve Banks close on the eleven federal holidays (Juneteenth from 2021); a fixed-date
holiday on a Sunday is observed on the Monday, and one on a Saturday is not moved (the Friday before is a
banking day). "Today" for a file is the date in US Eastern time, where the ODFI's cutoffs are.

Both are computed here from their rules, with no data files: the `holidays` package (its XFED calendar)
and the tz database are the tests' oracles (tests/money), every day from 1999 to 2100 and every DST
change from 2007, not runtime dependencies. `import holidays` loads ~250 country modules (about 0.3 s)
and adds 1.5 MiB to the Lambda zip, and Lambda's Python runtime has no tz database of its own.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

SATURDAY, SUNDAY = 5, 6
MONDAY, THURSDAY = 0, 3
EASTERN_STANDARD = timedelta(hours=-5)
EASTERN_DAYLIGHT = timedelta(hours=-4)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    """The n-th `weekday` of the month (n = -1: the last)."""
    if n > 0:
        first = date(year, month, 1)
        return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def _sunday_to_monday(day: date) -> date:
    return day + timedelta(days=1) if day.weekday() == SUNDAY else day


@lru_cache(maxsize=256)
def fed_holidays(year: int) -> frozenset[date]:
    """The days of `year` the Federal Reserve Banks are closed for a holiday (weekends aside)."""
    fixed = [(1, 1), (7, 4), (11, 11), (12, 25)] + ([(6, 19)] if year >= 2021 else [])
    return frozenset(
        [_sunday_to_monday(date(year, month, day)) for month, day in fixed]
        + [
            _nth_weekday(year, 1, MONDAY, 3),  # Birthday of Martin Luther King, Jr.
            _nth_weekday(year, 2, MONDAY, 3),  # Washington's Birthday
            _nth_weekday(year, 5, MONDAY, -1),  # Memorial Day
            _nth_weekday(year, 9, MONDAY, 1),  # Labor Day
            _nth_weekday(year, 10, MONDAY, 2),  # Columbus Day
            _nth_weekday(year, 11, THURSDAY, 4),  # Thanksgiving Day
        ]
    )


def is_banking_day(day: date) -> bool:
    """A weekday that is not a Federal Reserve holiday."""
    return day.weekday() < SATURDAY and day not in fed_holidays(day.year)


def next_banking_day(day: date) -> date:
    """The first banking day strictly after `day`."""
    candidate = day + timedelta(days=1)
    while not is_banking_day(candidate):
        candidate += timedelta(days=1)
    return candidate


def add_banking_days(day: date, count: int) -> date:
    """`count` banking days after `day` (count >= 1), whatever `day` itself is."""
    if count < 1:
        raise ValueError("count must be at least 1")
    for _ in range(count):
        day = next_banking_day(day)
    return day


def eastern_offset(moment: datetime) -> timedelta:
    """US Eastern's UTC offset at an aware moment: daylight time from 02:00 local on the second Sunday of
    March to 02:00 local on the first Sunday of November (the rule since 2007), standard time otherwise."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    utc = moment.astimezone(UTC).replace(tzinfo=None)
    starts = datetime.combine(_nth_weekday(utc.year, 3, SUNDAY, 2), datetime.min.time()) + timedelta(hours=7)
    ends = datetime.combine(_nth_weekday(utc.year, 11, SUNDAY, 1), datetime.min.time()) + timedelta(hours=6)
    return EASTERN_DAYLIGHT if starts <= utc < ends else EASTERN_STANDARD


def eastern_date(moment: datetime) -> date:
    """The calendar date at the ODFI (US Eastern) of an aware moment."""
    return (moment.astimezone(UTC) + eastern_offset(moment)).date()


def effective_date(moment: datetime) -> date:
    """The effective entry date of a file sent at `moment`: the next banking day after its Eastern date."""
    return next_banking_day(eastern_date(moment))


def settlement_date(effective: date, window_days: int) -> date:
    """The day an entry with no return is settled: `window_days` banking days after its effective date."""
    return add_banking_days(effective, window_days)
