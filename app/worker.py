"""The worker: the outbox consumer and the scheduled jobs, run outside HTTP (locally; in AWS, Lambda does both).

    python -m app.worker                  reads the table's stream every STREAM_POLL_SECONDS (1 s) and sends the
                                          emails of new audit events; runs every job at start and then every
                                          WORKER_INTERVAL_SECONDS (default 60; or --interval); until SIGINT or
                                          SIGTERM: the round under way ends first, then it exits 0 (a second
                                          signal ends it at once)
    python -m app.worker --once           drains the stream, runs every job once, drains again (the jobs' own
                                          events), and exits 0, or 1 if anything failed

Same settings as the API (app.config.get_settings(), the same environment) and the same table handle
(app.resources.make_db). Locally scripts/dev.sh starts it next to uvicorn, with SMTP to the mail catcher.
In AWS neither loop runs here: the stream feeds lambda_handler.stream_handler through an event source
mapping (terraform/email.tf) and EventBridge Scheduler invokes lambda_handler.scheduled_handler (terraform/jobs.tf).

A job or a stream read that raises is logged (events "job_failed", "stream_failed") and the loop goes
on: the next round tries again. Every job is idempotent and every email is sent at most once (delivery
markers), so a retry never repeats anything.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

from app.clock import Clock, SystemClock, uuid7
from app.config import Settings, get_settings
from app.db.client import ClientTimeouts
from app.db.dynamo import Dynamo
from app.db.errors import DatabaseUnavailable
from app.db.streams import StreamReader, latest_stream_arn, streams_client
from app.jobs import JOBS, run_job
from app.notifications.senders import sender_for
from app.notifications.stream import handle_records
from app.observability import configure_logging
from app.resources import make_db

logger = logging.getLogger("app.jobs")

SIGNAL_POLL_SECONDS = 1.0  # how often the main thread wakes to notice a stopped loop (signals themselves are immediate)
STREAM_POLL_SECONDS = 1.0  # how often the loop reads the stream: an email leaves about this long after its change


def run_all(*, db: Dynamo, clock: Clock, settings: Settings) -> bool:
    """Every job once, in JOBS order; False if any raised (each failure logged, the other jobs still run)."""
    ok = True
    for name in JOBS:
        request_id = f"worker-{uuid7()}"
        try:
            run_job(name, db=db, clock=clock, settings=settings, request_id=request_id)
        except Exception:  # a job's failure must not stop the others nor the loop; logged with its traceback
            logger.exception("job failed", extra={"request_id": request_id, "event": "job_failed", "job": name})
            ok = False
    return ok


def stream_reader(*, db: Dynamo, settings: Settings) -> StreamReader | None:
    """A reader of the table's stream (None, logged, when the table has no stream)."""
    try:
        arn = latest_stream_arn(db.client, db.table_name)
    except DatabaseUnavailable:
        logger.exception("cannot find the table's stream", extra={"event": "stream_failed"})
        raise
    if arn is None:
        logger.warning("the table has no stream: no emails will be sent", extra={"event": "stream_missing"})
        return None
    return StreamReader(
        streams_client(region=settings.aws_region, endpoint_url=settings.dynamodb_endpoint_url, timeouts=ClientTimeouts.of(settings)), arn
    )


def drain(reader: StreamReader | None, *, db: Dynamo, clock: Clock, settings: Settings) -> bool:
    """Hand every new stream record to the outbox consumer until caught up or a record fails; False on any failure."""
    if reader is None:
        return True
    request_id = f"worker-{uuid7()}"
    failed = False

    def handle(records: list[dict[str, object]]) -> str | None:
        nonlocal failed
        result = handle_records(records, db=db, sender=sender_for(settings), settings=settings, clock=clock, request_id=request_id)
        failed = failed or result.failed_sequence_number is not None
        return result.failed_sequence_number

    try:
        reader.poll(handle)
    except Exception:  # a read or a bug must not stop the loop; logged with its traceback, retried next round
        logger.exception("stream read failed", extra={"request_id": request_id, "event": "stream_failed"})
        return False
    return not failed


def once(*, db: Dynamo, clock: Clock, settings: Settings) -> bool:
    """Drain the stream, run every job, drain again (the jobs' own events); False if anything failed."""
    try:
        reader = stream_reader(db=db, settings=settings)
    except DatabaseUnavailable:
        run_all(db=db, clock=clock, settings=settings)  # the jobs still run; the run failed all the same
        return False
    results = [drain(reader, db=db, clock=clock, settings=settings), run_all(db=db, clock=clock, settings=settings)]
    results.append(drain(reader, db=db, clock=clock, settings=settings))
    return all(results)


def serve(*, db: Dynamo, clock: Clock, settings: Settings, interval: float) -> None:
    """Read the stream every STREAM_POLL_SECONDS and run every job every `interval` seconds until SIGINT/SIGTERM;
    the round under way finishes first.

    The loop runs in its own thread and the main thread only waits: Python runs signal handlers in the
    main thread, so the handler can set the stop event without ever finding its lock held by the loop.
    A signal ignored when the process started (SIGINT for a background job of a script) stays ignored.
    """
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()
        signal.signal(signum, signal.SIG_DFL)  # a second one ends the process at once

    for signum in (signal.SIGINT, signal.SIGTERM):
        if signal.getsignal(signum) is not signal.SIG_IGN:
            signal.signal(signum, on_signal)

    def loop() -> None:
        logger.info("worker started", extra={"event": "worker_started"})
        reader: StreamReader | None = None
        found = False  # the stream is looked up until DescribeTable answers (the database may still be starting)
        next_jobs = time.monotonic()
        while not stop.is_set():
            if not found:
                with contextlib.suppress(DatabaseUnavailable):  # logged by stream_reader
                    reader, found = stream_reader(db=db, settings=settings), True
            drain(reader, db=db, clock=clock, settings=settings)
            if time.monotonic() >= next_jobs:
                run_all(db=db, clock=clock, settings=settings)
                next_jobs = time.monotonic() + interval
            stop.wait(min(STREAM_POLL_SECONDS, interval))
        logger.info("worker stopped", extra={"event": "worker_stopped"})

    thread = threading.Thread(target=loop, name="worker-loop")
    thread.start()
    while thread.is_alive():
        thread.join(SIGNAL_POLL_SECONDS)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m app.worker",
        description="Send the emails of new audit events (the table's stream) and run the scheduled jobs (app/jobs).",
    )
    parser.add_argument(
        "--once", action="store_true", help="drain the stream, run every job once, drain again, and exit (1 if anything failed)"
    )
    parser.add_argument("--interval", type=float, default=None, help="seconds between runs (default: WORKER_INTERVAL_SECONDS, 60)")
    args = parser.parse_args(argv)
    if args.interval is not None and args.interval <= 0:
        parser.error("--interval must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    settings = get_settings()
    configure_logging(settings.log_level)
    db, clock = make_db(settings), SystemClock()
    if args.once:
        return 0 if once(db=db, clock=clock, settings=settings) else 1
    interval = args.interval if args.interval is not None else settings.worker_interval_seconds
    serve(db=db, clock=clock, settings=settings, interval=interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
