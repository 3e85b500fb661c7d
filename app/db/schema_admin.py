"""Creating the table (scripts and test fixtures); the app itself never creates or deletes tables."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from app.db.table import STREAM_SPECIFICATION, create_table_request, ttl_request


def ensure_table(client: Any, table_name: str) -> bool:
    """Create the table with its GSIs, stream and TTL when missing; True if it was created now.

    A table created before the stream existed (a developer's local table) gets its stream turned on.
    """
    try:
        description = client.describe_table(TableName=table_name)["Table"]
        if not description.get("StreamSpecification", {}).get("StreamEnabled"):
            client.update_table(TableName=table_name, StreamSpecification=STREAM_SPECIFICATION)
        return False
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
    try:
        client.create_table(**create_table_request(table_name))
    except ClientError as exc:  # created concurrently by someone else
        if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
            raise
        return False
    client.get_waiter("table_exists").wait(TableName=table_name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    client.update_time_to_live(**ttl_request(table_name))
    return True


def drop_table(client: Any, table_name: str) -> None:
    """Delete a (test) table; missing is fine."""
    try:
        client.delete_table(TableName=table_name)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
