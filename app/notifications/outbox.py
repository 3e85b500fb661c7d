"""Who is told what: the emails one audit event (an outbox item) calls for, per the contract's list.

  verification_requested -> the user (the link; sent even with emailNotifications off)
  created                -> every invited address, registered or not (not muted either: it is the invitation)
  accepted, declined     -> the borrower
  activated, expired, cancelled -> the borrower and every lender who had accepted
  repayment_recorded     -> each accepted lender, with their own share of it
Everything but verification and invitations is informational: a recipient whose emailNotifications
is off gets none of it. Other events (funding_closed, repaid, email_verified) send nothing.

The figures come from the event itself, as the transaction wrote them (a contribution; an acceptance's
fundedAmount after it, the loan amount and completesFunding; each lender's share of a repayment), so a
late or replayed record tells what happened then, never what a later read shows; descriptive facts
(purpose, names) are read from the loan and the users. Events written before they carried figures fall
back to the loan as it stands (see _acceptance_figures).

An invitation (`created`) goes out only while the loan is still pending, read when the record is handled:
a loan cancelled, expired or closed before its email is sent invites nobody.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from app.auth import service as auth_service
from app.config import Settings
from app.loans import service as loans_service
from app.users import service as users_service

if TYPE_CHECKING:
    from app.db.dynamo import Dynamo
    from app.db.expressions import Item
    from app.loans.records import LoanRecord
    from app.users.service import UserRecord

logger = logging.getLogger("app.notifications")


@dataclass(frozen=True)
class Message:
    """One email to send once: `what` + `to` is its delivery marker."""

    what: str
    to: str
    kind: str
    context: dict[str, Any]


def messages_for(event: Item, *, db: Dynamo, settings: Settings, now: datetime) -> list[Message]:
    """The emails `event` calls for (empty for events that tell nobody, or whose loan or user is gone) at `now`."""
    kind = str(event.get("type", ""))
    if kind == "verification_requested":
        return _verification(event, db=db, settings=settings)
    build = _LOAN_EVENTS.get(kind)
    if build is None:
        return []
    record = loans_service.loan_record(db=db, loan_id=str(event["loanId"]))
    if record is None:
        logger.warning("event of a missing loan", extra={"event": "email_skipped", "reason": "loan_gone", "event_id": event.get("eventId")})
        return []
    return build(_Facts(event=event, record=record, db=db, base_url=settings.app_base_url, now=now))


def _verification(event: Item, *, db: Dynamo, settings: Settings) -> list[Message]:
    user = users_service.get_user(db=db, user_id=str(event["userId"]))
    if user is None or user.email_verified:
        return []  # the account is gone, or verified already: the link has nothing left to do
    token = auth_service.verification_token(settings=settings, user_id=user.user_id, nonce=str(event["nonce"]))
    link = f"{settings.app_base_url}/verify-email?token={token}"
    return [Message(what=str(event["eventId"]), to=user.email, kind="verify_email", context={"first_name": user.first_name, "link": link})]


@dataclass(frozen=True)
class _Facts:
    event: Item
    record: LoanRecord
    db: Dynamo
    base_url: str
    now: datetime

    @property
    def loan(self) -> Item:
        return self.record.loan

    @property
    def what(self) -> str:
        return str(self.event["eventId"])

    @property
    def loan_link(self) -> str:
        return f"{self.base_url}/loans/{self.record.loan_id}"

    def amount(self, name: str, default: Any) -> Decimal:
        return Decimal(self.event.get(name, default))

    def accepted_lenders(self) -> dict[str, Decimal]:
        """lenderId -> contribution of every participant who accepted."""
        return {
            str(p["lenderId"]): Decimal(p["amount"]) for p in self.loan["participants"] if p["status"] == "accepted" and p.get("lenderId")
        }

    def listening(self, user_ids: list[str]) -> dict[str, UserRecord]:
        """The users among `user_ids` who still exist and want informational emails."""
        users = users_service.get_users(db=self.db, user_ids=user_ids)
        return {user_id: user for user_id, user in users.items() if user.email_notifications}


def _invitations(facts: _Facts) -> list[Message]:
    loan = facts.loan
    status = loans_service.effective_status(loan, facts.now)
    if status != "pending":  # cancelled, expired, closed or funded before the email went out: no invitation to relay
        logger.info("invitation of a loan no longer pending", extra={"event": "email_skipped", "reason": status, "event_id": facts.what})
        return []
    shared = {
        "borrower_name": str(loan.get("borrowerName", "")),
        "amount": Decimal(loan.get("requestedAmount") or loan["amount"]),
        "purpose": str(loan["purpose"]),
        "deadline": loans_service.funding_deadline_of(loan),
        "link": f"{facts.base_url}/invitations/{facts.record.loan_id}",
    }
    return [
        Message(what=facts.what, to=str(item["email"]), kind="invitation", context={**shared, "contribution": Decimal(item["amount"])})
        for item in facts.record.invitations
    ]


def _response(kind: str) -> Callable[[_Facts], list[Message]]:
    def build(facts: _Facts) -> list[Message]:
        borrower = facts.listening([facts.record.borrower_id]).get(facts.record.borrower_id)
        if borrower is None:
            return []
        context: dict[str, Any] = {
            "first_name": borrower.first_name,
            "lender_email": str(facts.event.get("lenderEmail", "")),
            "contribution": facts.amount("amount", 0),
            "purpose": str(facts.loan["purpose"]),
            "link": facts.loan_link,
        }
        if kind == "invitation_accepted":
            context |= _acceptance_figures(facts)
        return [Message(what=facts.what, to=borrower.email, kind=kind, context=context)]

    return build


def _acceptance_figures(facts: _Facts) -> dict[str, Decimal]:
    """The funding as of the acceptance, from its event (written by the accept transaction, which pins the figure it read).

    An `accepted` event written before events carried these figures (no fundedAmount on it) falls back to the
    loan as it stands when the email goes out, which is what such emails always said (a later acceptance may show).
    """
    if "fundedAmount" in facts.event and "loanAmount" in facts.event:
        return {"funded_amount": facts.amount("fundedAmount", 0), "amount": facts.amount("loanAmount", 0)}
    return {"funded_amount": Decimal(facts.loan["fundedAmount"]), "amount": Decimal(facts.loan["amount"])}  # legacy: as it stands


def _everyone(kind: str) -> Callable[[_Facts], list[Message]]:
    """The borrower and every accepted lender, each with their own role and contribution."""

    def build(facts: _Facts) -> list[Message]:
        lenders = facts.accepted_lenders()
        borrower_id = facts.record.borrower_id
        users = facts.listening([borrower_id, *lenders])
        # activated: the amount it went live with (its event's); expired, cancelled: the amount asked for
        amount = (
            facts.amount("amount", facts.loan["amount"])
            if kind == "loan_activated"
            else Decimal(facts.loan.get("requestedAmount") or facts.loan["amount"])
        )
        shared: dict[str, Any] = {"amount": amount, "purpose": str(facts.loan["purpose"]), "link": facts.loan_link}
        if kind == "loan_expired":
            shared["funded_amount"] = Decimal(facts.loan["fundedAmount"])
        messages = []
        for user_id, user in users.items():
            role = "borrower" if user_id == borrower_id else "lender"
            contribution = None if role == "borrower" else lenders[user_id]
            context = {**shared, "first_name": user.first_name, "role": role, "contribution": contribution}
            messages.append(Message(what=facts.what, to=user.email, kind=kind, context=context))
        return messages

    return build


def _repayment(facts: _Facts) -> list[Message]:
    shares: list[Item] = list(facts.event.get("distributions") or [])
    if not shares:  # written before the event carried the shares: nothing exact to tell
        logger.warning("repayment event without shares", extra={"event": "email_skipped", "reason": "no_shares", "event_id": facts.what})
        return []
    users = facts.listening([str(share["lenderId"]) for share in shares])
    messages = []
    for share in shares:
        user = users.get(str(share["lenderId"]))
        if user is None:
            continue
        principal, interest = Decimal(share["principal"]), Decimal(share["interest"])
        context = {
            "first_name": user.first_name,
            "purpose": str(facts.loan["purpose"]),
            "principal": principal,
            "interest": interest,
            "total": principal + interest,
            "outstanding_principal": Decimal(share["outstandingPrincipal"]),
            "link": facts.loan_link,
        }
        messages.append(Message(what=facts.what, to=user.email, kind="repayment_received", context=context))
    return messages


_LOAN_EVENTS: dict[str, Callable[[_Facts], list[Message]]] = {
    "created": _invitations,
    "accepted": _response("invitation_accepted"),
    "declined": _response("invitation_declined"),
    "activated": _everyone("loan_activated"),
    "expired": _everyone("loan_expired"),
    "cancelled": _everyone("loan_cancelled"),
    "repayment_recorded": _repayment,
}
