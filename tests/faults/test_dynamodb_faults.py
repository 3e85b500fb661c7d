"""Every DynamoDB failure app/db translates, injected on the real app's botocore client: the contract's answer, nothing half-written.

Throttling (call and transaction-cancellation reasons) and connection errors / read timeouts -> 503
SERVICE_UNAVAILABLE with Retry-After; TransactionConflict and TransactionInProgress -> retried,
then a success or 409 CONFLICT; unprocessed BatchGetItem keys -> retried, then a success or 503.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from fastapi.testclient import TestClient

from app.config import Settings
from app.db.dynamo import TRANSACTION_ATTEMPTS, Dynamo
from app.db.keys import invitation_key
from app.main import create_app
from app.retry import RACE_ATTEMPTS
from tests.factories import TestUser
from tests.faults.injection import AWSResponse, cancelled, error, inject, response
from tests.loans.helpers import accept, create_loan, loan_body, post_json
from tests.support.clock import FakeClock
from tests.support.table import whole_table

pytestmark = pytest.mark.dynamodb_local

UNAVAILABLE = 503


def assert_unavailable(answer: Any) -> None:
    """503 in the contract's envelope, with Retry-After."""
    assert answer.status_code == UNAVAILABLE, answer.text
    assert answer.headers["Retry-After"] == "1"
    body = answer.json()["error"]
    assert set(body) == {"code", "message", "details", "requestId"} and body["code"] == "SERVICE_UNAVAILABLE"


def loan_partition_state(db: Dynamo, loan_id: str) -> list[dict[str, Any]]:
    return [item for item in whole_table(db) if item["PK"]["S"] == f"LOAN#{loan_id}"]


# --- create: a failed transaction leaves no loan --------------------------------------------------

CREATE_FAULTS = {
    "ProvisionedThroughputExceeded": lambda: error("ProvisionedThroughputExceededException"),
    "ThrottlingException": lambda: error("ThrottlingException"),
    "RequestLimitExceeded": lambda: error("RequestLimitExceeded"),
    "InternalServerError": lambda: error("InternalServerError", status=500),
    "cancelled: ThrottlingError": lambda: cancelled("None", "ThrottlingError", "None"),
    "cancelled: ProvisionedThroughputExceeded": lambda: cancelled("ProvisionedThroughputExceeded", "None", "None"),
    "EndpointConnectionError": lambda: EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
    "ReadTimeoutError": lambda: ReadTimeoutError(endpoint_url="http://127.0.0.1:9"),
}
MAYBE_APPLIED = {"InternalServerError", "EndpointConnectionError", "ReadTimeoutError"}


@pytest.mark.parametrize("fault", list(CREATE_FAULTS))
def test_a_create_that_cannot_write_is_503_and_leaves_no_loan(
    client: TestClient, db: Dynamo, people: dict[str, TestUser], fault: str
) -> None:
    before = whole_table(db)
    body = loan_body([(people["lou"], "600.05"), (people["max"], "400.05")])

    with inject(db.client, "TransactWriteItems", CREATE_FAULTS[fault]()) as seen:
        answer = post_json(client, "/loans", body, people["bea"].headers)

    assert_unavailable(answer)
    if fault in MAYBE_APPLIED:  # the answer was lost or DynamoDB said "may have succeeded": asked again until settled
        assert seen.answered > 1
    else:
        assert seen.answered == 1  # a refused write is not retried by us (botocore's retries are off here)
    assert whole_table(db) == before
    assert client.get("/loans/my-loans", headers=people["bea"].headers).json()["items"] == []


def test_botocore_retries_a_throttled_call_on_its_own(settings: Settings, clock: FakeClock, people: dict[str, TestUser]) -> None:
    """With the default AWS_MAX_ATTEMPTS=3, one throttled TransactWriteItems is retried by botocore: a 201."""
    app = create_app(settings.model_copy(update={"aws_max_attempts": Settings.model_fields["aws_max_attempts"].default}), clock=clock)
    db: Dynamo = app.state.resources.db
    with (
        TestClient(app) as client,
        inject(db.client, "TransactWriteItems", error("ProvisionedThroughputExceededException"), times=1) as seen,
    ):
        answer = post_json(client, "/loans", loan_body([(people["lou"], "100.00")]), people["bea"].headers)

    assert answer.status_code == 201, answer.text
    assert (seen.calls, seen.answered) == (2, 1)


