"""Servicing rules: schedule, payoff and statement of an active loan, recording a repayment and splitting it among the lenders.

Visibility: the borrower and the lenders who accepted (anyone else 404); only the borrower records a
repayment (an accepted lender 403). The arithmetic is pure (schedule.py, allocation.py, distribution.py,
statements.py); this module feeds it what was read and commits its result in ONE transaction.
Longer than 250 lines because every read of a serviced loan (schedule, payoff, repayments, statement, the
reminder job's) and the repayment's one transaction share the same loan-and-schedule read, kept in one place.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from decimal import Decimal
from typing import TYPE_CHECKING

from app import idempotency
from app.auth.tokens import Principal
from app.clock import Clock, iso, utc_date, uuid7
from app.errors import Forbidden
from app.loans import service as loans_service
from app.loans.records import LoanRecord, activation_date, loan_terms
from app.retry import retry_on_lost_race
from app.servicing import allocation, distribution, repository, statements
from app.servicing import schedule as rules
from app.servicing.errors import LoanNotActive, OverpaymentRefused
from app.servicing.schemas import Distribution, Installment, Payoff, Repayment, RepaymentCreate, RepaymentPage, Schedule, Statement
from app.users import service as users_service

if TYPE_CHECKING:
    from app.db.dynamo import Dynamo
    from app.db.expressions import Item

logger = logging.getLogger("app.servicing")

ZERO = Decimal("0.00")


def _serviced(record: LoanRecord, *, statuses: tuple[str, ...] = ("active", "repaid")) -> None:
    if record.status not in statuses:
        raise LoanNotActive()


def _installments(db: Dynamo, record: LoanRecord) -> tuple[rules.Terms, list[rules.Installment]]:
    """The loan's terms and its schedule as it stands (the one fixed at activation until a first repayment)."""
    terms = loan_terms(record.loan)
    stored = repository.stored_schedule(db, loan_id=record.loan_id, loan_version=int(record.loan["version"]))
    return terms, stored if stored is not None else rules.original_schedule(terms)


def _read(db: Dynamo, *, caller: Principal, loan_id: str) -> tuple[LoanRecord, rules.Terms, list[rules.Installment]]:
    """The loan (visible to the caller, serviced) with its schedule, read as one state of the loan."""

    def attempt() -> tuple[LoanRecord, rules.Terms, list[rules.Installment]]:
        record, _ = loans_service.loan_for_servicing(db=db, caller=caller, loan_id=loan_id)
        _serviced(record)
        return record, *_installments(db, record)

    return retry_on_lost_race(attempt)


def get_schedule(*, db: Dynamo, clock: Clock, caller: Principal, loan_id: str) -> Schedule:
    """Query of the loan partition + GetItem of the schedule; statuses as of today."""
    _, terms, installments = _read(db, caller=caller, loan_id=loan_id)
    today = utc_date(clock.now())
    total_interest = rules.total_interest(installments)
    return Schedule(
        loan_id=loan_id,
        installment_amount=terms.installment,
        total_interest=total_interest,
        total_payable=terms.principal + total_interest,
        installments=[
            Installment(
                number=item.number,
                due_date=item.due_date,
                amount=item.amount,
                principal=item.principal,
                interest=item.interest,
                balance_after=item.balance_after,
                paid_principal=item.paid_principal,
                paid_interest=item.paid_interest,
                status=item.status(today),
            )
            for item in installments
        ],
    )


def get_payoff(*, db: Dynamo, clock: Clock, caller: Principal, loan_id: str) -> Payoff:
    """What repays the loan today: outstanding principal + due and next-upcoming interest (0 once repaid)."""
    _, _, installments = _read(db, caller=caller, loan_id=loan_id)
    today = utc_date(clock.now())
    owed = allocation.payoff(installments, today)
    return Payoff(loan_id=loan_id, as_of=today, principal=owed.principal, interest=owed.interest, amount=owed.amount)


