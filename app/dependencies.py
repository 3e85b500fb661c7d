"""Shared request dependencies: settings, the table, the clock."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.clock import Clock
from app.config import Settings
from app.db.dynamo import Dynamo


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_db(request: Request) -> Dynamo:
    db: Dynamo = request.app.state.resources.db
    return db


def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
Db = Annotated[Dynamo, Depends(get_db)]
ClockDep = Annotated[Clock, Depends(get_clock)]
