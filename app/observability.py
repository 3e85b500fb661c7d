"""Structured JSON logging: one line per event, with the request id; never bodies or secrets."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

# Only these `extra=` fields reach a log line; anything else passed by mistake is dropped.
LOGGED_FIELDS = (
    "request_id",
    "method",
    "route",
    "status",
    "duration_ms",
    "db_requests",
    "error",
    "event",
    "user_id",
    "loan_id",
    "job",  # scheduled jobs (app/jobs): the job's name, and what a run found and changed
    "due",
    "expired",
    "kind",  # emails (app/notifications): the template, the marker's message, a hash of the recipient, counts
    "what",
    "recipient",
    "reason",
    "event_id",
    "records",
    "sent",
    "already_sent",
    "failed",
    "loans",
)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = vars(record)  # `extra=` values are set as the record's attributes
        for name in LOGGED_FIELDS:
            if name in fields:
                line[name] = fields[name]
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def configure_logging(level: str) -> None:
    """Send every `app.*` logger to stdout as JSON lines (idempotent)."""
    logger = logging.getLogger("app")
    logger.setLevel(level)
    if not any(getattr(handler, "_app_json", False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        handler._app_json = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    logger.propagate = True
