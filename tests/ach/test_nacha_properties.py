"""Properties of the builder and the parser over any set of payments, checked against achkit too."""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import UTC, date, datetime
from decimal import Decimal

import achkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ach.builder import build_file
from app.ach.entries import OutboundEntry
from app.ach.parser import parse_file
from app.ach.records import NachaError, ach_text
from tests.support.nacha import ORIGINATOR, Notice, entry_lists, inbound_file

PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CODES = {("checking", "credit"): 22, ("checking", "debit"): 27, ("savings", "credit"): 32, ("savings", "debit"): 37}


def built(entries: list[OutboundEntry], sequence: int = 1) -> bytes:
    return build_file(
        originator=ORIGINATOR,
        entries=entries,
        created_at=datetime(2026, 12, 7, 15, 0, tzinfo=UTC),
        modifier="A",
        effective_date=date(2026, 12, 8),
        first_trace_sequence=sequence,
    ).content


def expected(entries: list[OutboundEntry]) -> Counter[tuple[object, ...]]:
    return Counter(
        (
            ach_text(e.payment_id[:15]),
            CODES[(e.account_type, e.direction)],
            e.routing_number,
            e.account_number,
            int(e.amount * 100),
            e.description,
        )
        for e in entries
    )


@PROPERTY
@given(entry_lists(), st.integers(min_value=1, max_value=9_000_000))
def test_any_payments_parse_back_to_the_same_entries_and_totals(entries: list[OutboundEntry], sequence: int) -> None:
    parsed = parse_file(built(entries, sequence))
    read = Counter(
        (p.individual_id, p.transaction_code, p.routing_number, p.account_number, int(p.amount * 100), p.description)
        for p in parsed.entries
    )
    assert read == expected(entries)
    assert parsed.debit_total == sum((e.amount for e in entries if e.direction == "debit"), Decimal(0))
    assert parsed.credit_total == sum((e.amount for e in entries if e.direction == "credit"), Decimal(0))
    traces = [p.trace_number for p in parsed.entries]
    assert traces == sorted(traces) and len(set(traces)) == len(entries)
    assert traces[0] == f"09100001{sequence:07d}"


@PROPERTY
@given(entry_lists())
def test_an_independent_implementation_validates_every_file_and_reads_the_same_entries(entries: list[OutboundEntry]) -> None:
    text = built(entries).decode("ascii")
    verdict = achkit.validate(text)
    assert verdict["ok"], verdict["errors"]
    theirs = achkit.parse(text)
    read = Counter(
        (e["id_number"], e["txn_code"], e["routing"], e["account"], e["amount_cents"], b["description"])
        for b in theirs["batches"]
        for e in b["entries"]
    )
    assert read == expected(entries)
    assert theirs["control"]["total_debit"] == sum(int(e.amount * 100) for e in entries if e.direction == "debit")
    assert theirs["control"]["total_credit"] == sum(int(e.amount * 100) for e in entries if e.direction == "credit")
    assert {b["sec"] for b in theirs["batches"] if b["service_class"] == 225} <= {"WEB"}
    assert {b["sec"] for b in theirs["batches"] if b["service_class"] == 220} <= {"PPD"}


VALID_INBOUND = inbound_file([Notice("091000010000041", "R01", cents=50000), Notice("091000010000042", "C01", corrected_data="12345")])


@PROPERTY
@given(st.integers(min_value=0, max_value=len(VALID_INBOUND) - 1), st.binary(min_size=1, max_size=1))
def test_a_file_with_any_byte_changed_parses_or_is_refused_but_never_crashes(position: int, byte: bytes) -> None:
    content = VALID_INBOUND[:position] + byte + VALID_INBOUND[position + 1 :]
    with contextlib.suppress(NachaError):
        parse_file(content)


@PROPERTY
@given(st.integers(min_value=1, max_value=len(VALID_INBOUND) - 1))
def test_a_truncated_file_is_never_taken_for_a_complete_one(length: int) -> None:
    if length == len(VALID_INBOUND) - 1:
        return  # only the final newline is missing: every record is there
    try:
        parse_file(VALID_INBOUND[:length])
    except NachaError:
        return
    raise AssertionError(f"a file cut at byte {length} of {len(VALID_INBOUND)} was accepted")
