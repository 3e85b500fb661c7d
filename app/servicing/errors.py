"""The servicing refusals."""

from __future__ import annotations

from decimal import Decimal

from app.errors import Conflict, RuleViolation


class LoanNotActive(Conflict):
    code, message = "LOAN_NOT_ACTIVE", "The loan is not active"


class OverpaymentRefused(RuleViolation):
    code = "OVERPAYMENT"

    def __init__(self, payoff: Decimal) -> None:
        reason = f"exceeds the payoff amount {payoff:f}"
        super().__init__(
            f"The repayment exceeds the payoff amount ({payoff:f}); nothing was recorded",
            details=[{"field": "amount", "location": "body", "reason": reason, "payoffAmount": payoff}],
        )
