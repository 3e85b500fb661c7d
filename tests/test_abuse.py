"""Abuse cases: hostile bodies, numbers, headers and tokens get contract errors, never a 500, and
change nothing (the whole test table is compared before and after each rejected write)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.factories import TestUser, a_user
from tests.loans.helpers import ach, create_loan, loan_body
from tests.support.table import whole_table

WRONG_VALUES: list[Any] = [None, True, 12345, "text", [], {}, [1, "x"], {"nested": {"deeper": 1}}]


@pytest.fixture
def people(app: FastAPI, client: TestClient) -> dict[str, Any]:
    borrower, lender = a_user(app), a_user(app)
    loan = create_loan(client, borrower, [(lender, "100.00")])
    return {"borrower": borrower, "lender": lender, "loanId": loan["loanId"]}


def body_routes(people: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], TestUser | None]]:
    """(method, path, a valid body, caller) for every route that takes a JSON body."""
    borrower, lender = people["borrower"], people["lender"]
    loan = json.loads(json.dumps(loan_body([(lender, "100.00")]), default=str))
    for entry in loan["lenders"]:
        entry["amount"] = 100
    loan["amount"], loan["interestRate"] = 100, 5
    return [
        (
            "POST",
            "/auth/register",
            {"email": "new@example.com", "password": "x" * 12, "firstName": "A", "lastName": "B", "phone": "+14155550123"},
            None,
        ),
        ("POST", "/auth/login", {"email": borrower.email, "password": "x" * 12}, None),
        ("POST", "/auth/refresh", {"refreshToken": "t" * 40}, None),
        ("POST", "/auth/logout", {"refreshToken": "t" * 40}, borrower),
        ("POST", "/loans", loan, borrower),
        ("PUT", f"/lender/accept/{people['loanId']}", ach(), lender),
        ("POST", "/auth/verify-email", {"token": "t" * 43}, borrower),
        ("PATCH", "/user/profile", {"firstName": "A", "lastName": "B", "phone": "+14155550123", "emailNotifications": False}, borrower),
    ]


def field_paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every field of a body, nested ones included (list entries by index)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (*path, key)
            yield from field_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from field_paths(item, (*path, index))


def replaced(body: Any, path: tuple[Any, ...], value: Any) -> Any:
    copy = json.loads(json.dumps(body))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


def json_type(value: Any) -> str:
    return "number" if isinstance(value, int | float) and not isinstance(value, bool) else type(value).__name__


def test_every_field_of_every_body_refuses_wrong_json_types(app: FastAPI, client: TestClient, people: dict[str, Any]) -> None:
    before = whole_table(app.state.resources.db)
    tried = 0
    for method, path, body, caller in body_routes(people):
        headers = caller.headers if caller else {}
        for field in field_paths(body):
            current = body
            for step in field:
                current = current[step]
            for wrong in WRONG_VALUES:
                if json_type(wrong) == json_type(current) or (wrong is None and field[-1] == "phone"):
                    continue  # same JSON type (not "wrong"), or null where the contract allows it
                response = client.request(method, path, json=replaced(body, field, wrong), headers=headers)
                tried += 1
                assert response.status_code == 422, f"{method} {path} {field}={wrong!r}: {response.text}"
                error = response.json()["error"]
                assert error["code"] == "VALIDATION_ERROR" and error["details"], response.text
    assert whole_table(app.state.resources.db) == before
    assert tried > 150


@pytest.mark.parametrize(
    ("number", "field"),
    [
        ("1e400", "amount"),
        ("-0", "amount"),
        ("0", "amount"),
        ("0.30000000000000004", "amount"),
        ("1E-7", "amount"),
        ("10000000.01", "amount"),
        ("1e400", "termMonths"),
        ("12.5", "termMonths"),
        ("-0", "termMonths"),
        ("1e400", "interestRate"),
        ("0.125", "interestRate"),
        ("-0.01", "interestRate"),
        ("NaN", "amount"),
        ("Infinity", "amount"),
        ("-Infinity", "interestRate"),
    ],
)
def test_hostile_numbers_are_refused_exactly(app: FastAPI, client: TestClient, people: dict[str, Any], number: str, field: str) -> None:
    borrower, lender = people["borrower"], people["lender"]
    text = (
        f'{{"amount": 100, "purpose": "p", "termMonths": 12, "interestRate": 5, "lenders": [{{"email": "{lender.email}", "amount": 100}}]}}'
    )
    text = text.replace(f'"{field}": {({"amount": "100", "termMonths": "12", "interestRate": "5"})[field]},', f'"{field}": {number},', 1)
    before = whole_table(app.state.resources.db)
    response = client.post("/loans", content=text, headers={**borrower.headers, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert any(detail["field"] == field for detail in response.json()["error"]["details"]), response.text
    assert whole_table(app.state.resources.db) == before


def test_exact_decimals_are_kept_to_the_cent(client: TestClient, people: dict[str, Any]) -> None:
    borrower, lender = people["borrower"], people["lender"]
    lenders = f'[{{"email": "{lender.email}", "amount": 1.30}}]'
    text = f'{{"amount": 1.30, "purpose": "p", "termMonths": 1, "interestRate": 0.1, "lenders": {lenders}}}'
    response = client.post("/loans", content=text, headers={**borrower.headers, "Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    body = json.loads(response.text, parse_float=Decimal)
    assert body["amount"] == Decimal("1.30") and body["lenders"][0]["amount"] == Decimal("1.30")


@pytest.mark.parametrize(
    "text",
    ["Zoë 💸 Ünïcödé ‮RTL", "tab\tand\nnewline", "nul\u0000byte", "bell\u0007", "\ud7ff\ue000", "ｆｕｌｌｗｉｄｔｈ", "a" * 500],
)
def test_unicode_and_control_characters_never_break_the_service(
    app: FastAPI, client: TestClient, people: dict[str, Any], text: str
) -> None:
    borrower, lender = people["borrower"], people["lender"]
    body = json.loads(json.dumps(loan_body([(lender, "100.00")]), default=str))
    body.update(amount=10, interestRate=1, purpose=text)
    body["lenders"][0]["amount"] = 10
    before = whole_table(app.state.resources.db)
    response = client.post("/loans", json=body, headers=borrower.headers)
    assert response.status_code in (201, 422), response.text
    if response.status_code == 201:
        assert response.json()["purpose"] == text.strip()
        assert client.get(f"/loans/{response.json()['loanId']}", headers=borrower.headers).json()["purpose"] == text.strip()
    else:
        assert whole_table(app.state.resources.db) == before
    profile = client.patch("/user/profile", json={"firstName": text[:100]}, headers=borrower.headers)
    assert profile.status_code in (200, 422), profile.text


@pytest.mark.parametrize("extra", [0, 1])
def test_body_size_limit_is_exactly_64_kib(app: FastAPI, client: TestClient, people: dict[str, Any], extra: int) -> None:
    skeleton = '{"firstName": "A", "padding": ""}'
    body = skeleton.replace('""', '"' + "x" * (64 * 1024 - len(skeleton) + extra) + '"')
    assert len(body.encode()) == 64 * 1024 + extra
    before = whole_table(app.state.resources.db)
    response = client.patch("/user/profile", content=body, headers={**people["borrower"].headers, "Content-Type": "application/json"})
    if extra:
        assert response.status_code == 413 and response.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    else:
        assert response.status_code == 422  # read in full, then refused for its unknown field
        assert response.json()["error"]["details"][0]["field"] == "padding"
    assert whole_table(app.state.resources.db) == before


@pytest.mark.parametrize("depth", [100, 5000, 30000])
def test_deeply_nested_json_is_a_clean_error(app: FastAPI, client: TestClient, people: dict[str, Any], depth: int) -> None:
    body = '{"firstName": ' + "[" * depth + "]" * depth + "}"
    before = whole_table(app.state.resources.db)
    response = client.patch("/user/profile", content=body, headers={**people["borrower"].headers, "Content-Type": "application/json"})
    assert response.status_code in (400, 413, 422), response.text
    assert whole_table(app.state.resources.db) == before


def test_duplicate_keys_are_refused_and_change_nothing(app: FastAPI, client: TestClient, people: dict[str, Any]) -> None:
    before = whole_table(app.state.resources.db)
    body = '{"firstName": "Eve", "firstName": "Mallory"}'
    response = client.patch("/user/profile", content=body, headers={**people["borrower"].headers, "Content-Type": "application/json"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "BAD_REQUEST"
    assert whole_table(app.state.resources.db) == before


def test_ten_thousand_character_tokens_are_refused(client: TestClient) -> None:
    response = client.get("/user/profile", headers={"Authorization": "Bearer " + "a" * 10_000})
    assert response.status_code == 401 and response.json()["error"]["code"] == "UNAUTHENTICATED"
    refresh = client.post("/auth/refresh", json={"refreshToken": "r" * 10_000})
    assert refresh.status_code == 422 and refresh.json()["error"]["details"][0]["field"] == "refreshToken"


def raw_request_ids(app: FastAPI, value: bytes) -> list[bytes]:
    """Send one GET /health with a raw X-Request-ID (bytes a normal client refuses to send)."""
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/health",
        "raw_path": b"/health",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"testserver"), (b"x-request-id", value)],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = next(message for message in sent if message["type"] == "http.response.start")
    return [header_value for name, header_value in start["headers"] if name == b"x-request-id"]


@pytest.mark.parametrize(
    "value",
    [
        b"abc\r\nSet-Cookie: session=stolen",
        b"id\nX-Injected: 1",
        b"a" * 129,
        b"<script>alert(1)</script>",
        b"sp ace",
        "\u00e9t\u00e9".encode(),
        b"",
    ],
)
def test_request_id_header_injection_is_never_echoed(app: FastAPI, value: bytes) -> None:
    echoed = raw_request_ids(app, value)
    assert len(echoed) == 1
    assert echoed[0] != value and len(echoed[0]) <= 128
    assert all(chr(byte).isalnum() or chr(byte) in "-._:" for byte in echoed[0])


def test_a_sane_request_id_is_echoed_as_sent(app: FastAPI) -> None:
    assert raw_request_ids(app, b"req-123.abc:def_9") == [b"req-123.abc:def_9"]
