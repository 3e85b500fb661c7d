"""The daily quota of a borrower: loans created and invitations sent per account per UTC day (no relay for spam).

One counter item per user per UTC day (QUOTA#<userId>#<day>, docs/data-model.md), updated INSIDE the
loan-creation transaction: ADD both counts, on condition that neither goes past its limit. DynamoDB
conditions have no arithmetic, so "count + n <= limit" is written "count <= limit - n". A day without
an item (every account before this rule, every new day) reads as 0: `attribute_not_exists`. Concurrent
creations cannot slip past the limit, and an Idempotency-Key replay never reaches the transaction, so
it never counts twice. Beyond the limit: 429 RATE_LIMITED (the resend throttle's error) with Retry-After
= seconds until the next UTC midnight, when a new item starts from 0. The item expires two days later (TTL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from app.clock import epoch, utc_date
from app.db.expressions import Expression, Item, Operation, tx_update
from app.db.keys import daily_quota_key
from app.errors import RateLimited

KEEP_SECONDS = 2 * 24 * 60 * 60  # past its day the item is never read again; TTL deletes it


@dataclass(frozen=True)
class DailyLimits:
    """Settings LOAN_CREATE_DAILY_LIMIT and INVITATION_DAILY_LIMIT."""

    loans: int
    invitations: int


def seconds_to_next_utc_day(now: datetime) -> int:
    """Retry-After of a refusal: whole seconds until the next UTC midnight (at least 1)."""
    midnight = datetime.combine(utc_date(now) + timedelta(days=1), time(), tzinfo=now.tzinfo)
    return max(1, epoch(midnight) - epoch(now))


def refusal(limits: DailyLimits, *, invitations: int, now: datetime, counted: Item | None = None) -> RateLimited:
    """The 429 of a creation beyond today's limits: which limit, from the counts the transaction saw."""
    counted = counted or {}
    if int(counted.get("loans", 0)) + 1 > limits.loans:
        message = f"At most {limits.loans} loans may be created per day; retry after midnight UTC"
    else:
        message = f"At most {limits.invitations} invitations may be sent per day; retry after midnight UTC"
    return RateLimited(seconds_to_next_utc_day(now), message)


def check_fits(limits: DailyLimits, *, invitations: int, now: datetime) -> None:
    """A loan with more invitations than a whole day allows can never fit: refused before any write."""
    if invitations > limits.invitations:
        raise refusal(limits, invitations=invitations, now=now)


def count_creation(user_id: str, limits: DailyLimits, *, invitations: int, now: datetime) -> Operation:
    """The transaction's operation that counts one loan and its invitations, only while both stay within today's limits."""
    return tx_update(
        daily_quota_key(user_id, utc_date(now).isoformat()),
        Expression(
            "ADD loans :one, invitations :invitations SET entity = :entity, expireAt = :expireAt",
            values={":one": 1, ":invitations": invitations, ":entity": "quota", ":expireAt": epoch(now) + KEEP_SECONDS},
        ),
        Expression(
            "(attribute_not_exists(loans) OR loans <= :loansBefore)"
            " AND (attribute_not_exists(invitations) OR invitations <= :invitationsBefore)",
            values={":loansBefore": limits.loans - 1, ":invitationsBefore": limits.invitations - invitations},
        ),
    )
