"""Per-process resources built from the settings, shared by every entry point: the API (app/main.py),
the worker (app/worker.py) and the scheduled Lambda handler (lambda_handler.py)."""

from __future__ import annotations

import hashlib
import hmac

from app.config import Settings
from app.db.client import ClientTimeouts, make_client
from app.db.dynamo import Dynamo


def make_db(settings: Settings) -> Dynamo:
    """The table handle: one botocore client (make it once per process, never per request or per run)."""
    client = make_client(region=settings.aws_region, endpoint_url=settings.dynamodb_endpoint_url, timeouts=ClientTimeouts.of(settings))
    cursor_secret = hmac.new(settings.jwt_secret.encode(), b"pagination-cursor", hashlib.sha256).digest()
    return Dynamo(
        client,
        settings.table_name,
        cursor_secret,
        write_retry_seconds=settings.write_retry_seconds,
        settle_seconds=settings.write_settle_seconds,
    )
