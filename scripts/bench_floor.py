"""The floor for scripts/bench.py: the bare DynamoDB calls each endpoint makes, issued directly with boto3.

Same DynamoDB Local, same concurrency, same keys, expressions, conditions and item shapes as the
endpoints: the writes of login, the throttle, create-loan and accept are built by the app's own
builders (app/auth/throttle.py attempt_writes, app/auth/repository.py login_operations,
app/loans/transitions.py) and encoded by app/db/expressions.py, so a floor cannot drift from its
endpoint; the reads restate the repositories' key conditions. No FastAPI, no pydantic, no
HTTP, no item -> model mapping. Login's floor adds one password verify (the app's own argon2id
CryptContext). Each call is counted with the app's own botocore hook, so bench.py can check that
the floor makes as many calls as the endpoint did (a drift means this file needs updating).

What each endpoint does today (DynamoDB calls, in order):
  login        UpdateItem throttle (conditional; PutItem when a window is over) + GetItem email claim
               + argon2id verify + GetItem user + Query GSI1 INVITE#<email>
               + TransactWriteItems(Put refresh token, Put session family, [Update user: lender role],
               Delete throttle)
  create loan  GetItem user + TransactWriteItems(Put loan, Put each invitation, Put `created` event),
               every Put conditional (attribute_not_exists)
  get loan     Query PK = LOAN#<id>, SK >= INVITE# (strongly consistent)
  my-loans     Query GSI1 USER#<id>, begins_with LOAN#, newest first, Limit 20
  pending      Query GSI1 INVITE#<email>, filter invited + pending, Limit 20 + BatchGetItem of the loans
  accept       Query the loan partition + TransactWriteItems(Update invitation, Update loan, Put ACH,
               Update user roles, [final: Update every other invitation], Put `accepted` event,
               [final: Put `activated` event]) + GetItem of the live loan (not after a final accept)
  dashboard    Query GSI1 USER#<id> (user + loans) + Query GSI1 INVITE#<email> (lenders only)
  profile      GetItem user
  schedule     Query the loan partition + GetItem SERVICING#<id>/SCHEDULE (strongly consistent)
  payoff       the same two reads
  repayments   Query the loan partition + Query SERVICING#<id> begins_with REPAYMENT#, newest first, Limit 20
  statement    Query the loan partition + Query every repayment (oldest first, strongly consistent)
  repay        Query the loan partition + GetItem schedule + TransactWriteItems(Update loan, Update each
               accepted invitation, Put `repayment_recorded` event, [Put `repaid`], Put repayment, Put schedule,
               ConditionCheck borrower): the transaction the app's own service builds for that loan in
               the untimed preparation (app/servicing/service.py, captured before it is sent)
"""

from __future__ import annotations

import base64
import hashlib
import os
import random
import statistics
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from app.auth import repository as auth_repository
from app.auth import throttle
from app.auth.passwords import verify_password
from app.auth.sessions import NewSession
from app.auth.tokens import Principal
from app.clock import SystemClock, iso, uuid7
from app.db import keys
from app.db.dynamo import Dynamo
from app.db.expressions import Operation, deserialize_item, serialize_item, transaction_item, with_expressions
from app.db.metrics import counting_requests
from app.db.table import GSI1_NAME, PARTITION_KEY, SORT_KEY
from app.loans import transitions
from app.loans.items import NewLoan, ach_item, new_loan_items
from app.loans.records import LoanRecord
from app.servicing import service as servicing_service
from app.users import service as users_service

_serializer = TypeSerializer()
GSI_NAMES = {"#gsiPartition": SORT_KEY, "#gsiSort": PARTITION_KEY}
PAGE = 20
Raw = dict[str, Any]


def _item(values: dict[str, Any]) -> Raw:
    return {name: _serializer.serialize(value) for name, value in values.items()}


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _money(rng: random.Random) -> Decimal:
    return (Decimal(rng.randint(100, 500_000)) / 100).quantize(Decimal("0.01"))


