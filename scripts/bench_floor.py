"""The floor for scripts/bench.py: the bare DynamoDB calls each endpoint needs, issued directly with boto3.

Same DynamoDB Local, same concurrency, same keys as the endpoints use; no FastAPI, no pydantic, no
our-own data layer. Login's floor adds one password verify (the same argon2id parameters).
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from app.db import keys
from app.db.table import GSI1_NAME

_ser = TypeSerializer()


def _item(values: dict[str, Any]) -> dict[str, Any]:
    return {name: _ser.serialize(value) for name, value in values.items()}


class Floor:
    def __init__(self, client: Any, table: str, users: list[dict[str, str]], loan_ids: list[str], verify: Callable[[], None]) -> None:
        self.client, self.table, self.users, self.loan_ids, self.verify = client, table, users, loan_ids, verify

    def _user(self, n: int) -> dict[str, str]:
        return self.users[n % len(self.users)]

    def profile(self, n: int) -> None:
        self.client.get_item(TableName=self.table, Key=_item(keys.user_key(self._user(n)["userId"])), ConsistentRead=True)

    def get_loan(self, n: int) -> None:
        self.client.query(
            TableName=self.table, ConsistentRead=True,
            KeyConditionExpression="PK = :pk AND SK >= :sk",
            ExpressionAttributeValues=_item({":pk": keys.loan_partition(self.loan_ids[n % len(self.loan_ids)]), ":sk": keys.INVITE}),
        )

    def _gsi(self, partition: str, limit: int | None = None) -> list[dict[str, Any]]:
        params: dict[str, Any] = {
            "TableName": self.table, "IndexName": GSI1_NAME, "ScanIndexForward": False,
            "KeyConditionExpression": "SK = :sk", "ExpressionAttributeValues": _item({":sk": partition}),
        }
        if limit:
            params["Limit"] = limit
        return list(self.client.query(**params).get("Items", []))

    def my_loans(self, n: int) -> None:
        self._gsi(keys.user_partition(self._user(n)["userId"]), limit=21)

    def pending(self, n: int) -> None:
        invitations = self._gsi(keys.invitation_sort_key(self._user(n)["email"]), limit=20)
        loan_keys = [{"PK": i["PK"], "SK": {"S": keys.USER + i["borrowerId"]["S"]}} for i in invitations if "borrowerId" in i]
        if loan_keys:
            self.client.batch_get_item(RequestItems={self.table: {"Keys": loan_keys}})

    def dashboard(self, n: int) -> None:
        self._gsi(keys.user_partition(self._user(n)["userId"]))
        self._gsi(keys.invitation_sort_key(self._user(n)["email"]))

    def login(self, n: int) -> None:
        user = self._user(n)
        self.client.batch_get_item(
            RequestItems={self.table: {"Keys": [_item(keys.email_key(user["email"])), _item(keys.login_throttle_key(user["email"]))]}}
        )
        self.verify()
        self.client.get_item(TableName=self.table, Key=_item(keys.user_key(user["userId"])), ConsistentRead=True)
        self._gsi(keys.invitation_sort_key(user["email"]))
        token = uuid.uuid4().hex
        self.client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": self.table, "Item": _item({**keys.refresh_token_key(token), "userId": user["userId"], "expireAt": 1})}},
                {"Put": {"TableName": self.table, "Item": _item({**keys.session_family_key(token), "userId": user["userId"], "expireAt": 1})}},
            ]
        )

    def create_loan(self, n: int) -> None:
        user = self._user(n)
        self.client.get_item(TableName=self.table, Key=_item(keys.user_key(user["userId"])), ConsistentRead=True)
        loan_id = f"floor-{uuid.uuid4()}"
        puts = [_item({**keys.loan_key(loan_id, user["userId"]), "amount": Decimal(1000), "status": "pending", "purpose": "bench"})]
        puts += [_item({**keys.invitation_key(loan_id, f"l{i}@example.com"), "amount": Decimal(300), "status": "invited"}) for i in range(3)]
        puts.append(_item({**keys.event_key(loan_id, uuid.uuid4().hex), "type": "created"}))
        self.client.transact_write_items(
            TransactItems=[{"Put": {"TableName": self.table, "Item": item, "ConditionExpression": "attribute_not_exists(PK)"}} for item in puts]
        )

    def accept(self, n: int) -> None:
        self.get_loan(n)
        loan_id = f"floor-{uuid.uuid4()}"
        items = [
            {**keys.invitation_key(loan_id, "l@example.com"), "status": "accepted"},
            {**keys.loan_key(loan_id, "b"), "fundedAmount": Decimal(300), "version": 1},
            {**keys.ach_key(loan_id, "lender"), "routingNumber": "x" * 60, "accountNumber": "y" * 60},
            {**keys.user_key(f"floor-{loan_id}"), "roles": {"borrower", "lender"}},
            {**keys.event_key(loan_id, uuid.uuid4().hex), "type": "accepted"},
        ]
        self.client.transact_write_items(TransactItems=[{"Put": {"TableName": self.table, "Item": _item(item)}} for item in items])


FLOOR_OPERATIONS = {
    "login": "login",
    "create loan": "create_loan",
    "get loan": "get_loan",
    "my-loans": "my_loans",
    "pending": "pending",
    "accept": "accept",
    "dashboard": "dashboard",
    "profile": "profile",
}


def measure(floor: Floor, operation: str, concurrency: int, seconds: float) -> float:
    """p50 in ms of the operation's bare calls, `concurrency` threads for `seconds`."""
    call: Callable[[int], None] = getattr(floor, FLOOR_OPERATIONS[operation])
    samples: list[float] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(offset: int) -> None:
        n = offset * 7919
        while time.monotonic() < deadline:
            started = time.perf_counter()
            call(n)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                samples.append(elapsed)
            n += 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statistics.median(samples)
