"""Every raw item of a test table: a Scan, allowed in tests (to prove what is, or is not, stored), never in app/."""

from __future__ import annotations

import json
from typing import Any

from app.db.dynamo import Dynamo


def whole_table(db: Dynamo) -> list[dict[str, Any]]:
    """Every item, strongly consistent, in a fixed order (so two snapshots compare equal when nothing changed)."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"TableName": db.table_name, "ConsistentRead": True}
    while True:
        page = db.client.scan(**params)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
        params["ExclusiveStartKey"] = page["LastEvaluatedKey"]
