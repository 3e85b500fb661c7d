"""Creating and dropping tables (scripts and fixtures) on the real engine: idempotent both ways."""

from __future__ import annotations

import uuid
from typing import Any

from app.db.schema_admin import drop_table, ensure_table
from app.db.table import DEADLINE_INDEX, GSI1_NAME, TTL_ATTRIBUTE


def test_ensure_table_creates_once_with_gsi_and_ttl_and_drop_is_idempotent(ddb_client: Any) -> None:
    name = f"t-admin-{uuid.uuid4().hex[:8]}"
    assert ensure_table(ddb_client, name) is True
    assert ensure_table(ddb_client, name) is False
    table = ddb_client.describe_table(TableName=name)["Table"]
    assert sorted(index["IndexName"] for index in table["GlobalSecondaryIndexes"]) == [GSI1_NAME, DEADLINE_INDEX]
    ttl = ddb_client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl["AttributeName"] == TTL_ATTRIBUTE
    drop_table(ddb_client, name)
    drop_table(ddb_client, name)  # already gone: fine
    assert name not in ddb_client.list_tables()["TableNames"]
