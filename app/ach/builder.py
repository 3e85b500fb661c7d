"""The outbound NACHA file, built by pure code from the entries of one send: no I/O, no clock, no randomness.

The same entries, times and sequence always give the same bytes, so a send job that crashed after it
claimed its payments rebuilds exactly the file it would have uploaded. Layout (app/ach/records.py):
a file header, one batch per SEC code, direction and entry description (WEB debits, service class 225;
PPD credits, 220: the description is a batch header field, so funding and collection debits are two
batches), entries ordered by payment id inside their batch, trace numbers = the ODFI routing's first 8
digits + a 7-digit sequence ascending through the file, a control record per batch and for the file,
and 9-filled records up to a multiple of ten. Dates and times in the header and the name are UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from itertools import groupby

from app.ach.entries import (
    SEC_CODES,
    SERVICE_CLASSES,
    TRANSACTION_CODES,
    WEB_PAYMENT_TYPE,
    BuiltEntry,
    BuiltFile,
    Originator,
    OutboundEntry,
    cents,
    file_name,
    trace_number,
)
from app.ach.records import (
    BATCH_CONTROL,
    BATCH_HEADER,
    BLOCKING_FACTOR,
    ENTRY_DETAIL,
    FILE_CONTROL,
    FILE_HEADER,
    FILLER_RECORD,
    NachaError,
    ach_text,
    block_count,
    entry_hash,
    render,
)


def _batch_key(entry: OutboundEntry) -> tuple[int, str]:
    return (0 if entry.direction == "debit" else 1, entry.description)


@dataclass
class _Totals:
    """What the control records count, for one batch or the whole file."""

    entries: int = 0
    entry_hash: int = 0
    debit_cents: int = 0
    credit_cents: int = 0

    def add(self, other: _Totals) -> None:
        self.entries += other.entries
        self.entry_hash = (self.entry_hash + other.entry_hash) % 10**10
        self.debit_cents += other.debit_cents
        self.credit_cents += other.credit_cents


def _file_header(originator: Originator, created_at: datetime, modifier: str) -> str:
    return render(
        FILE_HEADER,
        {
            "recordType": "1",
            "priorityCode": 1,
            "immediateDestination": f" {originator.odfi_routing}",
            "immediateOrigin": originator.company_id.rjust(10),
            "fileCreationDate": f"{created_at:%y%m%d}",
            "fileCreationTime": f"{created_at:%H%M}",
            "fileIdModifier": modifier,
            "recordSize": 94,
            "blockingFactor": 10,
            "formatCode": "1",
            "immediateOriginName": ach_text(originator.company_name)[:23],
        },
    )


def _entry_detail(originator: Originator, entry: OutboundEntry, trace: str) -> str:
    if not 0 < len(entry.account_number) <= 17 or not entry.account_number.isascii() or not entry.account_number.isalnum():
        raise NachaError(f"payment {entry.payment_id}: the account number must be 1-17 letters or digits")
    if not ach_text(entry.holder_name):
        raise NachaError(f"payment {entry.payment_id}: the holder's name has no character the ACH alphabet can carry")
    return render(
        ENTRY_DETAIL,
        {
            "recordType": "6",
            "transactionCode": TRANSACTION_CODES[(entry.account_type, entry.direction)],
            "receivingDfi": entry.routing_number[:8],
            "checkDigit": entry.routing_number[8:9],
            "dfiAccountNumber": entry.account_number.upper(),
            "amount": cents(entry.amount),
            "individualIdentification": ach_text(entry.payment_id[:15]),
            "individualName": ach_text(entry.holder_name)[:22],
            "discretionaryData": WEB_PAYMENT_TYPE if entry.direction == "debit" else "",
            "addendaIndicator": 0,
            "traceNumber": trace,
        },
    )


def _batch(
    originator: Originator, batch: list[OutboundEntry], *, number: int, first_sequence: int, effective_date: date
) -> tuple[list[str], list[BuiltEntry], _Totals]:
    """The records of one batch (header, entries, control), its entries' traces, and its totals."""
    direction, description = batch[0].direction, batch[0].description
    common: dict[str, str | int] = {
        "serviceClassCode": SERVICE_CLASSES[direction],
        "companyIdentification": originator.company_id,
        "originatingDfi": originator.odfi_routing[:8],
        "batchNumber": number,
    }
    header: dict[str, str | int] = {
        "recordType": "5",
        "companyName": ach_text(originator.company_name)[:16],
        "standardEntryClassCode": SEC_CODES[direction],
        "companyEntryDescription": ach_text(description)[:10],
        "effectiveEntryDate": f"{effective_date:%y%m%d}",
        "originatorStatusCode": "1",
    }
    records = [render(BATCH_HEADER, {**common, **header})]
    built: list[BuiltEntry] = []
    for offset, entry in enumerate(batch):
        trace = trace_number(originator.odfi_routing, first_sequence + offset)
        records.append(_entry_detail(originator, entry, trace))
        built.append(BuiltEntry(payment_id=entry.payment_id, trace_number=trace, batch_number=number))
    amount = sum(cents(entry.amount) for entry in batch)
    totals = _Totals(
        entries=len(batch),
        entry_hash=entry_hash([entry.routing_number[:8] for entry in batch]),
        debit_cents=amount if direction == "debit" else 0,
        credit_cents=amount if direction == "credit" else 0,
    )
    control: dict[str, str | int] = {
        "recordType": "8",
        "entryAddendaCount": totals.entries,
        "entryHash": totals.entry_hash,
        "totalDebit": totals.debit_cents,
        "totalCredit": totals.credit_cents,
    }
    records.append(render(BATCH_CONTROL, {**common, **control}))
    return records, built, totals


def build_file(
    *,
    originator: Originator,
    entries: Sequence[OutboundEntry],
    created_at: datetime,
    modifier: str,
    effective_date: date,
    first_trace_sequence: int,
) -> BuiltFile:
    """The NACHA file of `entries`, its traces numbered from `first_trace_sequence` in file order."""
    if not entries:
        raise NachaError("a file needs at least one entry")
    if len({entry.payment_id for entry in entries}) != len(entries):
        raise NachaError("a payment can be in a file only once")
    records = [_file_header(originator, created_at, modifier)]
    built: list[BuiltEntry] = []
    totals = _Totals()
    batches = [list(group) for _, group in groupby(sorted(entries, key=lambda e: (_batch_key(e), e.payment_id)), key=_batch_key)]
    for number, batch in enumerate(batches, start=1):
        batch_records, batch_entries, batch_totals = _batch(
            originator, batch, number=number, first_sequence=first_trace_sequence + len(built), effective_date=effective_date
        )
        records.extend(batch_records)
        built.extend(batch_entries)
        totals.add(batch_totals)
    blocks = block_count(len(records) + 1)
    control: dict[str, str | int] = {
        "recordType": "9",
        "batchCount": len(batches),
        "blockCount": blocks,
        "entryAddendaCount": totals.entries,
        "entryHash": totals.entry_hash,
        "totalDebit": totals.debit_cents,
        "totalCredit": totals.credit_cents,
    }
    records.append(render(FILE_CONTROL, control))
    records.extend([FILLER_RECORD] * (blocks * BLOCKING_FACTOR - len(records)))
    return BuiltFile(
        name=file_name(created_at, modifier),
        content="".join(f"{record}\n" for record in records).encode("ascii"),
        entries=tuple(built),
        debit_total=Decimal(totals.debit_cents) / 100,
        credit_total=Decimal(totals.credit_cents) / 100,
        batch_count=len(batches),
    )
