"""How fast the pure NACHA code builds and reads files, beside its floors (a benchmark, not a test).

    .venv/bin/python scripts/bench_nacha.py [--runs 5]

For 100, 1,000 and 10,000 payments: building the outbound file (app/ach/builder.py), reading it back
(app/ach/parser.py), and the peak memory of the build (tracemalloc); then reading a return file of
1,000 returns (parser + notices). Floors, in the same run: writing the same number of ready-made
94-character records to bytes (the cost of the output alone), and achkit (an independent
implementation, tests only) rendering and parsing the same entries. The figure to watch is the cost
per payment: it must stay flat from 100 to 10,000. The whole send job (claiming payments in DynamoDB,
the upload over SFTP) is measured by its own benchmark once the job exists.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import achkit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app.ach.builder import build_file
from app.ach.entries import Originator, OutboundEntry
from app.ach.notices import read_notices
from app.ach.parser import parse_file
from tests.support.nacha import Notice, check_digit, inbound_file

ORIGINATOR = Originator(odfi_routing="091000019", company_id="1234567890", company_name="Lendwise")
DESCRIPTIONS = ("LOANFUND", "LOANPAYMT", "PAYOUT", "REFUND")


def entries(count: int) -> list[OutboundEntry]:
    made = []
    for n in range(count):
        first8 = f"{21 + n % 12:02d}{n % 1_000_000:06d}"
        made.append(
            OutboundEntry(
                payment_id=f"0193{n:011d}-bench",
                direction="debit" if n % 2 else "credit",
                description=DESCRIPTIONS[n % len(DESCRIPTIONS)],
                amount=Decimal(1 + n % 250_000) / 100,
                routing_number=first8 + check_digit(first8),
                account_number=f"{n:012d}",
                account_type="savings" if n % 5 == 0 else "checking",
                holder_name=f"Lender Number {n}",
            )
        )
    return made


def build(batch: list[OutboundEntry]) -> bytes:
    created = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
    return build_file(
        originator=ORIGINATOR, entries=batch, created_at=created, modifier="A", effective_date=date(2026, 12, 8), first_trace_sequence=1
    ).content


def floor_bytes(batch: list[OutboundEntry]) -> bytes:
    record = "6" + "0" * 93
    return "".join(f"{record}\n" for _ in range(len(batch) + 2 * 4 + 2)).encode("ascii")


def achkit_render(batch: list[OutboundEntry]) -> str:
    file = achkit.AchFile.create(origin_dfi=ORIGINATOR.odfi_routing, company_id=ORIGINATOR.company_id, origin_name="LENDWISE")
    groups: dict[tuple[str, str], list[OutboundEntry]] = {}
    for entry in batch:
        groups.setdefault((entry.direction, entry.description), []).append(entry)
    for (direction, description), group in groups.items():
        sec = "WEB" if direction == "debit" else "PPD"
        their_batch = file.batch(sec=sec, description=description, effective_date="2026-12-08")
        for entry in group:
            add = their_batch.debit if direction == "debit" else their_batch.credit
            add(
                name=entry.holder_name,
                routing=entry.routing_number,
                account=entry.account_number,
                amount_cents=int(entry.amount * 100),
                account_type=entry.account_type,
                id_number=entry.payment_id[:15],
            )
    return file.render()


def median_ms(action: Callable[[], object], runs: int) -> float:
    action()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def peak_mib(action: Callable[[], object]) -> float:
    tracemalloc.start()
    action()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    print(f"python {platform.python_version()} on {platform.machine()}, median of {runs} runs")
    print("payments | build: ms, us/payment, peak MiB | parse: ms, us/payment || floors in us/payment: bytes, achkit render, achkit parse")
    for count in (100, 1_000, 10_000):
        batch = entries(count)
        content = build(batch)
        text = content.decode("ascii")
        if len(parse_file(content).entries) != count or not achkit.validate(text)["ok"]:
            raise SystemExit("the built file does not read back: nothing worth timing")
        built_ms = median_ms(lambda b=batch: build(b), runs)
        parsed_ms = median_ms(lambda c=content: parse_file(c), runs)
        floor_ms = median_ms(lambda b=batch: floor_bytes(b), runs)
        their_render = median_ms(lambda b=batch: achkit_render(b), runs)
        their_parse = median_ms(lambda t=text: achkit.parse(t), runs)
        per = 1000 / count
        print(
            f"{count:>9,} | {built_ms:>9.1f} {built_ms * per:>7.1f} {peak_mib(lambda b=batch: build(b)):>6.1f} | "
            f"{parsed_ms:>9.1f} {parsed_ms * per:>7.1f} || {floor_ms * per:>19.2f} {their_render * per:>20.1f} {their_parse * per:>19.1f}"
        )
    returns = inbound_file([Notice(f"09100001{n:07d}", "R01" if n % 3 else "R03", cents=100 + n) for n in range(1, 1_001)])
    read_ms = median_ms(lambda: read_notices(parse_file(returns)), runs)
    if len(read_notices(parse_file(returns)).returns) != 1_000:
        raise SystemExit("the return file does not read back")
    their_ms = median_ms(lambda: achkit.parse(returns.decode("ascii")), runs)
    print(f"1,000 returns read: {read_ms:.1f} ms ({read_ms:.1f} us per return); floor, achkit parse of the same file: {their_ms:.1f} ms")


if __name__ == "__main__":
    main()
