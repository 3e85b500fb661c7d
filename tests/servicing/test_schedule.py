"""The repayment schedule, payoff and allocation rules, to the cent: oracles, calendar edges and hypothesis properties."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal as D

import numpy_financial as npf  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.servicing.allocation import Overpayment, allocate, payoff
from app.servicing.schedule import (
    ZERO,
    Installment,
    Terms,
    amortize,
    days_past_due,
    due_date,
    installment_amount,
    next_due,
    original_schedule,
    outstanding_principal,
    schedule_problem,
    total_interest,
)

BOUNDED = settings(max_examples=200, deadline=None)
amounts = st.decimals(min_value=D("0.01"), max_value=D("10000000.00"), places=2)
rates = st.decimals(min_value=D("0"), max_value=D("100.00"), places=2)
terms_months = st.integers(min_value=1, max_value=360)
any_terms = st.builds(
    lambda p, r, n, a: Terms.of(principal=p, annual_percent=r, term_months=n, activation=a),
    amounts,
    rates,
    terms_months,
    st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
)


def loan(amount: str = "1000.00", rate: str = "12", months: int = 12, activation: date = date(2025, 1, 15)) -> Terms:
    return Terms.of(principal=D(amount), annual_percent=D(rate), term_months=months, activation=activation)


def test_one_thousand_at_twelve_percent_over_a_year_matches_the_oracle() -> None:
    terms = loan()
    schedule = original_schedule(terms)
    assert terms.installment == D("88.85")
    assert schedule[0].interest == D("10.00") and schedule[0].principal == D("78.85")
    assert [i.amount for i in schedule[:-1]] == [D("88.85")] * 11
    assert schedule[-1].amount == D("88.84")
    assert total_interest(schedule) == D("66.19")
    assert sum((i.amount for i in schedule), ZERO) == terms.principal + total_interest(schedule) == D("1066.19")


def test_zero_rate_splits_evenly_and_the_last_installment_absorbs_the_rounding() -> None:
    schedule = original_schedule(loan(rate="0", months=3))
    assert [i.amount for i in schedule] == [D("333.33"), D("333.33"), D("333.34")]
    assert total_interest(schedule) == ZERO


def test_cents_are_rounded_half_even() -> None:
    assert original_schedule(loan(amount="1000.50"))[0].interest == D("10.00")  # 10.005
    assert original_schedule(loan(amount="1001.50"))[0].interest == D("10.02")  # 10.015
    assert installment_amount(D("0.05"), D("0"), 2) == D("0.02")  # 0.025
    assert [i.amount for i in original_schedule(loan(amount="0.05", rate="0", months=2))] == [D("0.02"), D("0.03")]


def test_schedule_ends_early_when_the_rounded_up_installment_reaches_the_balance() -> None:
    schedule = original_schedule(loan(amount="0.05", rate="0", months=6))
    assert [i.amount for i in schedule] == [D("0.01")] * 5
    assert schedule[-1].balance_after == ZERO


def test_a_tiny_loan_has_zero_installments_that_count_as_paid() -> None:
    terms = loan(amount="0.01", rate="0", months=360)
    schedule = original_schedule(terms)
    assert terms.installment == ZERO and len(schedule) == 360
    assert schedule[0].status(date(2099, 1, 1)) == "paid"
    assert schedule[-1].principal == D("0.01")
    assert payoff(schedule, terms.activation).amount == D("0.01")
    assert allocate(terms, schedule, amount=D("0.01"), today=terms.activation).outstanding_after == ZERO


@BOUNDED
@given(any_terms)
def test_every_schedule_repays_exactly_the_amount_with_no_negative_part(terms: Terms) -> None:
    schedule = original_schedule(terms)
    assert sum((i.principal for i in schedule), ZERO) == terms.principal
    assert all(i.principal >= 0 and i.interest >= 0 and i.balance_after >= 0 for i in schedule)
    assert all(i.amount == i.principal + i.interest for i in schedule)
    assert schedule[-1].balance_after == ZERO
    assert 1 <= len(schedule) <= terms.term_months
    assert [i.number for i in schedule] == list(range(1, len(schedule) + 1))


@BOUNDED
@given(amounts, rates.filter(lambda r: r > 0), terms_months)
def test_installment_agrees_with_numpy_financial_within_half_a_cent(principal: D, rate: D, months: int) -> None:
    # float is test-only here: numpy_financial is the independent reference; pmt is negative by convention.
    reference = -npf.pmt(float(rate) / 100 / 12, months, float(principal))
    assert abs(float(installment_amount(principal, rate, months)) - reference) <= 0.005 + 1e-6


def test_due_dates_from_january_31st_clamp_to_each_month_end_without_drifting() -> None:
    got = [due_date(date(2025, 1, 31), k) for k in range(1, 5)]
    assert got == [date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30), date(2025, 5, 31)]
    assert due_date(date(2024, 1, 31), 1) == date(2024, 2, 29)


def test_due_dates_from_a_leap_day_keep_the_29th_then_clamp_next_february() -> None:
    got = [due_date(date(2024, 2, 29), k) for k in range(1, 13)]
    assert got[:3] == [date(2024, 3, 29), date(2024, 4, 29), date(2024, 5, 29)]
    assert got[-1] == date(2025, 2, 28)


def test_due_dates_from_december_wrap_the_year_twelve_times_a_year() -> None:
    got = [due_date(date(2025, 12, 10), k) for k in range(1, 25)]
    assert got[0] == date(2026, 1, 10) and got[11] == date(2026, 12, 10) and got[12] == date(2027, 1, 10)
    assert sum(1 for d in got if d.year == 2026) == 12


def test_statuses_upcoming_partial_paid_late_and_due_today_is_not_late() -> None:
    item = Installment(1, date(2025, 2, 15), D("88.85"), D("78.85"), D("10.00"), D("921.15"))
    assert item.status(date(2025, 2, 1)) == "upcoming"
    assert item.status(date(2025, 2, 15)) == "upcoming"
    assert item.status(date(2025, 2, 16)) == "late"
    partly = Installment(1, date(2025, 2, 15), D("88.85"), D("78.85"), D("10.00"), D("921.15"), paid_interest=D("10.00"))
    assert partly.status(date(2025, 2, 15)) == "partial" and partly.remaining == D("78.85")
    assert partly.status(date(2025, 2, 16)) == "late"
    paid = Installment(1, date(2025, 2, 15), D("88.85"), D("78.85"), D("10.00"), D("921.15"), D("78.85"), D("10.00"))
    assert paid.settled and paid.status(date(2030, 1, 1)) == "paid"


def test_paying_exactly_one_installment_settles_it_and_leaves_the_rest() -> None:
    terms = loan()
    schedule = original_schedule(terms)
    result = allocate(terms, schedule, amount=D("88.85"), today=date(2025, 2, 15))
    assert (result.interest, result.principal, result.prepayment) == (D("10.00"), D("78.85"), ZERO)
    assert [(line.number, line.interest, line.principal) for line in result.lines] == [(1, D("10.00"), D("78.85"))]
    assert result.installments[0].status(date(2025, 2, 15)) == "paid"
    assert result.installments[1:] == schedule[1:]
    assert result.outstanding_after == D("921.15")
    assert next_due(result.installments) == schedule[1]


def test_less_than_one_installment_pays_interest_first_and_leaves_it_partial() -> None:
    terms = loan()
    result = allocate(terms, original_schedule(terms), amount=D("15.00"), today=date(2025, 2, 1))
    first = result.installments[0]
    assert (first.paid_interest, first.paid_principal) == (D("10.00"), D("5.00"))
    assert first.status(date(2025, 2, 1)) == "partial"
    small = allocate(terms, original_schedule(terms), amount=D("4.00"), today=date(2025, 2, 1))
    assert (small.interest, small.principal) == (D("4.00"), ZERO)


def test_more_than_one_installment_prepays_shortening_the_loan_with_the_same_installment() -> None:
    terms = loan()
    schedule = original_schedule(terms)
    result = allocate(terms, schedule, amount=D("500.00"), today=date(2025, 2, 15))
    assert [line.number for line in result.lines] == [1, 2]
    assert result.prepayment == D("322.30") and result.principal == D("500.00") - D("19.21")
    after = result.installments
    assert after[1].balance_after == result.outstanding_after == D("841.51") - D("322.30")
    assert after[2].number == 3 and after[2].interest == D("5.19") < schedule[2].interest
    assert all(i.amount == D("88.85") for i in after[2:-1])
    assert len(after) < 12 and after[-1].balance_after == ZERO
    assert total_interest(after) < total_interest(schedule)
    assert [i.due_date for i in after] == [i.due_date for i in schedule[: len(after)]]


def test_a_late_installment_is_paid_together_with_the_next_one() -> None:
    terms = loan()
    schedule = original_schedule(terms)
    today = date(2025, 2, 20)
    assert schedule[0].status(today) == "late" and days_past_due(schedule, today) == 5
    result = allocate(terms, schedule, amount=D("177.70"), today=today)
    assert [line.number for line in result.lines] == [1, 2] and result.prepayment == ZERO
    assert all(i.status(today) == "paid" for i in result.installments[:2])
    assert days_past_due(result.installments, today) == 0


def test_payoff_is_principal_plus_due_interest_plus_the_next_upcoming_interest() -> None:
    schedule = original_schedule(loan())
    assert payoff(schedule, date(2025, 2, 14)) == payoff(schedule, date(2025, 1, 15))
    assert payoff(schedule, date(2025, 2, 14)).interest == D("10.00")
    assert payoff(schedule, date(2025, 2, 15)).interest == D("10.00") + D("9.21")
    late = payoff(schedule, date(2025, 3, 16))
    assert (late.principal, late.interest, late.amount) == (D("1000.00"), D("27.63"), D("1027.63"))


def test_paying_the_payoff_leaves_nothing_outstanding_and_one_cent_more_is_refused() -> None:
    terms = loan()
    schedule = original_schedule(terms)
    today = date(2025, 2, 20)
    owed = payoff(schedule, today).amount
    assert owed == D("1019.21")
    with pytest.raises(Overpayment) as refused:
        allocate(terms, schedule, amount=owed + D("0.01"), today=today)
    assert refused.value.payoff == owed
    assert schedule == original_schedule(terms)
    result = allocate(terms, schedule, amount=owed, today=today)
    assert result.outstanding_after == ZERO and result.prepayment == D("1000.00") - D("78.85") - D("79.64")
    assert len(result.installments) == 2 and all(i.settled for i in result.installments)
    assert payoff(result.installments, today).amount == ZERO


@pytest.mark.parametrize(
    "build",
    [
        lambda: loan(amount="10.001"),
        lambda: loan(amount="0.00"),
        lambda: loan(rate="100.01"),
        lambda: loan(rate="-1"),
        lambda: loan(months=0),
        lambda: loan(months=361),
        lambda: amortize(loan(), balance=D("-0.01"), first_number=1),
        lambda: amortize(loan(), balance=D("1.00"), first_number=13),
        lambda: due_date(date(2025, 1, 1), -1),
        lambda: allocate(loan(), original_schedule(loan()), amount=ZERO, today=date(2025, 2, 1)),
        lambda: allocate(loan(), original_schedule(loan()), amount=D("NaN"), today=date(2025, 2, 1)),
    ],
)
def test_invalid_inputs_are_refused(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        build()


@settings(max_examples=150, deadline=None)
@given(any_terms, st.data())
def test_random_repayments_conserve_principal_and_the_payoff_clears_the_loan(terms: Terms, data: st.DataObject) -> None:
    schedule = original_schedule(terms)
    today, repaid = terms.activation, ZERO
    for _ in range(data.draw(st.integers(min_value=0, max_value=8))):
        today += timedelta(days=data.draw(st.integers(min_value=0, max_value=75)))
        owed = payoff(schedule, today).amount
        amount = D(data.draw(st.integers(min_value=1, max_value=int(owed * 100)))) / 100
        result = allocate(terms, schedule, amount=amount, today=today)
        assert result.principal + result.interest == amount
        assert sum((line.principal for line in result.lines), result.prepayment) == result.principal
        repaid += result.principal
        assert repaid + result.outstanding_after == terms.principal
        schedule = result.installments
        assert all(i.balance_after >= 0 and 0 <= i.paid_principal <= i.principal for i in schedule)
        assert schedule[-1].balance_after == ZERO and schedule[-1].number <= terms.term_months
        assert [i.number for i in schedule] == list(range(1, len(schedule) + 1))
        if result.outstanding_after == 0:
            return
    final = allocate(terms, schedule, amount=payoff(schedule, today).amount, today=today)
    assert repaid + final.principal == terms.principal
    assert final.outstanding_after == outstanding_principal(final.installments) == ZERO
    assert all(i.settled for i in final.installments)


# --- sound schedules: what POST /loans and close-funding accept -----------------------------------------------


@pytest.mark.parametrize(
    ("principal", "rate", "months", "says"),
    [
        (D("0.01"), D("0"), 360, "installment of 0.00; it must be at least 1.00"),  # 359 installments of 0.00
        (D("11.00"), D("5.25"), 12, "installment of 0.94; it must be at least 1.00"),
        (D("10000000.00"), D("100.00"), 360, "repays no principal (the first month's interest is 833333.33)"),
    ],
)
def test_degenerate_terms_are_named_with_why(principal: D, rate: D, months: int, says: str) -> None:
    problem = schedule_problem(principal, rate, months)
    assert problem is not None and says in problem


@pytest.mark.parametrize(
    ("principal", "rate", "months"),
    [(D("1000.00"), D("12.00"), 12), (D("1.00"), D("0"), 1), (D("360.00"), D("0"), 360), (D("12.00"), D("5.25"), 12)],
)
def test_sound_terms_have_no_problem(principal: D, rate: D, months: int) -> None:
    assert schedule_problem(principal, rate, months) is None


@BOUNDED
@given(amounts, rates, terms_months)
def test_a_sound_schedule_repays_principal_every_month_and_never_asks_less_than_a_dollar(principal: D, rate: D, months: int) -> None:
    terms = Terms.of(principal=principal, annual_percent=rate, term_months=months, activation=date(2026, 1, 31))
    schedule = original_schedule(terms)
    if schedule_problem(principal, rate, months) is None:
        # every installment but the last is the fixed one, at least 1.00, and each repays some principal
        assert terms.installment >= D("1.00")
        assert all(i.principal > 0 for i in schedule)
        assert all(i.amount == terms.installment for i in schedule[:-1])
    else:
        # the rule refuses exactly these: an installment under 1.00, or a first month of interest only
        assert terms.installment < D("1.00") or schedule[0].principal == 0
