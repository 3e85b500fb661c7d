"""The bank's intake: an outbound NACHA file checked whole (achkit's validator and our own structure check) and read.

A file is taken only when achkit.validate finds it consistent AND its records are in NACHA order: a file
header (record size 094, blocking factor 10, format code 1), batches of entries (each maybe followed by
one addenda) closed by their batch control, one file control whose block count matches, then 9-filled
records to a whole block of ten. achkit alone would take a file cut off at a block boundary (it checks
a file control only when there is one), so the order check is what refuses a truncated file.
"""

from __future__ import annotations

from dataclasses import dataclass

import achkit  # type: ignore[import-untyped]  # no type information shipped

RECORD_LENGTH = 94
BLOCKING_FACTOR = 10
FILLER = "9" * RECORD_LENGTH
OUTBOUND_CODES = frozenset({22, 27, 32, 37})  # live credits and debits to checking (2x) and savings (3x)


class InvalidFile(ValueError):
    """The file is refused; the message says why."""


@dataclass(frozen=True)
class Entry:
    """One entry of an outbound file, with what its batch says about it."""

    transaction_code: int
    routing: str  # 9 digits: the RDFI's 8 and the check digit
    account: str  # the DFI account number field, stripped
    amount_cents: int
    individual_id: str
    name: str
    trace: str
    sec: str
    description: str
    company_id: str  # exactly the 10 characters of the batch header
    company_name: str

    @property
    def direction(self) -> str:
        return "debit" if self.transaction_code % 10 >= 6 else "credit"


@dataclass(frozen=True)
class OutboundFile:
    odfi: str  # the immediate destination's routing number: the bank that received the file
    origin_name: str
    entries: tuple[Entry, ...]


def records_of(content: bytes) -> list[str]:
    try:
        text = content.decode("ascii")
    except UnicodeDecodeError as exc:
        raise InvalidFile("not ASCII text") from exc
    records = text.replace("\r\n", "\n").split("\n")
    if records and records[-1] == "":
        records.pop()
    if not records:
        raise InvalidFile("empty file")
    for number, record in enumerate(records, start=1):
        if len(record) != RECORD_LENGTH:
            raise InvalidFile(f"line {number} is {len(record)} characters, not {RECORD_LENGTH}")
    if len(records) % BLOCKING_FACTOR:
        raise InvalidFile(f"{len(records)} records: not a whole number of blocks of {BLOCKING_FACTOR}")
    return records


def _achkit_verdict(content: bytes) -> None:
    verdict = achkit.validate(content.decode("ascii"))
    if not verdict["ok"]:
        errors = "; ".join(f"{error['code']} {error['message']}" for error in verdict["errors"][:3])
        raise InvalidFile(f"achkit: {errors}")


def _check_header(header: str) -> str:
    if header[:1] != "1" or header[34:37] != "094" or header[37:39] != "10" or header[39:40] != "1":
        raise InvalidFile("line 1 is not a file header with record size 094, blocking factor 10, format code 1")
    destination = header[3:13]
    if destination[:1] != " " or not destination[1:].isdigit() or not achkit.is_valid_routing(destination[1:]):
        raise InvalidFile("the immediate destination is not ' ' + a valid routing number")
    return destination[1:]


def _entry(record: str, batch: str, line: int) -> Entry:
    code = int(record[1:3]) if record[1:3].isdigit() else 0
    if code not in OUTBOUND_CODES:
        raise InvalidFile(f"line {line}: transaction code {record[1:3]!r} is not a live credit or debit (22/27/32/37)")
    if not record[29:39].isdigit() or not record[79:94].isdigit() or record[78:79] not in ("0", "1"):
        raise InvalidFile(f"line {line}: the amount, the addenda indicator and the trace number must be digits")
    return Entry(
        transaction_code=code,
        routing=record[3:12],
        account=record[12:29].strip(),
        amount_cents=int(record[29:39]),
        individual_id=record[39:54].rstrip(),
        name=record[54:76].rstrip(),
        trace=record[79:94],
        sec=batch[50:53],
        description=batch[53:63].rstrip(),
        company_id=batch[40:50],
        company_name=batch[4:20].rstrip(),
    )


def read_outbound(content: bytes) -> OutboundFile:
    """The entries of a valid outbound file, or InvalidFile saying what is wrong with it."""
    records = records_of(content)
    _achkit_verdict(content)
    odfi = _check_header(records[0])
    entries: list[Entry] = []
    batch: str | None = None
    addenda_allowed = False
    for line, record in enumerate(records[1:], start=2):
        kind = record[:1]
        if kind == "5" and batch is None:
            batch, addenda_allowed = record, False
        elif kind == "6" and batch is not None:
            entries.append(_entry(record, batch, line))
            addenda_allowed = record[78:79] == "1"
        elif kind == "7" and batch is not None and addenda_allowed:
            addenda_allowed = False
        elif kind == "8" and batch is not None:
            if record[1:4] != batch[1:4] or record[44:54] != batch[40:50]:
                raise InvalidFile(f"line {line}: the batch control does not match its batch header")
            batch = None
        elif kind == "9" and batch is None and record != FILLER:
            if record[7:13] != f"{len(records) // BLOCKING_FACTOR:06d}":
                raise InvalidFile(f"line {line}: the file control's block count does not match the file")
            if any(filler != FILLER for filler in records[line:]):
                raise InvalidFile("only 9-filled records may follow the file control")
            if not entries:
                raise InvalidFile("the file has no entries")
            return OutboundFile(odfi=odfi, origin_name=records[0][63:86].rstrip(), entries=tuple(entries))
        else:
            raise InvalidFile(f"line {line}: record type {kind!r} is out of place")
    raise InvalidFile("no file control record: truncated")
