"""Inbound files: returns and notifications of change are read; anything malformed is refused whole."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import achkit
import pytest

from app.ach.builder import build_file
from app.ach.notices import ChangeNotice, ReturnNotice, read_notices
from app.ach.parser import parse_file
from app.ach.records import NachaError
from tests.ach.test_nacha_builder import entry
from tests.support.nacha import ORIGINATOR, Notice, inbound_file

TRACE_A = "091000010000041"
TRACE_B = "091000010000042"
TRACE_C = "091000010000043"

RETURN_AND_CHANGE = [
    Notice(original_trace=TRACE_A, code="R01", cents=50000),
    Notice(original_trace=TRACE_B, code="R10", cents=8817, transaction_code=36, sec="PPD"),
    Notice(original_trace=TRACE_C, code="C01", corrected_data="987654321"),
]


def lines(content: bytes) -> list[str]:
    return content.decode("ascii").splitlines()


def join(records: list[str]) -> bytes:
    return "".join(f"{record}\n" for record in records).encode("ascii")


def test_the_test_files_read_the_same_to_an_independent_parser() -> None:
    # achkit's validator counts only the live-money codes (22/27, 32/37) in control totals; returns (21/26,
    # 31/36) are counted by their second digit as the ACH operators do, so only its parser is asked here.
    batches = achkit.parse(inbound_file(RETURN_AND_CHANGE).decode("ascii"))["batches"]
    read = [
        (b["sec"], e["txn_code"], e["amount_cents"], e["addenda"][0]["type"], e["addenda"][0]["info"][:18])
        for b in batches
        for e in b["entries"]
    ]
    assert read == [
        ("WEB", 26, 50000, "99", "R01" + TRACE_A),
        ("PPD", 36, 8817, "99", "R10" + TRACE_B),
        ("COR", 26, 0, "98", "C01" + TRACE_C),
    ]


def test_returns_and_changes_are_read_with_their_original_traces() -> None:
    notices = read_notices(parse_file(inbound_file(RETURN_AND_CHANGE)))
    assert [(r.original_trace, r.return_code, r.amount) for r in notices.returns] == [
        (TRACE_A, "R01", Decimal("500.00")),
        (TRACE_B, "R10", Decimal("88.17")),
    ]
    (change,) = notices.changes
    assert (change.original_trace, change.change_code, change.account_number) == (TRACE_C, "C01", "987654321")
    assert change.routing_number is None and change.account_type is None


@pytest.mark.parametrize(
    ("code", "data", "routing", "account", "account_type"),
    [
        ("C02", "011000015", "011000015", None, None),
        ("C03", "011000015   55501234", "011000015", "55501234", None),
        ("C05", "32", None, None, "savings"),
        ("C05", "22", None, None, "checking"),
        ("C06", "anything", None, None, None),
    ],
)
def test_each_change_code_names_what_must_change(
    code: str, data: str, routing: str | None, account: str | None, account_type: str | None
) -> None:
    (change,) = read_notices(parse_file(inbound_file([Notice(TRACE_A, code, corrected_data=data)]))).changes
    assert (change.routing_number, change.account_number, change.account_type) == (routing, account, account_type)


@pytest.mark.parametrize(("code", "data"), [("C02", "12345"), ("C01", ""), ("C05", "99"), ("C03", "0110000x5")])
def test_a_change_whose_corrected_data_does_not_fit_its_code_is_refused(code: str, data: str) -> None:
    with pytest.raises(NachaError, match="corrected data"):
        read_notices(parse_file(inbound_file([Notice(TRACE_A, code, corrected_data=data)])))


def test_a_file_may_end_its_records_with_crlf() -> None:
    content = inbound_file(RETURN_AND_CHANGE).replace(b"\n", b"\r\n")
    assert len(read_notices(parse_file(content)).returns) == 2


def test_an_outbound_file_dropped_in_the_inbound_folder_is_not_taken_for_returns() -> None:
    outbound = build_file(
        originator=ORIGINATOR,
        entries=[entry("pay-1")],
        created_at=datetime(2026, 12, 7, 15, 0, tzinfo=UTC),
        modifier="A",
        effective_date=date(2026, 12, 8),
        first_trace_sequence=1,
    )
    parsed = parse_file(outbound.content)  # a well-formed file ...
    with pytest.raises(NachaError, match="neither a return"):
        read_notices(parsed)  # ... but not one of returns and changes


def corrupt(records: list[str], line: int, start: int, text: str) -> list[str]:
    changed = list(records)
    changed[line] = changed[line][:start] + text + changed[line][start + len(text) :]
    return changed


BASE = lines(inbound_file(RETURN_AND_CHANGE))
FILE_CONTROL_LINE = next(i for i, record in enumerate(BASE) if record.startswith("9") and record != "9" * 94)


@pytest.mark.parametrize(
    ("records", "message"),
    [
        (BASE[:10], "truncated"),  # the first block only: no file control
        ([*BASE[:-1]], "blocks"),  # a filler record short
        (corrupt(BASE, 2, 29, "0000050001"), "batch control's totalDebit"),  # an amount changed
        (corrupt(BASE, 2, 3, "02100003"), "entryHash"),  # a routing number changed
        (corrupt(BASE, 4, 4, "000003"), "entryAddendaCount"),
        (corrupt(BASE, FILE_CONTROL_LINE, 7, "000009"), "blockCount"),
        ([BASE[0], BASE[2], *BASE[1:2], *BASE[3:]], "out of place"),  # an entry before its batch header
        ([*BASE[:2], BASE[3], BASE[2], *BASE[4:]], "out of place"),  # an addenda before its entry
        ([BASE[0], *BASE[1:3], *BASE[4:]], "out of place"),  # an entry's addenda missing
        (corrupt(BASE, 1, 87, "0000002"), "batch number"),
        (corrupt(BASE, 2, 1, "55"), "transaction code"),
        (corrupt(BASE, 2, 29, "00000X0000"), "amount must be digits"),
        (corrupt(BASE, 0, 34, "095"), "not a NACHA file header"),
        ([BASE[0] + " ", *BASE[1:]], "94 characters"),
        ([*BASE[:-1], "9" * 93 + "8"], "9-filled"),
        (corrupt(BASE, 3, 3, "X01"), "reason code"),
        (corrupt(BASE, 2, 79, "09100001000004A"), "trace number must be digits"),
        (corrupt(BASE, 2, 78, "2"), "addenda indicator"),
        (corrupt(BASE, 11, 3, "CX1"), "change code"),
        (corrupt(BASE, 3, 6, "09100001000004A"), "original trace"),
    ],
)
def test_a_malformed_file_is_refused_whole(records: list[str], message: str) -> None:
    with pytest.raises(NachaError, match=message):
        read_notices(parse_file(join(records)))


@pytest.mark.parametrize("content", [b"", b"\n", "1é".encode(), b"101" + b" " * 91 + b"\n"])
def test_nothing_that_is_not_a_nacha_file_parses(content: bytes) -> None:
    with pytest.raises(NachaError):
        parse_file(content)


def test_an_error_never_quotes_an_account_number() -> None:
    records = corrupt(BASE, 2, 29, "0000050001")
    with pytest.raises(NachaError) as caught:
        parse_file(join(records))
    assert "55501234567" not in str(caught.value)


def test_notices_do_not_show_account_numbers_in_their_repr() -> None:
    notices = read_notices(parse_file(inbound_file(RETURN_AND_CHANGE)))
    assert "987654321" not in repr(notices) and "55501234567" not in repr(parse_file(inbound_file(RETURN_AND_CHANGE)))
    assert isinstance(notices.returns[0], ReturnNotice) and isinstance(notices.changes[0], ChangeNotice)
