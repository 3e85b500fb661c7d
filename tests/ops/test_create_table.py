"""scripts/create_table.py is idempotent and builds the table from app/db/table.py."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from app.db.schema_admin import drop_table
from app.db.table import GSI1_NAME, TTL_ATTRIBUTE

ROOT = Path(__file__).resolve().parents[2]


def run_script(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "create_table.py")],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        timeout=120,
        check=False,
    )


def test_create_table_twice_is_a_no_op_the_second_time(endpoint_url: str, ddb_client: Any) -> None:
    name = f"t-create-{uuid.uuid4().hex[:8]}"
    env = {"DYNAMODB_ENDPOINT_URL": endpoint_url, "TABLE_NAME": name, "ENVIRONMENT": "test"}
    try:
        first, second = run_script(env), run_script(env)
        assert first.returncode == 0, first.stderr
        assert "created" in first.stdout
        assert second.returncode == 0, second.stderr
        assert "already exists" in second.stdout
        table = ddb_client.describe_table(TableName=name)["Table"]
        assert [k["AttributeName"] for k in table["KeySchema"]] == ["PK", "SK"]
        gsi = next(index for index in table["GlobalSecondaryIndexes"] if index["IndexName"] == GSI1_NAME)  # any order
        assert [k["AttributeName"] for k in gsi["KeySchema"]] == ["SK", "PK"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        ttl = ddb_client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        assert ttl.get("AttributeName") == TTL_ATTRIBUTE
    finally:
        drop_table(ddb_client, name)
