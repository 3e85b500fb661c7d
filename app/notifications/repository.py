"""Delivery markers (DELIVERY#<what> / TO#<email>): the one reader and writer. One marker per email sent.

claim     PutItem, `attribute_not_exists(PK)`: only one claimant ever sends a given (message, recipient)
sent      UpdateItem status sending -> sent, with the provider's message id (for support)
release   DeleteItem, `status = sending`: a send that failed frees its claim so a retry can send it

A claim outlives the stream's 24 h retention and any replay (TTL 30 days), so replaying the same records
finds every marker and sends nothing again. A process that dies between claim and send leaves a marker
in `sending`: that email is not sent (at most once), and the marker says so to whoever looks.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

from app.clock import epoch, iso
from app.db.dynamo import Dynamo
from app.db.errors import ConditionFailed
from app.db.expressions import NEW_ITEM, Expression
from app.db.keys import delivery_marker_key
from app.db.table import TTL_ATTRIBUTE

MARKER_LIFETIME = timedelta(days=30)


def claim(db: Dynamo, *, what: str, email: str, kind: str, now: datetime) -> bool:
    """True if this caller may send (the marker is new); False if the email was sent or is being sent."""
    item = {
        **delivery_marker_key(what, email),
        "entity": "delivery",
        "kind": kind,
        "status": "sending",
        "claimedAt": iso(now),
        TTL_ATTRIBUTE: epoch(now + MARKER_LIFETIME),
    }
    try:
        db.put(item, condition=NEW_ITEM)
    except ConditionFailed:
        return False
    return True


def sent(db: Dynamo, *, what: str, email: str, message_id: str, now: datetime) -> None:
    """Record that the provider accepted the email."""
    db.update(
        delivery_marker_key(what, email),
        Expression(
            "SET #status = :sent, sentAt = :at, messageId = :id",
            names={"#status": "status"},
            values={":sent": "sent", ":at": iso(now), ":id": message_id},
        ),
    )


def release(db: Dynamo, *, what: str, email: str) -> None:
    """Free a claim whose send failed (only while still `sending`: a sent email is never released)."""
    with contextlib.suppress(ConditionFailed):  # already gone (or sent): nothing to free
        db.delete(
            delivery_marker_key(what, email),
            condition=Expression("#status = :sending", names={"#status": "status"}, values={":sending": "sending"}),
        )
