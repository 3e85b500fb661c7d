"""The reminder job: payment reminders to borrowers (3 days before a due date, the day after a missed one).

The rules, the index Queries and the sending are app/notifications/reminders.py's; this module runs
them with the configured sender and writes one JSON log line per run.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from app.notifications import reminders
from app.notifications.senders import sender_for

if TYPE_CHECKING:
    from app.clock import Clock
    from app.config import Settings
    from app.db.dynamo import Dynamo

NAME = "send-payment-reminders"

logger = logging.getLogger("app.jobs")


def run(*, db: Dynamo, clock: Clock, settings: Settings, request_id: str) -> reminders.ReminderReport:
    """Send what is due today, once each; a send that failed is left for the next run."""
    started = time.perf_counter()
    report = reminders.send_payment_reminders(db=db, clock=clock, settings=settings, sender=sender_for(settings), request_id=request_id)
    logger.info(
        "reminder run",
        extra={
            "request_id": request_id,
            "event": "reminder_run",
            "job": NAME,
            "loans": report.loans,
            "sent": report.sent,
            "failed": report.failed,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return report
