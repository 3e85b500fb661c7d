"""Real threads against DynamoDB Local: simultaneous requests on one user's bank accounts never break the rules.

"One app": every thread has its own TestClient over the same app (its writers of one user take turns in-process).
"Eight apps": each thread has an app of its own over the same table, as separate Lambda sandboxes would: only
DynamoDB's conditions stand between them.

The apps and their one user are the module's (registering a user is the slow part); each test works on
account numbers with last-4s of its own, so no test sees another's accounts or locks.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.db.dynamo import Dynamo
from app.db.errors import ConditionFailed
from app.db.expressions import Expression
from app.db.keys import BANK, BANK_LAST4, EVENT, bank_account_key, payment_owner, payment_partition, user_partition
from app.db.table import DEADLINE_INDEX, DEADLINE_PARTITION, GSI1_NAME, PARTITION_KEY, SORT_KEY
from app.jsonio import dumps_exact
from app.main import create_app
from app.payments import items, repository
from tests.conftest import make_settings
from tests.factories import TestUser, a_user
from tests.support.clock import FakeClock

pytestmark = pytest.mark.dynamodb_local

DETAILS = {"accountHolderName": "Ada Lovelace", "accountType": "checking", "routingNumber": "021000021", "accountNumber": "000123456789"}
THREADS = 8

Call = Callable[[TestClient], httpx.Response]


@pytest.fixture(scope="module")
def apps(endpoint_url: str, table_name: str) -> list[FastAPI]:
    """Eight apps over the same table with the same secrets (a token of one works on all), and one clock."""
    settings, clock = make_settings(endpoint_url, table_name), FakeClock()
    return [create_app(settings, clock=clock) for _ in range(THREADS)]


@pytest.fixture(scope="module")
def app(apps: list[FastAPI]) -> FastAPI:
    return apps[0]


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def db(app: FastAPI) -> Dynamo:
    database: Dynamo = app.state.resources.db
    return database


@pytest.fixture(scope="module")
def user(app: FastAPI) -> TestUser:
    return a_user(app)


def race(apps: list[FastAPI], calls: list[Call]) -> list[httpx.Response]:
    """Each call in its own thread with its own client (on apps[i % len(apps)]), all released at the same moment."""
    barrier = threading.Barrier(len(calls))

    def run(numbered: tuple[int, Call]) -> httpx.Response:
        index, call = numbered
        client = TestClient(apps[index % len(apps)], raise_server_exceptions=False)
        barrier.wait()
        return call(client)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, enumerate(calls)))


def register_call(user: TestUser, **changes: Any) -> Call:
    return lambda client: client.post("/bank-accounts", json={**DETAILS, **changes}, headers=user.headers)


def verify_call(user: TestUser, bank_account_id: str, amounts: list[Decimal]) -> Call:
    body = dumps_exact({"amounts": amounts}).encode()
    headers = {**user.headers, "Content-Type": "application/json"}
    return lambda client: client.post(f"/bank-accounts/{bank_account_id}/verify", content=body, headers=headers)


def close_call(user: TestUser, bank_account_id: str) -> Call:
    return lambda client: client.delete(f"/bank-accounts/{bank_account_id}", headers=user.headers)


def user_items(db: Dynamo, user: TestUser, prefix: str) -> list[dict[str, Any]]:
    condition = Expression(
        f"{PARTITION_KEY} = :pk AND begins_with({SORT_KEY}, :prefix)", values={":pk": user_partition(user.user_id), ":prefix": prefix}
    )
    return db.query_all(condition, consistent=True)


def payments_of(db: Dynamo, bank_account_id: str) -> list[dict[str, Any]]:
    condition = Expression(f"{SORT_KEY} = :owner", values={":owner": payment_owner(loan_id=None, bank_account_id=bank_account_id)})
    return db.query_all(condition, index=GSI1_NAME)


def accounts_ending(db: Dynamo, user: TestUser, last4: str) -> list[dict[str, Any]]:
    """The user's accounts (closed ones included) whose account number ends in `last4`."""
    return [item for item in user_items(db, user, BANK) if item["accountLast4"] == last4]