def _cipher(size: int) -> str:
    return base64.b64encode(os.urandom(12 + size + 16)).decode("ascii")  # nonce + ciphertext + GCM tag, as the app stores it


def loan_items(
    *, loan_id: str, borrower: dict[str, str], borrower_name: str, lenders: list[tuple[str, Decimal]], at: str
) -> tuple[Raw, list[Raw]]:
    """The loan item and its invitation items, built by the app's own builder (not serialized)."""
    amount = sum((share for _, share in lenders), Decimal("0"))
    return new_loan_items(
        NewLoan(
            loan_id=loan_id,
            borrower_id=borrower["userId"],
            borrower_name=borrower_name,
            amount=amount,
            purpose="bench: working capital",
            term_months=12,
            interest_rate=Decimal("7.25"),
            lenders=lenders,
            at=at,
            funding_deadline=iso(datetime.fromisoformat(at.replace("Z", "+00:00")) + timedelta(days=14)),
        )
    )


def _actor(user_id: str, email: str, at: str) -> transitions.Actor:
    return transitions.Actor(user_id=user_id, email=email, at=at, request_id=str(uuid.uuid4()))


@dataclass
class AcceptFixture:
    """A loan partition written before the timed part: `email` is invited; `final` if it completes the funding."""

    loan_id: str
    lender: dict[str, str]
    final: bool


