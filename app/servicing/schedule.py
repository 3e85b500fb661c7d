"""Repayment schedule of an active loan: equal monthly installments (the annuity method).

Pure: no I/O, no clock, no float. Every amount is a Decimal in cents; every computation runs in a local
decimal context of 50 digits (never the global one) and rounds to cents half-even only where the rules say so.

- Monthly rate r = annual percent / 100 / 12. Installment = P*r / (1 - (1+r)^-n) rounded to cents, or P/n when r = 0;
  fixed at activation and never changed afterwards.
- Period k: interest = (balance before k) * r rounded to cents; principal = installment - interest. The last period
  (period n, or the first whose installment would reach the remaining balance) takes the whole remaining balance,
  so balances are never negative and the schedule ends at exactly 0.
- Due date k = activation date + k calendar months on the activation day, clamped to the month's last day; always
  counted from the activation date, never chained (Jan 31 -> Feb 28 -> Mar 31).
- A schedule is sound when its installment is at least MIN_INSTALLMENT (1.00) and the first installment repays some
  principal (installment > the first period's interest): `schedule_problem` says why terms are not. New loans
  (POST /loans) and loans activated by closing funding early must be sound; loans already stored are served as they are.
- Payoff and the allocation of a repayment to these installments: app/servicing/allocation.py.
"""

from __future__ import annotations

import calendar
import decimal
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
PRECISION = 50
MAX_TERM_MONTHS = 360
MIN_INSTALLMENT = Decimal("1.00")

InstallmentStatus = Literal["upcoming", "partial", "paid", "late"]


@contextmanager
def exact() -> Iterator[decimal.Context]:
    """A private high-precision context, so the caller's global decimal context never changes a result."""
    with decimal.localcontext(prec=PRECISION, rounding=ROUND_HALF_EVEN) as ctx:
        yield ctx


def _cents(value: Decimal) -> Decimal:
    """Round to cents half-even (banker's rounding), the one rounding rule of the schedule."""
    with exact():
        return value.quantize(CENT, rounding=ROUND_HALF_EVEN)


def require_cents(value: Decimal, name: str) -> Decimal:
    """An amount must already be whole cents: rounding it silently would create or lose money."""
    with exact():
        if not value.is_finite() or value != value.quantize(CENT):
            raise ValueError(f"{name} must be a finite amount in whole cents, got {value}")
        return value.quantize(CENT)


def monthly_rate(annual_percent: Decimal) -> Decimal:
    """Exact monthly rate (to 50 digits) of an annual percent: r = percent / 100 / 12."""
    with exact():
        return annual_percent / Decimal(100) / Decimal(12)


def installment_amount(principal: Decimal, annual_percent: Decimal, term_months: int) -> Decimal:
    """Equal monthly installment P*r / (1 - (1+r)^-n), or P/n without interest, rounded to cents half-even."""
    r = monthly_rate(annual_percent)
    with exact():
        if r == 0:
            return _cents(principal / Decimal(term_months))
        return _cents(principal * r / (1 - (1 + r) ** -term_months))


def schedule_problem(principal: Decimal, annual_percent: Decimal, term_months: int) -> str | None:
    """Why `principal` at `annual_percent` over `term_months` is a degenerate schedule, or None when it is sound.

    Degenerate: an installment below MIN_INSTALLMENT (0.01 over 360 months: 0.00 a month), or a first installment
    that is all interest (10,000,000 at 100% over 360 months: months of 0.00 principal, then the whole amount).
    """
    installment = installment_amount(principal, annual_percent, term_months)
    if installment < MIN_INSTALLMENT:
        return f"{principal:.2f} over {term_months} months is an installment of {installment:.2f}; it must be at least {MIN_INSTALLMENT}"
    with exact():
        interest = _cents(principal * monthly_rate(annual_percent))
    if installment <= interest:
        return (
            f"{principal:.2f} at {annual_percent}% over {term_months} months is an installment of {installment:.2f} that repays "
            f"no principal (the first month's interest is {interest:.2f}): choose fewer months"
        )
    return None


