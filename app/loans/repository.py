"""Loan persistence: the reads of loans and invitations, and the verb-named commits of every loan change.
Longer than 250 lines because it is the one door to the loan items: every read of a list and every
commit of a change, each commit with the meaning of its refusal, so none is written twice elsewhere.

Every read is one call on known keys (see docs/data-model.md, "Access patterns"):
  a loan with its participants   Query PK = LOAN#<id>, SK >= INVITE#   (strongly consistent)
  a loan's audit trail          Query PK = LOAN#<id>, begins_with(SK, EVENT#), a page at a time
  a borrower's loans             Query GSI1 SK = USER#<id> (their user item first, then the loans), newest first
  a borrower's whole partition   Query GSI1 SK = USER#<id> (the user item and every loan: the dashboard)
  an email's invitations         Query GSI1 SK = INVITE#<email>, begins_with(PK, LOAN#), newest first
  live loan figures              BatchGetItem / GetItem of loan items
  loans due to expire            Query GSI2 PK = PENDING#<shard>, SK <= "<now>#~" (one per shard)
  loans due a reminder           Query GSI2 PK = REMIND#<shard>, SK <= "<today>#~"; an UpdateItem moves one
Every commit is ONE transaction built by app/loans/transitions.py; a refused transaction leaves here
as the contract's error, or as LostRace when the loan changed under us (the service re-reads). Each
commit a user makes carries their caller_check (their account exists; app/transactions.py), except an
acceptance, whose lender-role grant already updates the user item on that condition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from app.clock import iso, uuid7
from app.db.dynamo import BATCH_GET_LIMIT, Dynamo, Page
from app.db.errors import ConditionFailed, TransactionCancelled
from app.db.expressions import Expression, Item, Operation
from app.db.keys import (
    EVENT,
    FUNDING_SHARDS,
    INVITE,
    LOAN,
    deadline_partition,
    invitation_sort_key,
    loan_key,
    loan_partition,
    reminder_keys,
    reminder_partition,
    user_key,
    user_partition,
)
from app.db.table import DEADLINE_INDEX, DEADLINE_PARTITION, DEADLINE_SORT, GSI1_NAME, PARTITION_KEY, SORT_KEY
from app.errors import DomainError, LostRace, Unauthenticated
from app.loans import servicing_ops, transitions
from app.loans.errors import AlreadyResponded, LoanNotPending, NotInvited
from app.loans.items import NewLoan, ach_item, new_loan_items
from app.loans.records import DEFAULT_FUNDING_DAYS, LoanRecord
from app.loans.servicing_ops import LenderFigures, Servicing
from app.loans.transitions import AccountBinding, Actor
from app.transactions import CallerCheck, commit

# The builders services feed the commits with.
__all__ = ["AccountBinding", "Actor", "LenderFigures", "NewLoan", "Servicing", "ach_item", "new_loan_items"]

_GSI_NAMES = {"#gsiPartition": SORT_KEY, "#gsiSort": PARTITION_KEY}


@dataclass(frozen=True)
class LateAsOf:
    """What "late" means today: a next due date before `today`, or activated before `activated_before` (UTC dates)."""

    today: date
    activated_before: date


NOT_PENDING_TO_CANCEL = "Only a pending loan can be cancelled"


# --- reads -------------------------------------------------------------------------------------------


def read_loan(db: Dynamo, *, loan_id: str) -> LoanRecord | None:
    """One strongly consistent Query of the loan's partition: invitations and the loan (ACH and events sort before)."""
    condition = Expression(
        "#pk = :pk AND #sk >= :start",
        names={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
        values={":pk": loan_partition(loan_id), ":start": INVITE},
    )
    return LoanRecord.of(db.query_all(condition, consistent=True))


def loans_of_borrower(
    db: Dynamo, *, borrower_id: str, status: str | None, limit: int, cursor: str | None, now: datetime, late: LateAsOf | None = None
) -> tuple[Page, bool | None]:
    """A page of the borrower's loan items, newest first (UUIDv7 ids sort by creation); `late`: active and past due;
    and, on the first page, whether the borrower's own user item exists (None on later pages).

    The Query reads the whole GSI1 partition USER#<id>: the user item (its GSI1 sort key USER#<id> sorts after
    every LOAN#, so newest first it comes first) and the loans. The first page asks for one more item and takes
    the user item off the front: the account is proved by the request the list makes anyway.

    The borrower is the caller (GET /loans/my-loans): the page's cursor is sealed for them.

    `pending` and `expired` are the statuses a reader sees at `now`: a pending loan past its deadline is expired
    even before the expiry job has persisted it (the filter compares its deadline with `now`).
    """
    condition = Expression("#gsiPartition = :user", names={"#gsiPartition": SORT_KEY}, values={":user": user_partition(borrower_id)})
    names = {"#status": "status"}
    window = {":now": iso(now), ":legacyCreatedAfter": iso(now - timedelta(days=DEFAULT_FUNDING_DAYS))}
    still_open = "(fundingDeadline > :now OR (attribute_not_exists(fundingDeadline) AND createdAt > :legacyCreatedAfter))"
    where = None
    if status == "pending":
        where = Expression(f"#status = :pending AND {still_open}", names=names, values={":pending": "pending", **window})
    elif status == "expired":
        text = f"#status = :expired OR (#status = :pending AND NOT {still_open})"
        where = Expression(text, names=names, values={":expired": "expired", ":pending": "pending", **window})
    elif status:
        where = Expression("#status = :status", names=names, values={":status": status})
    if late is not None:
        # Past due: the stored next due date is before today, or (never repaid, so none is stored) the loan
        # was activated early enough that its first due date has passed.
        where = Expression(
            "#status = :active AND (nextDueDate < :today OR (attribute_not_exists(nextDueDate) AND activatedAt < :activatedBefore))",
            names=names,
            values={":active": "active", ":today": late.today.isoformat(), ":activatedBefore": late.activated_before.isoformat()},
        )
    if where is not None:  # the user item passes every filter, so the first page still starts with it
        where = Expression(
            f"#entity = :userEntity OR ({where.text})",
            names={**where.names, "#entity": "entity"},
            values={**where.values, ":userEntity": "user"},
        )
    first = cursor is None
    page = db.query(condition, index=GSI1_NAME, where=where, newest_first=True, limit=limit + first, cursor=cursor, caller=borrower_id)
    if not first:
        return page, None
    found = bool(page.items) and page.items[0].get("entity") == "user"
    items = page.items[1:] if found else page.items[:limit]
    return Page(items, page.next_cursor), found


def event_page(db: Dynamo, *, loan_id: str, caller_id: str, limit: int, cursor: str | None) -> Page:
    """A page of the loan's audit events, oldest first (event ids are time-ordered); its cursor is `caller_id`'s only."""
    condition = Expression(
        "#pk = :pk AND begins_with(#sk, :event)",
        names={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
        values={":pk": loan_partition(loan_id), ":event": EVENT},
    )
    return db.query(condition, limit=limit, cursor=cursor, caller=caller_id, consistent=True)


def borrower_partition(db: Dynamo, *, user_id: str) -> tuple[Item | None, list[Item]]:
    """One Query on GSI1 partition USER#<id>: the user's own item (for its roles) and every loan they borrow."""
    condition = Expression("#gsiPartition = :user", names={"#gsiPartition": SORT_KEY}, values={":user": user_partition(user_id)})
    items = db.query_all(condition, index=GSI1_NAME)
    user = next((item for item in items if item.get("entity") == "user"), None)
    return user, [item for item in items if item.get("entity") == "loan"]


def invitations_of(db: Dynamo, *, email: str) -> list[Item]:
    """Every invitation ever sent to `email`: one Query on GSI1 partition INVITE#<email>."""
    condition = Expression("#gsiPartition = :invite", names={"#gsiPartition": SORT_KEY}, values={":invite": invitation_sort_key(email)})
    return db.query_all(condition, index=GSI1_NAME)


def invitation_page(
    db: Dynamo,
    *,
    email: str,
    caller_id: str,
    status: str,
    loan_status: str | None,
    limit: int,
    cursor: str | None,
    open_at: datetime | None = None,
) -> Page:
    """A page of the email's invitation items in one participation status (and loan status), newest first.

    `caller_id`: the lender listing them (the owner of `email`), for whom alone the page's cursor is sealed.

    `open_at`: only invitations whose funding deadline comes after that moment (items from before
    deadlines existed: invited less than the default funding window ago).
    """
    condition = Expression(
        "#gsiPartition = :invite AND begins_with(#gsiSort, :loan)",
        names=dict(_GSI_NAMES),
        values={":invite": invitation_sort_key(email), ":loan": LOAN},
    )
    text, names, values = "#status = :status", {"#status": "status"}, {":status": status}
    if loan_status:
        text += " AND loanStatus = :loanStatus"
        values[":loanStatus"] = loan_status
    if open_at is not None:
        text += " AND (fundingDeadline > :now OR (attribute_not_exists(fundingDeadline) AND invitedAt > :legacyInvitedAfter))"
        values.update({":now": iso(open_at), ":legacyInvitedAfter": iso(open_at - timedelta(days=DEFAULT_FUNDING_DAYS))})
    where = Expression(text, names=names, values=values)
    return db.query(condition, index=GSI1_NAME, where=where, newest_first=True, limit=limit, cursor=cursor, caller=caller_id)


def loans_of_invitations(db: Dynamo, invitations: list[Item]) -> dict[str, Item]:
    """The live loan items behind some invitations, by loan id: one BatchGetItem (none when empty)."""
    keys = [loan_key(str(item["loanId"]), str(item["borrowerId"])) for item in invitations]
    return {str(item["loanId"]): item for item in db.batch_get(keys)}


def loans_of_invitations_and_user(db: Dynamo, invitations: list[Item], *, user_id: str) -> tuple[dict[str, Item], bool | None]:
    """`loans_of_invitations`, the same one BatchGetItem also asking for the user item of `user_id`: the loans,
    and whether the user item exists (None when it was not asked: no invitation, or no room for one more key)."""
    keys = [loan_key(str(item["loanId"]), str(item["borrowerId"])) for item in invitations]
    if not keys or len(keys) >= BATCH_GET_LIMIT:
        return loans_of_invitations(db, invitations), None
    items = db.batch_get([*keys, user_key(user_id)])
    loans = {str(item["loanId"]): item for item in items if item.get("entity") != "user"}
    return loans, any(item.get("entity") == "user" for item in items)


def live_loan(db: Dynamo, *, loan_id: str, borrower_id: str) -> Item | None:
    """The loan item as it is now (one strongly consistent GetItem): figures after concurrent changes."""
    return db.get(loan_key(loan_id, borrower_id))


# --- commits -----------------------------------------------------------------------------------------


def insert_loan(
    db: Dynamo,
    *,
    loan_item: Item,
    invitations: list[Item],
    actor: Actor,
    caller_check: CallerCheck,
    quota: Operation,
    over_quota: Callable[[Item | None], DomainError],
    completion: Operation | None = None,
) -> None:
    """The loan, every invitation, the `created` event and the day's quota count (the borrower's account check, the
    idempotency completion) in ONE transaction; `over_quota(counted)` is the error when the quota's condition failed."""
    # Event ids come from the machine's time, like every other event's, so a trail sorts in the order things happened.
    operations = [*transitions.create(loan_item, invitations, actor, [uuid7()]), quota]

    def refusal(exc: TransactionCancelled) -> DomainError | None:
        return over_quota(exc.items[len(operations) - 1]) if exc.failed(len(operations) - 1) else None

    commit(db, operations, refusal=refusal, caller_check=caller_check, completion=completion)


def _refusal(exc: TransactionCancelled, *, accepting: bool) -> DomainError:
    """The contract's error for a refused accept/decline; LostRace (re-read and retry) when the loan only moved."""
    if exc.failed(transitions.INVITATION):
        invitation = exc.items[transitions.INVITATION]
        if invitation is None:
            return NotInvited()
        return AlreadyResponded() if invitation.get("status") in ("accepted", "declined") else LoanNotPending()
    if accepting and exc.failed(transitions.ACCOUNT):
        return LostRace()  # the bank account failed or closed meanwhile (or its lock moved): decide again
    if accepting and exc.failed(transitions.USER):
        return Unauthenticated("The account no longer exists")
    if exc.failed(transitions.LOAN):
        loan = exc.items[transitions.LOAN]
        if loan is None or loan.get("status") != "pending":
            return LoanNotPending()
    return LostRace()  # the loan's funding moved between our read and our write


def _cancel_refusal(exc: TransactionCancelled) -> DomainError:
    """Not pending any more, or (an acceptance or a decline changed the loan since we read it) a lost race."""
    current = exc.items[0] if exc.failed(0) else None
    if exc.failed(0) and (current is None or current.get("status") != "pending"):
        return LoanNotPending(NOT_PENDING_TO_CANCEL)
    return LostRace()


def commit_acceptance(
    db: Dynamo, record: LoanRecord, actor: Actor, *, account: AccountBinding, lender_grant: Operation, completes: bool
) -> None:
    """Participation accepted with its bank account, funding grown, lender role held (and the loan activated if `completes`)."""
    operations = transitions.accept(record, actor, account=account, lender_grant=lender_grant, completes=completes)
    commit(db, operations, refusal=lambda exc: _refusal(exc, accepting=True))


def commit_decline(db: Dynamo, record: LoanRecord, actor: Actor, *, caller_check: CallerCheck) -> None:
    """The caller's participation declined, only while it is invited on a pending loan (and their account exists)."""
    commit(db, transitions.decline(record, actor), refusal=lambda exc: _refusal(exc, accepting=False), caller_check=caller_check)


def commit_cancel(db: Dynamo, record: LoanRecord, actor: Actor, *, caller_check: CallerCheck) -> None:
    """The loan cancelled with every invitation's loanStatus, bound to the version read (LostRace if it moved)."""
    commit(db, transitions.cancel(record, actor), refusal=_cancel_refusal, caller_check=caller_check)


def due_loans(db: Dynamo, *, now: datetime) -> list[Item]:
    """Pending loans whose deadline is at or before `now`: one Query per shard of the sparse deadline index, whose
    sort key "<fundingDeadline>#<loanId>" keeps loans not yet due out of every read."""
    return _due_in_index(db, [deadline_partition(shard) for shard in range(FUNDING_SHARDS)], up_to=iso(now))


def loans_to_remind(db: Dynamo, *, today: date) -> list[Item]:
    """Active loans whose reminder date is today or earlier: one Query per REMIND# shard of the same index."""
    return _due_in_index(db, [reminder_partition(shard) for shard in range(FUNDING_SHARDS)], up_to=today.isoformat())


def _due_in_index(db: Dynamo, partitions: list[str], *, up_to: str) -> list[Item]:
    names = {"#partition": DEADLINE_PARTITION, "#sort": DEADLINE_SORT}
    conditions = [
        Expression("#partition = :shard AND #sort <= :due", names=names, values={":shard": partition, ":due": f"{up_to}#~"})
        for partition in partitions
    ]
    return [loan for condition in conditions for loan in db.query_all(condition, index=DEADLINE_INDEX)]


def move_reminder(db: Dynamo, loan: Item, *, on: date | None) -> bool:
    """Wake the loan again on `on` (None: never: it leaves the index); only if its reminder date is still the one read
    (a repayment or another run may have moved it). Not a change of the loan: no version, no audit event."""
    names = {"#partition": DEADLINE_PARTITION, "#sort": DEADLINE_SORT}
    read = {":read": loan[DEADLINE_SORT]}
    if on is None:
        update = Expression("REMOVE #partition, #sort", names=names)
    else:
        keys = reminder_keys(str(loan["loanId"]), on.isoformat())
        update = Expression(
            "SET #partition = :partition, #sort = :sort",
            names=names,
            values={":partition": keys[DEADLINE_PARTITION], ":sort": keys[DEADLINE_SORT]},
        )
    try:
        db.update(
            loan_key(str(loan["loanId"]), str(loan["borrowerId"])), update, condition=Expression("#sort = :read", names=names, values=read)
        )
    except ConditionFailed:
        return False
    return True


def commit_expiry(db: Dynamo, loan: Item, actor: Actor) -> bool:
    """Expire one due loan; False when it is no longer pending (another run, an acceptance or a cancel got there first)."""
    try:
        commit(db, transitions.expire(loan, actor), refusal=lambda exc: _NotPendingAnyMore() if exc.failed(0) else None)
    except _NotPendingAnyMore:
        return False
    return True


class _NotPendingAnyMore(Exception):
    """The loan left pending before this expiry committed."""


def commit_close_funding(db: Dynamo, record: LoanRecord, actor: Actor, *, caller_check: CallerCheck) -> None:
    """Activate on what is funded (bound to the version read); LoanNotPending, or LostRace when an accept came first."""

    def refusal(exc: TransactionCancelled) -> DomainError | None:
        if not exc.failed(0):
            return None
        current = exc.items[0]
        moved = current is not None and current.get("status") == "pending" and current.get("version") != record.loan["version"]
        return LostRace() if moved else LoanNotPending()

    commit(db, transitions.close_funding(record, actor), refusal=refusal, caller_check=caller_check)


def repayment_operations(record: LoanRecord, actor: Actor, servicing: Servicing) -> list[Operation]:
    """The loan's part of a repayment's transaction; its first operation (the loan) carries the race condition.

    The servicing domain commits these with its own items (app/servicing/repository.py).
    """
    return servicing_ops.repayment(record, actor, servicing)
