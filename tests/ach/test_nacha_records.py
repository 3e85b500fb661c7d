"""The record tables: a value that does not fit its field is an error, never silently cut or padded."""

from __future__ import annotations

import pytest

from app.ach.records import BATCH_CONTROL, FILE_CONTROL, NachaError, ach_text, block_count, read, render


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"recordType": "9", "batchCount": 1_000_000}, "does not fit 6 digits"),
        ({"recordType": "9", "batchCount": -1}, "does not fit"),
        ({"recordType": "99"}, "must be 1 characters"),
        ({"recordType": "9", "reserved": "lower case"}, "outside the ACH alphabet"),
        ({"recordType": "9", "reserved": "X" * 40}, "must be 39 characters"),
    ],
)
def test_a_value_that_does_not_fit_is_refused(values: dict[str, str | int], message: str) -> None:
    with pytest.raises(NachaError, match=message):
        render(FILE_CONTROL, values)


def test_numbers_are_zero_filled_and_text_space_filled() -> None:
    record = render(
        BATCH_CONTROL,
        {
            "recordType": "8",
            "serviceClassCode": 220,
            "entryAddendaCount": 3,
            "companyIdentification": "1234567890",
            "originatingDfi": "09100001",
        },
    )
    assert record.startswith("8220000003")
    assert read(BATCH_CONTROL, record, line=1)["messageAuthenticationCode"] == ""


def test_ach_text_drops_what_the_network_cannot_carry() -> None:
    assert ach_text("  Ünïcödé\tname\u200b!  ") == "UNICODE NAME"
    assert ach_text("漢字") == ""


def test_blocks_round_up_to_ten_records() -> None:
    assert [block_count(n) for n in (1, 10, 11, 20, 21)] == [1, 1, 2, 2, 3]
