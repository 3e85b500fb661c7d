"""Helpers for loan tests: loans created and accepted through the public API."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import TestUser, seen_by

ROUTING = "021000021"  # a valid ABA routing number (3*(0+0+0) + 7*(2+0+2) + (1+0+1) = 30)
ACCOUNT = "000123456789"


def ach(routing: str = ROUTING, account: str = ACCOUNT, **overrides: Any) -> dict[str, Any]:
    return {
        "achDetails": {
            "accountHolderName": "Grace Hopper",
            "routingNumber": routing,
            "accountNumber": account,
            "accountType": "checking",
            **overrides,
        }
    }


def loan_body(lenders: Sequence[tuple[TestUser | str, str]], *, amount: str | None = None, **overrides: Any) -> dict[str, Any]:
    """A valid POST /loans body; amount defaults to the sum of the contributions (sent as JSON numbers)."""
    total = sum((Decimal(share) for _, share in lenders), Decimal(0))
    return {
        "amount": Decimal(amount) if amount else total,
        "purpose": "Bakery oven",
        "termMonths": 12,
        "interestRate": Decimal("5.25"),
        "lenders": [{"email": who if isinstance(who, str) else who.email, "amount": Decimal(share)} for who, share in lenders],
        **overrides,
    }


def post_json(client: TestClient, url: str, body: Any, headers: dict[str, str], method: str = "POST") -> Any:
    """Send `body` with Decimals written as exact JSON numbers (never through float)."""
    import json

    def encode(value: Any) -> Any:
        raise TypeError(value)

    text = json.dumps(_numbers(body), default=encode)
    return client.request(
        method, url, content=text.replace('"__n:', "").replace(':n__"', ""), headers={**headers, "Content-Type": "application/json"}
    )


def _numbers(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"__n:{value}:n__"
    if isinstance(value, dict):
        return {k: _numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_numbers(v) for v in value]
    return value


def create_loan(client: TestClient, borrower: TestUser, lenders: Sequence[tuple[TestUser | str, str]], **overrides: Any) -> dict[str, Any]:
    response = post_json(client, "/loans", loan_body(lenders, **overrides), borrower.headers)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def accept(client: TestClient, lender: TestUser, loan_id: str, **ach_overrides: Any) -> Any:
    return client.put(f"/lender/accept/{loan_id}", json=ach(**ach_overrides), headers=lender.headers)


def exact(response: Any) -> Any:
    """The response body with every JSON number read as Decimal, so money is compared to the cent."""
    import json

    return json.loads(response.text, parse_float=Decimal)


def error_code(response: Any) -> str:
    """The contract's error code of an error response (asserting the envelope's shape on the way)."""
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details", "requestId"}, error
    return str(error["code"])


def fields_of(response: Any) -> list[str]:
    """The `field` of every detail of a 422 VALIDATION_ERROR."""
    return [detail["field"] for detail in response.json()["error"]["details"]]


def decline(client: TestClient, lender: TestUser, loan_id: str, headers: dict[str, str] | None = None) -> Any:
    return client.put(f"/lender/decline/{loan_id}", headers={**lender.headers, **(headers or {})})


def cancel(client: TestClient, borrower: TestUser, loan_id: str, headers: dict[str, str] | None = None) -> Any:
    return client.post(f"/loans/{loan_id}/cancel", headers={**borrower.headers, **(headers or {})})


def renew_token(app: Any, user: TestUser) -> None:
    """A new access token at the app clock's current time (after a test moved the clock past the old one)."""
    from app.auth.tokens import issue_access_token

    user.access_token = issue_access_token(settings=app.state.settings, user_id=user.user_id, email=user.email, now=app.state.clock.now())
    seen_by(app, user)  # as a signed-in user's token is: its account already proved on this app