def lock_of(db: Dynamo, user: TestUser, last4: str) -> dict[str, Any]:
    (lock,) = [item for item in user_items(db, user, BANK_LAST4) if str(item[SORT_KEY]).endswith(f"#{last4}")]
    return lock


def scheduled_payments_of(db: Dynamo, user: TestUser) -> list[dict[str, Any]]:
    """Every scheduled payment in the table that is the user's (GSI2 ACHPAY#scheduled), orphans included."""
    condition = Expression(f"{DEADLINE_PARTITION} = :status", values={":status": "ACHPAY#scheduled"})
    return [payment for payment in db.query_all(condition, index=DEADLINE_INDEX) if payment.get("ownerId") == user.user_id]


def assert_no_orphan_payments(db: Dynamo, user: TestUser) -> None:
    """Every scheduled payment of the user belongs to one of their accounts: no lost attempt left one behind."""
    ids = {item["bankAccountId"] for item in user_items(db, user, BANK)}
    assert {payment["bankAccountId"] for payment in scheduled_payments_of(db, user)} <= ids


def payment_event_types(db: Dynamo, payment_id: str) -> list[str]:
    condition = Expression(
        f"{PARTITION_KEY} = :pk AND begins_with({SORT_KEY}, :event)", values={":pk": payment_partition(payment_id), ":event": EVENT}
    )
    return sorted(str(event["type"]) for event in db.query_all(condition, consistent=True))


def account_event_types(db: Dynamo, user: TestUser, bank_account_id: str) -> Counter[str]:
    return Counter(str(event["type"]) for event in user_items(db, user, EVENT) if event.get("bankAccountId") == bank_account_id)


def account(db: Dynamo, user: TestUser, bank_account_id: str) -> dict[str, Any]:
    item = db.get(bank_account_key(user.user_id, bank_account_id))
    assert item is not None
    return item


def deposits_of(db: Dynamo, user: TestUser, bank_account_id: str) -> list[Decimal]:
    return [Decimal(str(value)) for value in account(db, user, bank_account_id)["microDeposits"]]


def registered(client: TestClient, user: TestUser, **changes: Any) -> str:
    response = client.post("/bank-accounts", json={**DETAILS, **changes}, headers=user.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["bankAccountId"])


def codes(responses: list[httpx.Response]) -> Counter[tuple[int, str | None]]:
    return Counter((r.status_code, r.json()["error"]["code"] if r.status_code >= 400 else None) for r in responses)


@pytest.mark.parametrize(("spread", "last4"), [(1, "1001"), (THREADS, "1002")], ids=["one-app", "eight-apps"])
def test_eight_simultaneous_registrations_of_the_same_numbers_make_one_account(
    apps: list[FastAPI], db: Dynamo, user: TestUser, spread: int, last4: str
) -> None:
    # Given: one user; When: eight registrations of the same numbers at the same moment
    responses = race(apps[:spread], [register_call(user, accountNumber=f"00012345{last4}") for _ in range(THREADS)])
    # Then: one account, seven duplicates
    assert codes(responses) == {(201, None): 1, (409, "DUPLICATE_BANK_ACCOUNT"): THREADS - 1}, [r.text for r in responses]
    (winner,) = [r.json()["bankAccountId"] for r in responses if r.status_code == 201]
    accounts = accounts_ending(db, user, last4)
    assert [item["bankAccountId"] for item in accounts if item["status"] != "closed"] == [winner] == [a["bankAccountId"] for a in accounts]
    # ... with its three micro-deposits and nothing else: no losing attempt left a payment behind
    assert len(payments_of(db, winner)) == 3 and account(db, user, winner)["openPayments"] == 3
    assert_no_orphan_payments(db, user)
    assert account_event_types(db, user, winner) == {"bank_account_added": 1}
    assert lock_of(db, user, last4)["version"] == 1


