"""Login throttling per email, as one item of the single table (THROTTLE#<email>, see docs/data-model.md).

An attempt is counted *before* its password is checked, with a conditional write: a burst of
parallel guesses cannot slip past the limit while the first failures are still being verified.
A successful login deletes the item (the count starts again); the attempt that reaches the limit
and fails locks the email for a whole window. The state lives in DynamoDB (with a TTL), so every
process sees the same lock.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass

from app.db.dynamo import Dynamo
from app.db.errors import ConditionFailed
from app.db.expressions import Expression, Item, Key
from app.db.keys import login_throttle_key

MAX_FAILED_LOGINS = 5
WINDOW_SECONDS = 15 * 60


@dataclass(frozen=True)
class Attempt:
    """This attempt's place in the window: `number` counts it (1..MAX_FAILED_LOGINS)."""

    number: int


@dataclass(frozen=True)
class Locked:
    retry_after_seconds: int


def _locked_until(item: Item | None, now: int) -> Locked:
    if item is None:  # pragma: no cover - only if the lock vanished between two calls: retry soon
        return Locked(1)
    until = item.get("lockedUntil")
    end = int(until) if until is not None else int(item["windowStart"]) + WINDOW_SECONDS
    return Locked(max(1, end - now))


@dataclass(frozen=True)
class AttemptWrites:
    """The two conditional writes that count an attempt: the UpdateItem tried first, the PutItem of a fresh window."""

    key: Key
    count: Expression
    first_or_below_limit: Expression
    fresh: Item
    window_over: Expression


def attempt_writes(email: str, *, now: int) -> AttemptWrites:
    """What count_attempt writes for `email` at `now` (scripts/bench_floor.py issues the same)."""
    key = login_throttle_key(email)
    floor = now - WINDOW_SECONDS
    expire_at = now + 2 * WINDOW_SECONDS
    return AttemptWrites(
        key=key,
        # The common cases (no item yet, or a live window below the limit) cost this one UpdateItem.
        count=Expression(
            "ADD failures :one SET expireAt = :exp, windowStart = if_not_exists(windowStart, :now), entity = :entity",
            values={":one": 1, ":exp": expire_at, ":now": now, ":entity": "throttle"},
        ),
        first_or_below_limit=Expression(
            "attribute_not_exists(PK) OR (windowStart > :floor AND failures < :limit)",
            values={":floor": floor, ":limit": MAX_FAILED_LOGINS},
        ),
        fresh={**key, "entity": "throttle", "failures": 1, "windowStart": now, "expireAt": expire_at},
        window_over=Expression(
            "attribute_not_exists(PK) OR (windowStart <= :floor AND (attribute_not_exists(lockedUntil) OR lockedUntil <= :now))",
            values={":floor": floor, ":now": now},
        ),
    )


def count_attempt(db: Dynamo, email: str, *, now: int) -> Attempt | Locked:
    """Count one login attempt for `email` atomically, or report the lock if the limit is reached.

    With no item, or inside the current window while below the limit, one UpdateItem counts it
    (ADD, so concurrent attempts all count); after an old window or a lock that has passed, a
    fresh window starts (PutItem). When neither write's condition holds, the email is locked.
    """
    writes = attempt_writes(email, now=now)
    for _ in range(2):  # the second round only matters when another attempt opened the window first
        try:
            return Attempt(int(db.update(writes.key, writes.count, condition=writes.first_or_below_limit)["failures"]))
        except ConditionFailed:
            pass
        try:
            db.put(writes.fresh, condition=writes.window_over)
            return Attempt(1)
        except ConditionFailed:
            continue
    return _locked_until(db.get(writes.key), now)


def lock(db: Dynamo, email: str, *, now: int) -> None:
    """The attempt that reached the limit failed: refuse every attempt for one window from now."""
    with suppress(ConditionFailed):  # a concurrent successful login has just reset the count: nothing to lock
        db.update(
            login_throttle_key(email),
            Expression("SET lockedUntil = :until", values={":until": now + WINDOW_SECONDS}),
            condition=Expression("attribute_exists(PK)"),
        )
