"""Finding out whether a transaction whose answer was lost committed (`settle`), before anything is answered.

A timeout or a dropped connection after botocore's own retries, or a 500, leaves a transaction's
outcome unknown: it may have committed. `app.db.dynamo.Dynamo.transact_write` sends every
transaction with its own ClientRequestToken, so the same request can be asked about again here.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from botocore.exceptions import ClientError

from app.db.errors import DatabaseUnavailable, error_code, translated
from app.db.expressions import deserialize_item, witness_of
from app.db.table import PARTITION_KEY, SORT_KEY
from app.retry import pause

logger = logging.getLogger("app.db")


def settle(client: Any, table_name: str, request: list[dict[str, Any]], token: str, *, seconds: float) -> None:
    """Return if the transaction sent with `token` committed; raise what it met if it did not; 503 only if nobody can tell.

    Two questions, asked in turn until one is answered or `seconds` pass (each at least once): does
    the item the transaction creates (its `witness`, a new item whose key it chose) exist as written
    (GetItem, strongly consistent)? And what does DynamoDB answer the same transaction sent again
    with the same ClientRequestToken: success if it had committed (or commits now, once), its
    cancellation if it could not, TransactionInProgress while the first is still running.
    """
    witness = witness_of(request)
    deadline = time.monotonic() + seconds
    attempt = 0
    while True:
        if witness is not None and _holds(client, table_name, witness):
            return
        try:
            with translated():
                client.transact_write_items(TransactItems=request, ClientRequestToken=token)
            return
        except DatabaseUnavailable:
            pass  # no answer yet: ask again
        except ClientError as exc:
            if error_code(exc) != "TransactionInProgressException":
                raise
        attempt += 1
        if time.monotonic() >= deadline:
            logger.error("transaction outcome unknown", extra={"event": "transaction_outcome_unknown", "attempts": attempt})
            raise DatabaseUnavailable("transaction outcome unknown")
        pause(min(attempt, 5), base=0.05, cap=1.0)


def _holds(client: Any, table_name: str, put: dict[str, Any]) -> bool:
    """Whether the item of `put` (a serialized Put) is in the table exactly as it would write it (False if unknown)."""
    key = {name: put["Item"][name] for name in (PARTITION_KEY, SORT_KEY)}
    try:
        with translated():
            found = client.get_item(TableName=table_name, Key=key, ConsistentRead=True).get("Item")
    except DatabaseUnavailable:
        return False
    return found is not None and deserialize_item(found) == deserialize_item(put["Item"])
