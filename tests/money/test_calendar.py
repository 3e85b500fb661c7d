"""The banking calendar against the Federal Reserve's published holiday schedule, and its properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.money.calendar import (
    add_banking_days,
    eastern_date,
    eastern_offset,
    effective_date,
    fed_holidays,
    is_banking_day,
    next_banking_day,
    settlement_date,
)

NEW_YORK = ZoneInfo("America/New_York")  # the tz database (the tzdata package): the oracle of eastern_offset

# The Federal Reserve's holiday schedule as it publishes it (federalreserve.gov, "Holidays Observed by the
# Federal Reserve System"): the dates the Reserve Banks are closed.
FED_CLOSED = {
    2026: [(1, 1), (1, 19), (2, 16), (5, 25), (6, 19), (9, 7), (10, 12), (11, 11), (11, 26), (12, 25)],
    2027: [(1, 1), (1, 18), (2, 15), (5, 31), (7, 5), (9, 6), (10, 11), (11, 11), (11, 25)],
    2028: [(1, 17), (2, 21), (5, 29), (6, 19), (7, 4), (9, 4), (10, 9), (11, 23), (12, 25)],
}
# Holidays on a Saturday are not moved: the Friday before is a banking day.
OPEN_FRIDAYS = [date(2026, 7, 3), date(2027, 6, 18), date(2027, 12, 24), date(2027, 12, 31), date(2028, 11, 10)]


@pytest.mark.parametrize("year", sorted(FED_CLOSED))
def test_the_reserve_banks_closed_days_are_not_banking_days(year: int) -> None:
    closed = {date(year, month, day) for month, day in FED_CLOSED[year]}
    weekdays = [date(year, 1, 1) + timedelta(days=n) for n in range(366) if (date(year, 1, 1) + timedelta(days=n)).year == year]
    assert {day for day in weekdays if day.weekday() < 5 and not is_banking_day(day)} == closed


@pytest.mark.parametrize("friday", OPEN_FRIDAYS)
def test_a_saturday_holiday_leaves_the_friday_before_a_banking_day(friday: date) -> None:
    assert friday.weekday() == 4
    assert is_banking_day(friday)


def test_weekends_are_never_banking_days() -> None:
    assert not is_banking_day(date(2026, 12, 5))
    assert not is_banking_day(date(2026, 12, 6))


def test_next_banking_day_skips_weekends_and_holidays() -> None:
    assert next_banking_day(date(2026, 12, 4)) == date(2026, 12, 7)  # Friday -> Monday
    assert next_banking_day(date(2026, 11, 25)) == date(2026, 11, 27)  # over Thanksgiving
    assert next_banking_day(date(2026, 12, 24)) == date(2026, 12, 28)  # over Christmas and the weekend
    assert next_banking_day(date(2027, 7, 2)) == date(2027, 7, 6)  # over the observed Independence Day


def test_the_effective_date_counts_from_the_date_at_the_odfi_in_eastern_time() -> None:
    # Friday 22:00 in New York is Saturday 03:00 UTC: still Friday's file, effective Monday.
    assert eastern_date(datetime(2026, 12, 5, 3, 0, tzinfo=UTC)) == date(2026, 12, 4)
    assert effective_date(datetime(2026, 12, 5, 3, 0, tzinfo=UTC)) == date(2026, 12, 7)
    # Monday 14:00 Eastern (19:00 UTC in winter, 18:00 UTC in summer) -> Tuesday.
    assert effective_date(datetime(2026, 12, 7, 19, 0, tzinfo=UTC)) == date(2026, 12, 8)
    assert effective_date(datetime(2026, 7, 2, 18, 0, tzinfo=UTC)) == date(2026, 7, 3)  # Saturday the 4th leaves Friday open
    with pytest.raises(ValueError, match="timezone-aware"):
        effective_date(datetime(2026, 12, 7, 19, 0))


def test_settlement_is_the_return_window_in_banking_days_after_the_effective_date() -> None:
    assert settlement_date(date(2026, 12, 24), 2) == date(2026, 12, 29)
    assert settlement_date(date(2026, 12, 7), 2) == date(2026, 12, 9)
    with pytest.raises(ValueError, match="at least 1"):
        add_banking_days(date(2026, 12, 7), 0)


@settings(max_examples=300, deadline=None)
@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2040, 12, 31)), st.integers(min_value=1, max_value=12))
def test_adding_banking_days_lands_on_a_banking_day_with_exactly_that_many_on_the_way(day: date, count: int) -> None:
    result = add_banking_days(day, count)
    assert is_banking_day(result)
    passed = [day + timedelta(days=n) for n in range(1, (result - day).days + 1)]
    assert sum(is_banking_day(d) for d in passed) == count


@pytest.mark.parametrize("year", range(1999, 2101))
def test_the_holiday_rules_agree_with_the_holidays_package_every_year(year: int) -> None:
    assert fed_holidays(year) == frozenset(holidays.financial_holidays("XFED", years=year))


@pytest.mark.parametrize("year", range(2007, 2101))
def test_eastern_time_agrees_with_the_tz_database_around_every_change(year: int) -> None:
    changes = [
        moment
        for moment in (datetime(year, month, 1, tzinfo=UTC) + timedelta(hours=h) for month in (3, 11) for h in range(24 * 14))
        if moment.astimezone(NEW_YORK).utcoffset() != (moment - timedelta(hours=1)).astimezone(NEW_YORK).utcoffset()
    ]
    assert len(changes) == 2
    for change in changes:
        for moment in (change - timedelta(seconds=1), change, change + timedelta(hours=1)):
            assert eastern_offset(moment) == moment.astimezone(NEW_YORK).utcoffset(), moment


@settings(max_examples=500, deadline=None)
@given(st.datetimes(min_value=datetime(2007, 1, 1), max_value=datetime(2100, 12, 31), timezones=st.just(UTC)))
def test_the_eastern_date_of_any_moment_is_the_tz_databases(moment: datetime) -> None:
    assert eastern_date(moment) == moment.astimezone(NEW_YORK).date()
