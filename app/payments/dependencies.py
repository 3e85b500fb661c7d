"""Dependencies of the bank account routes: the data-key source (KMS in prod, the local key in dev/test), and who
answers whether a loan uses an account."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request

from app.dependencies import SettingsDep
from app.payments.sealing import DataKeySource, data_keys_for


def get_ach_keys(settings: SettingsDep) -> DataKeySource:
    """Chosen from settings per request (cheap: the KMS client itself is created once per process)."""
    return data_keys_for(settings)


AchKeys = Annotated[DataKeySource, Depends(get_ach_keys)]


# Whether a loan still uses a bank account: the loans domain answers (app/main.py wires its function in), so
# payments, which calls no other domain, can refuse to close an account a loan pays from or to.
AccountUsage = Callable[..., bool]


def get_account_usage(request: Request) -> AccountUsage:
    usage: AccountUsage = request.app.state.account_usage
    return usage


AccountUsageDep = Annotated[AccountUsage, Depends(get_account_usage)]
