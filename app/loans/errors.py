"""The loan domain's refusals, raised by its services and by its repository's commits."""

from __future__ import annotations

from app.errors import Conflict, NotFound


class LoanNotFound(NotFound):
    message = "Loan not found"


class NotInvited(NotFound):
    message = "No invitation for you on this loan"


class AlreadyResponded(Conflict):
    code, message = "ALREADY_RESPONDED", "This invitation was already accepted or declined"


class LoanNotPending(Conflict):
    code, message = "LOAN_NOT_PENDING", "The loan is no longer pending"


class InsufficientFunding(Conflict):
    code = "INSUFFICIENT_FUNDING"
