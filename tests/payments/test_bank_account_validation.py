"""/bank-accounts input rules, authentication and the email gate: every refusal is the envelope, never a 500.

One app and one pair of users for the whole module (the refusals write nothing, so they share them).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.db.dynamo import Dynamo
from app.db.expressions import Expression
from app.db.keys import BANK, bank_account_key, user_partition
from app.db.table import PARTITION_KEY, SORT_KEY
from app.jsonio import dumps_exact
from app.main import create_app
from tests.conftest import make_settings
from tests.factories import TestUser, a_user
from tests.support.clock import FakeClock

DETAILS = {"accountHolderName": "Ada Lovelace", "accountType": "checking", "routingNumber": "021000021", "accountNumber": "000123456789"}
UNKNOWN_ID = "0190f3a1-0000-7000-8000-000000000000"


@pytest.fixture(scope="module")
def shared_app(endpoint_url: str, table_name: str) -> FastAPI:
    return create_app(make_settings(endpoint_url, table_name), clock=FakeClock())


@pytest.fixture(scope="module")
def web(shared_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(shared_app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def owner(shared_app: FastAPI) -> TestUser:
    return a_user(shared_app)


@pytest.fixture(scope="module")
def unverified(shared_app: FastAPI) -> TestUser:
    return a_user(shared_app, verified=False)


@pytest.fixture(scope="module")
def pending(web: TestClient, owner: TestUser) -> str:
    """One account of `owner`, pending verification (the verify refusals below post to it)."""
    response = web.post("/bank-accounts", json=DETAILS, headers=owner.headers)
    assert response.status_code == 201, response.text
    return str(response.json()["bankAccountId"])


@pytest.fixture(scope="module")
def shared_db(shared_app: FastAPI) -> Dynamo:
    database: Dynamo = shared_app.state.resources.db
    return database


def assert_envelope(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The contract's error envelope with `status` and `code`; its requestId is the response's X-Request-ID."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details", "requestId"}
    assert error["code"] == code
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["details"], list)
    assert error["requestId"] and error["requestId"] == response.headers["x-request-id"]
    return dict(error)


def assert_refused_field(response: httpx.Response, field: str) -> None:
    error = assert_envelope(response, 422, "VALIDATION_ERROR")
    fields = {(detail["field"], detail["location"]) for detail in error["details"]}
    assert (field, "body") in fields, error["details"]
    assert all(set(detail) == {"field", "location", "reason"} and detail["reason"] for detail in error["details"])


def _json(body: dict[str, Any]) -> bytes:
    """`body` as JSON text with Decimals written as their exact digits (httpx's json= cannot encode them)."""
    return dumps_exact(body).encode()


def accounts_in_table(db: Dynamo, user: TestUser) -> list[dict[str, Any]]:
    condition = Expression(
        f"{PARTITION_KEY} = :pk AND begins_with({SORT_KEY}, :bank)", values={":pk": user_partition(user.user_id), ":bank": BANK}
    )
    return db.query_all(condition, consistent=True)


# --- POST /bank-accounts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("routingNumber", "021000022"),  # fails the ABA checksum
        ("routingNumber", "267084132"),  # fails the ABA checksum
        ("routingNumber", "02100002"),  # 8 digits
        ("routingNumber", "0210000210"),  # 10 digits
        ("routingNumber", "000000000"),  # passes the checksum, but 00 is no Federal Reserve prefix
        ("routingNumber", "02100002a"),
        ("routingNumber", " 021000021"),
        ("routingNumber", "０２１０００００２１"),  # fullwidth digits
        ("routingNumber", 21000021),  # a number, not a string
        ("routingNumber", ""),
        ("routingNumber", None),
        ("accountNumber", "123"),  # 3 digits
        ("accountNumber", "123456789012345678"),  # 18 digits
        ("accountNumber", "12345a78"),
        ("accountNumber", "1234 5678"),
        ("accountNumber", "-12345678"),
        ("accountNumber", "١٢٣٤٥٦٧٨"),  # Arabic-Indic digits
        ("accountNumber", 12345678),
        ("accountType", "other"),
        ("accountType", "Checking"),
        ("accountType", ""),
        ("accountType", None),
        ("accountHolderName", ""),
        ("accountHolderName", "   "),
        ("accountHolderName", "A" * 101),
        ("accountHolderName", "日本"),  # nothing of it survives in the ACH alphabet
        ("accountHolderName", "Ada\x00Lovelace"),
        ("accountHolderName", "Ada\nLovelace"),
        ("accountHolderName", 42),
        ("accountHolderName", ["Ada"]),
    ],
)
def test_bad_bank_details_are_refused_field_by_field(
    web: TestClient, owner: TestUser, shared_db: Dynamo, field: str, value: object
) -> None:
    before = len(accounts_in_table(shared_db, owner))
    response = web.post("/bank-accounts", json={**DETAILS, "accountNumber": "99887766", field: value}, headers=owner.headers)
    assert_refused_field(response, field)
    assert len(accounts_in_table(shared_db, owner)) == before  # nothing written


