"""Profile and dashboard rules: what a user may change, and how their figures are computed."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from app.clock import Clock, iso
from app.db.dynamo import ConditionFailed, Dynamo, Item
from app.errors import Unauthenticated
from app.users import repository
from app.users.schemas import BorrowerStats, Dashboard, LenderStats, ProfileUpdate

ZERO = Decimal("0")
LIVE = ("pending", "active")


def _total(items: Iterable[Item], attribute: str) -> Decimal:
    return sum((Decimal(item[attribute]) for item in items), ZERO)


def borrower_stats(loans: list[Item]) -> BorrowerStats:
    """Figures over the loans a user borrows; cancelled loans count only in totalLoans/cancelledLoans."""
    by_status = {status: [loan for loan in loans if loan["status"] == status] for status in ("pending", "active", "cancelled")}
    live = by_status["pending"] + by_status["active"]
    return BorrowerStats(
        total_loans=len(loans),
        pending_loans=len(by_status["pending"]),
        active_loans=len(by_status["active"]),
        cancelled_loans=len(by_status["cancelled"]),
        total_requested=_total(live, "amount"),
        total_funded=_total(live, "fundedAmount"),
        active_borrowed=_total(by_status["active"], "amount"),
    )


def lender_stats(invitations: list[Item]) -> LenderStats:
    """Figures over the invitations sent to a user's email (their loan status is kept on each item)."""
    pending = [i for i in invitations if i["status"] == "invited" and i["loanStatus"] == "pending"]
    accepted = [i for i in invitations if i["status"] == "accepted" and i["loanStatus"] in LIVE]
    active = [i for i in accepted if i["loanStatus"] == "active"]
    return LenderStats(
        pending_invitations=len(pending),
        pending_amount=_total(pending, "amount"),
        accepted_count=len(accepted),
        total_committed=_total(accepted, "amount"),
        active_investments=_total(active, "amount"),
        declined_count=sum(1 for i in invitations if i["status"] == "declined"),
    )


def roles_of(user: Item) -> list[str]:
    return sorted(user.get("roles") or {"borrower"})


def dashboard(*, db: Dynamo, user_id: str, email: str) -> Dashboard:
    """At most two Queries: the user's GSI1 partition (user + loans), then their invitations if a lender."""
    found = repository.user_with_loans(db, user_id=user_id)
    if found.user is None:
        raise Unauthenticated("The account no longer exists")
    roles = roles_of(found.user)
    lender = lender_stats(repository.invitations_of(db, email=email)) if "lender" in roles else None
    return Dashboard(roles=roles, borrower=borrower_stats(found.loans), lender=lender)


def profile_item(*, db: Dynamo, user_id: str) -> Item:
    """The caller's user item (one GetItem)."""
    user = repository.get_user(db, user_id=user_id)
    if user is None:
        raise Unauthenticated("The account no longer exists")
    return user


def update_profile(*, db: Dynamo, clock: Clock, user_id: str, update: ProfileUpdate) -> Item:
    """Apply only the fields that were sent; phone null removes the phone; nothing sent changes nothing."""
    sent = update.model_fields_set
    if not sent:
        return profile_item(db=db, user_id=user_id)
    attributes = {"first_name": "firstName", "last_name": "lastName", "phone": "phone"}
    changes = {attributes[name]: getattr(update, name) for name in sent if getattr(update, name) is not None}
    removals = [attributes[name] for name in sent if getattr(update, name) is None]
    try:
        return repository.update_user(db, user_id=user_id, changes=changes, removals=removals, updated_at=iso(clock.now()))
    except ConditionFailed as exc:
        raise Unauthenticated("The account no longer exists") from exc
