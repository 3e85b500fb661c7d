"""The outbox consumer: stream records of the table -> the emails their audit events call for.

One function serves both readers: the notifications Lambda (an event source mapping hands it a batch,
lambda_handler.stream_handler) and the local worker (app/db/streams.StreamReader). Records are handled
in order; the first one that cannot be delivered (an email the provider refused, or the table out of
reach) stops the batch and is reported by its sequence number, so it and everything after it come
again (Lambda: ReportBatchItemFailures, then retries, then the dead-letter queue). Whatever was sent
before the failure is not sent again: its markers say so.

Only inserted audit event items matter (the event source mapping also filters on that in AWS);
every other change of the table is skipped here.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.db.errors import DataLayerError
from app.db.expressions import deserialize_item
from app.notifications.delivery import deliver
from app.notifications.outbox import messages_for
from app.notifications.senders import Sender, SendFailed

if TYPE_CHECKING:
    from app.clock import Clock
    from app.config import Settings
    from app.db.dynamo import Dynamo
    from app.db.expressions import Item

logger = logging.getLogger("app.notifications")


def event_of(record: Mapping[str, Any]) -> Item | None:
    """The audit event an INSERT record carries, or None for any other record."""
    if record.get("eventName") != "INSERT":
        return None
    image = record.get("dynamodb", {}).get("NewImage")
    if not image:
        return None
    item = deserialize_item(image)
    return item if item.get("entity") == "event" and item.get("eventId") else None


@dataclass
class BatchResult:
    handled: int = 0
    sent: int = 0
    failed_sequence_number: str | None = None


def handle_records(
    records: Sequence[Mapping[str, Any]], *, db: Dynamo, sender: Sender, settings: Settings, clock: Clock, request_id: str
) -> BatchResult:
    """Deliver the emails of each record, in order, until one fails (its sequence number is returned)."""
    result = BatchResult()
    for record in records:
        event = event_of(record)
        try:
            if event is not None:
                messages = messages_for(event, db=db, settings=settings, now=clock.now())
                result.sent += deliver(messages, db=db, sender=sender, clock=clock, request_id=request_id).sent
        except (SendFailed, DataLayerError):  # the provider or the table failed: this record is retried
            result.failed_sequence_number = str(record["dynamodb"]["SequenceNumber"])
            break
        result.handled += 1
    logger.info(
        "stream batch",
        extra={
            "request_id": request_id,
            "event": "stream_batch",
            "records": len(records),
            "sent": result.sent,
            "failed": 0 if result.failed_sequence_number is None else 1,
        },
    )
    return result