@pytest.mark.parametrize("field", ["accountHolderName", "accountType", "routingNumber", "accountNumber"])
def test_a_missing_field_is_refused(web: TestClient, owner: TestUser, field: str) -> None:
    body = {name: value for name, value in DETAILS.items() if name != field}
    assert_refused_field(web.post("/bank-accounts", json=body, headers=owner.headers), field)


def test_an_unknown_extra_field_is_refused(web: TestClient, owner: TestUser) -> None:
    response = web.post("/bank-accounts", json={**DETAILS, "accountNumber": "44556677", "nickname": "main"}, headers=owner.headers)
    assert_refused_field(response, "nickname")


@pytest.mark.parametrize(("name", "number"), [("---", "70000001"), ("!!! ---", "70000002"), ("& / .", "70000003"), ("'", "70000004")])
def test_a_holder_name_without_a_letter_or_digit_is_refused(web: TestClient, owner: TestUser, name: str, number: str) -> None:
    response = web.post("/bank-accounts", json={**DETAILS, "accountNumber": number, "accountHolderName": name}, headers=owner.headers)
    assert_refused_field(response, "accountHolderName")


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        (b"", 422, "VALIDATION_ERROR"),
        (b"[]", 422, "VALIDATION_ERROR"),
        (b"null", 422, "VALIDATION_ERROR"),
        (b'"text"', 422, "VALIDATION_ERROR"),
        (b"{", 400, "BAD_REQUEST"),
        (b'{"accountType": "checking", "accountType": "savings"}', 400, "BAD_REQUEST"),  # duplicate keys
        (b"\xff\xfe", 400, "BAD_REQUEST"),
    ],
)
def test_a_malformed_body_is_refused_in_the_envelope(web: TestClient, owner: TestUser, content: bytes, status: int, code: str) -> None:
    response = web.post("/bank-accounts", content=content, headers={**owner.headers, "Content-Type": "application/json"})
    assert_envelope(response, status, code)


def test_the_bounds_of_the_rules_are_accepted(web: TestClient, owner: TestUser) -> None:
    cases = [
        ({"accountNumber": "1234"}, "Ada Lovelace"),  # 4 digits
        ({"accountNumber": "12345678901234567"}, "Ada Lovelace"),  # 17 digits
        ({"accountNumber": "22334455", "accountHolderName": "B" * 100}, "B" * 100),  # 100 characters
        ({"accountNumber": "22334456", "accountHolderName": "  Ada  Lovelace  "}, "Ada  Lovelace"),  # trimmed to fit
        ({"accountNumber": "22334457", "accountHolderName": "José Núñez 日本"}, "José Núñez 日本"),  # letters the ACH alphabet keeps
        ({"accountNumber": "22334458", "accountType": "savings", "routingNumber": "122105155"}, "Ada Lovelace"),
    ]
    for changes, holder in cases:
        response = web.post("/bank-accounts", json={**DETAILS, **changes}, headers=owner.headers)
        assert response.status_code == 201, (changes, response.text)
        assert response.json()["accountHolderName"] == holder
        assert response.json()["accountNumberLast4"] == changes["accountNumber"][-4:]


def test_refusals_never_echo_the_numbers(web: TestClient, owner: TestUser) -> None:
    response = web.post(
        "/bank-accounts", json={**DETAILS, "routingNumber": "267084132", "accountNumber": "908172635445361234"}, headers=owner.headers
    )
    assert response.status_code == 422
    assert "267084132" not in response.text and "908172635445361234" not in response.text


