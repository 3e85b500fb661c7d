"""Cast of the servicing tests: Bea borrows 1,000.00 at 12% over 12 months from Lou (600), Max (250) and Ned (150).

The clock starts on 2026-01-31 (a month-end activation: due dates Feb 28, Mar 31, Apr 30, ...).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import TestUser, a_user
from tests.loans.helpers import accept, create_loan
from tests.support.clock import FakeClock

ACTIVATION = datetime(2026, 1, 31, 15, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(ACTIVATION)


@pytest.fixture
def people(app: FastAPI) -> dict[str, TestUser]:
    return {name: a_user(app, first_name=name) for name in ("bea", "lou", "max", "ned", "stranger")}


def new_loan(client: TestClient, people: dict[str, TestUser], shares: tuple[str, str, str] = ("600", "250", "150"), **terms: Any) -> str:
    """A loan of Bea's funded by Lou, Max and Ned (in that order of acceptance); returns its id."""
    lenders = [people["lou"], people["max"], people["ned"]]
    body = {"interestRate": terms.pop("rate", "12"), "termMonths": terms.pop("term", 12)}
    from decimal import Decimal

    loan = create_loan(
        client,
        people["bea"],
        list(zip(lenders, shares, strict=True)),
        interestRate=Decimal(body["interestRate"]),
        termMonths=body["termMonths"],
    )
    for lender in lenders:
        response = accept(client, lender, loan["loanId"])
        assert response.status_code == 200, response.text
    return str(loan["loanId"])


@pytest.fixture
def loan_id(client: TestClient, people: dict[str, TestUser]) -> str:
    return new_loan(client, people)
