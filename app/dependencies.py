"""Shared request dependencies: settings, the table, the clock, and the parameters several domains take.

The three getters only read app state: they are `async def` so FastAPI calls them on the event loop
(a `def` dependency costs a hop to a worker thread, more than their work).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Query, Request

from app.clock import Clock
from app.config import Settings
from app.db.dynamo import Dynamo


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> Dynamo:
    db: Dynamo = request.app.state.resources.db
    return db


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
Db = Annotated[Dynamo, Depends(get_db)]
ClockDep = Annotated[Clock, Depends(get_clock)]
Cursor = Annotated[
    str | None,
    Query(
        max_length=2048,
        description="The nextCursor of the previous page of this same list, as the API returned it to this same "
        "caller: an opaque, encrypted token bound to the caller and the query. A cursor edited, taken from another "
        "caller or another list, or issued before cursors were sealed (an older format: restart from the first "
        "page) is refused (422 VALIDATION_ERROR on cursor)",
    ),
]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Optional, 1..255 chars, scoped to the caller: a retry with the same key and body "
        "within 24 h replays the first response and creates nothing",
    ),
]
