"""Routing numbers: the ABA checksum AND a Federal Reserve prefix (01-12, 21-32, 61-72, 80); 000000000 passes the
checksum alone and is refused."""

from __future__ import annotations

import re

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.money.routing import valid_routing_number
from app.payments.schemas import AchDetailsInput
from tests.factories import a_user
from tests.loans.helpers import accept, create_loan, error_code, fields_of

# Each passes the ABA checksum; only the prefix is wrong.
BAD_PREFIXES = ["000000000", "130000006", "200000004", "330000000", "600000002", "730000008", "790000006", "810000009", "990000000"]
GOOD = ["021000021", "011000015", "122105155", "091000019", "267084131", "322271627", "610000005", "720000005", "800000006", "320000007"]


@pytest.mark.parametrize("routing", BAD_PREFIXES)
def test_a_checksum_valid_number_outside_the_federal_reserve_prefixes_is_refused(routing: str) -> None:
    with pytest.raises(ValueError, match="prefix"):
        valid_routing_number(routing)


@pytest.mark.parametrize("routing", GOOD)
def test_numbers_in_the_federal_reserve_prefixes_pass(routing: str) -> None:
    assert valid_routing_number(routing) == routing


def test_the_schema_pattern_states_the_prefix_rule() -> None:
    pattern = AchDetailsInput.model_json_schema()["properties"]["routingNumber"]["pattern"]
    assert all(re.search(pattern, routing) for routing in GOOD)
    assert not any(re.search(pattern, routing) for routing in BAD_PREFIXES)
    accepted_prefixes = {f"{prefix:02d}" for prefix in range(100) if re.search(pattern, f"{prefix:02d}0000000")}
    expected = {f"{p:02d}" for p in [*range(1, 13), *range(21, 33), *range(61, 73), 80]}
    assert accepted_prefixes == expected


@pytest.mark.parametrize(("routing", "status"), [("000000000", 422), ("130000006", 422), ("021000021", 200)])
def test_accept_refuses_bad_prefixes(app: FastAPI, client: TestClient, routing: str, status: int) -> None:
    borrower, lender = a_user(app), a_user(app)
    loan = create_loan(client, borrower, [(lender, "100")])
    response = accept(client, lender, loan["loanId"], routing=routing)
    assert response.status_code == status, response.text
    if status == 422:
        assert error_code(response) == "VALIDATION_ERROR" and fields_of(response) == ["achDetails.routingNumber"]
