"""What the data layer raises, and the one place a botocore failure becomes one of these.

ConditionFailed       a conditional write did not hold (carries the current item when asked)
TransactionCancelled  a transaction was refused; `reasons` has one code per operation
TransactionConflict   a transaction kept colliding with concurrent ones after bounded retries
DatabaseUnavailable   the table cannot be reached, is throttled, or does not exist
InvalidCursor         a pagination cursor was not issued by us for this query
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from app.db.expressions import deserialize_item

Item = dict[str, Any]

UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "ResourceNotFoundException",
    }
)
SERVER_FAULTS = frozenset({"InternalServerError", "ServiceUnavailable"})
THROTTLED_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})


class DataLayerError(Exception):
    """Base of everything the data layer raises."""


class ConditionFailed(DataLayerError):
    def __init__(self, item: Item | None = None) -> None:
        super().__init__("conditional check failed")
        self.item = item


class TransactionCancelled(DataLayerError):
    def __init__(self, reasons: list[str], items: list[Item | None]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons
        self.items = items

    def failed(self, index: int) -> bool:
        """Whether the operation at `index` failed its condition."""
        return self.reasons[index] == "ConditionalCheckFailed"


class TransactionConflict(DataLayerError):
    """Concurrent transactions kept colliding; the caller may retry."""


class DatabaseUnavailable(DataLayerError):
    """The table cannot be reached or is throttling us.

    `maybe_applied`: the request may have reached DynamoDB and its answer was lost (a read timeout, a
    dropped connection, also on one of botocore's earlier attempts) or DynamoDB answered a 500, which
    "may or may not have succeeded". A throttled or refused request was not applied.
    """

    def __init__(self, message: str, *, maybe_applied: bool = False) -> None:
        super().__init__(message)
        self.maybe_applied = maybe_applied


class InvalidCursor(DataLayerError):
    """A pagination cursor that we did not issue for this query."""


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


@contextmanager
def translated() -> Iterator[None]:
    """Run one DynamoDB call; its failures leave as the exceptions above (other ClientErrors as they are)."""
    try:
        yield
    except ClientError as exc:
        code = error_code(exc)
        if code == "ConditionalCheckFailedException":
            raw = exc.response.get("Item")
            raise ConditionFailed(deserialize_item(raw) if raw else None) from exc
        if code in UNAVAILABLE_CODES:
            raise DatabaseUnavailable(code, maybe_applied=code in SERVER_FAULTS) from exc
        raise
    except BotoCoreError as exc:  # connection refused, timeouts, DNS: after retries, one of which may have been delivered
        raise DatabaseUnavailable(type(exc).__name__, maybe_applied=True) from exc


def cancellation(exc: ClientError) -> TransactionCancelled | None:
    """A TransactionCanceledException that is not a pure conflict, as TransactionCancelled; None for a pure conflict.

    Throttled operations make the whole table unavailable to us (DatabaseUnavailable is raised).
    """
    reasons_raw = exc.response.get("CancellationReasons", [])
    reasons = [reason.get("Code", "None") for reason in reasons_raw]
    if any(code in THROTTLED_REASONS for code in reasons):
        raise DatabaseUnavailable("transaction throttled") from exc
    if "ConditionalCheckFailed" in reasons or "TransactionConflict" not in reasons:
        return TransactionCancelled(reasons, [deserialize_item(r["Item"]) if r.get("Item") else None for r in reasons_raw])
    return None
