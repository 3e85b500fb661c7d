"""Committing one transaction, and what a refused one means to the caller.

Every state change is one TransactWriteItems. The repository that commits it says what a cancelled
transaction means (a contract error, or LostRace when the data only moved under us: re-read and
decide again); an idempotency completion, always last, that fails means another request took the
key over; a transaction that kept colliding with concurrent ones is a lost race too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from app.db.dynamo import Dynamo
from app.db.errors import TransactionCancelled, TransactionConflict
from app.db.expressions import Operation
from app.errors import LostRace
from app.idempotency import IdempotencyInProgress

# Given the cancellation: the error to raise instead, or None to let it through (an unexpected refusal: 409 CONFLICT).
Refusal = Callable[[TransactionCancelled], Exception | None]


def commit(db: Dynamo, operations: Sequence[Operation], *, refusal: Refusal | None = None, completion: Operation | None = None) -> None:
    """Write `operations` (and `completion`, last) all or nothing, translating a refusal with `refusal`."""
    batch = [*operations, *([completion] if completion is not None else [])]
    try:
        db.transact_write(batch)
    except TransactionCancelled as exc:
        explained = refusal(exc) if refusal is not None else None
        if explained is not None:
            raise explained from exc
        if completion is not None and exc.failed(len(batch) - 1):
            raise IdempotencyInProgress("Another request took over this Idempotency-Key; retry") from exc
        raise
    except TransactionConflict as exc:
        raise LostRace() from exc
