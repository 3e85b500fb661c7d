"""Dependencies of the loan routes: the ACH data-key source (KMS in prod, the local key in dev/test)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header

from app.dependencies import SettingsDep
from app.loans.ach import DataKeySource, data_keys_for


def get_ach_keys(settings: SettingsDep) -> DataKeySource:
    """Chosen from settings per request (cheap: the KMS client itself is created once per process)."""
    return data_keys_for(settings)


AchKeys = Annotated[DataKeySource, Depends(get_ach_keys)]

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
