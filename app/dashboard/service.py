"""Dashboard figures: what a user borrows (their loans) and lends (their invitations), in at most two Queries."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from app.clock import Clock, utc_date
from app.dashboard.schemas import BorrowerStats, Dashboard, LenderStats, UpcomingPayment
from app.errors import Unauthenticated
from app.loans import service as loans_service
from app.users import service as users_service

if TYPE_CHECKING:
    from app.db.dynamo import Dynamo
    from app.db.expressions import Item

ZERO = Decimal("0")
LIVE = ("pending", "active")


def _total(items: Iterable[Item], attribute: str) -> Decimal:
    return sum((Decimal(item[attribute]) for item in items), ZERO)


def borrower_stats(loans: list[Item], now: datetime) -> BorrowerStats:
    """Figures over the loans a user borrows (as a reader sees them now: a pending loan past its deadline is expired);
    cancelled, expired and repaid loans count only in their own counters and totalLoans."""
    today = utc_date(now)
    statuses = ("pending", "active", "cancelled", "repaid")
    by_status = {status: [loan for loan in loans if loans_service.effective_status(loan, now) == status] for status in statuses}
    live = by_status["pending"] + by_status["active"]
    serviced = [(loan, loans_service.servicing_of(loan, today)) for loan in by_status["active"]]
    upcoming = [(view.next_payment.due_date, str(loan["loanId"]), view.next_payment) for loan, view in serviced if view.next_payment]
    earliest = min(upcoming, key=lambda entry: (entry[0], entry[1]), default=None)
    return BorrowerStats(
        total_loans=len(loans),
        pending_loans=len(by_status["pending"]),
        active_loans=len(by_status["active"]),
        cancelled_loans=len(by_status["cancelled"]),
        total_requested=_total(live, "amount"),
        total_funded=_total(live, "fundedAmount"),
        active_borrowed=_total(by_status["active"], "amount"),
        repaid_loans=len(by_status["repaid"]),
        outstanding_principal=sum((view.outstanding_principal or ZERO for _, view in serviced), ZERO),
        late_loans=sum(1 for _, view in serviced if view.days_past_due > 0),
        next_payment=None
        if earliest is None
        else UpcomingPayment(loan_id=earliest[1], due_date=earliest[2].due_date, amount=earliest[2].amount),
    )


def lender_stats(invitations: list[Item], now: datetime) -> LenderStats:
    """Figures over the invitations sent to a user's email (their loan status is kept on each item), read as every other
    read sees them: a pending loan past its funding deadline is expired before the expiry job has persisted it."""
    pending = [i for i in invitations if loans_service.is_pending_invitation(i, now)]
    loan_status = {id(i): loans_service.invitation_loan_status(i, now) for i in invitations}
    accepted = [i for i in invitations if i["status"] == "accepted" and loan_status[id(i)] in LIVE]
    active = [i for i in accepted if loan_status[id(i)] == "active"]
    serviced = [figures for i in invitations if (figures := loans_service.lender_figures_of(i)) is not None]
    return LenderStats(
        pending_invitations=len(pending),
        pending_amount=_total(pending, "amount"),
        accepted_count=len(accepted),
        total_committed=_total(accepted, "amount"),
        active_investments=_total(active, "amount"),
        declined_count=sum(1 for i in invitations if i["status"] == "declined"),
        outstanding_principal=sum((outstanding for _, _, outstanding in serviced), ZERO),
        principal_repaid=sum((principal for principal, _, _ in serviced), ZERO),
        interest_earned=sum((interest for _, interest, _ in serviced), ZERO),
    )


def dashboard(*, db: Dynamo, clock: Clock, user_id: str, email: str) -> Dashboard:
    """At most two Queries: the user's GSI1 partition (user + loans), then their invitations if a lender."""
    user, loans = loans_service.borrower_overview(db=db, user_id=user_id)
    if user is None:
        raise Unauthenticated("The account no longer exists")
    roles = sorted(users_service.roles_of(user))
    now = clock.now()
    lender = lender_stats(loans_service.invitations_of(db=db, email=email), now) if users_service.LENDER in roles else None
    return Dashboard(roles=roles, borrower=borrower_stats(loans, now), lender=lender)
