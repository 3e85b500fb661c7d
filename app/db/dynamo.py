"""The DynamoDB client and `Dynamo`, the typed calls on the single table (the only caller of DynamoDB).

The other modules of this package each hold one idea: errors.py (what leaves this layer and how a
botocore failure becomes it), expressions.py (expressions, transaction operations, item encoding),
cursors.py (sealed pagination cursors), metrics.py (request counting). Numbers come back as
Decimal (attributes.py); floats are refused on the way in.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import botocore.session
from botocore.config import Config
from botocore.exceptions import ClientError

from app.db.attributes import serialize
from app.db.cursors import CursorCodec
from app.db.errors import DatabaseUnavailable, TransactionConflict, cancellation, error_code, translated
from app.db.expressions import (
    Expression,
    Item,
    Key,
    Operation,
    deserialize_item,
    serialize_item,
    transaction_item,
    with_expressions,
    witness_of,
)
from app.db.metrics import count_call
from app.db.table import PARTITION_KEY, SORT_KEY
from app.retry import RACE_SECONDS, KeyedLocks, Turns, pause

TRANSACTION_ATTEMPTS = 5
BATCH_GET_LIMIT = 100
FILTERED_READ_AHEAD = 4  # items read per item wanted when a Query has a filter
QUERY_READ_LIMIT = 400
SETTLE_SECONDS = 8.0  # how long an unknown transaction outcome is asked after before 503 (AWS_WRITE_SETTLE_SECONDS)

logger = logging.getLogger("app.db")


@dataclass
class Page:
    items: list[Item]
    next_cursor: str | None


@dataclass(frozen=True)
class ClientTimeouts:
    """Connect/read timeouts and retries of a botocore client (DynamoDB, KMS).

    The values are set in app/config.py (AWS_CONNECT_TIMEOUT_SECONDS, AWS_READ_TIMEOUT_SECONDS,
    AWS_MAX_ATTEMPTS, AWS_RETRY_MODE; `of(settings)`); the defaults here are the same, for callers
    without settings (scripts), and tests/faults/test_client_config.py keeps the two equal.
    """

    connect_seconds: float = 1
    read_seconds: float = 2
    max_attempts: int = 3  # the first call included (botocore's total_max_attempts)
    retry_mode: str = "standard"

    @classmethod
    def of(cls, settings: Any) -> ClientTimeouts:
        """From anything with the aws_* fields of app.config.Settings (the data layer does not import it)."""
        return cls(
            connect_seconds=settings.aws_connect_timeout_seconds,
            read_seconds=settings.aws_read_timeout_seconds,
            max_attempts=settings.aws_max_attempts,
            retry_mode=settings.aws_retry_mode,
        )

    def config(self, **extra: Any) -> Config:
        return Config(
            retries={"mode": self.retry_mode, "total_max_attempts": self.max_attempts},
            connect_timeout=self.connect_seconds,
            read_timeout=self.read_seconds,
            **extra,
        )


def make_client(*, region: str, endpoint_url: str | None, timeouts: ClientTimeouts | None = None) -> Any:
    """A DynamoDB client with short timeouts and bounded retries; dummy credentials for a local endpoint."""
    config = (timeouts or ClientTimeouts()).config(max_pool_connections=64)
    extra: dict[str, str] = {}
    if endpoint_url and not os.environ.get("AWS_ACCESS_KEY_ID"):
        extra = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    client = botocore.session.get_session().create_client("dynamodb", region_name=region, endpoint_url=endpoint_url, config=config, **extra)
    client.meta.events.register("before-call.dynamodb", count_call)
    return client


def _pause(attempt: int) -> None:
    pause(attempt, base=0.01, cap=0.16)


class Dynamo:
    """Typed GetItem / BatchGetItem / PutItem / UpdateItem / Query / TransactWriteItems on one table."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        cursor_secret: bytes,
        *,
        write_retry_seconds: float = RACE_SECONDS,
        settle_seconds: float = SETTLE_SECONDS,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.write_retry_seconds = write_retry_seconds
        self.settle_seconds = settle_seconds
        self._write_locks = KeyedLocks()  # this process's writers of one key take turns (app/retry.py)
        self.cursors = CursorCodec(cursor_secret)

    def turns(self, owner_id: str) -> Turns:
        """Writes to one loan or user (its id) from this process take turns; a lost race is retried for write_retry_seconds."""
        return Turns(self._write_locks, owner_id, self.write_retry_seconds)

    def get(self, key: Key, *, consistent: bool = True) -> Item | None:
        with translated():
            response = self.client.get_item(TableName=self.table_name, Key=serialize_item(key), ConsistentRead=consistent)
        raw = response.get("Item")
        return deserialize_item(raw) if raw else None

    def batch_get(self, keys: Sequence[Key], *, consistent: bool = False) -> list[Item]:
        """Every existing item among `keys` (deduplicated, at most 100), in no particular order."""
        unique = list({tuple(sorted(key.items())): key for key in keys}.values())
        if not unique:
            return []
        if len(unique) > BATCH_GET_LIMIT:
            raise ValueError(f"batch_get takes at most {BATCH_GET_LIMIT} keys")
        request = {self.table_name: {"Keys": [serialize_item(key) for key in unique], "ConsistentRead": consistent}}
        items: list[Item] = []
        for attempt in range(TRANSACTION_ATTEMPTS):
            with translated():
                response = self.client.batch_get_item(RequestItems=request)
            items.extend(deserialize_item(raw) for raw in response.get("Responses", {}).get(self.table_name, []))
            request = response.get("UnprocessedKeys") or {}
            if not request:
                return items
            _pause(attempt)
        raise DatabaseUnavailable("unprocessed keys after retries")

    def put(self, item: Item, *, condition: Expression | None = None, return_old_on_failure: bool = False) -> None:
        params = with_expressions({"TableName": self.table_name, "Item": serialize_item(item)}, ConditionExpression=condition)
        if return_old_on_failure:
            params["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        with translated():
            self.client.put_item(**params)

    def update(self, key: Key, update: Expression, *, condition: Expression | None = None) -> Item:
        """Apply `update` and return the whole item as it is afterwards."""
        params = with_expressions(
            {"TableName": self.table_name, "Key": serialize_item(key), "ReturnValues": "ALL_NEW"},
            UpdateExpression=update,
            ConditionExpression=condition,
        )
        with translated():
            response = self.client.update_item(**params)
        return deserialize_item(response.get("Attributes", {}))

    def delete(self, key: Key, *, condition: Expression | None = None) -> None:
        params = with_expressions({"TableName": self.table_name, "Key": serialize_item(key)}, ConditionExpression=condition)
        with translated():
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
        caller: str | None = None,
        consistent: bool = False,
    ) -> Page:
        """One page of a Query; `limit` caps items returned, and a filtered page is topped up until full.

        A cursor is sealed for its scope: `caller` (the user id of whoever lists, which every list
        endpoint passes) and the query (table, index, key condition and its values, filter); any other
        scope's cursor, a tampered one or one of an older format is InvalidCursor (cursors.py).

        A filtered Query reads FILTERED_READ_AHEAD times `limit` items per request (the filter runs
        after the read), keeps the first `limit` matches and resumes after the last one it kept, so
        a sparse filter costs few round trips instead of one request per missing item.
        """
        query = f"{self.table_name}|{index}|{key_condition.text}|{sorted(key_condition.values.items())}|{where.text if where else ''}"
        scope = f"{caller or ''}|{query}"
        start = self.cursors.decode(scope, cursor) if cursor is not None else None
        read_size = None if limit is None else min(limit * FILTERED_READ_AHEAD, QUERY_READ_LIMIT) if where else limit
        items: list[Item] = []
        while True:
            params = with_expressions(
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
            with translated():
                response = self.client.query(**params)
            items.extend(deserialize_item(raw) for raw in response.get("Items", []))
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

    def transact_write(self, operations: Sequence[Operation]) -> None:
        """All-or-nothing write of up to 100 operations; retries pure conflicts a bounded number of times.

        A transaction whose answer never came (a timeout or a dropped connection after botocore's own
        retries, a 500) may have committed: before anything is answered its outcome is found out
        (`_settle`), so a committed write is never reported as a failure.
        """
        request = [transaction_item(self.table_name, op) for op in operations]
        for attempt in range(TRANSACTION_ATTEMPTS):
            token = uuid.uuid4().hex  # ours, so the same transaction can be asked about again (below)
            try:
                try:
                    with translated():
                        self.client.transact_write_items(TransactItems=request, ClientRequestToken=token)
                except DatabaseUnavailable as exc:
                    if not exc.maybe_applied:
                        raise
                    self._settle(request, token)
                return
            except ClientError as exc:
                code = error_code(exc)
                if code == "TransactionInProgressException":
                    _pause(attempt)
                    continue
                if code != "TransactionCanceledException":
                    raise
                cancelled = cancellation(exc)
                if cancelled is not None:
                    raise cancelled from exc
                _pause(attempt)
        raise TransactionConflict("transaction conflicted with concurrent writes")

    def _settle(self, request: list[dict[str, Any]], token: str) -> None:
        """Return if the transaction sent with `token` committed; raise what it met if it did not; 503 only if nobody can tell.

        Two questions, asked in turn until one is answered or settle_seconds pass: does the item
        the transaction creates (its `witness`, a new item whose key it chose) exist as written
        (GetItem, strongly consistent)? And what does DynamoDB answer the same transaction sent
        again with the same ClientRequestToken: success if it had committed (or commits now, once),
        its cancellation if it could not, TransactionInProgress while the first is still running.
        """
        witness = witness_of(request)
        deadline = time.monotonic() + self.settle_seconds
        attempt = 0
        while True:
            if witness is not None and self._holds(witness):
                return
            try:
                with translated():
                    self.client.transact_write_items(TransactItems=request, ClientRequestToken=token)
                return
            except DatabaseUnavailable:
                pass  # no answer yet: ask again
            except ClientError as exc:
                if error_code(exc) != "TransactionInProgressException":
                    raise
            attempt += 1
            if time.monotonic() >= deadline:
                logger.error("transaction outcome unknown", extra={"event": "transaction_outcome_unknown", "attempts": attempt})
                raise DatabaseUnavailable("transaction outcome unknown")
            pause(min(attempt, 5), base=0.05, cap=1.0)

    def _holds(self, put: dict[str, Any]) -> bool:
        """Whether the item of `put` (a serialized Put) is in the table exactly as it would write it (False if unknown)."""
        key = {name: put["Item"][name] for name in (PARTITION_KEY, SORT_KEY)}
        try:
            with translated():
                found = self.client.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item")
        except DatabaseUnavailable:
            return False
        return found is not None and deserialize_item(found) == deserialize_item(put["Item"])