class Floor:
    """One method per endpoint: it prepares (untimed) and returns the timed part, the bare calls."""

    def __init__(
        self,
        client: Any,
        table: str,
        users: list[dict[str, str]],
        visible_loans: list[tuple[int, str]],
        password: str,
        final_accept_share: float,
        serviced_loans: list[tuple[int, str]] | None = None,
        borrowed_active: list[tuple[int, str]] | None = None,
    ) -> None:
        self.client, self.table, self.users, self.visible_loans = client, table, users, visible_loans
        self.serviced_loans, self.borrowed_active = serviced_loans or [], borrowed_active or []
        self.password, self.final_accept_share = password, final_accept_share
        self.names = {user["userId"]: f"Bench User{n}" for n, user in enumerate(users)}
        self.transaction_items: dict[str, list[int]] = defaultdict(list)  # operation -> items per TransactWriteItems
        self._local = threading.local()

    # --- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _discard(_: object) -> None:
        """The floor reads and throws away: no mapping to models."""

    def _get(self, key: dict[str, str]) -> Raw | None:
        item: Raw | None = self.client.get_item(TableName=self.table, Key=_item(key), ConsistentRead=True).get("Item")
        return item

    def _query(self, limit: int | None = None, **params: Any) -> list[Raw]:
        """One page at a time like Dynamo.query: topped up until `limit` items, or every page without a limit."""
        items: list[Raw] = []
        start = None
        while True:
            request = dict(params, TableName=self.table)
            if limit is not None:
                request["Limit"] = limit - len(items)
            if start:
                request["ExclusiveStartKey"] = start
            response = self.client.query(**request)
            items.extend(response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if not start or (limit is not None and len(items) >= limit):
                return items

    def _transact(self, operations: list[Raw]) -> None:
        """TransactWriteItems; pure conflicts are retried like app/db/dynamo.py does."""
        self.transaction_items[getattr(self._local, "operation", "?")].append(len(operations))
        for attempt in range(5):
            try:
                self.client.transact_write_items(TransactItems=operations)
                return
            except ClientError as exc:
                reasons = [reason.get("Code") for reason in exc.response.get("CancellationReasons", [])]
                if "TransactionConflict" not in reasons or "ConditionalCheckFailed" in reasons:
                    raise
                time.sleep(random.uniform(0, 0.01 * 2**attempt))
        raise RuntimeError("transaction kept conflicting")

    def _commit(self, operations: list[Operation]) -> None:
        """One TransactWriteItems of operations built by the app's own builders, encoded as the app encodes them."""
        self._transact([transaction_item(self.table, operation) for operation in operations])

    def _loan_partition(self, loan_id: str) -> list[Raw]:
        return self._query(
            KeyConditionExpression="#pk = :pk AND #sk >= :start",
            ExpressionAttributeNames={"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            ExpressionAttributeValues=_item({":pk": keys.loan_partition(loan_id), ":start": keys.INVITE}),
            ScanIndexForward=True,
            ConsistentRead=True,
        )

    # --- the endpoints' calls ------------------------------------------------------------------

    def login(self, rng: random.Random) -> Callable[[], None]:
        user = rng.choice(self.users)
        return lambda: self._login(user)

    def _login(self, user: dict[str, str]) -> None:
        email, now = user["email"], int(time.time())
        writes = throttle.attempt_writes(email, now=now)  # app/auth/throttle.py count_attempt: one UpdateItem in the common case
        try:
            self.client.update_item(
                **with_expressions(
                    {"TableName": self.table, "Key": serialize_item(writes.key), "ReturnValues": "ALL_NEW"},
                    UpdateExpression=writes.count,
                    ConditionExpression=writes.first_or_below_limit,
                )
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                raise
            self.client.put_item(
                **with_expressions({"TableName": self.table, "Item": serialize_item(writes.fresh)}, ConditionExpression=writes.window_over)
            )
        claim = self._get(keys.email_key(email))
        if claim is None or not verify_password(self.password, claim["passwordHash"]["S"]).valid:
            raise RuntimeError(f"the floor's password verify failed for {email}")
        user_item = self._get(keys.user_key(user["userId"]))
        if user_item is None:
            raise RuntimeError("user item missing")
        invitations = self._query(
            IndexName=GSI1_NAME,
            KeyConditionExpression="#gsiPartition = :invite",
            ExpressionAttributeNames={"#gsiPartition": SORT_KEY},
            ExpressionAttributeValues=_item({":invite": keys.invitation_sort_key(email)}),
            ScanIndexForward=True,
        )
        at, expires = _now_iso(), now + 14 * 86400
        session = NewSession(
            token_hash=hashlib.sha256(os.urandom(32)).hexdigest(),
            family_id=str(uuid.uuid4()),
            user_id=user["userId"],
            email=email,
            created_at=at,
            expires_at=expires,
            starts_family=True,
        )
        grant = None
        if invitations and "lender" not in user_item.get("roles", {}).get("SS", []):
            grant = users_service.lender_grant(user_id=user["userId"], at=at)
        self._commit(auth_repository.login_operations(email=email, session=session, lender_grant=grant, rehash=None))

    def create_loan(self, rng: random.Random) -> Callable[[], None]:
        me = rng.randrange(len(self.users))
        others = [i for i in rng.sample(range(len(self.users)), 6) if i != me][: rng.randint(1, 5)]  # as the workload picks
        # Same number and shape of invitations as the workload's, addressed to emails nobody reads, so the
        # floor's writes do not grow the invitation lists the other floors (pending, dashboard, login) read.
        lenders = [(f"floor-{uuid.uuid4().hex[:12]}@example.com", _money(rng)) for _ in others]
        return lambda: self._create_loan(self.users[me], lenders)

    def _create_loan(self, borrower: dict[str, str], lenders: list[tuple[str, Decimal]]) -> None:
        user = self._get(keys.user_key(borrower["userId"]))
        if user is None:
            raise RuntimeError("user item missing")
        name = f"{user['firstName']['S']} {user['lastName']['S']}"
        at, loan_id = _now_iso(), uuid7()
        loan, invitations = loan_items(loan_id=loan_id, borrower=borrower, borrower_name=name, lenders=lenders, at=at)
        self._commit(transitions.create(loan, invitations, _actor(borrower["userId"], borrower["email"], at), [uuid7()]))

    def get_loan(self, rng: random.Random) -> Callable[[], None]:
        _, loan_id = rng.choice(self.visible_loans)
        return lambda: self._discard(self._loan_partition(loan_id))

    def my_loans(self, rng: random.Random) -> Callable[[], None]:
        user = rng.choice(self.users)
        return lambda: self._discard(self._my_loans(user))

    def _my_loans(self, user: dict[str, str]) -> list[Raw]:
        return self._query(
            limit=PAGE,
            IndexName=GSI1_NAME,
            KeyConditionExpression="#gsiPartition = :user AND begins_with(#gsiSort, :loan)",
            ExpressionAttributeNames=GSI_NAMES,
            ExpressionAttributeValues=_item({":user": keys.user_partition(user["userId"]), ":loan": keys.LOAN}),
            ScanIndexForward=False,
        )

    def pending(self, rng: random.Random) -> Callable[[], None]:
        user = rng.choice(self.users)
        return lambda: self._pending(user)

    def _pending(self, user: dict[str, str]) -> None:
        invitations = self._query(
            limit=PAGE,
            IndexName=GSI1_NAME,
            KeyConditionExpression="#gsiPartition = :invite AND begins_with(#gsiSort, :loan)",
            FilterExpression="#status = :status AND loanStatus = :loanStatus",
            ExpressionAttributeNames={**GSI_NAMES, "#status": "status"},
            ExpressionAttributeValues=_item(
                {":invite": keys.invitation_sort_key(user["email"]), ":loan": keys.LOAN, ":status": "invited", ":loanStatus": "pending"}
            ),
            ScanIndexForward=False,
        )
        unique = {(i["loanId"]["S"], i["borrowerId"]["S"]) for i in invitations}
        request: Raw = {self.table: {"Keys": [_item(keys.loan_key(loan, borrower)) for loan, borrower in unique], "ConsistentRead": False}}
        while unique and request:
            request = self.client.batch_get_item(RequestItems=request).get("UnprocessedKeys") or {}

    def accept(self, rng: random.Random) -> Callable[[], None]:
        fixture = self._accept_fixture(rng)
        return lambda: self._accept(fixture)

    def _accept_fixture(self, rng: random.Random) -> AcceptFixture:
        """A loan shaped like the seeded ones (1-10 invitations); final: every other invitation already accepted."""
        final = rng.random() < self.final_accept_share
        count = rng.randint(1, 10) if final else rng.randint(2, 10)
        lender_index, borrower_index = rng.sample(range(len(self.users)), 2)
        # A real user (the transaction updates their item), invited under an email nobody reads (see create_loan).
        lender = {**self.users[lender_index], "email": f"floor-{uuid.uuid4().hex[:12]}@example.com"}
        borrower = self.users[borrower_index]
        at, loan_id = _now_iso(), uuid7()
        others = [f"floor-{uuid.uuid4().hex[:12]}@example.com" for _ in range(count - 1)]
        lenders = [(email, _money(rng)) for email in [*others, lender["email"]]]
        rng.shuffle(lenders)
        loan, invitations = loan_items(
            loan_id=loan_id, borrower=borrower, borrower_name=self.names[borrower["userId"]], lenders=lenders, at=at
        )
        if final:  # everybody else has accepted already: this acceptance completes the funding
            for entry, invitation in zip(loan["participants"], invitations, strict=True):
                if invitation["email"] != lender["email"]:
                    entry.update(status="accepted", lenderId="someone", respondedAt=at)
                    invitation.update(status="accepted", lenderId="someone", respondedAt=at)
                    loan["fundedAmount"] += invitation["amount"]
        requests = [{"PutRequest": {"Item": _item(item)}} for item in [loan, *invitations]]
        while requests:
            response = self.client.batch_write_item(RequestItems={self.table: requests})
            requests = response.get("UnprocessedItems", {}).get(self.table, [])
        return AcceptFixture(loan_id=loan_id, lender=lender, final=final)

    def _accept(self, fixture: AcceptFixture) -> None:
        record = LoanRecord.of([deserialize_item(raw) for raw in self._loan_partition(fixture.loan_id)])
        if record is None:
            raise RuntimeError("loan missing")
        email, lender_id, loan_id = fixture.lender["email"], fixture.lender["userId"], fixture.loan_id
        invitation = record.invitation_of(email)
        if invitation is None:
            raise RuntimeError("invitation missing")
        contribution = Decimal(invitation["amount"])
        completes = contribution == Decimal(record.loan["amount"]) - Decimal(record.loan["fundedAmount"])
        at = _now_iso()
        sealed = {"keySource": "local", "routingNumberCipher": _cipher(9), "accountNumberCipher": _cipher(12)}
        ach = ach_item(
            loan_id=loan_id,
            lender_id=lender_id,
            holder="Bench Lender",
            account_type="checking",
            last4s=("0021", "6789"),
            sealed=sealed,
            at=at,
        )
        grant = users_service.lender_grant(user_id=lender_id, at=at)
        self._commit(transitions.accept(record, _actor(lender_id, email, at), ach_item=ach, lender_grant=grant, completes=completes))
        if not completes:
            self._get(keys.loan_key(loan_id, record.borrower_id))

    def dashboard(self, rng: random.Random) -> Callable[[], None]:
        user = rng.choice(self.users)
        return lambda: self._dashboard(user)

    def _dashboard(self, user: dict[str, str]) -> None:
        found = self._query(
            IndexName=GSI1_NAME,
            KeyConditionExpression="#sk = :partition",
            ExpressionAttributeNames={"#sk": SORT_KEY},
            ExpressionAttributeValues=_item({":partition": keys.user_partition(user["userId"])}),
            ScanIndexForward=True,
        )
        me = next(item for item in found if item["entity"]["S"] == "user")
        if "lender" in me.get("roles", {}).get("SS", []):
            self._query(
                IndexName=GSI1_NAME,
                KeyConditionExpression="#sk = :invite",
                ExpressionAttributeNames={"#sk": SORT_KEY},
                ExpressionAttributeValues=_item({":invite": keys.invitation_sort_key(user["email"])}),
                ScanIndexForward=True,
            )

    def profile(self, rng: random.Random) -> Callable[[], None]:
        user = rng.choice(self.users)
        return lambda: self._discard(self._get(keys.user_key(user["userId"])))

    # --- servicing -----------------------------------------------------------------------------

    def schedule(self, rng: random.Random) -> Callable[[], None]:
        _, loan_id = rng.choice(self.serviced_loans)
        return lambda: self._schedule(loan_id)

    payoff = schedule  # the same two reads; the payoff arithmetic is the app's share

    def _schedule(self, loan_id: str) -> None:
        self._loan_partition(loan_id)
        self._get(keys.schedule_key(loan_id))

    def _repayment_query(self, loan_id: str, *, newest_first: bool, limit: int | None) -> list[Raw]:
        params: dict[str, Any] = {
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :repayment)",
            "ExpressionAttributeNames": {"#pk": PARTITION_KEY, "#sk": SORT_KEY},
            "ExpressionAttributeValues": _item({":pk": keys.servicing_partition(loan_id), ":repayment": keys.REPAYMENT}),
            "ScanIndexForward": not newest_first,
        }
        if limit is None:
            params["ConsistentRead"] = True
        return self._query(limit=limit, **params)

    def repayments(self, rng: random.Random) -> Callable[[], None]:
        _, loan_id = rng.choice(self.serviced_loans)
        return lambda: self._repayments(loan_id, newest_first=True, limit=PAGE)

    def statement(self, rng: random.Random) -> Callable[[], None]:
        _, loan_id = rng.choice(self.serviced_loans)
        return lambda: self._repayments(loan_id, newest_first=False, limit=None)

    def _repayments(self, loan_id: str, *, newest_first: bool, limit: int | None) -> None:
        self._loan_partition(loan_id)
        self._repayment_query(loan_id, newest_first=newest_first, limit=limit)

    def repay(self, rng: random.Random) -> Callable[[], None]:
        """A loan of this thread's own (no two floor threads repay one loan), its transaction built by the app (untimed)."""
        worker, workers = getattr(self._local, "worker", 0), getattr(self._local, "workers", 1)
        mine = self.borrowed_active[worker::workers] or self.borrowed_active
        borrower_index, loan_id = rng.choice(mine)
        borrower = self.users[borrower_index]
        operations = self._repayment_operations(borrower, loan_id, Decimal(rng.randint(100, 2000)) / 100)
        return lambda: self._repay(loan_id, operations)

    def _repayment_operations(self, borrower: dict[str, str], loan_id: str, amount: Decimal) -> list[Operation]:
        captured: list[Operation] = []

        class Captured(Exception):
            pass

        def capture(operations: list[Operation]) -> None:
            captured.extend(operations)
            raise Captured

        db = Dynamo(self.client, self.table, b"floor-cursor-secret-0123456789ab")
        db.transact_write = capture  # type: ignore[method-assign]
        try:
            servicing_service._record(
                db=db,
                clock=SystemClock(),
                borrower=Principal(user_id=borrower["userId"], email=borrower["email"], email_verified=True),
                loan_id=loan_id,
                amount=amount.quantize(Decimal("0.01")),
                request_id=str(uuid.uuid4()),
                completion=None,
            )
        except Captured:
            return captured
        raise RuntimeError("the repayment did not reach its transaction")

    def _repay(self, loan_id: str, operations: list[Operation]) -> None:
        self._loan_partition(loan_id)
        self._get(keys.schedule_key(loan_id))
        self._commit(operations)


FLOOR_OPERATIONS = {
    "login": "login",
    "create loan": "create_loan",
    "get loan": "get_loan",
    "my-loans": "my_loans",
    "pending": "pending",
    "accept": "accept",
    "dashboard": "dashboard",
    "profile": "profile",
    "schedule": "schedule",
    "payoff": "payoff",
    "repayments": "repayments",
    "statement": "statement",
    "repay": "repay",
}


@dataclass
class FloorResult:
    millis: list[float] = field(default_factory=list)
    calls: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def p50(self) -> float:
        return statistics.median(self.millis) if self.millis else float("nan")

    @property
    def mean_calls(self) -> float:
        return statistics.fmean(self.calls) if self.calls else float("nan")


def measure(floor: Floor, operation: str, concurrency: int, seconds: float, seed: int = 99) -> FloorResult:
    """One operation's bare calls from `concurrency` threads for `seconds` (the floor of that endpoint alone)."""
    return measure_mix(floor, {operation: 1}, concurrency, seconds, seed)[operation]


def measure_mix(floor: Floor, weights: dict[str, int], concurrency: int, seconds: float, seed: int = 98) -> dict[str, FloorResult]:
    """The operations picked by weight, like the workload, from `concurrency` threads for `seconds`; each call timed and counted."""
    results = {operation: FloorResult() for operation in weights}
    names, shares = list(weights), list(weights.values())
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def worker(number: int) -> None:
        rng = random.Random(seed * 1000 + number)
        floor._local.worker, floor._local.workers = number, concurrency
        while time.monotonic() < deadline:
            operation = rng.choices(names, weights=shares)[0]
            result = results[operation]
            floor._local.operation = operation
            prepare: Callable[[random.Random], Callable[[], None]] = getattr(floor, FLOOR_OPERATIONS[operation])
            try:
                timed = prepare(rng)
                with counting_requests() as counter:
                    started = time.perf_counter()
                    timed()
                    elapsed = (time.perf_counter() - started) * 1000
            except Exception as exc:  # a floor that fails is reported, not hidden
                with lock:
                    result.errors.append(f"{type(exc).__name__}: {exc}")
                continue
            with lock:
                result.millis.append(elapsed)
                result.calls.append(counter.count)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
