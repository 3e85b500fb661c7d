"""KMS failures, injected on the process's real KMS client (botocore `before-send`; no network, no moto).

KMS unreachable or throttled on accept -> 503 with Retry-After and nothing written; KMS refusing a
data key -> AchDecryptionFailed, KMS failing on decrypt -> ServiceUnavailable.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.config import Settings
from app.db.client import ClientTimeouts
from app.db.dynamo import Dynamo
from app.db.keys import bank_account_key
from app.db.kms import KmsKeyring, kms_client
from app.errors import ServiceUnavailable
from app.main import create_app
from app.payments import sealing as ach
from app.payments.sealing import Binding
from tests.factories import a_user
from tests.faults.injection import error, inject, response
from tests.faults.test_dynamodb_faults import assert_unavailable
from tests.loans.helpers import accept, create_loan
from tests.support.clock import FakeClock
from tests.support.table import whole_table

pytestmark = pytest.mark.dynamodb_local

KEY_ID = "alias/ach-faults"
PLAINTEXT = os.urandom(32)
BLOB = b"encrypted-data-key:" + os.urandom(16)


@pytest.fixture
def kms(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Iterator[Any]:
    """The process's KMS client, made exactly as ach.data_keys_for makes it (region, timeouts), with dummy credentials."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "faults")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "faults")
    kms_client.cache_clear()
    yield kms_client(settings.aws_region, timeouts=ClientTimeouts.of(settings))
    kms_client.cache_clear()


@pytest.fixture
def kms_app(settings: Settings, clock: FakeClock, kms: Any) -> FastAPI:
    return create_app(settings.model_copy(update={"ach_kms_key_id": KEY_ID}), clock=clock)


@pytest.fixture
def kms_client_app(kms_app: FastAPI) -> Iterator[TestClient]:
    with TestClient(kms_app, raise_server_exceptions=False) as test_client:
        yield test_client


def generated(request: Any) -> Any:
    return response(
        200,
        {"KeyId": KEY_ID, "Plaintext": base64.b64encode(PLAINTEXT).decode(), "CiphertextBlob": base64.b64encode(BLOB).decode()},
        json_version="1.1",
    )


UNREACHABLE = {
    "EndpointConnectionError": lambda: EndpointConnectionError(endpoint_url="https://kms.us-east-1.amazonaws.com"),
    "ReadTimeoutError": lambda: ReadTimeoutError(endpoint_url="https://kms.us-east-1.amazonaws.com"),
    "ThrottlingException": lambda: error("ThrottlingException", json_version="1.1"),
    "DisabledException": lambda: error("DisabledException", json_version="1.1"),
}


@pytest.mark.parametrize("fault", list(UNREACHABLE))
def test_kms_unreachable_on_accept_is_503_and_nothing_is_written(
    kms_app: FastAPI, kms_client_app: TestClient, kms: Any, fault: str
) -> None:
    borrower, lender = a_user(kms_app), a_user(kms_app)
    loan = create_loan(kms_client_app, borrower, [(lender, "250.00"), (a_user(kms_app), "50.00")])
    db: Dynamo = kms_app.state.resources.db
    before = whole_table(db)

    with inject(kms, "GenerateDataKey", UNREACHABLE[fault]()) as seen:
        answer = accept(kms_client_app, lender, loan["loanId"])

    assert_unavailable(answer)
    assert seen.answered >= 1
    assert whole_table(db) == before  # fundedAmount, the invitation, no ACH item: all as they were
    assert kms_client_app.get(f"/loans/{loan['loanId']}", headers=borrower.headers).json()["fundedAmount"] == 0


def test_an_acceptance_seals_with_a_kms_data_key(kms_app: FastAPI, kms_client_app: TestClient, kms: Any) -> None:
    borrower, lender = a_user(kms_app), a_user(kms_app)
    loan = create_loan(kms_client_app, borrower, [(lender, "250.00")])
    with inject(kms, "GenerateDataKey", generated) as seen:
        answer = accept(kms_client_app, lender, loan["loanId"])

    assert answer.status_code == 200, answer.text
    assert seen.answered == 1
    account_id = answer.json()["bankAccountId"]
    item = kms_app.state.resources.db.get(bank_account_key(lender.user_id, account_id))
    assert item["keySource"] == "kms" and base64.b64decode(item["dataKey"]) == BLOB
    keys = ach.KmsDataKeys(KmsKeyring(kms, KEY_ID))
    with inject(kms, "Decrypt", response(200, {"KeyId": KEY_ID, "Plaintext": base64.b64encode(PLAINTEXT).decode()}, json_version="1.1")):
        assert ach.unseal(keys=keys, binding=Binding.bank_account(lender.user_id, account_id), item=item)["routingNumber"] == "021000021"


def sealed_record(kms: Any) -> dict[str, Any]:
    keys = ach.KmsDataKeys(KmsKeyring(kms, KEY_ID))
    with inject(kms, "GenerateDataKey", generated):
        binding = Binding.ach_record("loan-1", "lender-1")
        return ach.seal(keys=keys, binding=binding, routing_number="021000021", account_number="000123456789")


@pytest.mark.parametrize("code", ["InvalidCiphertextException", "IncorrectKeyException"])
def test_kms_rejecting_a_data_key_is_a_decryption_failure(kms: Any, code: str) -> None:
    item = sealed_record(kms)
    keys = ach.KmsDataKeys(KmsKeyring(kms, KEY_ID))

    with inject(kms, "Decrypt", error(code, json_version="1.1")), pytest.raises(ach.AchDecryptionFailed):
        ach.unseal(keys=keys, binding=Binding.ach_record("loan-1", "lender-1"), item=item)


@pytest.mark.parametrize(
    "fault",
    [
        lambda: error("KMSInternalException", status=500, json_version="1.1"),
        lambda: error("DisabledException", json_version="1.1"),
        lambda: EndpointConnectionError(endpoint_url="https://kms.us-east-1.amazonaws.com"),
    ],
)
def test_kms_failing_on_decrypt_is_service_unavailable(kms: Any, fault: Any) -> None:
    item = sealed_record(kms)
    keys = ach.KmsDataKeys(KmsKeyring(kms, KEY_ID))

    with inject(kms, "Decrypt", fault()), pytest.raises(ServiceUnavailable):
        ach.unseal(keys=keys, binding=Binding.ach_record("loan-1", "lender-1"), item=item)
