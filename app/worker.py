"""The worker: the scheduled jobs of app/jobs, run outside HTTP.

    python -m app.worker                  every job, then again every WORKER_INTERVAL_SECONDS (default 60;
                                          or --interval), until SIGINT or SIGTERM: the run under way ends
                                          first, then it exits 0 (a second signal ends it at once)
    python -m app.worker --once           every job once; exit 0, or 1 if any job raised

Same settings as the API (app.config.get_settings(), the same environment) and the same table handle
(app.resources.make_db). Locally scripts/dev.sh starts it next to uvicorn. In AWS these jobs do not
run from this loop: EventBridge Scheduler invokes lambda_handler.scheduled_handler (terraform/jobs.tf).

A job that raises is logged (event "job_failed") and the loop goes on: the next tick runs it again,
and every job is idempotent. Later this process will also consume the table's DynamoDB stream
(reacting to changes, e.g. emails on a loan's events); that is not built yet.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from app.clock import Clock, SystemClock, uuid7
from app.config import get_settings
from app.db.dynamo import Dynamo
from app.jobs import JOBS, run_job
from app.observability import configure_logging
from app.resources import make_db

logger = logging.getLogger("app.jobs")

SIGNAL_POLL_SECONDS = 1.0  # how often the main thread wakes to notice a stopped loop (signals themselves are immediate)


def run_all(*, db: Dynamo, clock: Clock) -> bool:
    """Every job once, in JOBS order; False if any raised (each failure logged, the other jobs still run)."""
    ok = True
    for name in JOBS:
        request_id = f"worker-{uuid7()}"
        try:
            run_job(name, db=db, clock=clock, request_id=request_id)
        except Exception:  # a job's failure must not stop the others nor the loop; logged with its traceback
            logger.exception("job failed", extra={"request_id": request_id, "event": "job_failed", "job": name})
            ok = False
    return ok


def serve(*, db: Dynamo, clock: Clock, interval: float) -> None:
    """Run every job every `interval` seconds until SIGINT/SIGTERM; the run under way finishes first.

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
        while not stop.is_set():
            run_all(db=db, clock=clock)
            stop.wait(interval)
        logger.info("worker stopped", extra={"event": "worker_stopped"})

    thread = threading.Thread(target=loop, name="worker-loop")
    thread.start()
    while thread.is_alive():
        thread.join(SIGNAL_POLL_SECONDS)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m app.worker", description="Run the scheduled jobs (app/jobs) on an interval.")
    parser.add_argument("--once", action="store_true", help="run every job once and exit (1 if a job failed)")
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
        return 0 if run_all(db=db, clock=clock) else 1
    interval = args.interval if args.interval is not None else settings.worker_interval_seconds
    serve(db=db, clock=clock, interval=interval)
    return 0


if __name__ == "__main__":
    sys.exit(main())
