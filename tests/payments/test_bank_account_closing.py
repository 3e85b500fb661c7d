"""Closing bank accounts (micro-deposits cancelled; refused while a payment is in flight), lists (pages, newest first,
never closed or other people's), other people's ids, tokens that outlived their account, and the numbers never
appearing anywhere but in their ciphertexts.

The email gate is tested in test_bank_account_validation.py; here it is off, as in test_bank_account_rules.py
(whose helpers these tests share).
"""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.clock import iso
from app.config import Settings, local_ach_key
from app.db.dynamo import Dynamo
from app.db.expressions import Expression
from app.db.keys import bank_account_key, payment_partition, user_key, user_partition
from app.db.table import DEADLINE_PARTITION, PARTITION_KEY, SORT_KEY
from app.payments import sealing
from tests.conftest import make_settings
from tests.loans.helpers import create_loan
from tests.payments.test_bank_account_rules import (
    account_events,
    account_item,
    deposits_of,
    error_code,
    events_of_payment,
    listed,
    partition,
    payments_of,
    register,
    registered,
    snapshot,
    someone,
    verify,
    wrong_pairs,
)
from tests.support.clock import FakeClock
from tests.support.table import whole_table


@pytest.fixture
def settings(endpoint_url: str, table_name: str) -> Settings:
    return make_settings(endpoint_url, table_name, email_verification="off")


# --- closing ---------------------------------------------------------------------------------------


def test_closing_a_fresh_account_cancels_its_micro_deposits(client: TestClient, app: FastAPI, db: Dynamo, clock: FakeClock) -> None:
    user = someone(app)
    bank_account_id = registered(client, user)
    clock.advance(minutes=5)
    response = client.delete(f"/bank-accounts/{bank_account_id}", headers=user.headers)
    assert response.status_code == 204 and response.content == b""

    item = account_item(db, user, bank_account_id)
    assert item["status"] == "closed" and item["openPayments"] == 0 and item["closedAt"] == iso(clock.now())
    assert DEADLINE_PARTITION not in item
    payments = payments_of(db, bank_account_id)
    assert len(payments) == 3
    for payment in payments:
        assert payment["status"] == "cancelled" and payment["cancelReason"] == "account_closed"
        assert payment[DEADLINE_PARTITION] == "ACHPAY#cancelled"
        types = sorted(event["type"] for event in events_of_payment(db, payment["paymentId"]))
        assert types == ["payment_cancelled", "payment_scheduled"]
    assert account_events(db, user, bank_account_id) == ["bank_account_added", "bank_account_closed"]

    assert listed(client, user)["items"] == []
    second = client.delete(f"/bank-accounts/{bank_account_id}", headers=user.headers)
    assert second.status_code == 404 and error_code(second) == "NOT_FOUND"
    closed_verify = verify(client, user, bank_account_id, [Decimal("0.10"), Decimal("0.20")])
    assert closed_verify.status_code == 404 and error_code(closed_verify) == "NOT_FOUND"


def _claim_by_a_file(db: Dynamo, payment: dict[str, Any], **extra: Any) -> None:
    """As if an outbound file had claimed the payment (the send job's first step)."""
    sets = {"fileId": "file-under-test", **extra}
    names = {f"#a{i}": name for i, name in enumerate(sets)}
    values = {f":a{i}": value for i, value in enumerate(sets.values())}
    update = Expression("SET " + ", ".join(f"#a{i} = :a{i}" for i in range(len(sets))), names=names, values=values)
    db.update({PARTITION_KEY: payment["PK"], SORT_KEY: payment["SK"]}, update)


@pytest.mark.parametrize("in_flight", [{}, {"status": "submitted", "traceNumber": "021000020000001"}])
def test_an_account_with_a_payment_in_flight_cannot_be_closed(
    client: TestClient, app: FastAPI, db: Dynamo, in_flight: dict[str, str]
) -> None:
    user = someone(app)
    bank_account_id = registered(client, user)
    claimed, *_ = payments_of(db, bank_account_id)
    _claim_by_a_file(db, claimed, **in_flight)
    before = snapshot(db, user)

    refused = client.delete(f"/bank-accounts/{bank_account_id}", headers=user.headers)
    assert refused.status_code == 409, refused.text
    assert error_code(refused) == "BANK_ACCOUNT_IN_USE"
    assert snapshot(db, user) == before  # nothing cancelled, nothing closed
    assert [account["status"] for account in listed(client, user)["items"]] == ["pending_verification"]


