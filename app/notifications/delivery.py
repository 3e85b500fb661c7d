"""Sending messages at most once each: claim the marker, send, record it; a failed send frees its claim."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from app.notifications import repository
from app.notifications.outbox import Message
from app.notifications.render import render
from app.notifications.senders import Sender, SendFailed

if TYPE_CHECKING:
    from app.clock import Clock
    from app.db.dynamo import Dynamo

logger = logging.getLogger("app.notifications")


@dataclass
class Delivered:
    sent: int = 0
    already_sent: int = 0


def deliver(messages: Sequence[Message], *, db: Dynamo, sender: Sender, clock: Clock, request_id: str) -> Delivered:
    """Send each message not sent before. SendFailed (after freeing that message's claim) stops the batch:
    the caller retries it, and the messages sent already are skipped then by their markers."""
    report = Delivered()
    for message in messages:
        rendered = render(message.kind, message.context)  # a template bug fails here, before anything is claimed
        if not repository.claim(db, what=message.what, email=message.to, kind=message.kind, now=clock.now()):
            report.already_sent += 1
            continue
        try:
            message_id = sender.send(to=message.to, email=rendered)
        except SendFailed:
            repository.release(db, what=message.what, email=message.to)
            logger.warning("email not sent", extra={**_fields(message, request_id), "event": "email_failed"})
            raise
        repository.sent(db, what=message.what, email=message.to, message_id=message_id, now=clock.now())
        logger.info("email sent", extra={**_fields(message, request_id), "event": "email_sent"})
        report.sent += 1
    return report


def _fields(message: Message, request_id: str) -> dict[str, str]:
    """What a log line may say of an email: never its body, link or address (a hash names the recipient)."""
    recipient = hashlib.sha256(message.to.encode()).hexdigest()[:12]
    return {"request_id": request_id, "kind": message.kind, "what": message.what, "recipient": recipient}
