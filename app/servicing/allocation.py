"""Payoff and the allocation of one repayment to the installments of a schedule (pure: Decimal and dates).

- Payoff as of `today`: the outstanding principal, plus the unpaid interest of the installments due on or before
  `today`, plus the whole unpaid interest of the next upcoming one (the first unsettled one due after `today`).
- A repayment pays the installments due on or before `today` oldest first, then the next upcoming one, each interest
  before principal; what is left prepays principal: the installments after the last one touched are recomputed on
  the reduced balance with the same installment amount, so the loan ends earlier (never after period n). More
  than the payoff raises Overpayment and changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal

from app.servicing.schedule import ZERO, Installment, Terms, amortize, exact, outstanding_principal, require_cents


@dataclass(frozen=True)
class Payoff:
    principal: Decimal
    interest: Decimal

    @property
    def amount(self) -> Decimal:
        """The sum that repays the loan in full today."""
        with exact():
            return self.principal + self.interest


def _payable(installments: Sequence[Installment], today: date) -> list[int]:
    """Indexes a repayment reaches before any prepayment: unsettled ones due by `today`, then the next upcoming one."""
    due = [k for k, i in enumerate(installments) if not i.settled and i.due_date <= today]
    upcoming = next((k for k, i in enumerate(installments) if not i.settled and i.due_date > today), None)
    return due if upcoming is None else [*due, upcoming]


def payoff(installments: Sequence[Installment], today: date) -> Payoff:
    """Outstanding principal plus unpaid interest of what is due and of the next upcoming installment (no proration)."""
    with exact():
        interest = sum((installments[k].interest - installments[k].paid_interest for k in _payable(installments, today)), ZERO)
    return Payoff(outstanding_principal(installments), interest)


class Overpayment(Exception):
    """A repayment above the payoff amount: refused whole, nothing allocated."""

    def __init__(self, payoff: Decimal) -> None:
        super().__init__(f"the repayment exceeds the payoff amount {payoff}")
        self.payoff = payoff


@dataclass(frozen=True)
class AllocationLine:
    number: int
    principal: Decimal
    interest: Decimal


@dataclass(frozen=True)
class Allocation:
    principal: Decimal
    interest: Decimal
    lines: list[AllocationLine]
    prepayment: Decimal
    installments: list[Installment]

    @property
    def outstanding_after(self) -> Decimal:
        """Principal still owed once this repayment is applied."""
        return outstanding_principal(self.installments)


def allocate(terms: Terms, installments: Sequence[Installment], *, amount: Decimal, today: date) -> Allocation:
    """Apply a repayment: due ones oldest first, then the next upcoming, interest before principal, the rest prepays."""
    left = require_cents(amount, "amount")
    if left <= 0:
        raise ValueError("a repayment must be positive")
    owed = payoff(installments, today).amount
    if left > owed:
        raise Overpayment(owed)
    schedule = list(installments)
    lines: list[AllocationLine] = []
    last = -1
    with exact():
        for k in _payable(schedule, today):
            if left == 0:
                break
            item = schedule[k]
            interest = min(left, item.interest - item.paid_interest)
            principal = min(left - interest, item.principal - item.paid_principal)
            left -= interest + principal
            schedule[k] = replace(item, paid_interest=item.paid_interest + interest, paid_principal=item.paid_principal + principal)
            lines.append(AllocationLine(item.number, principal, interest))
            last = k
        prepayment = left
        if prepayment > 0:
            # Reachable only once every payable installment is settled, the next upcoming one (schedule[last]) included:
            # the ones after it are untouched and get recomputed on the balance left after this prepayment.
            balance = outstanding_principal(schedule) - prepayment
            head = [*schedule[:last], replace(schedule[last], balance_after=balance)]
            schedule = head + amortize(terms, balance=balance, first_number=schedule[last].number + 1)
        principal_total = sum((line.principal for line in lines), ZERO) + prepayment
        interest_total = sum((line.interest for line in lines), ZERO)
    return Allocation(principal_total, interest_total, lines, prepayment, schedule)
