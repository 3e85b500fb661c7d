"""Look-alike emails: NFKC + case-folding make one spelling; what stays non-ASCII after NFKC is refused (422).

Fullwidth ASCII letters are compatibility forms of ASCII (NFKC maps them), so they name the SAME account;
Cyrillic "а" (U+0430) looks like Latin "a" but NFKC keeps it, so it is refused everywhere an email is taken.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.db.dynamo import Dynamo
from app.db.keys import email_key
from tests.auth.conftest import login, register
from tests.factories import a_user
from tests.loans.helpers import error_code, fields_of, loan_body, post_json

LOOKALIKE_MESSAGE = "email must use ASCII characters after normalisation (NFKC); look-alike characters are refused"
CYRILLIC_A = "\u0430"


def fullwidth(text: str) -> str:
    """Each printable ASCII character as its fullwidth form (U+FF01..U+FF5E)."""
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in text)


def assert_lookalike_refused(response: Any) -> None:
    assert response.status_code == 422, response.text
    assert error_code(response) == "VALIDATION_ERROR"
    assert any(LOOKALIKE_MESSAGE in detail["reason"] for detail in response.json()["error"]["details"]), response.text


def test_fullwidth_email_is_the_same_account(client: TestClient) -> None:
    local = f"ada{uuid.uuid4().hex[:8]}"
    first = register(client, email=f"{local}@example.com")
    assert first.status_code == 201, first.text
    second = register(client, email=f"{fullwidth(local)}@example.com")
    assert second.status_code == 409 and error_code(second) == "EMAIL_TAKEN", second.text
    everything_fullwidth = register(client, email=fullwidth(f"{local.upper()}@EXAMPLE.COM"))
    assert everything_fullwidth.status_code == 409 and error_code(everything_fullwidth) == "EMAIL_TAKEN"
    signed_in = login(client, fullwidth(f"{local}@example.com"))
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["user"]["email"] == f"{local}@example.com"


def test_email_is_case_folded(client: TestClient) -> None:
    """str.casefold, not str.lower: the German sharp s folds to "ss", so "STRASSE" and "straße" are one address."""
    tag = uuid.uuid4().hex[:8]
    first = register(client, email=f"stra\u00dfe{tag}@example.com")
    assert first.status_code == 201, first.text
    assert first.json()["user"]["email"] == f"strasse{tag}@example.com"
    second = register(client, email=f"STRASSE{tag}@example.com")
    assert second.status_code == 409 and error_code(second) == "EMAIL_TAKEN"


@pytest.mark.parametrize(
    "email",
    [f"{CYRILLIC_A}da@example.com", f"ada@ex{CYRILLIC_A}mple.com", "ad\u00e1@example.com", "ada@b\u00fccher.example"],
    ids=["cyrillic-local", "cyrillic-domain", "latin-accent-local", "idn-domain"],
)
def test_register_refuses_emails_that_stay_non_ascii(client: TestClient, email: str) -> None:
    response = register(client, email=email)
    assert_lookalike_refused(response)
    assert fields_of(response) == ["email"]


def test_a_cyrillic_lookalike_never_signs_in_to_the_account_it_imitates(client: TestClient) -> None:
    local = f"ada{uuid.uuid4().hex[:8]}"
    assert register(client, email=f"{local}@example.com").status_code == 201
    response = login(client, f"{local.replace('a', CYRILLIC_A, 1)}@example.com")
    assert (response.status_code, error_code(response)) == (401, "INVALID_CREDENTIALS")


def test_an_account_stored_before_normalisation_changed_still_signs_in(client: TestClient, db: Dynamo) -> None:
    # Given: an account registered when emails were only trimmed and lower-cased ("straße" kept its ß)
    email = f"stra\u00dfe-{uuid.uuid4().hex[:8]}@example.com"
    registered = register(client, email=f"ascii-{uuid.uuid4().hex[:8]}@example.com").json()
    claim = db.get(email_key(registered["user"]["email"]))
    assert claim is not None
    db.put({**claim, **email_key(email), "email": email})
    # When: its owner signs in with the address as they always typed it
    response = login(client, email)
    # Then: the older spelling is found after the normal form ("strasse") is not
    assert response.status_code == 200, response.text
    assert response.json()["user"]["userId"] == registered["user"]["userId"]


def test_loan_lender_emails_are_normalised_and_lookalikes_refused(app: FastAPI, client: TestClient) -> None:
    borrower, lender = a_user(app), a_user(app)
    refused = post_json(client, "/loans", loan_body([(lender.email.replace("e", "\u0435", 1), "100")]), borrower.headers)
    assert_lookalike_refused(refused)
    assert fields_of(refused) == ["lenders.0.email"]
    # The fullwidth spelling of an invited lender's email is the same lender: inviting both is a duplicate.
    twice = post_json(client, "/loans", loan_body([(lender.email, "50"), (fullwidth(lender.email), "50")]), borrower.headers)
    assert twice.status_code == 422 and error_code(twice) == "DUPLICATE_LENDER", twice.text
    created = post_json(client, "/loans", loan_body([(fullwidth(lender.email), "100")]), borrower.headers)
    assert created.status_code == 201, created.text
    assert created.json()["lenders"][0]["email"] == lender.email
