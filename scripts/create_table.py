#!/usr/bin/env python3
"""Create the single table from app/db/table.py if it is missing (idempotent).

TABLE_NAME=lending DYNAMODB_ENDPOINT_URL=http://127.0.0.1:8001 python scripts/create_table.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.config import Settings
from app.db.client import make_client
from app.db.schema_admin import ensure_table


def main() -> int:
    settings = Settings()
    client = make_client(region=settings.aws_region, endpoint_url=settings.dynamodb_endpoint_url)
    created = ensure_table(client, settings.table_name)
    where = settings.dynamodb_endpoint_url or f"AWS {settings.aws_region}"
    verb = "created" if created else "already exists, nothing to do"
    sys.stdout.write(f"table {settings.table_name!r} at {where}: {verb}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
