"""The only module that talks to DynamoDB (through botocore, boto3's core): typed calls on the single table.

Every DynamoDB failure leaves this module as one of our own exceptions:
  ConditionFailed       a conditional write did not hold (carries the current item when asked)
  TransactionCancelled  a transaction was refused; `reasons` has one code per operation
  TransactionConflict   a transaction kept colliding with concurrent ones after bounded retries
  DatabaseUnavailable   the table cannot be reached, is throttled, or does not exist
  InvalidCursor         a pagination cursor was not issued by us for this query
Numbers come back as Decimal (app/db/attributes.py); floats are refused on the way in.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from app.db.attributes import deserialize, serialize
from app.db.table import PARTITION_KEY, SORT_KEY

Item = dict[str, Any]
Key = Mapping[str, str]

UNAVAILABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "ResourceNotFoundException",
    }
)
THROTTLED_REASONS = frozenset({"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"})
TRANSACTION_ATTEMPTS = 5
BATCH_GET_LIMIT = 100
FILTERED_READ_AHEAD = 4  # items read per item wanted when a Query has a filter
QUERY_READ_LIMIT = 400


class DataLayerError(Exception):
    """Base of everything the data layer raises."""


class ConditionFailed(DataLayerError):
    def __init__(self, item: Item | None = None) -> None:
        super().__init__("conditional check failed")
        self.item = item


class TransactionCancelled(DataLayerError):
    def __init__(self, reasons: list[str], items: list[Item | None]) -> None:
        super().__init__(f"transaction cancelled: {reasons}")
        self.reasons = reasons
        self.items = items

    def failed(self, index: int) -> bool:
        """Whether the operation at `index` failed its condition."""
        return self.reasons[index] == "ConditionalCheckFailed"


class TransactionConflict(DataLayerError):
    """Concurrent transactions kept colliding; the caller may retry."""


class DatabaseUnavailable(DataLayerError):
    """The table cannot be reached or is throttling us."""


class InvalidCursor(DataLayerError):
    """A pagination cursor that we did not issue for this query."""


@dataclass
class Page:
    items: list[Item]
    next_cursor: str | None


@dataclass
class Expression:
    """A condition/update/filter expression with its placeholders."""

    text: str
    names: dict[str, str] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)


def _serialize(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: serialize(value) for name, value in item.items()}


def _deserialize(item: Mapping[str, Any]) -> Item:
    return {name: deserialize(value) for name, value in item.items()}


def _with_expressions(params: dict[str, Any], **expressions: Expression | None) -> dict[str, Any]:
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    for param, expression in expressions.items():
        if expression is None:
            continue
        params[param] = expression.text
        names.update(expression.names)
        values.update(expression.values)
    if names:
        params["ExpressionAttributeNames"] = names
    if values:
        params["ExpressionAttributeValues"] = _serialize(values)
    return params


# --- transaction operations -------------------------------------------------------------------


def tx_put(item: Item, condition: Expression | None = None) -> dict[str, Any]:
    return {"Put": {"Item": item, "_condition": condition}}


def tx_update(key: Key, update: Expression, condition: Expression | None = None) -> dict[str, Any]:
    return {"Update": {"Key": dict(key), "_update": update, "_condition": condition}}


def tx_delete(key: Key, condition: Expression | None = None) -> dict[str, Any]:
    return {"Delete": {"Key": dict(key), "_condition": condition}}


def tx_check(key: Key, condition: Expression) -> dict[str, Any]:
    return {"ConditionCheck": {"Key": dict(key), "_condition": condition}}


# --- request counting (benchmarks and the dashboard's request budget test) --------------------


class RequestCounter:
    """Counts DynamoDB API calls made while it is active in the current context."""

    def __init__(self) -> None:
        self.calls: list[str] = []

    @property
    def count(self) -> int:
        return len(self.calls)


_active_counter: ContextVar[RequestCounter | None] = ContextVar("dynamodb_request_counter", default=None)


@contextmanager
def counting_requests() -> Iterator[RequestCounter]:
    """Count the DynamoDB calls made in this context (and threads that copy it)."""
    counter = RequestCounter()
    token = _active_counter.set(counter)
    try:
        yield counter
    finally:
        _active_counter.reset(token)


def _count_call(model: Any, **_: Any) -> None:
    counter = _active_counter.get()
    if counter is not None:
        counter.calls.append(model.name)


# --- cursors ------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class CursorCodec:
    """Opaque, tamper-evident cursors: the LastEvaluatedKey signed with HMAC and bound to one query."""

    def __init__(self, secret: bytes) -> None:
        self._secret = secret

    def _sign(self, scope: str, payload: bytes) -> bytes:
        return hmac.new(self._secret, scope.encode() + b"\x00" + payload, hashlib.sha256).digest()[:16]

    def encode(self, scope: str, last_key: dict[str, Any]) -> str:
        payload = json.dumps(last_key, sort_keys=True, separators=(",", ":")).encode()
        return f"{_b64(payload)}.{_b64(self._sign(scope, payload))}"

    def decode(self, scope: str, cursor: str) -> dict[str, Any]:
        try:
            payload_text, signature_text = cursor.split(".")
            payload, signature = _unb64(payload_text), _unb64(signature_text)
        except (ValueError, binascii.Error) as exc:
            raise InvalidCursor() from exc
        if not hmac.compare_digest(signature, self._sign(scope, payload)):
            raise InvalidCursor()
        try:
            key = json.loads(payload)
        except ValueError as exc:  # pragma: no cover - a signed payload is always our JSON
            raise InvalidCursor() from exc
        if not isinstance(key, dict):  # pragma: no cover - same
            raise InvalidCursor()
        return key


# --- the table ------------------------------------------------------------------------------------


def make_client(*, region: str, endpoint_url: str | None) -> Any:
    """A DynamoDB client with short timeouts and bounded retries; dummy credentials for a local endpoint."""
    config = Config(
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=2,
        read_timeout=5,
        max_pool_connections=64,
    )
    extra: dict[str, str] = {}
    if endpoint_url and not os.environ.get("AWS_ACCESS_KEY_ID"):
        extra = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    client = botocore.session.get_session().create_client("dynamodb", region_name=region, endpoint_url=endpoint_url, config=config, **extra)
    client.meta.events.register("before-call.dynamodb", _count_call)
    return client


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == "ConditionalCheckFailedException":
            raw = exc.response.get("Item")
            raise ConditionFailed(_deserialize(raw) if raw else None) from exc
        if code in UNAVAILABLE_CODES:
            raise DatabaseUnavailable(code) from exc
        raise
    except BotoCoreError as exc:  # connection refused, timeouts, DNS
        raise DatabaseUnavailable(type(exc).__name__) from exc


class Dynamo:
    """Typed GetItem / BatchGetItem / PutItem / UpdateItem / Query / TransactWriteItems on one table."""

    def __init__(self, client: Any, table_name: str, cursor_secret: bytes) -> None:
        self.client = client
        self.table_name = table_name
        self.cursors = CursorCodec(cursor_secret)

    def get(self, key: Key, *, consistent: bool = True) -> Item | None:
        with _translated():
            response = self.client.get_item(TableName=self.table_name, Key=_serialize(key), ConsistentRead=consistent)
        raw = response.get("Item")
        return _deserialize(raw) if raw else None

    def batch_get(self, keys: Sequence[Key], *, consistent: bool = False) -> list[Item]:
        """Every existing item among `keys` (deduplicated, at most 100), in no particular order."""
        unique = list({tuple(sorted(key.items())): key for key in keys}.values())
        if not unique:
            return []
        if len(unique) > BATCH_GET_LIMIT:
            raise ValueError(f"batch_get takes at most {BATCH_GET_LIMIT} keys")
        request = {self.table_name: {"Keys": [_serialize(key) for key in unique], "ConsistentRead": consistent}}
        items: list[Item] = []
        for attempt in range(TRANSACTION_ATTEMPTS):
            with _translated():
                response = self.client.batch_get_item(RequestItems=request)
            items.extend(_deserialize(raw) for raw in response.get("Responses", {}).get(self.table_name, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return items
            _backoff(attempt)
        raise DatabaseUnavailable("unprocessed keys after retries")

    def put(self, item: Item, *, condition: Expression | None = None, return_old_on_failure: bool = False) -> None:
        params = _with_expressions({"TableName": self.table_name, "Item": _serialize(item)}, ConditionExpression=condition)
        if return_old_on_failure:
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        with _translated():
            self.client.put_item(**params)

    def update(self, key: Key, update: Expression, *, condition: Expression | None = None) -> Item:
        """Apply `update` and return the whole item as it is afterwards."""
        params = _with_expressions(
            {"TableName": self.table_name, "Key": _serialize(key), "ReturnValues": "ALL_NEW"},
            UpdateExpression=update,
            ConditionExpression=condition,
        )
        with _translated():
            response = self.client.update_item(**params)
        return _deserialize(response.get("Attributes", {}))

    def delete(self, key: Key, *, condition: Expression | None = None) -> None:
        params = _with_expressions({"TableName": self.table_name, "Key": _serialize(key)}, ConditionExpression=condition)
        with _translated():
            self.client.delete_item(**params)

    def query(
        self,
        key_condition: Expression,
        *,
        index: str | None = None,
        where: Expression | None = None,
        newest_first: bool = False,
        limit: int | None = None,
        cursor: str | None = None,
        consistent: bool = False,
    ) -> Page:
        """One page of a Query; `limit` caps items returned, and a filtered page is topped up until full.

        A filtered Query reads FILTERED_READ_AHEAD times `limit` items per request (the filter runs
        after the read), keeps the first `limit` matches and resumes after the last one it kept, so
        a sparse filter costs few round trips instead of one request per missing item.
        """
        scope = f"{self.table_name}|{index}|{key_condition.text}|{sorted(key_condition.values.items())}|{where.text if where else ''}"
        start = self.cursors.decode(scope, cursor) if cursor is not None else None
        read_size = None if limit is None else min(limit * FILTERED_READ_AHEAD, QUERY_READ_LIMIT) if where else limit
        items: list[Item] = []
        while True:
            params = _with_expressions(
                {"TableName": self.table_name, "ScanIndexForward": not newest_first},
                KeyConditionExpression=key_condition,
                FilterExpression=where,
            )
            if index:
                params["IndexName"] = index
            elif consistent:
                params["ConsistentRead"] = True
            if read_size is not None:
                params["Limit"] = read_size if where else read_size - len(items)
            if start:
                params["ExclusiveStartKey"] = start
            with _translated():
                response = self.client.query(**params)
            items.extend(_deserialize(raw) for raw in response.get("Items", []))
            start = response.get("LastEvaluatedKey")
            if limit is not None and len(items) > limit:  # read ahead of the page: resume after its last item
                items = items[:limit]
                start = {name: serialize(items[-1][name]) for name in (PARTITION_KEY, SORT_KEY)}
            if not start or (limit is not None and len(items) >= limit):
                break
        return Page(items, self.cursors.encode(scope, start) if start else None)

    def query_all(self, key_condition: Expression, *, index: str | None = None, consistent: bool = False) -> list[Item]:
        """Every item a Query matches, following pages (one request per 1 MB page)."""
        return self.query(key_condition, index=index, consistent=consistent).items

    def transact_write(self, operations: Sequence[dict[str, Any]]) -> None:
        """All-or-nothing write of up to 100 operations; retries pure conflicts a bounded number of times."""
        request = [self._transaction_item(op) for op in operations]
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                with _translated():
                    self.client.transact_write_items(TransactItems=request)
                return
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                    if exc.response.get("Error", {}).get("Code") == "TransactionInProgressException":
                        _backoff(attempt)
                        continue
                    raise
                reasons_raw = exc.response.get("CancellationReasons", [])
                reasons = [reason.get("Code", "None") for reason in reasons_raw]
                if any(code in THROTTLED_REASONS for code in reasons):
                    raise DatabaseUnavailable("transaction throttled") from exc
                if "ConditionalCheckFailed" in reasons or not any(code == "TransactionConflict" for code in reasons):
                    items = [_deserialize(r["Item"]) if r.get("Item") else None for r in reasons_raw]
                    raise TransactionCancelled(reasons, items) from exc
                _backoff(attempt)
        raise TransactionConflict("transaction conflicted with concurrent writes")

    def _transaction_item(self, operation: dict[str, Any]) -> dict[str, Any]:
        ((kind, spec),) = operation.items()
        params: dict[str, Any] = {"TableName": self.table_name}
        if "Item" in spec:
            params["Item"] = _serialize(spec["Item"])
        if "Key" in spec:
            params["Key"] = _serialize(spec["Key"])
        _with_expressions(params, UpdateExpression=spec.get("_update"), ConditionExpression=spec.get("_condition"))
        if spec.get("_condition") is not None:
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return {kind: params}


def _backoff(attempt: int) -> None:
    time.sleep(random.uniform(0, 0.01 * 2**attempt))  # full jitter, at most ~0.16 s  # noqa: S311