# --- POST /bank-accounts/{id}/verify ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"amounts": [Decimal("0.10")]}, "amounts"),  # one amount
        ({"amounts": [Decimal("0.10"), Decimal("0.20"), Decimal("0.30")]}, "amounts"),  # three
        ({"amounts": []}, "amounts"),
        ({"amounts": [0, Decimal("0.20")]}, "amounts.0"),
        ({"amounts": [Decimal("0.10"), Decimal("-0.20")]}, "amounts.1"),
        ({"amounts": [Decimal("0.105"), Decimal("0.20")]}, "amounts.0"),  # three decimals
        ({"amounts": ["0.10", "0.20"]}, "amounts.0"),  # strings
        ({"amounts": [True, False]}, "amounts.0"),  # booleans
        ({"amounts": [None, Decimal("0.20")]}, "amounts.0"),
        ({"amounts": [[Decimal("0.10")], Decimal("0.20")]}, "amounts.0"),
        ({"amounts": [Decimal("0.10"), 10000001]}, "amounts.1"),  # over the maximum
        ({"amounts": Decimal("0.10")}, "amounts"),
        ({"amounts": "0.10,0.20"}, "amounts"),
        ({"amounts": {"a": Decimal("0.10"), "b": Decimal("0.20")}}, "amounts"),
        ({}, "amounts"),
        ({"amounts": [Decimal("0.10"), Decimal("0.20")], "extra": 1}, "extra"),
    ],
)
def test_bad_verification_bodies_are_refused_without_costing_an_attempt(
    web: TestClient, owner: TestUser, pending: str, shared_db: Dynamo, body: dict[str, Any], field: str
) -> None:
    response = web.post(
        f"/bank-accounts/{pending}/verify",
        content=_json(body),
        headers={**owner.headers, "Content-Type": "application/json"},
    )
    assert_refused_field(response, field)
    item = shared_db.get(bank_account_key(owner.user_id, pending)) or {}
    assert item["attemptsLeft"] == 3 and item["status"] == "pending_verification"


@pytest.mark.parametrize(
    "content",
    [b'{"amounts": [NaN, 0.2]}', b'{"amounts": [Infinity, 0.2]}', b'{"amounts": [-Infinity, 0.2]}', b'{"amounts": [1e400, 0.2]}'],
)
def test_non_finite_amounts_are_refused(web: TestClient, owner: TestUser, pending: str, shared_db: Dynamo, content: bytes) -> None:
    response = web.post(f"/bank-accounts/{pending}/verify", content=content, headers={**owner.headers, "Content-Type": "application/json"})
    assert_refused_field(response, "amounts.0")
    assert (shared_db.get(bank_account_key(owner.user_id, pending)) or {})["attemptsLeft"] == 3


def test_amounts_compare_as_numbers_whatever_their_spelling(web: TestClient, owner: TestUser, shared_db: Dynamo) -> None:
    account = web.post("/bank-accounts", json={**DETAILS, "accountNumber": "33445566"}, headers=owner.headers).json()["bankAccountId"]
    item = shared_db.get(bank_account_key(owner.user_id, account)) or {}
    a, b = (Decimal(str(value)) for value in item["microDeposits"])
    headers = {**owner.headers, "Content-Type": "application/json"}

    def post(amounts: str) -> httpx.Response:
        response: httpx.Response = web.post(f"/bank-accounts/{account}/verify", content=f'{{"amounts": [{amounts}]}}', headers=headers)
        return response

    for wrong in ("1, 2", f"{int(a * 100)}e-2, {int(a * 100)}E-2"):  # integers; a twice, in exponent notation
        assert_envelope(post(wrong), 422, "VERIFICATION_MISMATCH")
    right = post(f"{int(b * 100)}e-2, {a}000")  # e.g. 0.36 as 36e-2 and 0.07 as 0.07000
    assert right.status_code == 200, right.text
    assert right.json()["status"] == "verified" and right.json()["verificationAttemptsLeft"] == 1


