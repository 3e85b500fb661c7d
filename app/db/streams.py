"""The table's DynamoDB stream, read the way Lambda's event source mapping reads it: the local worker's source.

In AWS the stream feeds the notifications function through an event source mapping (terraform); locally
`python -m app.worker` reads the same stream from DynamoDB Local with this reader. Both hand the same
records (`{"eventName", "dynamodb": {"NewImage", "SequenceNumber", ...}}`) to app/notifications/stream.py.

A shard is read in order from where the last poll stopped. The handler returns the sequence number of the
first record it could not process (or None); the reader then stops that shard just before it, so the next
poll delivers that record again (at least once, like Lambda's retries; the handler makes sending at most
once). Positions live in memory: a restarted worker reads the stream again from its oldest record
(TRIM_HORIZON, 24 h of records), which the handler's delivery markers make harmless.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import botocore.session
from botocore.exceptions import BotoCoreError, ClientError

from app.db.client import ClientTimeouts
from app.db.errors import DatabaseUnavailable

Record = dict[str, Any]
Handler = Callable[[list[Record]], str | None]  # returns the first failed record's SequenceNumber, or None

RECORDS_PER_CALL = 100  # GetRecords' limit is 1,000; a smaller batch keeps one failure's retry small


def streams_client(*, region: str, endpoint_url: str | None, timeouts: ClientTimeouts | None = None) -> Any:
    """A DynamoDB Streams client (dummy credentials for a local endpoint, as the table client)."""
    extra: dict[str, str] = {}
    if endpoint_url and not os.environ.get("AWS_ACCESS_KEY_ID"):
        extra = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    config = (timeouts or ClientTimeouts()).config()
    return botocore.session.get_session().create_client(
        "dynamodbstreams", region_name=region, endpoint_url=endpoint_url, config=config, **extra
    )


def latest_stream_arn(table_client: Any, table_name: str) -> str | None:
    """The table's current stream (DescribeTable), or None when it has none."""
    try:
        arn = table_client.describe_table(TableName=table_name)["Table"].get("LatestStreamArn")
    except (ClientError, BotoCoreError) as exc:
        raise DatabaseUnavailable("DescribeTable failed") from exc
    return str(arn) if arn else None


@dataclass
class StreamReader:
    """Polls every shard of one stream, in order, remembering the last record handled per shard."""

    client: Any
    stream_arn: str
    positions: dict[str, str] = field(default_factory=dict)  # shard id -> last handled sequence number
    finished: set[str] = field(default_factory=set)  # closed shards read to their end

    def poll(self, handle: Handler) -> int:
        """Read every shard until caught up (or until a record fails); the number of records handled."""
        handled = 0
        for shard in self._shards():
            shard_id = shard["ShardId"]
            if shard_id not in self.finished:
                handled += self._read_shard(shard_id, handle)
        return handled

    def _shards(self) -> list[dict[str, Any]]:
        """Every shard, parents before children (a child holds the records written after its parent closed)."""
        shards: list[dict[str, Any]] = []
        start: dict[str, str] = {}
        try:
            while True:
                description = self.client.describe_stream(StreamArn=self.stream_arn, **start)["StreamDescription"]
                shards.extend(description.get("Shards", []))
                last = description.get("LastEvaluatedShardId")
                if not last:
                    break
                start = {"ExclusiveStartShardId": last}
        except (ClientError, BotoCoreError) as exc:
            raise DatabaseUnavailable("DescribeStream failed") from exc
        known = {shard["ShardId"] for shard in shards}
        ordered: list[dict[str, Any]] = []
        placed: set[str] = set()

        def place(shard: dict[str, Any]) -> None:
            parent = shard.get("ParentShardId")
            if parent in known and parent not in placed:
                place(next(s for s in shards if s["ShardId"] == parent))
            if shard["ShardId"] not in placed:
                placed.add(shard["ShardId"])
                ordered.append(shard)

        for shard in shards:
            place(shard)
        return ordered

    def _iterator(self, shard_id: str) -> str:
        after = self.positions.get(shard_id)
        position = (
            {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": after} if after else {"ShardIteratorType": "TRIM_HORIZON"}
        )
        try:
            return str(self.client.get_shard_iterator(StreamArn=self.stream_arn, ShardId=shard_id, **position)["ShardIterator"])
        except (ClientError, BotoCoreError) as exc:
            raise DatabaseUnavailable("GetShardIterator failed") from exc

    def _read_shard(self, shard_id: str, handle: Handler) -> int:
        iterator: str | None = self._iterator(shard_id)
        handled = 0
        while iterator:
            try:
                response = self.client.get_records(ShardIterator=iterator, Limit=RECORDS_PER_CALL)
            except (ClientError, BotoCoreError) as exc:
                raise DatabaseUnavailable("GetRecords failed") from exc
            records: list[Record] = response.get("Records", [])
            if records:
                failed = handle(records)
                done = records if failed is None else records[: _index_of(records, failed)]
                if done:
                    self.positions[shard_id] = done[-1]["dynamodb"]["SequenceNumber"]
                handled += len(done)
                if failed is not None:
                    return handled  # the failed record comes again at the next poll
            iterator = response.get("NextShardIterator")
            if iterator is None:
                self.finished.add(shard_id)  # a closed shard, read to its end
            elif not records:
                break  # caught up with an open shard
        return handled


def _index_of(records: list[Record], sequence_number: str) -> int:
    for index, record in enumerate(records):
        if record["dynamodb"]["SequenceNumber"] == sequence_number:
            return index
    raise ValueError(f"the handler named a record it was not given: {sequence_number}")
