"""Dependencies of the routes that handle bank account numbers: the data-key source (KMS in prod, the local key in dev/test)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from app.dependencies import SettingsDep
from app.payments.sealing import DataKeySource, data_keys_for


def get_ach_keys(settings: SettingsDep) -> DataKeySource:
    """Chosen from settings per request (cheap: the KMS client itself is created once per process)."""
    return data_keys_for(settings)


AchKeys = Annotated[DataKeySource, Depends(get_ach_keys)]
