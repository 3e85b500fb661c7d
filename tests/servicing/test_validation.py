"""POST /loans/{id}/repayments input: the amount, overpayment, the Idempotency-Key; and paging GET repayments."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import TestUser
from tests.loans.helpers import error_code, exact, fields_of, post_json
from tests.servicing.conftest import new_loan
from tests.support.clock import FakeClock


def _record(client: TestClient, user: TestUser, loan_id: str, amount: str, key: str | None = None) -> Any:
    headers = {**user.headers, **({"Idempotency-Key": key} if key else {})}
    return post_json(client, f"/loans/{loan_id}/repayments", {"amount": Decimal(amount)}, headers)


def _repayments(client: TestClient, user: TestUser, loan_id: str, **params: Any) -> Any:
    response = client.get(f"/loans/{loan_id}/repayments", params=params, headers=user.headers)
    assert response.status_code == 200, response.text
    return exact(response)


def _loan(client: TestClient, user: TestUser, loan_id: str) -> Any:
    response = client.get(f"/loans/{loan_id}", headers=user.headers)
    assert response.status_code == 200, response.text
    return exact(response)


BAD_BODIES = {
    "zero": ('{"amount": 0}', "amount"),
    "negative": ('{"amount": -1}', "amount"),
    "three decimals": ('{"amount": 1.001}', "amount"),
    "a string": ('{"amount": "10"}', "amount"),
    "a boolean": ('{"amount": true}', "amount"),
    "null": ('{"amount": null}', "amount"),
    "NaN": ('{"amount": NaN}', "amount"),
    "Infinity": ('{"amount": Infinity}', "amount"),
    "over the number's bound": ('{"amount": 1000000000000}', "amount"),
    "missing": ("{}", "amount"),
    "an unknown field": ('{"amount": 10, "note": "rent"}', "note"),
}


@pytest.mark.parametrize("content, field", BAD_BODIES.values(), ids=BAD_BODIES.keys())
def test_an_invalid_amount_is_422_and_writes_nothing(
    client: TestClient, people: dict[str, TestUser], loan_id: str, content: str, field: str
) -> None:
    bea = people["bea"]
    before = _loan(client, bea, loan_id)

    response = client.post(f"/loans/{loan_id}/repayments", content=content, headers={**bea.headers, "Content-Type": "application/json"})

    assert response.status_code == 422, response.text
    assert error_code(response) == "VALIDATION_ERROR"
    assert fields_of(response) == [field]
    assert _repayments(client, bea, loan_id)["items"] == []
    assert _loan(client, bea, loan_id) == before


@pytest.mark.parametrize("amount", ["10000000.00", "10000000.01", "999999999999.99"])
def test_an_amount_over_the_payoff_is_validated_then_refused_as_an_overpayment(
    client: TestClient, people: dict[str, TestUser], loan_id: str, amount: str
) -> None:
    response = _record(client, people["bea"], loan_id, amount)

    assert response.status_code == 422
    assert error_code(response) == "OVERPAYMENT"


def test_a_payoff_above_ten_million_is_repaid_in_one_repayment(client: TestClient, people: dict[str, TestUser]) -> None:
    # Given: 10,000,000 lent at 12%: the payoff (principal + the first installment's interest) is above 10,000,000
    loan_id = new_loan(client, people, shares=("6000000", "2500000", "1500000"))
    payoff = exact(client.get(f"/loans/{loan_id}/payoff", headers=people["bea"].headers))["amount"]
    assert payoff == Decimal("10100000.00")
    # When: Bea repays the whole payoff at once
    response = _record(client, people["bea"], loan_id, str(payoff))
    # Then: it is recorded and the loan is repaid
    assert response.status_code == 201, response.text
    assert (exact(response)["loanStatus"], _loan(client, people["bea"], loan_id)["status"]) == ("repaid", "repaid")


def test_one_cent_over_the_payoff_is_refused_naming_the_payoff_and_writes_nothing(
    client: TestClient, people: dict[str, TestUser], loan_id: str
) -> None:
    bea = people["bea"]
    payoff = exact(client.get(f"/loans/{loan_id}/payoff", headers=bea.headers))["amount"]
    assert payoff == Decimal("1010.00")  # 1,000.00 principal + the first installment's 10.00 interest
    before = _loan(client, bea, loan_id)

    response = _record(client, bea, loan_id, str(payoff + Decimal("0.01")))

    assert response.status_code == 422
    assert error_code(response) == "OVERPAYMENT"
    detail = exact(response)["error"]["details"][0]
    assert detail["field"] == "amount"
    assert "1010.00" in detail["reason"]
    assert detail["payoffAmount"] == payoff
    assert _repayments(client, bea, loan_id)["items"] == []
    assert _loan(client, bea, loan_id) == before
    assert _record(client, bea, loan_id, str(payoff)).status_code == 201  # the payoff itself is accepted


def test_a_retry_with_the_same_key_replays_the_repayment_and_records_it_once(
    client: TestClient, people: dict[str, TestUser], loan_id: str
) -> None:
    bea = people["bea"]
    first = _record(client, bea, loan_id, "88.85", key="pay-1")

    again = _record(client, bea, loan_id, "88.85", key="pay-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert exact(again) == exact(first)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert [item["repaymentId"] for item in _repayments(client, bea, loan_id)["items"]] == [first.json()["repaymentId"]]
    assert exact(first)["outstandingPrincipalAfter"] == Decimal("921.15")
    assert _loan(client, bea, loan_id)["outstandingPrincipal"] == Decimal("921.15")


def test_the_same_key_with_another_amount_is_refused(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    bea = people["bea"]
    first = _record(client, bea, loan_id, "88.85", key="pay-2")

    other = _record(client, bea, loan_id, "88.86", key="pay-2")

    assert other.status_code == 422
    assert error_code(other) == "IDEMPOTENCY_KEY_REUSED"
    assert [item["repaymentId"] for item in _repayments(client, bea, loan_id)["items"]] == [first.json()["repaymentId"]]


def test_another_users_identical_key_is_unrelated(client: TestClient, people: dict[str, TestUser], loan_id: str) -> None:
    bea, lou = people["bea"], people["lou"]
    mine = _record(client, bea, loan_id, "88.85", key="shared")

    theirs = _record(client, lou, loan_id, "88.85", key="shared")

    assert theirs.status_code == 403  # a lender, refused as usual: not a replay of Bea's repayment
    assert error_code(theirs) == "FORBIDDEN"
    assert "Idempotent-Replayed" not in theirs.headers
    replay = _record(client, bea, loan_id, "88.85", key="shared")
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert exact(replay) == exact(mine)
    assert len(_repayments(client, bea, loan_id)["items"]) == 1


def test_repayments_page_newest_first_without_duplicates(
    client: TestClient, clock: FakeClock, people: dict[str, TestUser], loan_id: str
) -> None:
    bea = people["bea"]
    recorded = []
    for cents in range(1, 6):
        response = _record(client, bea, loan_id, f"1.0{cents}")
        assert response.status_code == 201, response.text
        recorded.append(response.json()["repaymentId"])
        clock.advance(seconds=1)

    pages, cursor = [], None
    while True:
        page = _repayments(client, bea, loan_id, limit=2, **({"cursor": cursor} if cursor else {}))
        pages.append(page["items"])
        cursor = page["nextCursor"]
        if cursor is None:
            break

    assert [len(items) for items in pages] == [2, 2, 1]
    walked = [item for items in pages for item in items]
    assert [item["repaymentId"] for item in walked] == recorded[::-1]
    assert [item["amount"] for item in walked] == [Decimal("1.05"), Decimal("1.04"), Decimal("1.03"), Decimal("1.02"), Decimal("1.01")]
    assert len({item["repaymentId"] for item in walked}) == 5


def test_a_tampered_cursor_is_422_on_the_cursor(client: TestClient, clock: FakeClock, people: dict[str, TestUser], loan_id: str) -> None:
    bea = people["bea"]
    for amount in ("1.00", "2.00"):
        assert _record(client, bea, loan_id, amount).status_code == 201
        clock.advance(seconds=1)
    cursor = _repayments(client, bea, loan_id, limit=1)["nextCursor"]
    assert cursor
    tampered = ("B" if cursor[0] != "B" else "C") + cursor[1:]

    response = client.get(f"/loans/{loan_id}/repayments", params={"limit": 1, "cursor": tampered}, headers=bea.headers)

    assert response.status_code == 422
    assert error_code(response) == "VALIDATION_ERROR"
    assert fields_of(response) == ["cursor"]


def test_a_lender_replaying_the_borrowers_repayments_cursor_is_422(
    client: TestClient, clock: FakeClock, people: dict[str, TestUser], loan_id: str
) -> None:
    # Given: two repayments, and the borrower's cursor after the first page
    bea, lou = people["bea"], people["lou"]
    for amount in ("1.00", "2.00"):
        assert _record(client, bea, loan_id, amount).status_code == 201
        clock.advance(seconds=1)
    cursor = _repayments(client, bea, loan_id, limit=1)["nextCursor"]
    assert cursor
    # When: a lender of the same loan sends it (the same query, another caller)
    response = client.get(f"/loans/{loan_id}/repayments", params={"limit": 1, "cursor": cursor}, headers=lou.headers)
    # Then: 422 on the cursor; the lender's own cursor and the borrower's still work for their owners
    assert response.status_code == 422, response.text
    assert error_code(response) == "VALIDATION_ERROR"
    assert fields_of(response) == ["cursor"]
    own = _repayments(client, lou, loan_id, limit=1)["nextCursor"]
    assert own and len(_repayments(client, lou, loan_id, limit=1, cursor=own)["items"]) == 1
    assert len(_repayments(client, bea, loan_id, limit=1, cursor=cursor)["items"]) == 1


def test_an_amount_with_trailing_zeros_is_the_same_amount_to_the_cent(
    client: TestClient, people: dict[str, TestUser], loan_id: str
) -> None:
    # Given: 1.000 and 1 name the same amount; When: both are sent with one Idempotency-Key
    headers = {**people["bea"].headers, "Idempotency-Key": "trailing-zeros"}
    first = client.post(
        f"/loans/{loan_id}/repayments", content='{"amount": 1.000}', headers={**headers, "Content-Type": "application/json"}
    )
    again = client.post(f"/loans/{loan_id}/repayments", content='{"amount": 1}', headers={**headers, "Content-Type": "application/json"})
    # Then: the first is recorded as 1.00 and the second replays it
    assert first.status_code == 201, first.text
    assert '"amount":1.00,' in first.text
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