def _holdings(record: LoanRecord) -> list[distribution.Holding]:
    """The accepted lenders with their outstanding principal just before this repayment (the loan item's entries)."""
    return [
        distribution.Holding(
            lender_id=str(entry["lenderId"]),
            outstanding=Decimal(entry.get("outstandingPrincipal", entry["amount"])),
            accepted_at=str(entry.get("respondedAt", "")),
        )
        for entry in record.loan["participants"]
        if entry["status"] == "accepted"
    ]


def record_repayment(
    *, db: Dynamo, clock: Clock, borrower: Principal, loan_id: str, body: RepaymentCreate, request_id: str, idempotency_key: str | None
) -> idempotency.Outcome[Repayment]:
    """ONE transaction: repayment, schedule, loan figures, every lender's totals, events (repaid exactly once)."""
    amount = body.amount.quantize(rules.CENT)  # 1, 1.0 and 1.000 are one amount: stored, echoed and fingerprinted as 1.00
    outcome = idempotency.run_once(
        db=db,
        user_id=borrower.user_id,
        key=idempotency_key,
        request={"loanId": loan_id, "amount": str(amount)},
        now=clock.now(),
        request_id=request_id,
        status=201,
        model=Repayment,
        work=lambda completion: retry_on_lost_race(
            lambda: _record(
                db=db, clock=clock, borrower=borrower, loan_id=loan_id, amount=amount, request_id=request_id, completion=completion
            ),
            turns=db.turns(loan_id),
        ),
    )
    if not outcome.replayed:
        logger.info("repayment recorded", extra={"request_id": request_id, "event": "repayment_recorded", "loan_id": loan_id})
        if outcome.response.loan_status == "repaid":
            logger.info("loan repaid", extra={"request_id": request_id, "event": "loan_repaid", "loan_id": loan_id})
    return outcome


def _record(
    *, db: Dynamo, clock: Clock, borrower: Principal, loan_id: str, amount: Decimal, request_id: str, completion: idempotency.Completion
) -> Repayment:
    record, is_borrower = loans_service.loan_for_servicing(db=db, caller=borrower, loan_id=loan_id)
    if not is_borrower:
        raise Forbidden("Only the borrower records repayments")
    _serviced(record, statuses=("active",))
    terms, installments = _installments(db, record)
    now = clock.now()
    try:
        applied = allocation.allocate(terms, installments, amount=amount, today=utc_date(now))
    except allocation.Overpayment as exc:
        raise OverpaymentRefused(exc.payoff) from exc
    holdings = _holdings(record)
    shares = distribution.distribute(principal=applied.principal, interest=applied.interest, holdings=holdings)
    emails = {str(entry["lenderId"]): str(entry["email"]) for entry in record.loan["participants"] if entry["status"] == "accepted"}
    before = {str(entry["lenderId"]): entry for entry in record.loan["participants"] if entry["status"] == "accepted"}
    figures = {
        emails[share.lender_id]: loans_service.LenderFigures(
            principal_repaid=Decimal(before[share.lender_id].get("principalRepaid", ZERO)) + share.principal,
            interest_paid=Decimal(before[share.lender_id].get("interestPaid", ZERO)) + share.interest,
            outstanding_principal=holding.outstanding - share.principal,
        )
        for share, holding in zip(shares, holdings, strict=True)
    }
    outstanding = applied.outstanding_after
    repaid = outstanding == 0
    oldest = rules.next_due(applied.installments)
    at, repayment_id = iso(now), uuid7(now)
    response = Repayment(
        repayment_id=repayment_id,
        loan_id=loan_id,
        amount=amount,
        principal=applied.principal,
        interest=applied.interest,
        recorded_at=at,
        recorded_by=borrower.user_id,
        outstanding_principal_after=outstanding,
        loan_status="repaid" if repaid else "active",
        distributions=[
            Distribution(lender_id=s.lender_id, email=emails[s.lender_id], principal=s.principal, interest=s.interest) for s in shares
        ],
    )
    servicing = loans_service.Servicing(
        amount=amount,
        outstanding_principal=outstanding,
        next_due=None if repaid or oldest is None else (oldest.due_date.isoformat(), oldest.remaining),
        lenders=figures,
        repaid=repaid,
        repayment_id=repayment_id,
        shares=tuple(
            {
                "lenderId": share.lender_id,
                "email": emails[share.lender_id],
                "principal": share.principal,
                "interest": share.interest,
                "outstandingPrincipal": figures[emails[share.lender_id]].outstanding_principal,
            }
            for share in shares
        ),
    )
    actor = loans_service.Actor(user_id=borrower.user_id, email=borrower.email, at=at, request_id=request_id)
    lines = [{"number": line.number, "principal": line.principal, "interest": line.interest} for line in applied.lines]
    repository.commit_repayment(
        db,
        loan_operations=loans_service.repayment_operations(record, actor, servicing),
        repayment=repository.repayment_item(
            loan_id=loan_id,
            repayment_id=repayment_id,
            fields={
                **response.model_dump(mode="python", by_alias=True, exclude={"repayment_id", "loan_id"}),
                "lines": lines,
                "prepayment": applied.prepayment,
            },
        ),
        loan_id=loan_id,
        loan_version=int(record.loan["version"]) + 1,
        installments=applied.installments,
        installment_amount=terms.installment,
        caller_check=users_service.account_exists(user_id=borrower.user_id),
        completion=completion(response) if completion else None,
    )
    return response


