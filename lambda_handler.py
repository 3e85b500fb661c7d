"""AWS Lambda entry points: two functions deployed from the one zip.

handler            the API function (terraform/lambda.tf): API Gateway (HTTP API v2 or REST v1 events)
                   -> Mangum -> the ASGI app
scheduled_handler  the jobs function (terraform/jobs.tf): EventBridge Scheduler's input {"job": "<name>"}
                   -> that job of app/jobs, once; returns {"job": <name>, <the job's report>}. An unknown
                   job raises, so the invocation fails and the jobs function's Errors alarm fires.
stream_handler     the notifications function (terraform/email.tf): a batch of the table's stream records
                   (an event source mapping with ReportBatchItemFailures) -> the emails of their audit
                   events (app/notifications/stream.py); returns {"batchItemFailures": [...]}, naming the
                   first record that could not be delivered, so Lambda retries from it (then the DLQ).

All three read and validate the settings at import, so a misconfigured function fails its cold start
whichever handler it runs. The ASGI app (its routers, OpenAPI, Mangum) is built on the first access
to `handler` (a module __getattr__, PEP 562). The Lambda runtime looks the handler up during init,
so the API function still builds it at init, and the jobs and notifications functions never build it.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from app.clock import SystemClock, uuid7
from app.config import get_settings
from app.db.dynamo import Dynamo
from app.jobs import run_job
from app.observability import configure_logging
from app.resources import make_db

settings = get_settings()
configure_logging(settings.log_level)


@cache
def _db() -> Dynamo:
    """One table handle per execution environment, reused by its warm invocations."""
    return make_db(settings)


def scheduled_handler(event: Any, context: Any) -> dict[str, object]:
    """Run the job named in the schedule's input; the Lambda request id is the run's request id in the logs."""
    name = event.get("job") if isinstance(event, dict) else None
    request_id = str(getattr(context, "aws_request_id", "") or f"scheduled-{uuid7()}")
    return run_job(name, db=_db(), clock=SystemClock(), settings=settings, request_id=request_id)


def stream_handler(event: Any, context: Any) -> dict[str, list[dict[str, str]]]:
    """Deliver the emails of a batch of stream records; the first record that failed is reported for retry."""
    from app.notifications.senders import sender_for
    from app.notifications.stream import handle_records

    records = event.get("Records", []) if isinstance(event, dict) else []
    request_id = str(getattr(context, "aws_request_id", "") or f"stream-{uuid7()}")
    result = handle_records(records, db=_db(), sender=sender_for(settings), settings=settings, clock=SystemClock(), request_id=request_id)
    failed = result.failed_sequence_number
    return {"batchItemFailures": [] if failed is None else [{"itemIdentifier": failed}]}


def __getattr__(name: str) -> Any:
    """`handler`, the API's Mangum adapter, built on first access and kept as a module attribute."""
    if name != "handler":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from mangum import Mangum

    from app.main import app

    handler = Mangum(app, lifespan="off")
    globals()["handler"] = handler
    return handler