def due_date(activation: date, number: int) -> date:
    """Activation date plus `number` months on the activation day, or that month's last day when it has none."""
    if number < 0:
        raise ValueError("installment numbers start at 1")
    months = activation.month - 1 + number
    year, month = activation.year + months // 12, months % 12 + 1
    return date(year, month, min(activation.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class Installment:
    number: int
    due_date: date
    amount: Decimal
    principal: Decimal
    interest: Decimal
    balance_after: Decimal
    paid_principal: Decimal = ZERO
    paid_interest: Decimal = ZERO

    @property
    def remaining(self) -> Decimal:
        """What is still owed on this installment: amount less everything paid on it."""
        with exact():
            return self.amount - self.paid_principal - self.paid_interest

    @property
    def settled(self) -> bool:
        """Fully paid, both parts; a zero-amount installment is settled from the start."""
        return self.paid_principal == self.principal and self.paid_interest == self.interest

    def status(self, today: date) -> InstallmentStatus:
        """Paid when settled, late once its due date has passed (due today is not late), else partial or upcoming."""
        if self.settled:
            return "paid"
        if self.due_date < today:
            return "late"
        return "partial" if self.paid_principal + self.paid_interest > 0 else "upcoming"


@dataclass(frozen=True)
class Terms:
    principal: Decimal
    annual_percent: Decimal
    term_months: int
    activation: date
    installment: Decimal

    @classmethod
    def of(cls, *, principal: Decimal, annual_percent: Decimal, term_months: int, activation: date) -> Terms:
        """Validated terms with the installment fixed once, at activation."""
        amount = require_cents(principal, "principal")
        if amount <= 0:
            raise ValueError("principal must be positive")
        rate = require_cents(annual_percent, "annual_percent")
        if not ZERO <= rate <= Decimal(100):
            raise ValueError("annual_percent must be between 0 and 100")
        if not 1 <= term_months <= MAX_TERM_MONTHS:
            raise ValueError(f"term_months must be between 1 and {MAX_TERM_MONTHS}")
        return cls(amount, rate, term_months, activation, installment_amount(amount, rate, term_months))


def amortize(terms: Terms, *, balance: Decimal, first_number: int) -> list[Installment]:
    """Installments from `first_number` paying off `balance` with the fixed installment; the last takes the remainder."""
    remaining = require_cents(balance, "balance")
    if remaining < 0:
        raise ValueError("balance must not be negative")
    if remaining > 0 and not 1 <= first_number <= terms.term_months:
        raise ValueError("a positive balance must be amortized within the original term")
    r = monthly_rate(terms.annual_percent)
    out: list[Installment] = []
    number = first_number
    with exact():
        while remaining > 0:
            interest = _cents(remaining * r)
            principal = terms.installment - interest
            if number == terms.term_months or principal >= remaining:
                principal = remaining
            remaining -= principal
            when = due_date(terms.activation, number)
            out.append(Installment(number, when, principal + interest, principal, interest, remaining))
            number += 1
    return out


def latest_activation_already_due(today: date) -> date:
    """The latest activation date whose first due date is before `today` (due dates grow with activation dates).

    A loan activated on or before it, and never repaid since, is late today: the read-time rule the
    late filter of a loan list applies to loans that have no stored next due date yet.
    """
    day = today - timedelta(days=28)  # no first due date comes sooner than 28 days after activation
    while due_date(day, 1) >= today:
        day -= timedelta(days=1)
    return day


def first_installment(terms: Terms) -> Installment:
    """Installment 1 of the original schedule, without the rest (what a loan shows before its first repayment)."""
    with exact():
        interest = _cents(terms.principal * monthly_rate(terms.annual_percent))
        principal = terms.installment - interest
        if terms.term_months == 1 or principal >= terms.principal:
            principal = terms.principal
        return Installment(1, due_date(terms.activation, 1), principal + interest, principal, interest, terms.principal - principal)


def original_schedule(terms: Terms) -> list[Installment]:
    """The schedule fixed at activation: the whole principal over the whole term."""
    return amortize(terms, balance=terms.principal, first_number=1)


def outstanding_principal(installments: Sequence[Installment]) -> Decimal:
    """Principal still owed: scheduled principal less principal paid, over the whole schedule."""
    with exact():
        return sum((i.principal - i.paid_principal for i in installments), ZERO)


def total_interest(installments: Sequence[Installment]) -> Decimal:
    """Interest of the schedule as it stands (paid or not); lower after a prepayment."""
    with exact():
        return sum((i.interest for i in installments), ZERO)


def next_due(installments: Sequence[Installment]) -> Installment | None:
    """The oldest installment not settled yet, or None when everything is paid."""
    return next((i for i in installments if not i.settled), None)


def days_past_due(installments: Sequence[Installment], today: date) -> int:
    """Days since the oldest unpaid due date once it has passed, else 0."""
    oldest = next_due(installments)
    return (today - oldest.due_date).days if oldest is not None and oldest.due_date < today else 0
