"""The outbound file: layout, totals and traces, read back by achkit (an independent implementation)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import achkit
import pytest

from app.ach.builder import build_file
from app.ach.entries import BuiltFile, OutboundEntry, file_id_modifier
from app.ach.records import NachaError
from tests.support.nacha import ORIGINATOR, check_digit

CREATED = datetime(2026, 12, 7, 15, 0, 5, tzinfo=UTC)
EFFECTIVE = date(2026, 12, 8)


def entry(payment_id: str, direction: str = "debit", amount: str = "125.40", **fields: Any) -> OutboundEntry:
    values = {
        "description": "LOANFUND" if direction == "debit" else "PAYOUT",
        "routing_number": "021000021",
        "account_number": "000123456789",
        "account_type": "checking",
        "holder_name": "Ada Lovelace",
        **fields,
    }
    return OutboundEntry(payment_id=payment_id, direction=direction, amount=Decimal(amount), **values)  # type: ignore[arg-type]


def build(entries: list[OutboundEntry], *, sequence: int = 41) -> BuiltFile:
    return build_file(
        originator=ORIGINATOR, entries=entries, created_at=CREATED, modifier="C", effective_date=EFFECTIVE, first_trace_sequence=sequence
    )


def oracle(built: BuiltFile) -> dict[str, Any]:
    """achkit's reading of the file, after its validator found nothing wrong with it."""
    text = built.content.decode("ascii")
    verdict = achkit.validate(text)
    assert verdict["ok"], verdict["errors"]
    return achkit.parse(text)  # type: ignore[no-any-return]


MIXED = [
    entry("pay-b-funding", "debit", "500.00"),
    entry("pay-a-funding", "debit", "250.00", account_type="savings", routing_number="011000015"),
    entry("pay-c-collect", "debit", "88.17", description="LOANPAYMT"),
    entry("pay-d-payout", "credit", "44.09"),
    entry("pay-e-verify", "credit", "0.07", description="ACCTVERIFY"),
    entry("pay-f-verify", "credit", "0.42", description="ACCTVERIFY"),
    entry("pay-g-offset", "debit", "0.49", description="ACCTVERIFY"),
]


def test_every_record_is_94_characters_in_whole_blocks_of_ten() -> None:
    lines = build(MIXED).content.decode("ascii").splitlines()
    assert all(len(line) == 94 for line in lines)
    assert len(lines) % 10 == 0
    assert lines[-1] == "9" * 94


def test_the_file_header_names_the_odfi_the_company_and_the_day() -> None:
    built = build(MIXED)
    header = oracle(built)
    assert header["destination_routing"] == "091000019"
    assert header["origin_routing"] == "1234567890"
    assert (header["creation_date"], header["creation_time"], header["file_id_modifier"]) == ("261207", "1500", "C")
    assert built.name == "20261207-150005-C.ach"


def test_one_batch_per_sec_code_direction_and_description() -> None:
    batches = oracle(build(MIXED))["batches"]
    summary = [(b["sec"], b["service_class"], b["description"], len(b["entries"])) for b in batches]
    assert summary == [
        ("WEB", 225, "ACCTVERIFY", 1),
        ("WEB", 225, "LOANFUND", 2),
        ("WEB", 225, "LOANPAYMT", 1),
        ("PPD", 220, "ACCTVERIFY", 2),
        ("PPD", 220, "PAYOUT", 1),
    ]
    assert {b["effective_date"] for b in batches} == {"261208"}
    assert [b["batch_number"] for b in batches] == [1, 2, 3, 4, 5]
    assert {b["company_id"] for b in batches} == {"1234567890"}
    assert {b["origin_dfi"] for b in batches} == {"09100001"}


def test_entries_carry_the_payment_and_the_account_with_the_right_transaction_code() -> None:
    entries = {e["id_number"]: e for b in oracle(build(MIXED))["batches"] for e in b["entries"]}
    savings_debit = entries["PAY-A-FUNDING"]
    assert (savings_debit["txn_code"], savings_debit["routing"], savings_debit["account"]) == (37, "011000015", "000123456789")
    assert savings_debit["amount_cents"] == 25000
    assert entries["PAY-D-PAYOUT"]["txn_code"] == 22
    assert entries["PAY-C-COLLECT"]["txn_code"] == 27
    assert entries["PAY-E-VERIFY"]["name"] == "ADA LOVELACE"


