"""Dependencies of the loan routes: the loan id in the path (the ACH data-key source is app/payments/dependencies.py)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

LoanId = Annotated[str, Path(alias="loanId", max_length=64, description="The loan's id")]