def test_a_transaction_conflict_is_retried_to_a_success(client: TestClient, db: Dynamo, people: dict[str, TestUser]) -> None:
    conflict = cancelled("TransactionConflict", "TransactionConflict", "TransactionConflict")
    with inject(db.client, "TransactWriteItems", conflict, times=TRANSACTION_ATTEMPTS - 1) as seen:
        loan = create_loan(client, people["bea"], [(people["lou"], "600.05"), (people["max"], "400.05")])

    assert seen.calls == TRANSACTION_ATTEMPTS
    assert len(loan_partition_state(db, loan["loanId"])) >= 3  # the loan, two invitations (and its event)


def test_a_transaction_in_progress_is_retried_to_a_success(client: TestClient, db: Dynamo, people: dict[str, TestUser]) -> None:
    with inject(db.client, "TransactWriteItems", error("TransactionInProgressException"), times=2) as seen:
        loan = create_loan(client, people["bea"], [(people["lou"], "100.00")])

    assert seen.calls == 3
    assert client.get(f"/loans/{loan['loanId']}", headers=people["bea"].headers).status_code == 200


# --- accept: a failed acceptance changes nothing --------------------------------------------------


def pure_conflict(request: Any) -> AWSResponse:
    """Every operation of the transaction it answers reported as TransactionConflict."""
    operations = json.loads(request.body)["TransactItems"]
    return cancelled(*["TransactionConflict"] * len(operations))


def test_an_acceptance_that_keeps_conflicting_is_409_and_changes_nothing(
    client: TestClient, db: Dynamo, people: dict[str, TestUser], loan: dict[str, Any]
) -> None:
    before = whole_table(db)

    with inject(db.client, "TransactWriteItems", pure_conflict) as seen:
        answer = accept(client, people["lou"], loan["loanId"])

    assert answer.status_code == 409, answer.text
    assert answer.json()["error"]["code"] == "CONFLICT"
    assert seen.calls == TRANSACTION_ATTEMPTS * RACE_ATTEMPTS  # each race attempt retried its transaction
    assert whole_table(db) == before


def test_an_acceptance_conflicting_a_few_times_succeeds_once(
    client: TestClient, db: Dynamo, people: dict[str, TestUser], loan: dict[str, Any]
) -> None:
    with inject(db.client, "TransactWriteItems", pure_conflict, times=TRANSACTION_ATTEMPTS + 2) as seen:
        answer = accept(client, people["lou"], loan["loanId"])

    assert answer.status_code == 200, answer.text
    assert seen.calls == TRANSACTION_ATTEMPTS + 3  # one race lost (5 conflicts), then 2 conflicts and the commit
    assert answer.json()["fundedAmount"] == 600.05
    view = client.get(f"/loans/{loan['loanId']}", headers=people["bea"].headers).json()
    assert view["fundedAmount"] == 600.05


ACCEPT_FAULTS = {
    "ThrottlingException": lambda: error("ThrottlingException"),
    "cancelled: ThrottlingError": lambda: cancelled("None", "ThrottlingError", "None", "None", "None"),
    "EndpointConnectionError": lambda: EndpointConnectionError(endpoint_url="http://127.0.0.1:9"),
    "ReadTimeoutError": lambda: ReadTimeoutError(endpoint_url="http://127.0.0.1:9"),
}


