"""Bank accounts over HTTP: register, list, verify by micro-deposits, close (DynamoDB Local)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.db.dynamo import Dynamo
from app.db.keys import bank_account_key
from tests.factories import TestUser, a_user

DETAILS = {"accountHolderName": "Ada Lovelace", "accountType": "checking", "routingNumber": "021000021", "accountNumber": "000123456789"}


def register(client: TestClient, user: TestUser, **changes: Any) -> Any:
    return client.post("/bank-accounts", json={**DETAILS, **changes}, headers=user.headers)


def deposits_of(db: Dynamo, user: TestUser, bank_account_id: str) -> list[float]:
    item = db.get(bank_account_key(user.user_id, bank_account_id)) or {}
    return [float(value) for value in item["microDeposits"]]


def test_a_new_account_is_pending_and_never_shows_its_numbers(client: TestClient, app: FastAPI, db: Dynamo) -> None:
    user = a_user(app)
    response = register(client, user)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "pending_verification"
    assert body["verificationAttemptsLeft"] == 3
    assert body["routingNumberLast4"] == "0021" and body["accountNumberLast4"] == "6789"
    assert "000123456789" not in response.text
    item = db.get(bank_account_key(user.user_id, body["bankAccountId"])) or {}
    assert "000123456789" not in str(item) and "021000021" not in str(item)
    listed = client.get("/bank-accounts", headers=user.headers).json()
    assert [a["bankAccountId"] for a in listed["items"]] == [body["bankAccountId"]]


def test_the_same_numbers_twice_are_a_conflict(client: TestClient, app: FastAPI) -> None:
    user = a_user(app)
    assert register(client, user).status_code == 201
    again = register(client, user, accountHolderName="Someone Else")
    assert again.status_code == 409 and again.json()["error"]["code"] == "DUPLICATE_BANK_ACCOUNT"
    other = register(client, user, accountNumber="999123456789")  # same last 4, other number
    assert other.status_code == 201


def test_verify_right_wrong_and_failed(client: TestClient, app: FastAPI, db: Dynamo) -> None:
    user = a_user(app)
    first = register(client, user).json()["bankAccountId"]
    a, b = deposits_of(db, user, first)
    right = client.post(f"/bank-accounts/{first}/verify", json={"amounts": [b, a]}, headers=user.headers)
    assert right.status_code == 200 and right.json()["status"] == "verified", right.text

    second = register(client, user, accountNumber="55554444").json()["bankAccountId"]
    a, b = deposits_of(db, user, second)
    wrong = [round(a + 0.01, 2) if a < 0.99 else 0.98, b]
    if sorted(wrong) == sorted([a, b]):
        wrong = [a, a]
    for left in (2, 1, 0):
        miss = client.post(f"/bank-accounts/{second}/verify", json={"amounts": wrong}, headers=user.headers)
        assert miss.status_code == 422, miss.text
        assert miss.json()["error"]["code"] == "VERIFICATION_MISMATCH"
        assert miss.json()["error"]["details"][0]["attemptsLeft"] == left
    final = client.post(f"/bank-accounts/{second}/verify", json={"amounts": [a, b]}, headers=user.headers)
    assert final.status_code == 409 and final.json()["error"]["code"] == "VERIFICATION_FAILED"


def test_close_cancels_unsent_micro_deposits(client: TestClient, app: FastAPI, db: Dynamo) -> None:
    user = a_user(app)
    account = register(client, user).json()["bankAccountId"]
    assert client.delete(f"/bank-accounts/{account}", headers=user.headers).status_code == 204
    assert client.get("/bank-accounts", headers=user.headers).json()["items"] == []
    item = db.get(bank_account_key(user.user_id, account)) or {}
    assert item["status"] == "closed" and item["openPayments"] == Decimal(0)
    assert client.delete(f"/bank-accounts/{account}", headers=user.headers).status_code == 404
    assert register(client, user).status_code == 201  # a closed account's numbers may be registered again


def test_someone_elses_account_is_not_found(client: TestClient, app: FastAPI) -> None:
    owner, other = a_user(app), a_user(app)
    account = register(client, owner).json()["bankAccountId"]
    assert client.post(f"/bank-accounts/{account}/verify", json={"amounts": [0.1, 0.2]}, headers=other.headers).status_code == 404
    assert client.delete(f"/bank-accounts/{account}", headers=other.headers).status_code == 404
