"""Reading NACHA files: the whole file is checked before anything in it is believed.

`parse_file` accepts a file only when its records are in order (a header, batches of entries with their
addenda, one file control, 9-filled records), every record is 94 characters, and every count, entry
hash and total of every control record matches what it controls; the block count must match the
records there are, so a truncated file is never taken for a complete one. Anything else raises
NachaError naming the line, and nothing of the file is returned (app/ach/notices.py reads the returns
and notifications of change of an inbound file from what this returns).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal

from app.ach.records import (
    BATCH_CONTROL,
    BATCH_HEADER,
    BLOCKING_FACTOR,
    ENTRY_DETAIL,
    FILE_CONTROL,
    FILE_HEADER,
    FILLER_RECORD,
    RECORD_LENGTH,
    NachaError,
    entry_hash,
    read,
)

CREDIT_CODES = frozenset({21, 22, 23, 24, 31, 32, 33, 34})
DEBIT_CODES = frozenset({26, 27, 28, 29, 36, 37, 38, 39})
DIGITS_15 = re.compile(r"^[0-9]{15}$")


@dataclass(frozen=True)
class ParsedEntry:
    batch_number: int
    sec_code: str
    service_class: int
    description: str
    effective_date: str
    transaction_code: int
    routing_number: str
    account_number: str
    amount: Decimal
    individual_id: str
    individual_name: str
    trace_number: str
    addenda: str | None

    def __repr__(self) -> str:  # the account number stays out of logs and tracebacks
        return f"ParsedEntry(trace_number={self.trace_number!r}, transaction_code={self.transaction_code}, amount={self.amount})"


@dataclass(frozen=True)
class ParsedFile:
    header: dict[str, str]
    entries: tuple[ParsedEntry, ...]
    batch_count: int
    debit_total: Decimal
    credit_total: Decimal


def _records(content: bytes) -> list[str]:
    try:
        text = content.decode("ascii")
    except UnicodeDecodeError as exc:
        raise NachaError("the file is not ASCII text") from exc
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise NachaError("the file is empty")
    return lines


def _amount(cents: str | int) -> Decimal:
    return Decimal(int(cents)) / 100


class _Batch:
    """One batch as it is read: its header, its entries so far, and what its control must say."""

    def __init__(self, header: dict[str, str]) -> None:
        self.header = header
        self.entries: list[ParsedEntry] = []
        self.records = 0
        self.debit_cents = 0
        self.credit_cents = 0

    def check_control(self, control: dict[str, str], line: int) -> None:
        expected = {
            "serviceClassCode": self.header["serviceClassCode"],
            "companyIdentification": self.header["companyIdentification"],
            "batchNumber": self.header["batchNumber"],
            "entryAddendaCount": f"{self.records:06d}",
            "entryHash": f"{entry_hash([entry.routing_number[:8] for entry in self.entries]):010d}",
            "totalDebit": f"{self.debit_cents:012d}",
            "totalCredit": f"{self.credit_cents:012d}",
        }
        for field, value in expected.items():
            if control[field] != value:
                raise NachaError(f"line {line}: the batch control's {field} does not match its batch")


def parse_file(content: bytes) -> ParsedFile:
    """Every entry of a well-formed NACHA file, or NachaError for the first thing wrong with it."""
    records = _records(content)
    header = read(FILE_HEADER, records[0], line=1)
    if header["recordType"] != "1" or header["recordSize"] != "094" or header["blockingFactor"] != "10":
        raise NachaError("line 1: not a NACHA file header")
    entries: list[ParsedEntry] = []
    batch: _Batch | None = None
    batches = 0
    addenda_expected = False
    for index, record in enumerate(records[1:], start=2):
        kind = record[:1]
        if kind == "5" and batch is None and not addenda_expected:
            batch = _Batch(read(BATCH_HEADER, record, line=index))
            batches += 1
            if int(batch.header["batchNumber"]) != batches:
                raise NachaError(f"line {index}: batch number {int(batch.header['batchNumber'])}, expected {batches}")
        elif kind == "6" and batch is not None and not addenda_expected:
            fields = read(ENTRY_DETAIL, record, line=index)
            entry = _entry(batch, fields, index)
            batch.entries.append(entry)
            batch.records += 1
            addenda_expected = fields["addendaIndicator"] == "1"
            if entry.transaction_code in DEBIT_CODES:
                batch.debit_cents += int(entry.amount * 100)
            else:
                batch.credit_cents += int(entry.amount * 100)
        elif kind == "7" and batch is not None and addenda_expected:
            if len(record) != RECORD_LENGTH:
                raise NachaError(f"line {index}: a record is {RECORD_LENGTH} characters, this one {len(record)}")
            batch.entries[-1] = replace(batch.entries[-1], addenda=record)
            batch.records += 1
            addenda_expected = False
        elif kind == "8" and batch is not None and not addenda_expected:
            batch.check_control(read(BATCH_CONTROL, record, line=index), index)
            entries.extend(batch.entries)
            batch = None
        elif kind == "9" and batch is None and not addenda_expected:
            return _finish(header, entries, batches, records, index)
        else:
            raise NachaError(f"line {index}: record type {kind!r} is out of place")
    raise NachaError("the file ends before its file control record: truncated")


def _entry(batch: _Batch, fields: dict[str, str], line: int) -> ParsedEntry:
    code = int(fields["transactionCode"])
    if code not in CREDIT_CODES | DEBIT_CODES:
        raise NachaError(f"line {line}: transaction code {code} is not one this platform handles")
    if not DIGITS_15.match(fields["traceNumber"]) or not (fields["receivingDfi"] + fields["checkDigit"]).isdigit():
        raise NachaError(f"line {line}: the routing number and the trace number must be digits")
    if fields["addendaIndicator"] not in ("0", "1"):
        raise NachaError(f"line {line}: the addenda indicator must be 0 or 1")
    return ParsedEntry(
        batch_number=int(batch.header["batchNumber"]),
        sec_code=batch.header["standardEntryClassCode"],
        service_class=int(batch.header["serviceClassCode"]),
        description=batch.header["companyEntryDescription"],
        effective_date=batch.header["effectiveEntryDate"],
        transaction_code=code,
        routing_number=fields["receivingDfi"] + fields["checkDigit"],
        account_number=fields["dfiAccountNumber"],
        amount=_amount(fields["amount"]),
        individual_id=fields["individualIdentification"],
        individual_name=fields["individualName"],
        trace_number=fields["traceNumber"],
        addenda=None,
    )


def _finish(header: dict[str, str], entries: list[ParsedEntry], batches: int, records: list[str], line: int) -> ParsedFile:
    control = read(FILE_CONTROL, records[line - 1], line=line)
    for index, filler in enumerate(records[line:], start=line + 1):
        if filler != FILLER_RECORD:
            raise NachaError(f"line {index}: only 9-filled records may follow the file control")
    debit = sum(int(e.amount * 100) for e in entries if e.transaction_code in DEBIT_CODES)
    credit = sum(int(e.amount * 100) for e in entries if e.transaction_code in CREDIT_CODES)
    expected = {
        "batchCount": f"{batches:06d}",
        "blockCount": f"{len(records) // BLOCKING_FACTOR:06d}",
        "entryAddendaCount": f"{len(entries) + sum(e.addenda is not None for e in entries):08d}",
        "entryHash": f"{entry_hash([e.routing_number[:8] for e in entries]):010d}",
        "totalDebit": f"{debit:012d}",
        "totalCredit": f"{credit:012d}",
    }
    if len(records) % BLOCKING_FACTOR:
        raise NachaError(f"the file has {len(records)} records, not a whole number of blocks of {BLOCKING_FACTOR}")
    for field, value in expected.items():
        if control[field] != value:
            raise NachaError(f"line {line}: the file control's {field} does not match the file")
    return ParsedFile(header=header, entries=tuple(entries), batch_count=batches, debit_total=_amount(debit), credit_total=_amount(credit))
