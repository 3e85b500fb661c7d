"""ACH details at rest: never plaintext in the table, bound to their loan and lender, KMS envelope in prod."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from moto import mock_aws

from app.config import local_ach_key
from app.db.dynamo import Dynamo
from app.db.keys import bank_account_key
from app.db.kms import KmsKeyring
from app.errors import ServiceUnavailable
from app.money.routing import valid_routing_number
from app.payments import sealing as ach
from app.payments.sealing import Binding
from tests.factories import a_user
from tests.loans.helpers import accept, create_loan
from tests.support.table import whole_table

ROUTING = "267084131"
ACCOUNT = "90817263544536"


@pytest.fixture
def accepted(client: TestClient, app: FastAPI) -> dict[str, Any]:
    """A loan on which Lou accepted with distinctive ACH numbers."""
    borrower, lou, max_ = a_user(app), a_user(app), a_user(app)
    loan = create_loan(client, borrower, [(lou, "600.05"), (max_, "400.05")])
    response = accept(client, lou, loan["loanId"], routing=ROUTING, account=ACCOUNT)
    assert response.status_code == 200, response.text
    return {"loan_id": loan["loanId"], "borrower": borrower, "lou": lou, "max": max_, "response": response}


def test_no_plaintext_account_or_routing_number_anywhere_in_the_table(db: Dynamo, accepted: dict[str, Any]) -> None:
    items = whole_table(db)
    text = json.dumps(items)

    assert ROUTING not in text and ACCOUNT not in text
    accounts = [item for item in items if item["SK"]["S"].startswith("BANK#")]  # the acceptance registered a bank account
    assert len(accounts) == 1 and not [item for item in items if item["SK"]["S"].startswith("ACH#")]
    record = accounts[0]
    assert record["routingLast4"]["S"] == ROUTING[-4:] and record["accountLast4"]["S"] == ACCOUNT[-4:]
    assert "routingNumber" not in record and "accountNumber" not in record


def test_only_last4_figures_are_ever_returned(client: TestClient, accepted: dict[str, Any]) -> None:
    loan_id, lou = accepted["loan_id"], accepted["lou"]
    bodies = [
        accepted["response"].text,
        client.get(f"/loans/{loan_id}", headers=accepted["borrower"].headers).text,
        client.get(f"/loans/{loan_id}", headers=lou.headers).text,
        client.get(f"/loans/{loan_id}/events", headers=accepted["borrower"].headers).text,
        client.get("/lender/loans", headers=lou.headers).text,
        client.get("/user/dashboard", headers=lou.headers).text,
        accept(client, lou, loan_id, routing=ROUTING, account=ACCOUNT).text,
    ]

    assert accepted["response"].json()["achDetails"]["accountNumberLast4"] == ACCOUNT[-4:]
    assert all(ROUTING not in body and ACCOUNT not in body for body in bodies)


def test_numbers_never_reach_the_logs(client: TestClient, app: FastAPI, caplog: pytest.LogCaptureFixture, capsys: Any) -> None:
    borrower, lender = a_user(app), a_user(app)
    loan = create_loan(client, borrower, [(lender, "100.00")])
    caplog.set_level("DEBUG")
    accept(client, lender, loan["loanId"], routing="267084132", account=ACCOUNT)  # refused: bad checksum
    accept(client, lender, loan["loanId"], routing=ROUTING, account=ACCOUNT)

    logged = caplog.text + capsys.readouterr().out
    assert ROUTING not in logged and "267084132" not in logged and ACCOUNT not in logged


def test_the_sealed_numbers_open_only_for_their_account_and_owner(app: FastAPI, db: Dynamo, accepted: dict[str, Any]) -> None:
    lou, max_ = accepted["lou"], accepted["max"]
    account_id = accepted["response"].json()["bankAccountId"]
    item = db.get(bank_account_key(lou.user_id, account_id))
    assert item is not None
    key = local_ach_key(app.state.settings)
    assert key is not None
    keys = ach.LocalDataKeys(key)

    assert ach.unseal(keys=keys, binding=Binding.bank_account(lou.user_id, account_id), item=item) == {
        "routingNumber": ROUTING,
        "accountNumber": ACCOUNT,
    }
    with pytest.raises(ach.AchDecryptionFailed):
        ach.unseal(keys=keys, binding=Binding.bank_account(lou.user_id, "0190f3a1-0000-7000-8000-000000000000"), item=item)
    with pytest.raises(ach.AchDecryptionFailed):
        ach.unseal(keys=keys, binding=Binding.bank_account(max_.user_id, account_id), item=item)
    with pytest.raises(ach.AchDecryptionFailed):
        ach.unseal(keys=keys, binding=Binding.ach_record(accepted["loan_id"], lou.user_id), item=item)
    swapped = {**item, "routingNumberCipher": item["accountNumberCipher"], "accountNumberCipher": item["routingNumberCipher"]}
    with pytest.raises(ach.AchDecryptionFailed):
        ach.unseal(keys=keys, binding=Binding.bank_account(lou.user_id, account_id), item=swapped)


def test_another_key_cannot_open_the_numbers(db: Dynamo, accepted: dict[str, Any]) -> None:
    account_id = accepted["response"].json()["bankAccountId"]
    item = db.get(bank_account_key(accepted["lou"].user_id, account_id))
    assert item is not None

    with pytest.raises(ach.AchDecryptionFailed):
        ach.unseal(keys=ach.LocalDataKeys(b"\x01" * 32), binding=Binding.bank_account(accepted["lou"].user_id, account_id), item=item)


def test_each_record_gets_a_fresh_nonce() -> None:
    keys = ach.LocalDataKeys(b"\x02" * 32)
    first = ach.seal(keys=keys, binding=Binding.ach_record("l", "u"), routing_number=ROUTING, account_number=ACCOUNT)
    second = ach.seal(keys=keys, binding=Binding.ach_record("l", "u"), routing_number=ROUTING, account_number=ACCOUNT)

    assert first["accountNumberCipher"] != second["accountNumberCipher"]
    assert first["keySource"] == "local" and "dataKey" not in first


@pytest.mark.parametrize("routing", ["021000021", "011000015", "122105155", "091000019"])
def test_valid_aba_numbers_pass_the_checksum(routing: str) -> None:
    assert valid_routing_number(routing) == routing


@pytest.mark.parametrize("routing", ["021000022", "123456789", "02100002", "0210000210", "abcdefghi"])
def test_invalid_aba_numbers_fail(routing: str) -> None:
    with pytest.raises(ValueError):
        valid_routing_number(routing)


# --- production: envelope encryption with KMS (moto's KMS) ---------------------------------------


@pytest.fixture
def kms_keys() -> Any:
    with mock_aws():
        client = boto3.client("kms", region_name="us-east-1")
        key_id = client.create_key(Description="ach")["KeyMetadata"]["KeyId"]
        yield client, key_id, ach.KmsDataKeys(KmsKeyring(client, key_id))


def test_kms_envelope_round_trip_stores_only_the_encrypted_data_key(kms_keys: Any) -> None:
    _, _, keys = kms_keys
    sealed = ach.seal(keys=keys, binding=Binding.ach_record("loan-1", "lender-1"), routing_number=ROUTING, account_number=ACCOUNT)

    assert sealed["keySource"] == "kms" and sealed["dataKey"]
    assert ROUTING not in json.dumps(sealed) and ACCOUNT not in json.dumps(sealed)
    assert ach.unseal(keys=keys, binding=Binding.ach_record("loan-1", "lender-1"), item=sealed) == {
        "routingNumber": ROUTING,
        "accountNumber": ACCOUNT,
    }


@pytest.mark.parametrize("loan_id, lender_id", [("loan-2", "lender-1"), ("loan-1", "lender-2")])
def test_kms_refuses_the_data_key_under_another_encryption_context(kms_keys: Any, loan_id: str, lender_id: str) -> None:
    _, _, keys = kms_keys
    sealed = ach.seal(keys=keys, binding=Binding.ach_record("loan-1", "lender-1"), routing_number=ROUTING, account_number=ACCOUNT)

    with pytest.raises(ach.AchDecryptionFailed):
        ach.unseal(keys=keys, binding=Binding.ach_record(loan_id, lender_id), item=sealed)


def test_a_kms_record_without_its_data_key_does_not_open(kms_keys: Any) -> None:
    _, _, keys = kms_keys
    sealed = ach.seal(keys=keys, binding=Binding.ach_record("loan-1", "lender-1"), routing_number=ROUTING, account_number=ACCOUNT)
    del sealed["dataKey"]

    with pytest.raises(ach.AchDecryptionFailed):
        ach.unseal(keys=keys, binding=Binding.ach_record("loan-1", "lender-1"), item=sealed)


def test_an_unusable_kms_key_is_a_503_not_a_crash(kms_keys: Any) -> None:
    client, _, _ = kms_keys
    keys = ach.KmsDataKeys(KmsKeyring(client, "alias/no-such-key"))

    with pytest.raises(ServiceUnavailable):
        ach.seal(keys=keys, binding=Binding.ach_record("loan-1", "lender-1"), routing_number=ROUTING, account_number=ACCOUNT)


def test_settings_choose_kms_when_a_key_is_configured(app: FastAPI) -> None:
    settings = app.state.settings.model_copy(update={"ach_kms_key_id": "alias/ach"})

    assert isinstance(ach.data_keys_for(settings), ach.KmsDataKeys)
    assert isinstance(ach.data_keys_for(app.state.settings), ach.LocalDataKeys)


def test_missing_ach_configuration_is_503(app: FastAPI) -> None:
    settings = app.state.settings.model_copy(update={"ach_kms_key_id": None, "ach_local_key": None})

    with pytest.raises(ServiceUnavailable):
        ach.data_keys_for(settings)
