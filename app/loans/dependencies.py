"""Dependencies of the loan routes: the loan id in the path, the ACH data-key source (KMS in prod, the local key in dev/test)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Path

from app.dependencies import SettingsDep
from app.loans.ach import DataKeySource, data_keys_for


def get_ach_keys(settings: SettingsDep) -> DataKeySource:
    """Chosen from settings per request (cheap: the KMS client itself is created once per process)."""
    return data_keys_for(settings)


AchKeys = Annotated[DataKeySource, Depends(get_ach_keys)]

LoanId = Annotated[str, Path(alias="loanId", max_length=64, description="The loan's id")]
