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
whichever handler it runs. Each imports only what it runs (the cold start: docs/performance.md):
the ASGI app (its routers, Mangum) is built on the first access to `handler` (a module __getattr__,
PEP 562), the jobs on the first scheduled run, the email pipeline on the first stream batch. The
Lambda runtime looks the handler up during init, so the API function still builds its app at init,
and the jobs and notifications functions never import FastAPI (tests/ops/test_import_weight.py).
"""

from __future__ import annotations

import gc
import random
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from app.db.dynamo import Dynamo


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic GC paused while the init imports and builds, then what it built frozen.

    Imports (pydantic, botocore, FastAPI, the routers and every route's models) allocate hundreds of
    thousands of long-lived objects and almost no garbage: the collector would rescan them again and
    again for nothing, about 8% of the cold start's CPU. gc.freeze then keeps them out of every later
    collection, so warm requests do not pay for rescanning them either. Reference counting frees
    everything else as usual; the init's few cyclic leftovers (about 900 objects) stay. When the GC is
    already off (an embedding process manages it), this leaves it alone.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


with _gc_paused():
    from app.clock import SystemClock, uuid7
    from app.config import get_settings
    from app.observability import configure_logging
    from app.resources import make_db

    settings = get_settings()
    configure_logging(settings.log_level)


def _reseed_after_restore() -> None:
    """Under SnapStart every sandbox resumes from one snapshot, `random`'s state included: reseed it from
    os.urandom on restore, so sandboxes draw their own retry jitter (app/retry.py, botocore's backoff).
    Nothing else random or time-bound is taken at init (docs/performance.md "SnapStart")."""
    try:
        from snapshot_restore_py import register_after_restore  # type: ignore[import-not-found]  # Lambda runtime only
    except ImportError:  # not on Lambda (or a runtime without them): nothing is restored from a snapshot
        return
    register_after_restore(random.seed)


_reseed_after_restore()


@cache
def _db() -> Dynamo:
    """One table handle per execution environment, reused by its warm invocations."""
    return make_db(settings)


def scheduled_handler(event: Any, context: Any) -> dict[str, object]:
    """Run the job named in the schedule's input; the Lambda request id is the run's request id in the logs."""
    from app.jobs import run_job

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
    with _gc_paused():
        from mangum import Mangum

        from app.main import app

        handler = Mangum(app, lifespan="off")
    globals()["handler"] = handler
    return handler