def test_an_account_whose_micro_deposits_all_settled_can_be_closed(client: TestClient, app: FastAPI, db: Dynamo) -> None:
    # Given: the jobs have sent and settled the three micro-deposits (set up in the table as they would leave it)
    user = someone(app)
    bank_account_id = registered(client, user)
    a, b = deposits_of(db, user, bank_account_id)
    assert verify(client, user, bank_account_id, [a, b]).status_code == 200
    for payment in payments_of(db, bank_account_id):
        _claim_by_a_file(db, payment, status="settled")
    db.update(bank_account_key(user.user_id, bank_account_id), Expression("SET openPayments = :zero", values={":zero": 0}))
    # When/Then: it closes, and the settled payments stay as they are
    assert client.delete(f"/bank-accounts/{bank_account_id}", headers=user.headers).status_code == 204
    assert account_item(db, user, bank_account_id)["status"] == "closed"
    assert {payment["status"] for payment in payments_of(db, bank_account_id)} == {"settled"}


def test_an_account_an_active_loan_uses_cannot_be_closed(client: TestClient, app: FastAPI, db: Dynamo) -> None:
    borrower, lender = someone(app), someone(app)
    bank_account_id = registered(client, lender)
    loan_id = create_loan(client, borrower, [(lender, "100.00")])["loanId"]
    accepted = client.put(f"/lender/accept/{loan_id}", json={"bankAccountId": bank_account_id}, headers=lender.headers)
    assert accepted.status_code == 200 and accepted.json()["loanStatus"] == "active", accepted.text

    refused = client.delete(f"/bank-accounts/{bank_account_id}", headers=lender.headers)
    assert refused.status_code == 409, refused.text
    assert error_code(refused) == "BANK_ACCOUNT_IN_USE"
    assert account_item(db, lender, bank_account_id)["status"] == "pending_verification"


# --- lists -----------------------------------------------------------------------------------------


def test_the_list_pages_newest_first_without_closed_or_other_peoples_accounts(client: TestClient, app: FastAPI, clock: FakeClock) -> None:
    user, other = someone(app), someone(app)
    registered(client, other)
    ids = []
    for n in range(3):
        ids.append(registered(client, user, accountNumber=f"7000{n:04d}"))
        clock.advance(minutes=1)

    first = listed(client, user, "?limit=2")
    assert [account["bankAccountId"] for account in first["items"]] == [ids[2], ids[1]]
    assert first["nextCursor"]
    second = listed(client, user, f"?limit=2&cursor={first['nextCursor']}")
    assert [account["bankAccountId"] for account in second["items"]] == [ids[0]]
    assert second["nextCursor"] is None
    created = [account["createdAt"] for account in first["items"] + second["items"]]
    assert created == sorted(created, reverse=True) and len(set(created)) == 3

    assert client.delete(f"/bank-accounts/{ids[1]}", headers=user.headers).status_code == 204
    assert [account["bankAccountId"] for account in listed(client, user)["items"]] == [ids[2], ids[0]]
    paged: list[str] = []
    cursor = ""
    while True:
        page = listed(client, user, f"?limit=1{cursor}")
        paged.extend(account["bankAccountId"] for account in page["items"])
        if page["nextCursor"] is None:
            break
        cursor = f"&cursor={page['nextCursor']}"
    assert paged == [ids[2], ids[0]]
    assert [account["bankAccountId"] for account in listed(client, other)["items"]] != []
    assert not set(ids) & {account["bankAccountId"] for account in listed(client, other)["items"]}

    # a cursor edited, cut, made up, or borrowed by another user is refused
    cursor = listed(client, user, "?limit=1")["nextCursor"]
    assert cursor
    flipped = cursor[:-2] + ("A" if cursor[-2] != "A" else "B") + cursor[-1]
    for bad, caller in ((flipped, user), (cursor[:-4], user), ("not-a-cursor", user), (cursor, other)):
        response = client.get("/bank-accounts", params={"limit": 1, "cursor": bad}, headers=caller.headers)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR"
        assert error["details"][0]["field"] == "cursor" and error["details"][0]["location"] == "query"


# --- other people's accounts -----------------------------------------------------------------------


