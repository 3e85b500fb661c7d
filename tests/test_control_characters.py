"""Control characters (C0 U+0000-U+001F, DEL, C1 U+0080-U+009F) inside free text are refused with 422 and never stored.

Surrounding white space (tabs, newlines) is trimmed first, so only a control character left inside the text counts.
Fields: first/last name (register and PATCH /user/profile), a loan's purpose, the ACH account holder name.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.auth.conftest import register
from tests.factories import a_user
from tests.loans.helpers import accept, create_loan, error_code, fields_of, loan_body

CONTROLS = ["\u0000", "\u0001", "\u0007", "\t", "\n", "\r", "\u001b", "\u001f", "\u007f", "\u0080", "\u0085", "\u009f"]
REFUSED = [f"Ad{char}a" for char in CONTROLS]
KEPT = ["Ada", "Zoë 💸 Ünïcödé", "\tAda\n", " Ada Lovelace ", "O'Brien-Smith", "\u00a0Ada\u00a0"]


def assert_refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert error_code(response) == "VALIDATION_ERROR"
    assert fields_of(response) == [field], response.text


@pytest.mark.parametrize("name", REFUSED, ids=repr)
@pytest.mark.parametrize("field", ["firstName", "lastName"])
def test_register_refuses_control_characters_in_names(client: TestClient, name: str, field: str) -> None:
    assert_refused(register(client, **{field: name}), field)


@pytest.mark.parametrize("name", KEPT, ids=repr)
def test_register_keeps_names_whose_white_space_is_only_around_them(client: TestClient, name: str) -> None:
    response = register(client, firstName=name)
    assert response.status_code == 201, response.text
    assert response.json()["user"]["firstName"] == name.strip()


@pytest.mark.parametrize("name", REFUSED, ids=repr)
@pytest.mark.parametrize("field", ["firstName", "lastName"])
def test_profile_update_refuses_control_characters_in_names(app: FastAPI, client: TestClient, name: str, field: str) -> None:
    ada = a_user(app)
    assert_refused(client.patch("/user/profile", json={field: name}, headers=ada.headers), field)
    profile = client.get("/user/profile", headers=ada.headers).json()
    assert (profile["firstName"], profile["lastName"]) == ("Ada", "Lovelace")


@pytest.mark.parametrize("purpose", REFUSED, ids=repr)
def test_loan_purpose_refuses_control_characters(app: FastAPI, client: TestClient, purpose: str) -> None:
    borrower, lender = a_user(app), a_user(app)
    body = json.loads(json.dumps(loan_body([(lender, "10.00")], purpose=purpose), default=str))
    body.update(amount=10, interestRate=1)
    body["lenders"][0]["amount"] = 10
    assert_refused(client.post("/loans", json=body, headers=borrower.headers), "purpose")
    assert client.get("/loans/my-loans", headers=borrower.headers).json()["items"] == []


@pytest.mark.parametrize("holder", REFUSED, ids=repr)
def test_account_holder_name_refuses_control_characters(app: FastAPI, client: TestClient, holder: str) -> None:
    borrower, lender = a_user(app), a_user(app)
    loan = create_loan(client, borrower, [(lender, "100")])
    assert_refused(accept(client, lender, loan["loanId"], accountHolderName=holder), "achDetails.accountHolderName")
    assert client.get(f"/loans/{loan['loanId']}", headers=borrower.headers).json()["fundedAmount"] == 0


def test_the_schema_states_the_refusal() -> None:
    from app.auth.schemas import RegisterRequest
    from app.loans.schemas import LoanCreate
    from app.payments.schemas import AchDetailsInput
    from app.schemas import CONTROL_CHARACTERS
    from app.users.schemas import ProfileUpdate

    for model, field in [
        (RegisterRequest, "firstName"),
        (RegisterRequest, "lastName"),
        (ProfileUpdate, "firstName"),
        (ProfileUpdate, "lastName"),
        (LoanCreate, "purpose"),
        (AchDetailsInput, "accountHolderName"),
    ]:
        schema = model.model_json_schema()["properties"][field]
        assert schema["not"] == {"pattern": CONTROL_CHARACTERS}, (model, field, schema)
