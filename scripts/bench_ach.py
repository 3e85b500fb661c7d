"""The ACH jobs end to end, beside their floors (a benchmark, not a test).

    .venv/bin/python scripts/bench_ach.py [--sizes 100,1000,10000] [--returns 1000]

Starts its own DynamoDB Local and a real SFTP server (tools/sftp, as the tests do). For each size, that many
payments due on verified accounts are written straight to a fresh table (through app/payments' own item
builders), then one run of the send job (app/payments/sending.py: claim each payment, reserve the traces,
decrypt, build, archive, upload, mark every payment submitted) is timed, with its peak Python memory
(tracemalloc) and its DynamoDB calls (app/db/metrics.py). Floors, in the same run: the pure build of the same
entries (app/ach/builder.py), the upload of the same bytes alone, and one conditional UpdateItem per payment
(the claim no design can skip). Then a return file of `--returns` returns against submitted payments goes
through the receive job, beside the floor of parsing it alone plus one GetItem per return.
The figure to watch is the cost per payment: it must stay flat from 100 to 10,000.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.ach import transport
from app.ach.archive import LocalArchive
from app.ach.builder import build_file
from app.ach.entries import OutboundEntry
from app.ach.notices import read_notices
from app.ach.parser import parse_file
from app.clock import iso
from app.db.client import ClientTimeouts, make_client
from app.db.dynamo import Dynamo
from app.db.expressions import Expression, serialize_item
from app.db.keys import trace_key
from app.db.metrics import counting_requests
from app.db.schema_admin import drop_table, ensure_table
from app.payments import items, receiving, sealing, sending
from tests.support.backend import dynamodb_endpoint
from tests.support.clock import FakeClock
from tests.support.nacha import ORIGINATOR, Notice, check_digit, inbound_file
from tests.support.sftp import running_sftp_server

T = TypeVar("T")
MONDAY = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
PAYMENTS_PER_ACCOUNT = 10


def timed(work: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    result = work()
    return result, time.perf_counter() - started


@contextmanager
def table(client: Any) -> Iterator[Dynamo]:
    name = f"bench-ach-{uuid.uuid4().hex[:8]}"
    ensure_table(client, name)
    try:
        yield Dynamo(client, name, cursor_secret=os.urandom(32))
    finally:
        drop_table(client, name)


def write_all(db: Dynamo, batch: list[dict[str, Any]]) -> None:
    """Seed items 25 at a time (BatchWriteItem: a benchmark's set-up, not the app's way of writing)."""
    for start in range(0, len(batch), 25):
        request = {db.table_name: [{"PutRequest": {"Item": serialize_item(item)}} for item in batch[start : start + 25]]}
        while request:
            request = db.client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}


def seed_due(db: Dynamo, keys: sealing.DataKeySource, count: int) -> list[dict[str, Any]]:
    """`count` payments due today, ten per verified account."""
    at = iso(MONDAY)
    seeded: list[dict[str, Any]] = []
    payments: list[dict[str, Any]] = []
    for n in range(0, count, PAYMENTS_PER_ACCOUNT):
        user_id, account_id = str(uuid.uuid4()), str(uuid.uuid4())
        first8 = f"{21 + n % 12:02d}{n % 1_000_000:06d}"
        sealed = sealing.seal(
            keys=keys,
            binding=sealing.Binding.bank_account(user_id, account_id),
            routing_number=first8 + check_digit(first8),
            account_number=f"{n:012d}",
        )
        account = items.new_bank_account(
            user_id=user_id,
            bank_account_id=account_id,
            holder=f"Lender Number {n}",
            account_type="checking",
            last4s=("0000", f"{n:012d}"[-4:]),
            sealed=sealed,
            micro_deposits=(Decimal("0.01"), Decimal("0.02")),
            at=at,
            verify_by=at,
        )
        account.update(status="verified", verifiedAt=at, openPayments=min(PAYMENTS_PER_ACCOUNT, count - n))
        account.pop("GSI2PK"), account.pop("GSI2SK")
        seeded.append(account)
        for k in range(min(PAYMENTS_PER_ACCOUNT, count - n)):
            kind, direction = ("collection", "debit") if k % 2 else ("payout", "credit")
            payments.append(
                items.new_payment(
                    kind=kind,
                    direction=direction,
                    amount=Decimal(1 + (n + k) % 250_000) / 100,
                    account=account,
                    loan_id=str(uuid.uuid4()),
                    at=at,
                    not_before="2026-12-07",
                )
            )
    write_all(db, seeded + payments)
    return payments


class Floors:
    """The pure build, the upload alone, one UpdateItem per payment."""

    @staticmethod
    def build(payments: list[dict[str, Any]], modifier: str) -> bytes:
        entries = [
            OutboundEntry(
                payment_id=p["paymentId"],
                direction=p["direction"],
                description=p["description"],
                amount=p["amount"],
                routing_number="021000021",
                account_number="000123456789",
                account_type="checking",
                holder_name="Lender",
            )
            for p in payments
        ]
        return build_file(
            originator=ORIGINATOR,
            entries=entries,
            created_at=MONDAY,
            modifier=modifier,
            effective_date=date(2026, 12, 8),
            first_trace_sequence=1,
        ).content

    @staticmethod
    def updates(db: Dynamo, payments: list[dict[str, Any]]) -> None:
        for payment in payments:
            db.update(
                items.key_of(payment), Expression("SET floorMark = :one", values={":one": 1}), condition=Expression("attribute_exists(PK)")
            )


def bench_send(client: Any, server: Any, size: int, archive_dir: Path) -> dict[str, float]:
    keys = sealing.LocalDataKeys(os.urandom(32))
    with table(client) as db:
        payments = seed_due(db, keys, size)
        folder = uuid.uuid4().hex[:8]
        for sub in ("outbound", "inbound"):
            (server.root / folder / sub).mkdir(parents=True)
        target = server.target(outbound_dir=f"/{folder}/outbound", inbound_dir=f"/{folder}/inbound")
        with transport.session(target) as bank:
            rail = sending.Rail(
                originator=ORIGINATOR, window_days=2, keys=keys, archive=LocalArchive(archive_dir, os.urandom(32)), bank=bank
            )
            tracemalloc.start()
            with counting_requests() as counter:
                report, seconds = timed(lambda: sending.send_due_payments(db=db, clock=FakeClock(MONDAY), rail=rail, request_id="bench"))
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            if report.entries != size:
                raise RuntimeError(f"the send job sent {report.entries} of {size} payments: {report}")
            content, build_seconds = timed(lambda: Floors.build(payments, "Z"))
            _, upload_seconds = timed(lambda: bank.upload("floor.ach", content))
        _, update_seconds = timed(lambda: Floors.updates(db, payments))
    return {
        "seconds": seconds,
        "peak_mb": peak / 1e6,
        "calls": counter.count,
        "build": build_seconds,
        "upload": upload_seconds,
        "updates": update_seconds,
    }


def bench_receive(client: Any, server: Any, count: int) -> dict[str, float]:
    keys = sealing.LocalDataKeys(os.urandom(32))
    with table(client) as db:
        payments = seed_due(db, keys, count)
        actor = items.Actor(actor_id="bench", at=iso(MONDAY), request_id="bench")
        submitted, traces = [], []
        for n, payment in enumerate(payments, start=1):
            trace = f"{ORIGINATOR.odfi_routing[:8]}{n:07d}"
            ops = items.submitted(payment, actor, file_id="seed", trace_number=trace, effective_date="2026-12-08", settle_on="2026-12-10")
            payment.update(
                status="submitted",
                traceNumber=trace,
                fileId="seed",
                settleOn="2026-12-10",
                submittedAt=actor.at,
                effectiveDate="2026-12-08",
            )
            submitted.append(payment)
            traces.append(
                {**trace_key(trace), "entity": "trace", "traceNumber": trace, "paymentPK": payment["PK"], "paymentSK": payment["SK"]}
            )
            del ops
        write_all(db, submitted + traces)
        content = inbound_file([Notice(original_trace=t["traceNumber"], code="R03", cents=100) for t in traces])
        folder = uuid.uuid4().hex[:8]
        (server.root / folder / "outbound").mkdir(parents=True)
        (server.root / folder / "inbound").mkdir()
        (server.root / folder / "inbound" / "RET-bench.ach").write_bytes(content)
        target = server.target(outbound_dir=f"/{folder}/outbound", inbound_dir=f"/{folder}/inbound")
        with transport.session(target) as bank, counting_requests() as counter:
            report, seconds = timed(
                lambda: receiving.receive_inbound_files(
                    db=db, clock=FakeClock(MONDAY + timedelta(days=1)), keys=keys, bank=bank, request_id="bench"
                )
            )
        if report.returns != count:
            raise RuntimeError(f"the receive job applied {report.returns} of {count} returns: {report}")
        _, parse_seconds = timed(lambda: read_notices(parse_file(content)))
        _, get_seconds = timed(lambda: [db.get(trace_key(t["traceNumber"])) for t in traces])
    return {"seconds": seconds, "calls": counter.count, "parse": parse_seconds, "gets": get_seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--returns", type=int, default=1000)
    args = parser.parse_args(argv)
    sizes = [int(size) for size in args.sizes.split(",")]
    out = sys.stdout.write
    out(f"python {platform.python_version()} on {platform.machine()}, {os.cpu_count()} CPUs; ")
    out("DynamoDB Local and the SFTP server on loopback\n\n")
    with dynamodb_endpoint() as url, tempfile.TemporaryDirectory() as scratch:
        client = make_client(region="us-east-1", endpoint_url=url, timeouts=ClientTimeouts(connect_seconds=10, read_seconds=30))
        with running_sftp_server(Path(scratch, "root"), Path(scratch)) as server:
            (Path(scratch, "root")).mkdir(exist_ok=True)
            out("send job: one file of N due payments\n")
            out(f"{'N':>7} {'total s':>9} {'ms/payment':>11} {'calls/payment':>14} {'peak MB':>8}")
            out(f" | floors ms/payment: {'build':>6} {'upload':>7} {'UpdateItem':>10}\n")
            for size in sizes:
                r = bench_send(client, server, size, Path(scratch, f"archive-{size}"))
                per = 1000 / size
                out(
                    f"{size:>7} {r['seconds']:>9.2f} {r['seconds'] * per:>11.3f} {r['calls'] / size:>14.3f} {r['peak_mb']:>8.1f} |"
                    f"                   {r['build'] * per:>6.3f} {r['upload'] * per:>7.3f} {r['updates'] * per:>10.3f}\n"
                )
            r = bench_receive(client, server, args.returns)
            per = 1000 / args.returns
            out(f"\nreceive job: one return file of {args.returns} returns\n")
            out(f"total {r['seconds']:.2f} s, {r['seconds'] * per:.3f} ms/return, {r['calls'] / args.returns:.2f} calls/return")
            out(f" | floors ms/return: parse {r['parse'] * per:.3f}, GetItem {r['gets'] * per:.3f}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
