"""THE table definition: keys, GSIs, TTL and billing, in one place.

scripts/create_table.py, the test fixtures and the Terraform parity test all read this module,
so the table cannot drift between local, tests and AWS.
"""

from __future__ import annotations

from typing import Any

PARTITION_KEY = "PK"
SORT_KEY = "SK"
GSI1_NAME = "GSI1"  # the inverse index: partition on SK, sort on PK
# The "when" index: sparse, sharded so no partition takes every loan. A pending loan carries partition
# "PENDING#<shard>", sort "<fundingDeadline>#<loanId>" (expiry); an active loan "REMIND#<shard>",
# "<next reminder date>#<loanId>" (payment reminders).
DEADLINE_INDEX = "GSI2"
DEADLINE_PARTITION = "GSI2PK"
DEADLINE_SORT = "GSI2SK"
TTL_ATTRIBUTE = "expireAt"  # epoch seconds; DynamoDB deletes the item some time after it passes
BILLING_MODE = "PAY_PER_REQUEST"
# The outbox: every audit event item's insertion reaches app/notifications through the table's stream.
STREAM_SPECIFICATION: dict[str, Any] = {"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"}

ATTRIBUTE_TYPES: dict[str, str] = {PARTITION_KEY: "S", SORT_KEY: "S", DEADLINE_PARTITION: "S", DEADLINE_SORT: "S"}
KEY_SCHEMA: list[dict[str, str]] = [
    {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
    {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
]
GLOBAL_SECONDARY_INDEXES: list[dict[str, Any]] = [
    {
        "IndexName": GSI1_NAME,
        "KeySchema": [
            {"AttributeName": SORT_KEY, "KeyType": "HASH"},
            {"AttributeName": PARTITION_KEY, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    },
    {
        "IndexName": DEADLINE_INDEX,
        "KeySchema": [
            {"AttributeName": DEADLINE_PARTITION, "KeyType": "HASH"},
            {"AttributeName": DEADLINE_SORT, "KeyType": "RANGE"},
        ],
        "Projection": {"ProjectionType": "ALL"},
    },
]


def create_table_request(table_name: str) -> dict[str, Any]:
    """The CreateTable parameters for our single table."""
    return {
        "TableName": table_name,
        "AttributeDefinitions": [{"AttributeName": name, "AttributeType": kind} for name, kind in ATTRIBUTE_TYPES.items()],
        "KeySchema": KEY_SCHEMA,
        "GlobalSecondaryIndexes": GLOBAL_SECONDARY_INDEXES,
        "BillingMode": BILLING_MODE,
        "StreamSpecification": STREAM_SPECIFICATION,
    }


def ttl_request(table_name: str) -> dict[str, Any]:
    """The UpdateTimeToLive parameters that turn on expiry of stale items."""
    return {
        "TableName": table_name,
        "TimeToLiveSpecification": {"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    }