@pytest.mark.parametrize("fault", list(ACCEPT_FAULTS))
def test_an_acceptance_that_cannot_write_is_503_and_changes_nothing(
    client: TestClient, db: Dynamo, people: dict[str, TestUser], loan: dict[str, Any], fault: str
) -> None:
    before = whole_table(db)

    with inject(db.client, "TransactWriteItems", ACCEPT_FAULTS[fault]()):
        answer = accept(client, people["lou"], loan["loanId"])

    assert_unavailable(answer)
    assert whole_table(db) == before
    invitation = db.get(invitation_key(loan["loanId"], people["lou"].email))
    assert invitation is not None and invitation["status"] == "invited"
    assert client.get("/bank-accounts", headers=people["lou"].headers).json()["items"] == []
    assert client.get(f"/loans/{loan['loanId']}", headers=people["bea"].headers).json()["fundedAmount"] == 0
    assert accept(client, people["lou"], loan["loanId"]).status_code == 200  # and the retry the 503 invites works


# --- reads: GetItem, Query, BatchGetItem ----------------------------------------------------------


@pytest.mark.parametrize(
    "operation, fault",
    [
        ("GetItem", lambda: error("ProvisionedThroughputExceededException")),
        ("GetItem", lambda: EndpointConnectionError(endpoint_url="http://127.0.0.1:9")),
        ("GetItem", lambda: ReadTimeoutError(endpoint_url="http://127.0.0.1:9")),
        ("Query", lambda: error("ThrottlingException")),
        ("Query", lambda: ReadTimeoutError(endpoint_url="http://127.0.0.1:9")),
    ],
)
def test_a_read_that_fails_is_503(
    client: TestClient, db: Dynamo, people: dict[str, TestUser], loan: dict[str, Any], operation: str, fault: Any
) -> None:
    url = "/user/profile" if operation == "GetItem" else "/loans/my-loans"
    with inject(db.client, operation, fault()) as seen:
        answer = client.get(url, headers=people["bea"].headers)

    assert seen.answered >= 1
    assert_unavailable(answer)


def nothing_processed(request: Any) -> AWSResponse:
    """A BatchGetItem answer that processed none of the keys asked for (all of them back as UnprocessedKeys)."""
    return response(200, {"Responses": {}, "UnprocessedKeys": json.loads(request.body)["RequestItems"]})


def test_unprocessed_batch_keys_are_retried_to_a_success(
    client: TestClient, db: Dynamo, people: dict[str, TestUser], loan: dict[str, Any]
) -> None:
    with inject(db.client, "BatchGetItem", nothing_processed, times=TRANSACTION_ATTEMPTS - 1) as seen:
        answer = client.get("/lender/pending", headers=people["lou"].headers)

    assert answer.status_code == 200, answer.text
    assert [item["loanId"] for item in answer.json()["items"]] == [loan["loanId"]]
    assert seen.calls == TRANSACTION_ATTEMPTS


def test_unprocessed_batch_keys_after_every_retry_are_503(
    client: TestClient, db: Dynamo, people: dict[str, TestUser], loan: dict[str, Any]
) -> None:
    with inject(db.client, "BatchGetItem", nothing_processed) as seen:
        answer = client.get("/lender/pending", headers=people["lou"].headers)

    assert_unavailable(answer)
    assert seen.calls == TRANSACTION_ATTEMPTS


def test_a_throttled_batch_read_is_503(client: TestClient, db: Dynamo, people: dict[str, TestUser], loan: dict[str, Any]) -> None:
    with inject(db.client, "BatchGetItem", error("ProvisionedThroughputExceededException")):
        assert_unavailable(client.get("/lender/pending", headers=people["lou"].headers))


def test_an_untranslated_client_error_is_a_500_and_writes_nothing(client: TestClient, db: Dynamo, people: dict[str, TestUser]) -> None:
    """A ClientError app/db does not translate (ValidationException: a bug of ours) is not retried nor dressed as a 503."""
    before = whole_table(db)
    with inject(db.client, "TransactWriteItems", error("ValidationException")) as seen:
        answer = post_json(client, "/loans", loan_body([(people["lou"], "100.00")]), people["bea"].headers)

    assert answer.status_code == 500, answer.text
    assert set(answer.json()["error"]) == {"code", "message", "details", "requestId"}
    assert seen.answered == 1
    assert whole_table(db) == before
