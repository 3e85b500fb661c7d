"""The NACHA record layouts: one table per record type, read and written by the same two functions.

Every record is 94 characters. A field is numeric (right-justified, zero-filled), alphanumeric
(left-justified, space-filled, upper case) or fixed (a value that must already have its exact width, like
the " " + routing of the immediate destination). Positions follow from the widths; `render` and `read`
check each record's length, so a layout that does not add up to 94 fails on first use.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Literal

RECORD_LENGTH = 94
BLOCKING_FACTOR = 10
FILLER_RECORD = "9" * RECORD_LENGTH

FieldKind = Literal["numeric", "text", "fixed"]
Layout = tuple[tuple[str, int, FieldKind], ...]

# What an ACH text field carries: upper-case letters, digits, space and a few separators. Anything else
# (accents, symbols, control characters) is transliterated or becomes a space before it reaches the file.
TEXT_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 -.,&'/")

FILE_HEADER: Layout = (
    ("recordType", 1, "fixed"),
    ("priorityCode", 2, "numeric"),
    ("immediateDestination", 10, "fixed"),
    ("immediateOrigin", 10, "fixed"),
    ("fileCreationDate", 6, "fixed"),
    ("fileCreationTime", 4, "fixed"),
    ("fileIdModifier", 1, "fixed"),
    ("recordSize", 3, "numeric"),
    ("blockingFactor", 2, "numeric"),
    ("formatCode", 1, "fixed"),
    ("immediateDestinationName", 23, "text"),
    ("immediateOriginName", 23, "text"),
    ("referenceCode", 8, "text"),
)
BATCH_HEADER: Layout = (
    ("recordType", 1, "fixed"),
    ("serviceClassCode", 3, "numeric"),
    ("companyName", 16, "text"),
    ("companyDiscretionaryData", 20, "text"),
    ("companyIdentification", 10, "fixed"),
    ("standardEntryClassCode", 3, "fixed"),
    ("companyEntryDescription", 10, "text"),
    ("companyDescriptiveDate", 6, "text"),
    ("effectiveEntryDate", 6, "fixed"),
    ("settlementDate", 3, "text"),
    ("originatorStatusCode", 1, "fixed"),
    ("originatingDfi", 8, "fixed"),
    ("batchNumber", 7, "numeric"),
)
ENTRY_DETAIL: Layout = (
    ("recordType", 1, "fixed"),
    ("transactionCode", 2, "numeric"),
    ("receivingDfi", 8, "fixed"),
    ("checkDigit", 1, "fixed"),
    ("dfiAccountNumber", 17, "text"),
    ("amount", 10, "numeric"),
    ("individualIdentification", 15, "text"),
    ("individualName", 22, "text"),
    ("discretionaryData", 2, "text"),
    ("addendaIndicator", 1, "numeric"),
    ("traceNumber", 15, "fixed"),
)
# Addenda 99 (a return) and 98 (a notification of change) share their first fields and their last.
RETURN_ADDENDA: Layout = (
    ("recordType", 1, "fixed"),
    ("addendaType", 2, "fixed"),
    ("reasonCode", 3, "fixed"),
    ("originalTrace", 15, "fixed"),
    ("dateOfDeath", 6, "text"),
    ("originalDfi", 8, "fixed"),
    ("addendaInformation", 44, "text"),
    ("traceNumber", 15, "fixed"),
)
CHANGE_ADDENDA: Layout = (
    ("recordType", 1, "fixed"),
    ("addendaType", 2, "fixed"),
    ("changeCode", 3, "fixed"),
    ("originalTrace", 15, "fixed"),
    ("reserved", 6, "text"),
    ("originalDfi", 8, "fixed"),
    ("correctedData", 29, "text"),
    ("reservedTail", 15, "text"),
    ("traceNumber", 15, "fixed"),
)
BATCH_CONTROL: Layout = (
    ("recordType", 1, "fixed"),
    ("serviceClassCode", 3, "numeric"),
    ("entryAddendaCount", 6, "numeric"),
    ("entryHash", 10, "numeric"),
    ("totalDebit", 12, "numeric"),
    ("totalCredit", 12, "numeric"),
    ("companyIdentification", 10, "fixed"),
    ("messageAuthenticationCode", 19, "text"),
    ("reserved", 6, "text"),
    ("originatingDfi", 8, "fixed"),
    ("batchNumber", 7, "numeric"),
)
FILE_CONTROL: Layout = (
    ("recordType", 1, "fixed"),
    ("batchCount", 6, "numeric"),
    ("blockCount", 6, "numeric"),
    ("entryAddendaCount", 8, "numeric"),
    ("entryHash", 10, "numeric"),
    ("totalDebit", 12, "numeric"),
    ("totalCredit", 12, "numeric"),
    ("reserved", 39, "text"),
)


class NachaError(ValueError):
    """A file or a value breaks the NACHA format; the message says where, never an account number."""


def ach_text(value: str) -> str:
    """`value` in the ACH text alphabet: accents dropped, upper case, anything else a space, spaces collapsed."""
    ascii_only = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode("ascii").upper()
    return " ".join("".join(ch if ch in TEXT_ALPHABET else " " for ch in ascii_only).split())


def render(layout: Layout, values: Mapping[str, str | int]) -> str:
    """One record from its field values; a value that does not fit its field is an error, never cut."""
    parts: list[str] = []
    for name, width, kind in layout:
        value = values.get(name, "")
        if kind == "numeric":
            number = int(value or 0)
            digits = str(number)
            if number < 0 or len(digits) > width:
                raise NachaError(f"{name} {number} does not fit {width} digits")
            parts.append(digits.zfill(width))
        else:
            text = str(value)
            if len(text) > width or (kind == "fixed" and len(text) != width):
                raise NachaError(f"{name} must be {width} characters, not {len(text)}")
            if kind == "text" and set(text) - TEXT_ALPHABET:
                raise NachaError(f"{name} holds characters outside the ACH alphabet")
            parts.append(text.ljust(width))
    record = "".join(parts)
    if len(record) != RECORD_LENGTH:  # pragma: no cover - a layout table that does not add up
        raise NachaError(f"layout adds up to {len(record)} characters")
    return record


def read(layout: Layout, record: str, *, line: int) -> dict[str, str]:
    """The fields of one record (text fields stripped of their padding); numeric fields must be digits."""
    if len(record) != RECORD_LENGTH:
        raise NachaError(f"line {line}: a record is {RECORD_LENGTH} characters, this one {len(record)}")
    fields: dict[str, str] = {}
    position = 0
    for name, width, kind in layout:
        raw = record[position : position + width]
        position += width
        if kind == "numeric" and not (raw.isascii() and raw.isdigit()):
            raise NachaError(f"line {line}: {name} must be digits")
        fields[name] = raw.rstrip() if kind == "text" else raw
    return fields


def entry_hash(receiving_dfis: list[str] | tuple[str, ...]) -> int:
    """The sum of the 8-digit receiving DFI identifications, its rightmost ten digits kept."""
    return sum(int(dfi) for dfi in receiving_dfis) % 10**10


def block_count(records: int) -> int:
    """Blocks of ten records needed for `records` (the last filled with 9s)."""
    return -(-records // BLOCKING_FACTOR)
