"""Borrower rules: create a loan with its invitations, see it, list them, cancel it, read its audit trail."""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from decimal import Decimal

from app.auth.tokens import Principal
from app.clock import Clock, iso, uuid7
from app.db.dynamo import Dynamo, TransactionCancelled, TransactionConflict
from app.errors import Conflict, Forbidden, NotFound, RuleViolation, Unauthenticated
from app.loans import idempotency, repository, transitions
from app.loans.repository import LoanRecord
from app.loans.schemas import LoanCreate, LoanEvents, LoanPublic, LoanStatus
from app.routing import parse_json
from app.schemas import Page

logger = logging.getLogger("app.loans")

ATTEMPTS = 8  # re-reads of a loan after a transaction lost a race, before answering 409


@dataclass(frozen=True)
class Created:
    loan: LoanPublic
    replayed: bool


def backoff(attempt: int) -> None:
    """Full jitter between re-reads of a contended loan (at most ~0.2 s)."""
    time.sleep(random.uniform(0, min(0.2, 0.005 * 2**attempt)))  # noqa: S311


def too_busy() -> Conflict:
    return Conflict("The loan is being changed by other requests right now; retry the request")


def _rule(code: str, message: str, field: str) -> RuleViolation:
    return RuleViolation(message, code=code, details=[{"field": field, "location": "body", "reason": message}])


def check_loan_rules(*, borrower: Principal, loan: LoanCreate) -> None:
    """Contributions sum exactly to the amount; no lender twice (case-insensitive); no self-invitation."""
    if sum((lender.amount for lender in loan.lenders), Decimal(0)) != loan.amount:
        raise _rule("CONTRIBUTIONS_MISMATCH", "The lenders' amounts must sum exactly to the loan amount", "lenders")
    emails = [lender.email for lender in loan.lenders]
    if len(set(emails)) != len(emails):
        raise _rule("DUPLICATE_LENDER", "Each lender may be invited only once", "lenders")
    if borrower.email in emails:
        raise _rule("SELF_INVITE", "The borrower cannot invite themself", "lenders")


def create_loan(
    *, db: Dynamo, clock: Clock, borrower: Principal, loan: LoanCreate, request_id: str, idempotency_key: str | None = None
) -> Created:
    """The loan, its invitations and its `created` event in ONE transaction (plus the idempotency record)."""
    check_loan_rules(borrower=borrower, loan=loan)
    claim: idempotency.Claim | None = None
    if idempotency_key is not None:
        fingerprint = idempotency.request_fingerprint(loan.model_dump(mode="json"))
        outcome = idempotency.claim(db=db, user_id=borrower.user_id, key=idempotency_key, fingerprint=fingerprint, now=clock.now())
        if isinstance(outcome, idempotency.StoredResponse):
            stored = LoanPublic.model_validate(parse_json(outcome.body.encode()))
            return Created(loan=stored, replayed=True)
        claim = outcome
    try:
        created = _write_loan(db=db, clock=clock, borrower=borrower, loan=loan, request_id=request_id, claim=claim)
    except Exception:
        if claim is not None:
            idempotency.release(db=db, claim_=claim, request_id=request_id)
        raise
    logger.info("loan created", extra={"request_id": request_id, "event": "loan_created", "loan_id": created.loan_id})
    return Created(loan=created, replayed=False)


def _write_loan(
    *, db: Dynamo, clock: Clock, borrower: Principal, loan: LoanCreate, request_id: str, claim: idempotency.Claim | None
) -> LoanPublic:
    user = repository.get_user(db, user_id=borrower.user_id)
    if user is None:
        raise Unauthenticated("The account no longer exists")
    now = clock.now()
    at, loan_id = iso(now), uuid7(now)
    loan_item, invitations = transitions.new_loan_items(
        transitions.NewLoan(
            loan_id=loan_id,
            borrower_id=borrower.user_id,
            borrower_name=f"{user.get('firstName', '')} {user.get('lastName', '')}".strip(),
            amount=loan.amount,
            purpose=loan.purpose,
            term_months=loan.term_months,
            interest_rate=loan.interest_rate,
            lenders=[(lender.email, lender.amount) for lender in loan.lenders],
            at=at,
        )
    )
    actor = transitions.Actor(user_id=borrower.user_id, email=borrower.email, at=at, request_id=request_id)
    # Event ids come from the machine's time, like every other event's, so a trail sorts in the order things happened.
    operations = transitions.create(loan_item, invitations, actor, [uuid7()])
    public = repository.loan_public(loan_item, [repository.participant_of(entry) for entry in loan_item["participants"]])
    if claim is not None:
        operations.append(idempotency.completion(claim, status=201, body=public.model_dump_json()))
    try:
        db.transact_write(operations)
    except TransactionCancelled as exc:
        if claim is not None and exc.failed(len(operations) - 1):
            raise Conflict("Another request took over this Idempotency-Key; retry", code="IDEMPOTENCY_IN_PROGRESS") from exc
        raise
    return public