def test_someone_elses_account_is_not_found_and_left_alone(client: TestClient, app: FastAPI, db: Dynamo) -> None:
    owner, intruder = someone(app), someone(app)
    bank_account_id = registered(client, owner)
    a, b = deposits_of(db, owner, bank_account_id)
    before = snapshot(db, owner)
    for amounts in ([a, b], wrong_pairs(a, b)[0]):
        response = verify(client, intruder, bank_account_id, amounts)
        assert response.status_code == 404 and error_code(response) == "NOT_FOUND", response.text
    response = client.delete(f"/bank-accounts/{bank_account_id}", headers=intruder.headers)
    assert response.status_code == 404 and error_code(response) == "NOT_FOUND"
    assert snapshot(db, owner) == before
    assert listed(client, intruder)["items"] == []


# --- a token that outlived its account ---------------------------------------------------------------


def test_a_deleted_accounts_token_registers_nothing(client: TestClient, app: FastAPI, db: Dynamo) -> None:
    user = someone(app)
    db.delete(user_key(user.user_id))
    before = snapshot(db, user)
    response = register(client, user)
    assert response.status_code == 401 and error_code(response) == "UNAUTHENTICATED", response.text
    assert snapshot(db, user) == before


@pytest.mark.parametrize("action", ["verify", "close"])
def test_a_deleted_accounts_token_cannot_verify_or_close(client: TestClient, app: FastAPI, db: Dynamo, action: str) -> None:
    user = someone(app)
    bank_account_id = registered(client, user)
    a, b = deposits_of(db, user, bank_account_id)
    db.delete(user_key(user.user_id))
    before = snapshot(db, user)
    if action == "verify":
        response = verify(client, user, bank_account_id, [a, b])
    else:
        response = client.delete(f"/bank-accounts/{bank_account_id}", headers=user.headers)
    assert response.status_code == 401, response.text
    assert snapshot(db, user) == before


# --- the numbers, nowhere ----------------------------------------------------------------------------

ROUTING, ACCOUNT = "267084131", "90817263544536"
BAD_ROUTING = "267084132"


def test_the_numbers_appear_nowhere_but_in_their_ciphertexts(
    client: TestClient, app: FastAPI, db: Dynamo, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    user = someone(app)
    caplog.set_level(logging.DEBUG)
    numbers = {"routingNumber": ROUTING, "accountNumber": ACCOUNT}
    responses = [register(client, user, routingNumber=BAD_ROUTING, accountNumber=ACCOUNT)]  # refused: bad checksum
    responses.append(register(client, user, **numbers))
    bank_account_id = responses[-1].json()["bankAccountId"]
    responses.append(register(client, user, **numbers))  # duplicate
    a, b = deposits_of(db, user, bank_account_id)
    responses.append(verify(client, user, bank_account_id, wrong_pairs(a, b)[0]))
    responses.append(verify(client, user, bank_account_id, [a, b]))
    responses.append(client.get("/bank-accounts", headers=user.headers))
    responses.append(client.delete(f"/bank-accounts/{bank_account_id}", headers=user.headers))
    stored = partition(db, user_partition(user.user_id)) + [
        item for payment in payments_of(db, bank_account_id) for item in partition(db, payment_partition(payment["paymentId"]))
    ]
    assert [response.status_code for response in responses] == [422, 201, 409, 422, 200, 200, 204]

    secrets = (ROUTING, ACCOUNT, BAD_ROUTING)
    for response in responses:
        text = response.text + json.dumps(dict(response.headers))
        assert not any(secret in text for secret in secrets), text
    assert len(stored) >= 3 + 3 * 3  # the account, its lock, its events; each payment and its two events
    assert not any(secret in str(item) for item in stored for secret in secrets)
    assert not any(secret in json.dumps(whole_table(db)) for secret in secrets)
    logged = caplog.text + "".join(str(record.__dict__) for record in caplog.records) + capsys.readouterr().out
    assert not any(secret in logged for secret in secrets)

    # ... and what is stored does open to exactly those numbers, for this account only
    item = account_item(db, user, bank_account_id)
    assert "routingNumber" not in item and "accountNumber" not in item
    assert item["routingLast4"] == ROUTING[-4:] and item["accountLast4"] == ACCOUNT[-4:]
    key = local_ach_key(app.state.settings)
    assert key is not None
    keys = sealing.LocalDataKeys(key)
    assert sealing.unseal(keys=keys, binding=sealing.Binding.bank_account(user.user_id, bank_account_id), item=item) == numbers
    with pytest.raises(sealing.AchDecryptionFailed):
        sealing.unseal(keys=keys, binding=sealing.Binding.bank_account(user.user_id, "0190f3a1-0000-7000-8000-000000000000"), item=item)
