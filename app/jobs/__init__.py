"""Scheduled jobs, by name: what EventBridge Scheduler invokes in AWS (lambda_handler.scheduled_handler,
with the input {"job": "<name>"}) and what `python -m app.worker` runs locally on an interval.

A job is `run(*, db, clock, settings, request_id) -> <a dataclass report>`: a function of the table, the
clock and the settings, never of HTTP, and idempotent (a run that repeats or overlaps another changes nothing twice).
A new job is one module here and one line in JOBS, plus its schedule in
terraform/jobs.tf.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Protocol

from app.jobs import ach, expiry, reminders

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    from app.clock import Clock
    from app.config import Settings
    from app.db.dynamo import Dynamo


class Job(Protocol):
    def __call__(self, *, db: Dynamo, clock: Clock, settings: Settings, request_id: str) -> DataclassInstance: ...


JOBS: dict[str, Job] = {
    expiry.NAME: expiry.run,
    reminders.NAME: reminders.run,
    # receive before settle (a return waiting in the inbound folder is applied before its window is judged), then send
    ach.RECEIVE: ach.run_receive,
    ach.SETTLE: ach.run_settle,
    ach.SEND: ach.run_send,
}


class UnknownJob(LookupError):
    """A schedule named a job this code does not have (a typo, or a schedule ahead of its code)."""


def run_job(name: object, *, db: Dynamo, clock: Clock, settings: Settings, request_id: str) -> dict[str, object]:
    """Run the job called `name` once; its report as a small JSON-able summary. UnknownJob for any other name."""
    job = JOBS.get(name) if isinstance(name, str) else None
    if job is None:
        raise UnknownJob(f"unknown job {name!r}; known jobs: {', '.join(sorted(JOBS))}")
    report = job(db=db, clock=clock, settings=settings, request_id=request_id)
    return {"job": name, **dataclasses.asdict(report)}