def _visible_record(db: Dynamo, *, loan_id: str, caller: Principal, with_events: bool = False) -> LoanRecord:
    """The loan partition if the caller is its borrower or invited to it; 404 otherwise (never reveal it exists)."""
    record = repository.read_loan(db, loan_id=loan_id, with_events=with_events) if repository.is_loan_id(loan_id) else None
    if record is None or (record.borrower_id != caller.user_id and record.invitation_of(caller.email) is None):
        raise NotFound("Loan not found")
    return record


def view_of(record: LoanRecord, caller: Principal) -> LoanPublic:
    """The borrower sees every participant (in the order they were invited); an invited lender sees only their own."""
    invitations = sorted(record.invitations, key=lambda item: record.participant_index(str(item["email"])))
    if record.borrower_id != caller.user_id:
        invitations = [item for item in invitations if item["email"] == caller.email]
    return repository.loan_public(record.loan, [repository.participant_of(item) for item in invitations])


def get_loan(*, db: Dynamo, caller: Principal, loan_id: str) -> LoanPublic:
    """One strongly consistent Query of the loan's partition."""
    return view_of(_visible_record(db, loan_id=loan_id, caller=caller), caller)


def my_loans(*, db: Dynamo, borrower: Principal, status: LoanStatus | None, limit: int, cursor: str | None) -> Page[LoanPublic]:
    """The caller's loans, newest first: one Query on GSI1 (participants come from the loan item)."""
    page = repository.loans_of_borrower(db, borrower_id=borrower.user_id, status=status, limit=limit, cursor=cursor)
    items = [repository.loan_seen_by(item, user_id=borrower.user_id, email=borrower.email) for item in page.items]
    return Page[LoanPublic](items=[item for item in items if item is not None], next_cursor=page.next_cursor)


def loan_events(*, db: Dynamo, caller: Principal, loan_id: str) -> LoanEvents:
    """The loan's audit trail, oldest first; only the borrower may read it (404 for everyone else)."""
    record = _visible_record(db, loan_id=loan_id, caller=caller, with_events=True)
    if record.borrower_id != caller.user_id:
        raise NotFound("Loan not found")
    return LoanEvents(items=[repository.event_public(item) for item in record.events])


def cancel_loan(*, db: Dynamo, clock: Clock, borrower: Principal, loan_id: str, request_id: str) -> LoanPublic:
    """Borrower only, pending only; the loan and every invitation's loanStatus change in one transaction."""
    for attempt in range(ATTEMPTS):
        record = _visible_record(db, loan_id=loan_id, caller=borrower)
        if record.borrower_id != borrower.user_id:
            raise Forbidden("Only the borrower can cancel a loan")
        if record.status != "pending":
            raise Conflict("Only a pending loan can be cancelled", code="LOAN_NOT_PENDING")
        at = iso(clock.now())
        actor = transitions.Actor(user_id=borrower.user_id, email=borrower.email, at=at, request_id=request_id)
        try:
            db.transact_write(transitions.cancel(record, actor))
        except TransactionCancelled as exc:
            current = exc.items[0] if exc.failed(0) else None
            if exc.failed(0) and (current is None or current.get("status") != "pending"):
                raise Conflict("Only a pending loan can be cancelled", code="LOAN_NOT_PENDING") from exc
            # The loan changed (an acceptance or a decline) between our read and our write: re-read.
        except TransactionConflict:
            pass
        else:
            record.loan.update(status="cancelled", cancelledAt=at)
            for invitation in record.invitations:
                invitation["loanStatus"] = "cancelled"
            logger.info("loan cancelled", extra={"request_id": request_id, "event": "loan_cancelled", "loan_id": loan_id})
            return view_of(record, borrower)
        backoff(attempt)
    raise too_busy()
