"""The banking calendar of the ACH network: weekends and the Federal Reserve's holidays.

The Federal Reserve Banks close on the eleven federal holidays; a holiday on a Sunday is observed on the
Monday, and one on a Saturday is not moved (the Friday before is a banking day). The `holidays` package's
XFED calendar (pinned in requirements.txt) implements exactly that; tests/money check it against the
Federal Reserve's published list. "Today" for a file is the date in US Eastern time, where the ODFI's
cutoffs are.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

EASTERN = ZoneInfo("America/New_York")
SATURDAY = 5


@lru_cache(maxsize=64)
def _fed_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.financial_holidays("XFED", years=year))


def is_banking_day(day: date) -> bool:
    """A weekday that is not a Federal Reserve holiday."""
    return day.weekday() < SATURDAY and day not in _fed_holidays(day.year)


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


def eastern_date(moment: datetime) -> date:
    """The calendar date at the ODFI (US Eastern) of an aware moment."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(EASTERN).date()


def effective_date(moment: datetime) -> date:
    """The effective entry date of a file sent at `moment`: the next banking day after its Eastern date."""
    return next_banking_day(eastern_date(moment))


def settlement_date(effective: date, window_days: int) -> date:
    """The day an entry with no return is settled: `window_days` banking days after its effective date."""
    return add_banking_days(effective, window_days)