def test_simultaneous_registrations_of_different_numbers_with_the_same_last4s_all_succeed(
    apps: list[FastAPI], db: Dynamo, user: TestUser
) -> None:
    numbers = [f"{n}000{n}2003" for n in range(1, 6)]  # all end in 2003, as the routing numbers all end in 0021
    responses = race(apps, [register_call(user, accountNumber=number) for number in numbers])
    assert codes(responses) == {(201, None): len(numbers)}, [r.text for r in responses]
    assert {r.json()["accountNumberLast4"] for r in responses} == {"2003"}
    accounts = accounts_ending(db, user, "2003")
    assert len(accounts) == len(numbers)
    assert lock_of(db, user, "2003")["version"] == len(numbers)  # every registration took its turn on the lock
    assert all(len(payments_of(db, item["bankAccountId"])) == 3 for item in accounts)
    assert_no_orphan_payments(db, user)


def test_simultaneous_wrong_pairs_spend_each_attempt_exactly_once(
    apps: list[FastAPI], client: TestClient, db: Dynamo, user: TestUser
) -> None:
    bank_account_id = registered(client, user, accountNumber="30003003")
    a, _ = deposits_of(db, user, bank_account_id)
    wrong = [a, a]
    responses = race(apps[:5], [verify_call(user, bank_account_id, wrong) for _ in range(5)])
    assert codes(responses) == {(422, "VERIFICATION_MISMATCH"): 3, (409, "VERIFICATION_FAILED"): 2}, [r.text for r in responses]
    left = sorted(r.json()["error"]["details"][0]["attemptsLeft"] for r in responses if r.status_code == 422)
    assert left == [0, 1, 2]
    item = account(db, user, bank_account_id)
    assert item["status"] == "failed" and item["attemptsLeft"] == 0
    assert account_event_types(db, user, bank_account_id) == {"bank_account_added": 1, "bank_account_failed": 1}


def test_simultaneous_right_pairs_verify_once(apps: list[FastAPI], client: TestClient, db: Dynamo, user: TestUser) -> None:
    bank_account_id = registered(client, user, accountNumber="30004004")
    a, b = deposits_of(db, user, bank_account_id)
    responses = race(apps[:4], [verify_call(user, bank_account_id, [a, b] if n % 2 else [b, a]) for n in range(4)])
    assert codes(responses) == {(200, None): 4}, [r.text for r in responses]
    assert {r.json()["status"] for r in responses} == {"verified"}
    assert len({r.json()["verifiedAt"] for r in responses}) == 1
    assert account_event_types(db, user, bank_account_id) == {"bank_account_added": 1, "bank_account_verified": 1}


def test_simultaneous_closes_close_once(apps: list[FastAPI], client: TestClient, db: Dynamo, user: TestUser) -> None:
    bank_account_id = registered(client, user, accountNumber="30005005")
    responses = race(apps[:4], [close_call(user, bank_account_id) for _ in range(4)])
    outcomes = codes(responses)
    assert outcomes[(204, None)] == 1, [r.text for r in responses]
    # the losers answer 404; a 409 BANK_ACCOUNT_IN_USE among them is the bug the next test pins down
    assert set(outcomes) <= {(204, None), (404, "NOT_FOUND"), (409, "BANK_ACCOUNT_IN_USE")}, [r.text for r in responses]
    item = account(db, user, bank_account_id)
    assert item["status"] == "closed" and item["openPayments"] == 0
    for payment in payments_of(db, bank_account_id):
        assert payment["status"] == "cancelled"
        assert payment_event_types(db, payment["paymentId"]) == ["payment_cancelled", "payment_scheduled"]
    assert account_event_types(db, user, bank_account_id) == {"bank_account_added": 1, "bank_account_closed": 1}


