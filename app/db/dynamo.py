"""`Dynamo`, the typed calls on the single table (with client.py's client, the only caller of DynamoDB).

The other modules of this package each hold one idea: client.py (the botocore client, its timeouts
and retries), outcome.py (finding out a lost transaction's outcome), errors.py (what leaves this layer and how a
botocore failure becomes it), expressions.py (expressions, transaction operations, item encoding),
cursors.py (sealed pagination cursors), metrics.py (request counting). Numbers come back as
Decimal (attributes.py); floats are refused on the way in.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

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
)
from app.db.outcome import settle
from app.db.table import PARTITION_KEY, SORT_KEY
from app.retry import RACE_SECONDS, KeyedLocks, Turns, pause

TRANSACTION_ATTEMPTS = 5
BATCH_GET_LIMIT = 100
FILTERED_READ_AHEAD = 4  # items read per item wanted when a Query has a filter
QUERY_READ_LIMIT = 400
SETTLE_SECONDS = 8.0  # how long an unknown transaction outcome is asked after before 503 (AWS_WRITE_SETTLE_SECONDS)


@dataclass
class Page:
    items: list[Item]
    next_cursor: str | None


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
        (app/db/outcome.py `settle`), so a committed write is never reported as a failure.
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
                    settle(self.client, self.table_name, request, token, seconds=self.settle_seconds)
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
