"""The ACH jobs: ach_send (build and upload a file), ach_receive (read the ODFI's files), ach_settle (settle what
passed its window; fail verifications past their deadline). The rules are app/payments' (sending.py,
receiving.py, settling.py); this module opens the bank session, picks the archive and writes one log line.

Without the rail's settings a job does nothing and says so (dev machines that run the worker without
./scripts/dev.sh); in prod that is a failed run (the jobs function's Errors alarm). A bank that cannot be
reached is a failed run too, logged as ach_bank_unreachable (its own alarm): nothing was claimed, every
payment is still scheduled, and the next run sends it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from app.ach.archive import Archive, LocalArchive, S3Archive, s3_client
from app.ach.remote import BankUnreachable
from app.ach.settings import RailNotConfigured
from app.config import local_ach_key
from app.db.client import ClientTimeouts
from app.payments import receiving, sealing, sending, settling

if TYPE_CHECKING:
    from app.ach.transport import BankSession
    from app.clock import Clock
    from app.config import Settings
    from app.db.dynamo import Dynamo

SEND, RECEIVE, SETTLE = "ach_send", "ach_receive", "ach_settle"

logger = logging.getLogger("app.jobs")
T = TypeVar("T")


@dataclass
class Skipped:
    skipped: str


def archive_for(settings: Settings) -> Archive:
    rail = settings.ach
    if rail.archive_bucket:
        if not settings.ach_kms_key_id:
            raise RailNotConfigured(["ACH_KMS_KEY_ID (the archive's key)"])
        return S3Archive(s3_client(settings.aws_region, ClientTimeouts.of(settings)), rail.archive_bucket, settings.ach_kms_key_id)
    key = local_ach_key(settings)
    if rail.archive_dir and key is not None:
        return LocalArchive(rail.archive_dir, key)
    raise RailNotConfigured(["ACH_ARCHIVE_BUCKET or ACH_ARCHIVE_DIR"])


def _with_bank(name: str, settings: Settings, request_id: str, work: Callable[[BankSession], T]) -> T | Skipped:
    """`work` inside one SFTP session; Skipped without the rail's settings (outside prod)."""
    from app.ach import transport  # asyncssh is imported only by the runs that talk to the bank

    try:
        target = settings.ach.sftp_target()
    except RailNotConfigured as exc:
        if settings.environment == "prod":
            raise
        logger.warning("ach rail not configured", extra={"request_id": request_id, "event": "ach_not_configured", "job": name})
        return Skipped(skipped=str(exc))
    try:
        with transport.session(target) as bank:
            return work(bank)
    except BankUnreachable as exc:
        logger.error("bank unreachable", extra={"request_id": request_id, "event": "ach_bank_unreachable", "job": name, "reason": str(exc)})
        raise


def _logged(name: str, request_id: str, started: float, report: object) -> None:
    logger.info(
        "ach run",
        extra={
            "request_id": request_id,
            "event": "ach_run",
            "job": name,
            "report": report.__dict__,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1),
        },
    )


def run_send(*, db: Dynamo, clock: Clock, settings: Settings, request_id: str) -> sending.SendReport | Skipped:
    started = time.perf_counter()

    def work(bank: BankSession) -> sending.SendReport:
        rail = sending.Rail(
            originator=settings.ach.originator(),
            window_days=settings.ach.return_window_days,
            keys=sealing.data_keys_for(settings),
            archive=archive_for(settings),
            bank=bank,
        )
        return sending.send_due_payments(db=db, clock=clock, rail=rail, request_id=request_id)

    report = _with_bank(SEND, settings, request_id, work)
    _logged(SEND, request_id, started, report)
    return report


def run_receive(*, db: Dynamo, clock: Clock, settings: Settings, request_id: str) -> receiving.ReceiveReport | Skipped:
    started = time.perf_counter()

    def work(bank: BankSession) -> receiving.ReceiveReport:
        return receiving.receive_inbound_files(db=db, clock=clock, keys=sealing.data_keys_for(settings), bank=bank, request_id=request_id)

    report = _with_bank(RECEIVE, settings, request_id, work)
    _logged(RECEIVE, request_id, started, report)
    return report


def run_settle(*, db: Dynamo, clock: Clock, settings: Settings, request_id: str) -> settling.SettleReport:
    """No bank involved: settlement is the absence of a return within the window."""
    del settings
    started = time.perf_counter()
    report = settling.settle_due(db=db, clock=clock, request_id=request_id)
    _logged(SETTLE, request_id, started, report)
    return report
