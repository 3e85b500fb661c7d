"""Distribution of repayments to lenders: largest remainder to the cent, its tie-breaks, and exact repayment of every lender."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.servicing.allocation import allocate, payoff
from app.servicing.distribution import Holding, Share, distribute, split
from app.servicing.schedule import ZERO, Terms, original_schedule

EARLY, LATE = "2025-01-01T09:00:00Z", "2025-01-02T09:00:00Z"


def test_first_installment_of_the_600_250_150_loan_splits_exactly() -> None:
    holdings = [Holding("L600", D("600.00"), EARLY), Holding("L250", D("250.00"), EARLY), Holding("L150", D("150.00"), EARLY)]
    shares = distribute(principal=D("78.85"), interest=D("10.00"), holdings=holdings)
    assert shares == [
        Share("L600", D("47.31"), D("6.00")),
        Share("L250", D("19.71"), D("2.50")),
        Share("L150", D("11.83"), D("1.50")),
    ]


def test_the_leftover_cent_goes_to_the_largest_remainder_even_over_a_larger_holding() -> None:
    holdings = [Holding("big", D("250.00"), EARLY), Holding("small", D("150.00"), LATE)]
    # 0.05 * 250/400 = 0.03125 (remainder .00125), 0.05 * 150/400 = 0.01875 (remainder .00875): small gets the cent.
    assert split(D("0.05"), holdings) == {"big": D("0.03"), "small": D("0.02")}


def test_on_tied_remainders_the_larger_outstanding_wins_before_acceptance_time() -> None:
    holdings = [Holding("a-early-small", D("1.00"), EARLY), Holding("z-late-big", D("3.00"), LATE)]
    # 0.02 * 3/4 = 0.015 and 0.02 * 1/4 = 0.005: both remainders are half a cent.
    assert split(D("0.02"), holdings) == {"a-early-small": D("0.00"), "z-late-big": D("0.02")}


def test_on_tied_remainders_and_holdings_the_earlier_acceptance_wins_before_lender_id() -> None:
    holdings = [Holding("a", D("1.00"), LATE), Holding("b", D("1.00"), EARLY), Holding("c", D("1.00"), LATE)]
    assert split(D("0.01"), holdings) == {"a": D("0.00"), "b": D("0.01"), "c": D("0.00")}
    assert split(D("0.02"), holdings) == {"a": D("0.01"), "b": D("0.01"), "c": D("0.00")}


def test_on_full_ties_the_smaller_lender_id_wins() -> None:
    holdings = [Holding("lender-b", D("5.00"), EARLY), Holding("lender-a", D("5.00"), EARLY)]
    assert split(D("0.01"), holdings) == {"lender-b": D("0.00"), "lender-a": D("0.01")}


def test_a_zero_part_gives_everyone_zero_and_the_whole_outstanding_gives_each_their_own() -> None:
    holdings = [Holding("a", D("333.33"), EARLY), Holding("b", D("333.33"), EARLY), Holding("c", D("333.34"), LATE)]
    assert split(ZERO, holdings) == {"a": ZERO, "b": ZERO, "c": ZERO}
    shares = distribute(principal=D("1000.00"), interest=D("0.02"), holdings=holdings)
    assert [s.principal for s in shares] == [D("333.33"), D("333.33"), D("333.34")]
    assert [s.interest for s in shares] == [D("0.01"), D("0.00"), D("0.01")]
    assert split(D("0.01"), [*holdings, Holding("repaid", ZERO, EARLY)])["repaid"] == ZERO


@pytest.mark.parametrize(
    "build",
    [
        lambda: split(D("0.01"), []),
        lambda: split(D("0.01"), [Holding("a", ZERO, EARLY)]),
        lambda: split(D("-0.01"), [Holding("a", D("1.00"), EARLY)]),
        lambda: split(D("0.001"), [Holding("a", D("1.00"), EARLY)]),
        lambda: split(D("Infinity"), [Holding("a", D("1.00"), EARLY)]),
        lambda: split(D("0.01"), [Holding("a", D("-1.00"), EARLY), Holding("b", D("2.00"), EARLY)]),
        lambda: split(D("0.01"), [Holding("a", D("1.00"), EARLY), Holding("a", D("2.00"), LATE)]),
        lambda: distribute(principal=D("1.01"), interest=ZERO, holdings=[Holding("a", D("1.00"), EARLY)]),
    ],
)
def test_impossible_splits_are_refused(build: Callable[[], object]) -> None:
    with pytest.raises(ValueError):
        build()


contributions = st.lists(st.integers(min_value=1, max_value=50_000_000), min_size=1, max_size=20)
acceptances = st.sampled_from([EARLY, LATE, "2025-01-01T09:00:01Z"])


@settings(max_examples=150, deadline=None)
@given(contributions, st.decimals(min_value=D("0"), max_value=D("100.00"), places=2), st.integers(1, 120), st.data())
def test_repaying_a_loan_returns_each_lender_exactly_their_contribution(
    cents: list[int], rate: D, months: int, data: st.DataObject
) -> None:
    lenders = [(f"lender-{k:02d}", D(c) / 100, data.draw(acceptances)) for k, c in enumerate(cents)]
    terms = Terms.of(principal=sum((c for _, c, _ in lenders), ZERO), annual_percent=rate, term_months=months, activation=date(2025, 1, 31))
    outstanding = {lender: contribution for lender, contribution, _ in lenders}
    received = dict.fromkeys(outstanding, ZERO)
    schedule, today = original_schedule(terms), terms.activation
    random_repayments = data.draw(st.integers(min_value=0, max_value=8))
    for step in range(random_repayments + 1):
        today += timedelta(days=data.draw(st.integers(min_value=0, max_value=45)))
        owed = payoff(schedule, today).amount
        last = step == random_repayments  # the final repayment is the payoff: the loan always ends repaid
        amount = owed if last else D(data.draw(st.integers(min_value=1, max_value=int(owed * 100)))) / 100
        result = allocate(terms, schedule, amount=amount, today=today)
        holdings = [Holding(lender, outstanding[lender], accepted) for lender, _, accepted in lenders]
        shares = distribute(principal=result.principal, interest=result.interest, holdings=holdings)
        assert sum((s.principal for s in shares), ZERO) == result.principal
        assert sum((s.interest for s in shares), ZERO) == result.interest
        for share in shares:
            assert share.principal >= 0 and share.interest >= 0
            assert share.principal <= outstanding[share.lender_id]
            outstanding[share.lender_id] -= share.principal
            received[share.lender_id] += share.principal
        assert sum(outstanding.values(), ZERO) == result.outstanding_after
        schedule = result.installments
        if result.outstanding_after == 0:
            break
    assert not any(outstanding.values())
    assert received == {lender: contribution for lender, contribution, _ in lenders}