def _repayment_of(item: Item, *, only_lender: str | None) -> Repayment:
    distributions = [Distribution.model_validate(entry) for entry in item["distributions"]]
    if only_lender is not None:
        distributions = [entry for entry in distributions if entry.lender_id == only_lender]
    return Repayment.model_validate({**item, "distributions": distributions})


def list_repayments(*, db: Dynamo, caller: Principal, loan_id: str, limit: int, cursor: str | None) -> RepaymentPage:
    """Newest first; an accepted lender sees only their own distribution in each."""
    record, is_borrower = loans_service.loan_for_servicing(db=db, caller=caller, loan_id=loan_id)
    _serviced(record)
    page = repository.repayment_page(db, loan_id=record.loan_id, caller_id=caller.user_id, limit=limit, cursor=cursor)
    only = None if is_borrower else caller.user_id
    return RepaymentPage(items=[_repayment_of(item, only_lender=only) for item in page.items], next_cursor=page.next_cursor)


def _statement_of(db: Dynamo, *, caller: Principal, loan_id: str) -> statements.Summary:
    """Query of the loan partition + Query of every repayment; the caller's own lines (the loan's for the borrower)."""
    record, is_borrower = loans_service.loan_for_servicing(db=db, caller=caller, loan_id=loan_id)
    _serviced(record)
    repaid = [statements.repaid_of(item) for item in repository.all_repayments(db, loan_id=record.loan_id)]
    activation = activation_date(record.loan)
    if is_borrower:
        return statements.borrower_statement(activation=activation, amount=Decimal(record.loan["amount"]), repayments=repaid)
    contribution = Decimal(record.loan["participants"][record.participant_index(caller.email)]["amount"])
    return statements.lender_statement(activation=activation, contribution=contribution, lender_id=caller.user_id, repayments=repaid)


def get_statement(*, db: Dynamo, clock: Clock, caller: Principal, loan_id: str) -> Statement:
    """The caller's statement as of today (UTC): 2 DynamoDB requests."""
    summary = _statement_of(db, caller=caller, loan_id=loan_id)
    return Statement(loan_id=loan_id, as_of=utc_date(clock.now()), **asdict(summary))


def get_statement_csv(*, db: Dynamo, caller: Principal, loan_id: str) -> str:
    """The same lines as get_statement, as CSV text (app/servicing/statements.py render_csv)."""
    return statements.render_csv(_statement_of(db, caller=caller, loan_id=loan_id).lines)


def installments_now(*, db: Dynamo, loan_id: str) -> tuple[LoanRecord, list[rules.Installment]] | None:
    """A loan as stored with its schedule as it stands, read as one state (no caller: the reminder job); None if gone."""

    def attempt() -> tuple[LoanRecord, list[rules.Installment]] | None:
        record = loans_service.loan_record(db=db, loan_id=loan_id)
        if record is None or record.status not in ("active", "repaid"):
            return (record, []) if record is not None else None
        return record, _installments(db, record)[1]

    return retry_on_lost_race(attempt)