def test_a_verify_racing_a_close_ends_closed_with_nothing_open(apps: list[FastAPI], client: TestClient, db: Dynamo, user: TestUser) -> None:
    outcomes: Counter[int] = Counter()
    for n in range(3):
        bank_account_id = registered(client, user, accountNumber=f"8100{n:04d}")
        verified, closed = race(
            apps[:2], [verify_call(user, bank_account_id, deposits_of(db, user, bank_account_id)), close_call(user, bank_account_id)]
        )
        assert closed.status_code == 204, closed.text  # a verified account closes too
        assert verified.status_code in (200, 404), verified.text
        outcomes[verified.status_code] += 1
        item = account(db, user, bank_account_id)
        assert item["status"] == "closed" and item["openPayments"] == 0
        assert {payment["status"] for payment in payments_of(db, bank_account_id)} == {"cancelled"}
        events = account_event_types(db, user, bank_account_id)
        assert events["bank_account_verified"] == (1 if verified.status_code == 200 else 0) and events["bank_account_closed"] == 1
    assert sum(outcomes.values()) == 3


def test_a_close_racing_a_files_claim_never_cancels_a_claimed_payment(
    apps: list[FastAPI], client: TestClient, db: Dynamo, user: TestUser
) -> None:
    outcomes: Counter[str] = Counter()
    for n in range(4):
        # Given: a fresh account; When: the send job claims one micro-deposit while its owner closes the account
        bank_account_id = registered(client, user, accountNumber=f"8200{n:04d}")
        target = payments_of(db, bank_account_id)[0]
        params = items.claim(target, file_id=f"file-{n}", account=account(db, user, bank_account_id))
        claimed: list[bool] = []

        def claim(_: TestClient, params: dict[str, Any] = params, claimed: list[bool] = claimed) -> httpx.Response:
            try:
                db.update(params["key"], params["update"], condition=params["condition"])
                claimed.append(True)
            except ConditionFailed:
                claimed.append(False)
            return httpx.Response(200)

        _, closed = race(apps[:2], [claim, close_call(user, bank_account_id)])
        # Then: exactly one of them wins, and the books agree with it
        item = account(db, user, bank_account_id)
        payments = {payment["paymentId"]: payment for payment in payments_of(db, bank_account_id)}
        if claimed == [True]:
            assert closed.status_code == 409 and closed.json()["error"]["code"] == "BANK_ACCOUNT_IN_USE", closed.text
            assert item["status"] == "pending_verification" and item["openPayments"] == 3
            assert {payment["status"] for payment in payments.values()} == {"scheduled"}
            assert payments[target["paymentId"]]["fileId"] == f"file-{n}"
            outcomes["claim first"] += 1
        else:
            assert closed.status_code == 204, closed.text
            assert item["status"] == "closed" and item["openPayments"] == 0
            assert {payment["status"] for payment in payments.values()} == {"cancelled"}
            assert not any("fileId" in payment for payment in payments.values())
            outcomes["close first"] += 1
    assert sum(outcomes.values()) == 4


def test_a_close_that_loses_to_another_close_answers_not_found(
    apps: list[FastAPI], client: TestClient, db: Dynamo, user: TestUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic: the first close has read the account when the second one (another app) commits."""
    bank_account_id = registered(client, user, accountNumber="30006006")
    query = repository.payments_of_owner
    other = TestClient(apps[1], raise_server_exceptions=False)

    def closed_meanwhile(database: Dynamo, **kwargs: Any) -> Any:
        monkeypatch.setattr(repository, "payments_of_owner", query)  # once
        assert other.delete(f"/bank-accounts/{bank_account_id}", headers=user.headers).status_code == 204
        return query(database, **kwargs)

    monkeypatch.setattr(repository, "payments_of_owner", closed_meanwhile)
    response = client.delete(f"/bank-accounts/{bank_account_id}", headers=user.headers)
    monkeypatch.undo()
    assert account(db, user, bank_account_id)["status"] == "closed"
    assert response.status_code == 404, response.text
