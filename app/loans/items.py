"""The items of a loan as first written: the loan with its participants list, its invitations, an ACH record."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from app.db.expressions import Item
from app.db.keys import ach_key, deadline_keys, invitation_key, loan_key


@dataclass(frozen=True)
class NewLoan:
    """What a new loan is made of; `lenders` are (email, contribution) in invitation order."""

    loan_id: str
    borrower_id: str
    borrower_name: str
    amount: Decimal
    purpose: str
    term_months: int
    interest_rate: Decimal
    lenders: list[tuple[str, Decimal]]
    at: str
    funding_deadline: str  # ISO 8601 UTC: at + fundingDays x 24 h


def new_loan_items(loan: NewLoan) -> tuple[Item, list[Item]]:
    """The loan item (with its participants list) and one invitation item per lender, as first written."""
    shared = {"purpose": loan.purpose, "termMonths": loan.term_months, "interestRate": loan.interest_rate}
    loan_item = {
        **loan_key(loan.loan_id, loan.borrower_id),
        "entity": "loan",
        "loanId": loan.loan_id,
        "borrowerId": loan.borrower_id,
        "borrowerName": loan.borrower_name,
        "amount": loan.amount,
        "fundedAmount": Decimal("0"),
        "status": "pending",
        "createdAt": loan.at,
        "version": 1,
        "fundingDeadline": loan.funding_deadline,
        **deadline_keys(loan.loan_id, loan.funding_deadline),  # in the sparse deadline index while pending
        "participants": [{"email": email, "amount": share, "status": "invited"} for email, share in loan.lenders],
        **shared,
    }
    invitations = [
        {
            **invitation_key(loan.loan_id, email),
            "entity": "invitation",
            "loanId": loan.loan_id,
            "email": email,
            "amount": share,
            "status": "invited",
            "invitedAt": loan.at,
            "loanStatus": "pending",
            "borrowerId": loan.borrower_id,
            "borrowerName": loan.borrower_name,
            "loanAmount": loan.amount,
            "fundingDeadline": loan.funding_deadline,
            **shared,
        }
        for email, share in loan.lenders
    ]
    return loan_item, invitations


def ach_item(*, loan_id: str, lender_id: str, holder: str, account_type: str, last4s: tuple[str, str], sealed: Item, at: str) -> Item:
    """The ACH record: encrypted numbers (see app/payments/sealing.py) and last-4 figures only."""
    return {
        **ach_key(loan_id, lender_id),
        "entity": "ach",
        "loanId": loan_id,
        "lenderId": lender_id,
        "accountHolderName": holder,
        "accountType": account_type,
        "routingNumberLast4": last4s[0],
        "accountNumberLast4": last4s[1],
        **sealed,
        "createdAt": at,
    }
