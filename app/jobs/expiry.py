"""The expiry job: every pending loan whose funding deadline has passed becomes expired.

A job is a function of (db, clock): no HTTP. The rules, the Queries and the transactions are the
loans funding service's (`expire_due_loans`); this module runs it and writes one JSON log line per run.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from app.loans import funding_service

if TYPE_CHECKING:
    from app.clock import Clock
    from app.config import Settings
    from app.db.dynamo import Dynamo

NAME = "expire-loans"

logger = logging.getLogger("app.jobs")


def run(*, db: Dynamo, clock: Clock, settings: Settings, request_id: str) -> funding_service.ExpiryReport:
    """Expire every due loan (idempotent: a loan another run or a user already moved is skipped). No setting matters here."""
    del settings
    started = time.perf_counter()
    report = funding_service.expire_due_loans(db=db, clock=clock, request_id=request_id)
    logger.info(
        "expiry run",
        extra={
            "request_id": request_id,
            "event": "expiry_run",
            "job": NAME,
            "due": report.due,
            "expired": report.expired,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )
    return report