def test_trace_numbers_are_the_odfi_prefix_and_an_ascending_sequence_through_the_file() -> None:
    built = build(MIXED, sequence=9_000)
    traces = [e["trace_number"] for b in oracle(built)["batches"] for e in b["entries"]]
    assert traces == [f"09100001{n:07d}" for n in range(9_000, 9_000 + len(MIXED))]
    assert [e.trace_number for e in built.entries] == traces
    assert {e.payment_id for e in built.entries} == {e.payment_id for e in MIXED}


def test_control_records_hold_the_counts_hashes_and_totals() -> None:
    built = build(MIXED)
    control = oracle(built)["control"]
    debits = sum((e.amount for e in MIXED if e.direction == "debit"), Decimal(0))
    credits = sum((e.amount for e in MIXED if e.direction == "credit"), Decimal(0))
    assert (built.debit_total, built.credit_total) == (debits, credits) == (Decimal("838.66"), Decimal("44.58"))
    assert control["total_debit"] == 83866 and control["total_credit"] == 4458
    assert control["entry_addenda_count"] == len(MIXED)
    assert control["batch_count"] == built.batch_count == 5
    assert int(control["entry_hash"]) == 2100002 * 6 + 1100001


def test_the_entry_hash_keeps_only_its_rightmost_ten_digits() -> None:
    many = [entry(f"pay-{n:05d}", routing_number="80123456" + check_digit("80123456")) for n in range(150)]
    control = oracle(build(many))["control"]
    assert int(control["entry_hash"]) == (80123456 * 150) % 10**10
    assert 80123456 * 150 >= 10**10


def test_the_same_entries_always_give_the_same_bytes_whatever_their_order() -> None:
    assert build(MIXED).content == build(list(reversed(MIXED))).content


def test_names_are_written_in_the_ach_alphabet() -> None:
    built = build([entry("pay-1", holder_name="José Ñoño ✓\u202e<b>")])
    (only,) = [e for b in oracle(built)["batches"] for e in b["entries"]]
    assert only["name"] == "JOSE NONO B"


def test_file_id_modifiers_run_a_to_z_then_0_to_9_and_then_run_out() -> None:
    assert "".join(file_id_modifier(n) for n in range(36)) == "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    with pytest.raises(NachaError, match="File ID Modifier"):
        file_id_modifier(36)


@pytest.mark.parametrize("amount", ["0", "-1.00", "0.001", "100000000.00"])
def test_an_amount_outside_whole_positive_cents_of_ten_digits_is_refused(amount: str) -> None:
    with pytest.raises(NachaError, match="amount"):
        build([entry("pay-1", amount=amount)])


def test_the_largest_amount_fits() -> None:
    assert oracle(build([entry("pay-1", amount="99999999.99")]))["control"]["total_debit"] == 9_999_999_999


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([], "at least one entry"),
        ([entry("pay-1"), entry("pay-1")], "only once"),
        ([entry("pay-1", account_number="12345678901234567890")], "account number"),
        ([entry("pay-1", account_number="12-34")], "account number"),
        ([entry("pay-1", holder_name="李小龍")], "name"),
    ],
)
def test_a_file_that_cannot_be_right_is_not_built(entries: list[OutboundEntry], message: str) -> None:
    with pytest.raises(NachaError, match=message):
        build(entries)


def test_the_trace_sequence_never_wraps() -> None:
    with pytest.raises(NachaError, match="seven digits"):
        build([entry("pay-1"), entry("pay-2")], sequence=9_999_999)


def test_an_entry_never_shows_its_account_number_in_a_repr() -> None:
    assert "000123456789" not in repr(entry("pay-1"))
    assert "000123456789" not in str(entry("pay-1"))