# --- ids in the path -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "bank_account_id",
    [UNKNOWN_ID, "x", "BANK#", "not-a-uuid", "%20", "..", "a" * 64, "日本", "USER%23abc", "%00"],
)
def test_an_unknown_id_is_not_found(web: TestClient, owner: TestUser, bank_account_id: str) -> None:
    verify = web.post(f"/bank-accounts/{bank_account_id}/verify", json={"amounts": [0.1, 0.2]}, headers=owner.headers)
    delete = web.delete(f"/bank-accounts/{bank_account_id}", headers=owner.headers)
    for response in (verify, delete):
        assert response.status_code in (404, 405, 422), response.text  # never a 500
        if response.status_code == 404:
            assert_envelope(response, 404, "NOT_FOUND")


def test_an_overlong_id_is_refused(web: TestClient, owner: TestUser) -> None:
    long_id = "a" * 65
    verify = web.post(f"/bank-accounts/{long_id}/verify", json={"amounts": [0.1, 0.2]}, headers=owner.headers)
    delete = web.delete(f"/bank-accounts/{long_id}", headers=owner.headers)
    for response in (verify, delete):
        error = assert_envelope(response, 422, "VALIDATION_ERROR")
        assert error["details"][0]["field"] == "bankAccountId" and error["details"][0]["location"] == "path"


def test_a_huge_id_is_never_a_500(web: TestClient, owner: TestUser) -> None:
    huge = "b" * 5000
    assert web.delete(f"/bank-accounts/{huge}", headers=owner.headers).status_code in (404, 414, 422)


# --- GET /bank-accounts query ----------------------------------------------------------------------


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "limit=-1", "limit=abc", "limit=1.5", "cursor=" + "c" * 2049])
def test_bad_list_parameters_are_refused(web: TestClient, owner: TestUser, query: str) -> None:
    response = web.get(f"/bank-accounts?{query}", headers=owner.headers)
    error = assert_envelope(response, 422, "VALIDATION_ERROR")
    assert error["details"][0]["location"] == "query"


# --- authentication and the email gate -------------------------------------------------------------

ROUTES = [
    ("POST", "/bank-accounts", DETAILS),
    ("GET", "/bank-accounts", None),
    ("POST", f"/bank-accounts/{UNKNOWN_ID}/verify", {"amounts": [0.1, 0.2]}),
    ("DELETE", f"/bank-accounts/{UNKNOWN_ID}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic dXNlcjpwYXNz", "Bearer ", "bearer"])
def test_every_route_needs_a_valid_token(
    web: TestClient, method: str, path: str, body: dict[str, Any] | None, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = web.request(method, path, json=body, headers=headers)
    assert_envelope(response, 401, "UNAUTHENTICATED")
    assert response.headers["www-authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path"), [("POST", "/bank-accounts"), ("POST", f"/bank-accounts/{UNKNOWN_ID}/verify")])
def test_authentication_comes_before_validation(web: TestClient, method: str, path: str) -> None:
    assert_envelope(web.request(method, path, json={"junk": True}), 401, "UNAUTHENTICATED")


def test_an_unverified_email_may_not_register_verify_or_close(
    web: TestClient, unverified: TestUser, owner: TestUser, pending: str, shared_db: Dynamo
) -> None:
    register = web.post("/bank-accounts", json={**DETAILS, "accountNumber": "31415926"}, headers=unverified.headers)
    assert_envelope(register, 403, "EMAIL_NOT_VERIFIED")
    assert accounts_in_table(shared_db, unverified) == []
    for account_id in (UNKNOWN_ID, pending):  # someone else's real account: the gate answers first, nothing leaks
        verify = web.post(f"/bank-accounts/{account_id}/verify", json={"amounts": [0.1, 0.2]}, headers=unverified.headers)
        assert_envelope(verify, 403, "EMAIL_NOT_VERIFIED")
        assert_envelope(web.delete(f"/bank-accounts/{account_id}", headers=unverified.headers), 403, "EMAIL_NOT_VERIFIED")
    item = shared_db.get(bank_account_key(owner.user_id, pending)) or {}
    assert item["status"] == "pending_verification" and item["attemptsLeft"] == 3


def test_an_unverified_email_may_list_its_none_accounts(web: TestClient, unverified: TestUser) -> None:
    response = web.get("/bank-accounts", headers=unverified.headers)
    assert response.status_code == 200, response.text
    assert response.json() == {"items": [], "nextCursor": None}
