"""The payments domain's refusals: bank accounts and their verification."""

from __future__ import annotations

from app.errors import Conflict, NotFound, RuleViolation


class BankAccountNotFound(NotFound):
    message = "Bank account not found"


class DuplicateBankAccount(Conflict):
    code, message = "DUPLICATE_BANK_ACCOUNT", "You already registered a bank account with these routing and account numbers"


class BankAccountInUse(Conflict):
    code, message = "BANK_ACCOUNT_IN_USE", "The bank account has a payment in flight or a loan that uses it"


class VerificationFailed(Conflict):
    code, message = "VERIFICATION_FAILED", "This bank account can no longer be verified; register it again"


class VerificationMismatch(RuleViolation):
    code, message = "VERIFICATION_MISMATCH", "The amounts do not match the micro-deposits"

    def __init__(self, attempts_left: int) -> None:
        super().__init__(
            details=[{"field": "amounts", "location": "body", "reason": "do not match the micro-deposits", "attemptsLeft": attempts_left}]
        )
