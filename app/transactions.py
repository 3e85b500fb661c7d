"""Committing one transaction, and what a refused one means to the caller.

Every state change is one TransactWriteItems. The repository that commits it says what a cancelled
transaction means (a contract error, or LostRace when the data only moved under us: re-read and
decide again); an idempotency completion, always last, that fails means another request took the
key over; a transaction that kept colliding with concurrent ones is a lost race too.

A write a user makes proves their account still exists inside the same transaction: its CallerCheck
(a ConditionCheck on the user item, built by app/users) goes after the operations and before the
completion, and its failure is explained first (a token that outlived its account: 401), whatever
else failed with it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.db.dynamo import Dynamo
from app.db.errors import TransactionCancelled, TransactionConflict
from app.db.expressions import Operation
from app.errors import LostRace
from app.idempotency import IdempotencyInProgress

# Given the cancellation: the error to raise instead, or None to let it through (an unexpected refusal: 409 CONFLICT).
Refusal = Callable[[TransactionCancelled], Exception | None]


@dataclass(frozen=True)
class CallerCheck:
    """A condition-only operation on the caller's own item, and the error its failure means (see app/users/service.py)."""

    operation: Operation
    refused: Callable[[], Exception]


def commit(
    db: Dynamo,
    operations: Sequence[Operation],
    *,
    refusal: Refusal | None = None,
    caller_check: CallerCheck | None = None,
    completion: Operation | None = None,
) -> None:
    """Write `operations` (then `caller_check`, then `completion`, last) all or nothing, translating a refusal with `refusal`."""
    checks = [caller_check.operation] if caller_check is not None else []
    batch = [*operations, *checks, *([completion] if completion is not None else [])]
    try:
        db.transact_write(batch)
    except TransactionCancelled as exc:
        if caller_check is not None and exc.failed(len(operations)):
            raise caller_check.refused() from exc
        explained = refusal(exc) if refusal is not None else None
        if explained is not None:
            raise explained from exc
        if completion is not None and exc.failed(len(batch) - 1):
            raise IdempotencyInProgress("Another request took over this Idempotency-Key; retry") from exc
        raise
    except TransactionConflict as exc:
        raise LostRace() from exc
