"""Bank account rules over HTTP and in the table: micro-deposits, verification (attempts, 14 days) and duplicates
(closing, lists, other people's ids and privacy: test_bank_account_closing.py, which shares these helpers).

The email gate is tested in test_bank_account_validation.py; here it is off (EMAIL_VERIFICATION=off), so each
person costs one registration instead of a registration, a verification and a sign-in.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.clock import iso
from app.config import Settings
from app.db.dynamo import Dynamo
from app.db.expressions import Expression
from app.db.keys import BANK, EVENT, bank_account_key, payment_key, payment_owner, payment_partition, user_partition
from app.db.table import DEADLINE_PARTITION, DEADLINE_SORT, GSI1_NAME, PARTITION_KEY, SORT_KEY
from app.jsonio import dumps_exact
from app.money.calendar import eastern_date
from app.payments.bank_accounts import micro_deposits
from tests.conftest import make_settings
from tests.factories import TestUser, a_user
from tests.support.clock import FakeClock
from tests.support.table import whole_table

DETAILS = {"accountHolderName": "Ada Lovelace", "accountType": "checking", "routingNumber": "021000021", "accountNumber": "000123456789"}
CENT = Decimal("0.01")


# --- helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def settings(endpoint_url: str, table_name: str) -> Settings:
    return make_settings(endpoint_url, table_name, email_verification="off")


def someone(app: FastAPI) -> TestUser:
    return a_user(app, verified=False)


def register(client: TestClient, user: TestUser, **changes: Any) -> httpx.Response:
    response: httpx.Response = client.post("/bank-accounts", json={**DETAILS, **changes}, headers=user.headers)
    return response


def registered(client: TestClient, user: TestUser, **changes: Any) -> str:
    response = register(client, user, **changes)
    assert response.status_code == 201, response.text
    return str(response.json()["bankAccountId"])


def verify(client: TestClient, user: TestUser, bank_account_id: str, amounts: list[Decimal]) -> httpx.Response:
    body = dumps_exact({"amounts": amounts})  # exact JSON numbers (httpx's json= cannot write a Decimal)
    response: httpx.Response = client.post(
        f"/bank-accounts/{bank_account_id}/verify", content=body.encode(), headers={**user.headers, "Content-Type": "application/json"}
    )
    return response


def sign_in(client: TestClient, user: TestUser) -> None:
    """A new access token after the clock moved past the old one's lifetime (15 minutes)."""
    response = client.post("/auth/login", json={"email": user.email, "password": user.password})
    assert response.status_code == 200, response.text
    user.access_token = response.json()["accessToken"]


def account_item(db: Dynamo, user: TestUser, bank_account_id: str) -> dict[str, Any]:
    item = db.get(bank_account_key(user.user_id, bank_account_id))
    assert item is not None
    return item


def deposits_of(db: Dynamo, user: TestUser, bank_account_id: str) -> tuple[Decimal, Decimal]:
    first, second = (Decimal(str(value)) for value in account_item(db, user, bank_account_id)["microDeposits"])
    return first, second


def wrong_pairs(a: Decimal, b: Decimal) -> list[list[Decimal]]:
    """Three different pairs, none of them {a, b} in any order."""
    other = next(value for value in (Decimal("0.01") * n for n in range(1, 100)) if value not in (a, b))
    pairs = [[a, a], [b, other], [a + b, other]]
    assert all(sorted(pair) != sorted([a, b]) for pair in pairs)
    return pairs


def payments_of(db: Dynamo, bank_account_id: str) -> list[dict[str, Any]]:
    """The account's own payments (micro-deposits): GSI1 partition PAYS#BANK#<bankAccountId>."""
    condition = Expression(f"{SORT_KEY} = :owner", values={":owner": payment_owner(loan_id=None, bank_account_id=bank_account_id)})
    return db.query_all(condition, index=GSI1_NAME)


def partition(db: Dynamo, pk: str, prefix: str | None = None) -> list[dict[str, Any]]:
    """Every item of partition `pk` (those whose sort key starts with `prefix`, if given)."""
    if prefix is None:
        return db.query_all(Expression(f"{PARTITION_KEY} = :pk", values={":pk": pk}), consistent=True)
    condition = Expression(f"{PARTITION_KEY} = :pk AND begins_with({SORT_KEY}, :prefix)", values={":pk": pk, ":prefix": prefix})
    return db.query_all(condition, consistent=True)


def events_of_payment(db: Dynamo, payment_id: str) -> list[dict[str, Any]]:
    return partition(db, payment_partition(payment_id), EVENT)


def account_events(db: Dynamo, user: TestUser, bank_account_id: str) -> list[str]:
    return [event["type"] for event in partition(db, user_partition(user.user_id), EVENT) if event.get("bankAccountId") == bank_account_id]


def snapshot(db: Dynamo, user: TestUser) -> list[dict[str, Any]]:
    """Everything stored about the user's bank accounts: their partition, and each account's payments with their events."""
    items = partition(db, user_partition(user.user_id))
    for account in [item for item in items if str(item[SORT_KEY]).startswith(BANK)]:
        for payment in sorted(payments_of(db, account["bankAccountId"]), key=lambda payment: str(payment["paymentId"])):
            items.extend(partition(db, payment_partition(payment["paymentId"])))
    return items


def listed(client: TestClient, user: TestUser, query: str = "") -> dict[str, Any]:
    response = client.get(f"/bank-accounts{query}", headers=user.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def error_code(response: httpx.Response) -> str:
    return str(response.json()["error"]["code"])


# --- micro-deposits --------------------------------------------------------------------------------


def test_micro_deposits_are_two_distinct_cent_amounts_under_a_dollar() -> None:
    seen_first, seen_second = set(), set()
    for _ in range(20_000):
        first, second = micro_deposits()
        assert isinstance(first, Decimal) and isinstance(second, Decimal)
        assert first != second
        for value in (first, second):
            assert Decimal("0.01") <= value <= Decimal("0.99")
            assert value.as_tuple().exponent == -2 and value == value.quantize(CENT)
        seen_first.add(first)
        seen_second.add(second)
    every_amount = {CENT * n for n in range(1, 100)}
    assert seen_first == every_amount and seen_second == every_amount  # no amount is left out (nor biased to nothing)


def test_a_new_account_schedules_three_micro_deposits_in_one_go(client: TestClient, app: FastAPI, db: Dynamo, clock: FakeClock) -> None:
    user = someone(app)
    response = register(client, user)
    assert response.status_code == 201, response.text
    body = response.json()
    bank_account_id = body["bankAccountId"]
    assert body == {
        "bankAccountId": bank_account_id,
        "accountHolderName": "Ada Lovelace",
        "accountType": "checking",
        "routingNumberLast4": "0021",
        "accountNumberLast4": "6789",
        "status": "pending_verification",
        "verificationAttemptsLeft": 3,
        "createdAt": iso(clock.now()),
        "verifiedAt": None,
    }
    account = account_item(db, user, bank_account_id)
    assert account["openPayments"] == 3
    assert account["verifyBy"] == iso(clock.now() + timedelta(days=14))
    assert account[DEADLINE_PARTITION].startswith("VERIFYBY#") and account[DEADLINE_SORT] == f"{account['verifyBy']}#{bank_account_id}"
    a, b = deposits_of(db, user, bank_account_id)

    payments = payments_of(db, bank_account_id)
    assert len(payments) == 3
    credits = sorted((p for p in payments if p["direction"] == "credit"), key=lambda p: p["amount"])
    debits = [p for p in payments if p["direction"] == "debit"]
    assert len(credits) == 2 and len(debits) == 1
    amounts = [Decimal(str(p["amount"])) for p in credits]
    assert amounts == sorted([a, b]) and amounts[0] != amounts[1]
    assert all(Decimal("0.01") <= value <= Decimal("0.99") and value == value.quantize(CENT) for value in amounts)
    assert Decimal(str(debits[0]["amount"])) == a + b
    today = eastern_date(clock.now()).isoformat()
    for payment in payments:
        assert {payment["PK"], payment["SK"]} == set(payment_key(payment["paymentId"], f"PAYS#BANK#{bank_account_id}").values())
        assert payment["kind"] == "verification" and payment["status"] == "scheduled" and payment["description"] == "ACCTVERIFY"
        assert payment["bankAccountId"] == bank_account_id and payment["ownerId"] == user.user_id
        assert payment["attempt"] == 1 and payment["createdAt"] == iso(clock.now()) and payment["notBefore"] == today
        assert "loanId" not in payment and "fileId" not in payment and "traceNumber" not in payment
        assert payment[DEADLINE_PARTITION] == "ACHPAY#scheduled" and payment[DEADLINE_SORT] == f"{today}#{payment['paymentId']}"
        (event,) = events_of_payment(db, payment["paymentId"])
        assert event["type"] == "payment_scheduled" and event["paymentId"] == payment["paymentId"]
        assert Decimal(str(event["amount"])) == Decimal(str(payment["amount"])) and event["kind"] == "verification"
        assert event["actorId"] == user.user_id and event["requestId"] == response.headers["x-request-id"]
    assert account_events(db, user, bank_account_id) == ["bank_account_added"]


# --- verification ----------------------------------------------------------------------------------


def test_the_right_amounts_verify_in_either_order(client: TestClient, app: FastAPI, db: Dynamo, clock: FakeClock) -> None:
    user = someone(app)
    first, second = registered(client, user), registered(client, user, accountNumber="55554444")
    clock.advance(hours=2)
    sign_in(client, user)
    a, b = deposits_of(db, user, first)
    c, d = deposits_of(db, user, second)

    for bank_account_id, amounts in ((first, [a, b]), (second, [d, c])):
        response = verify(client, user, bank_account_id, amounts)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["status"] == "verified" and body["verifiedAt"] == iso(clock.now()) and body["verificationAttemptsLeft"] == 3
        item = account_item(db, user, bank_account_id)
        assert item["status"] == "verified" and item["verifiedAt"] == iso(clock.now())
        assert DEADLINE_PARTITION not in item and DEADLINE_SORT not in item  # out of the verify-by index
        assert account_events(db, user, bank_account_id) == ["bank_account_added", "bank_account_verified"]
    assert {account["status"] for account in listed(client, user)["items"]} == {"verified"}


def test_a_verified_account_posted_again_stays_verified(client: TestClient, app: FastAPI, db: Dynamo, clock: FakeClock) -> None:
    user = someone(app)
    bank_account_id = registered(client, user)
    a, b = deposits_of(db, user, bank_account_id)
    first = verify(client, user, bank_account_id, [a, b]).json()
    clock.advance(days=20)  # past any verify-by: a verified account never expires
    sign_in(client, user)
    for amounts in ([b, a], wrong_pairs(a, b)[0]):
        again = verify(client, user, bank_account_id, amounts)
        assert again.status_code == 200, again.text
        assert again.json() == first  # as it is: same verifiedAt, no attempt spent
    assert account_events(db, user, bank_account_id) == ["bank_account_added", "bank_account_verified"]


def test_three_wrong_pairs_fail_the_account_for_good(client: TestClient, app: FastAPI, db: Dynamo) -> None:
    user = someone(app)
    bank_account_id = registered(client, user)
    a, b = deposits_of(db, user, bank_account_id)

    for pair, left in zip(wrong_pairs(a, b), (2, 1, 0), strict=True):
        miss = verify(client, user, bank_account_id, pair)
        assert miss.status_code == 422, miss.text
        error = miss.json()["error"]
        assert error["code"] == "VERIFICATION_MISMATCH"
        assert error["details"] == [
            {"field": "amounts", "location": "body", "reason": "do not match the micro-deposits", "attemptsLeft": left}
        ]
    for amounts in ([a, b], wrong_pairs(a, b)[0]):
        final = verify(client, user, bank_account_id, amounts)
        assert final.status_code == 409 and error_code(final) == "VERIFICATION_FAILED", final.text

    (shown,) = listed(client, user)["items"]
    assert shown["status"] == "failed" and shown["verificationAttemptsLeft"] == 0 and shown["verifiedAt"] is None
    item = account_item(db, user, bank_account_id)
    assert item["status"] == "failed" and item["attemptsLeft"] == 0 and item["failureReason"] == "attempts_exhausted"
    assert DEADLINE_PARTITION not in item
    assert account_events(db, user, bank_account_id) == ["bank_account_added", "bank_account_failed"]


def test_one_wrong_pair_then_the_right_one_verifies(client: TestClient, app: FastAPI, db: Dynamo) -> None:
    user = someone(app)
    bank_account_id = registered(client, user)
    a, b = deposits_of(db, user, bank_account_id)
    assert verify(client, user, bank_account_id, wrong_pairs(a, b)[1]).status_code == 422
    assert listed(client, user)["items"][0]["verificationAttemptsLeft"] == 2
    right = verify(client, user, bank_account_id, [b, a])
    assert right.status_code == 200 and right.json()["status"] == "verified" and right.json()["verificationAttemptsLeft"] == 2


def test_fourteen_days_unconfirmed_fail_even_with_the_right_amounts(client: TestClient, app: FastAPI, db: Dynamo, clock: FakeClock) -> None:
    # Given: four accounts registered at the same moment
    user = someone(app)
    ids = [registered(client, user, accountNumber=f"6000{n:04d}") for n in range(4)]
    deposits = {bank_account_id: deposits_of(db, user, bank_account_id) for bank_account_id in ids}
    start = clock.now()

    # When/Then: 13 days 23 hours later, and one second before the 14 days are up, the right amounts still verify
    clock.advance(days=13, hours=23)
    sign_in(client, user)
    assert verify(client, user, ids[0], list(deposits[ids[0]])).json()["status"] == "verified"
    clock.current = start + timedelta(days=14) - timedelta(seconds=1)
    sign_in(client, user)
    assert verify(client, user, ids[1], list(deposits[ids[1]])).json()["status"] == "verified"

    # ... 14 days after registration, neither the right amounts nor wrong ones do: the account fails
    clock.current = start + timedelta(days=14)
    sign_in(client, user)
    expired = verify(client, user, ids[2], list(deposits[ids[2]]))
    assert expired.status_code == 409 and error_code(expired) == "VERIFICATION_FAILED", expired.text
    a, b = deposits[ids[3]]
    clock.advance(days=30)
    sign_in(client, user)
    late_wrong = verify(client, user, ids[3], wrong_pairs(a, b)[0])
    assert late_wrong.status_code == 409 and error_code(late_wrong) == "VERIFICATION_FAILED", late_wrong.text

    for bank_account_id in ids[2:]:
        item = account_item(db, user, bank_account_id)
        assert item["status"] == "failed" and item["failureReason"] == "not_verified_in_time" and item["attemptsLeft"] == 3
        assert DEADLINE_PARTITION not in item
        assert account_events(db, user, bank_account_id) == ["bank_account_added", "bank_account_failed"]
        again = verify(client, user, bank_account_id, list(deposits[bank_account_id]))
        assert again.status_code == 409 and error_code(again) == "VERIFICATION_FAILED"
    statuses = {account["bankAccountId"]: account["status"] for account in listed(client, user)["items"]}
    assert statuses == {ids[0]: "verified", ids[1]: "verified", ids[2]: "failed", ids[3]: "failed"}


def test_a_failed_account_blocks_its_numbers_until_it_is_closed(client: TestClient, app: FastAPI, db: Dynamo, clock: FakeClock) -> None:
    user = someone(app)
    bank_account_id = registered(client, user)
    clock.advance(days=14)
    sign_in(client, user)
    assert verify(client, user, bank_account_id, list(deposits_of(db, user, bank_account_id))).status_code == 409
    again = register(client, user)  # "register it again" needs the failed one closed first: it is not closed
    assert again.status_code == 409 and error_code(again) == "DUPLICATE_BANK_ACCOUNT"
    assert client.delete(f"/bank-accounts/{bank_account_id}", headers=user.headers).status_code == 204
    assert {payment["status"] for payment in payments_of(db, bank_account_id)} == {"cancelled"}
    fresh = register(client, user)
    assert fresh.status_code == 201 and fresh.json()["status"] == "pending_verification"


# --- duplicates ------------------------------------------------------------------------------------


def test_the_same_numbers_twice_are_refused_and_write_nothing(client: TestClient, app: FastAPI, db: Dynamo) -> None:
    user = someone(app)
    registered(client, user)
    before = whole_table(db)
    for changes in ({}, {"accountHolderName": "Someone Else", "accountType": "savings"}, {"accountHolderName": "  Ada Lovelace "}):
        again = register(client, user, **changes)
        assert again.status_code == 409, again.text
        assert again.json()["error"]["code"] == "DUPLICATE_BANK_ACCOUNT" and again.json()["error"]["requestId"]
    assert whole_table(db) == before
    assert len(listed(client, user)["items"]) == 1


def test_numbers_that_only_share_last4s_or_one_number_are_different_accounts(client: TestClient, app: FastAPI, db: Dynamo) -> None:
    user = someone(app)
    ids = [registered(client, user)]
    for changes in (
        {"accountNumber": "999123456789"},  # same last 4 of both numbers, other account number
        {"routingNumber": "010040021"},  # same last 4 of both numbers, other routing number
        {"accountNumber": "123456789"},  # the same digits without the leading zeros: another string the bank sees
        {"routingNumber": "122105155"},  # the same account number at another bank
    ):
        response = register(client, user, **changes)
        assert response.status_code == 201, (changes, response.text)
        ids.append(response.json()["bankAccountId"])
    assert len(listed(client, user)["items"]) == 5
    assert len({deposits_of(db, user, bank_account_id) for bank_account_id in ids}) > 1  # each account draws its own secret


def test_another_user_may_register_the_same_numbers(client: TestClient, app: FastAPI) -> None:
    first, second = someone(app), someone(app)
    one, two = registered(client, first), registered(client, second)
    assert one != two
    assert [account["bankAccountId"] for account in listed(client, first)["items"]] == [one]
    assert [account["bankAccountId"] for account in listed(client, second)["items"]] == [two]


def test_closed_numbers_may_be_registered_again_as_a_new_account(client: TestClient, app: FastAPI, db: Dynamo) -> None:
    user = someone(app)
    old = registered(client, user)
    assert client.delete(f"/bank-accounts/{old}", headers=user.headers).status_code == 204
    new = registered(client, user)
    assert new != old
    assert account_item(db, user, new)["status"] == "pending_verification" and len(payments_of(db, new)) == 3
    assert account_item(db, user, old)["status"] == "closed"
    again = register(client, user)
    assert again.status_code == 409 and error_code(again) == "DUPLICATE_BANK_ACCOUNT"
