"""The operator role on DynamoDB Local: granted and revoked only by `python -m app.admin`, one transaction with its
audit event each time something changes (none on a no-op), no email for either event, never writable through the API;
and `CurrentOperator`: an /ops route answers an operator, and everyone else the 404 of a path no route serves."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from app import admin
from app.auth.tokens import issue_access_token
from app.config import get_settings
from app.db.attributes import serialize
from app.db.dynamo import Dynamo
from app.db.expressions import Expression
from app.db.keys import EVENT, PARTITION_KEY, SORT_KEY, delivery_marker_key, user_key, user_partition
from app.notifications.outbox import messages_for
from app.notifications.render import RenderedEmail
from app.notifications.stream import handle_records
from app.ops.dependencies import CurrentOperator
from app.routing import JsonRoute
from app.users import service as users_service
from tests.factories import TestUser, a_user, unique_email
from tests.jobs.helpers import PYTHON, subprocess_env
from tests.jobs.recording import Recorder
from tests.support.clock import FakeClock

pytestmark = pytest.mark.dynamodb_local

OPERATOR_EVENTS = ("operator_granted", "operator_revoked")


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, endpoint_url: str, table_name: str) -> Iterator[None]:
    """`python -m app.admin` reads its settings from the environment, as in production: this module's table."""
    values = {"ENVIRONMENT": "test", "DYNAMODB_ENDPOINT_URL": endpoint_url, "TABLE_NAME": table_name, "JWT_SECRET": "admin-" + "x" * 40}
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = admin.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def role_events(db: Dynamo, user_id: str) -> list[dict[str, Any]]:
    """The user's operator audit events, oldest first."""
    events = db.query_all(
        Expression(f"{PARTITION_KEY} = :pk AND begins_with({SORT_KEY}, :event)", values={":pk": user_partition(user_id), ":event": EVENT}),
        consistent=True,
    )
    return [event for event in events if event.get("type") in OPERATOR_EVENTS]


def roles_of(client: TestClient, user: TestUser) -> list[str]:
    response = client.get("/user/profile", headers=user.headers)
    assert response.status_code == 200, response.text
    return list(response.json()["roles"])


def item_count(ddb_client: Any, table_name: str) -> int:
    return int(ddb_client.scan(TableName=table_name, Select="COUNT", ConsistentRead=True)["Count"])


@pytest.mark.usefixtures("cli_env")
def test_grant_operator_shows_in_the_profile_with_one_audit_event(
    app: FastAPI, client: TestClient, db: Dynamo, capsys: pytest.CaptureFixture[str]
) -> None:
    ada = a_user(app)
    # When the command is given the address as a person types it (spaces, capitals)
    code, out, err = run_cli(capsys, "grant-operator", f"  {ada.email.upper()} ")
    # Then the account is found by the spelling registration stored, and becomes an operator
    assert (code, err) == (0, "")
    assert out == f"granted the operator role to {ada.email} (user {ada.user_id})\n"
    assert roles_of(client, ada) == ["borrower", "operator"]
    (event,) = role_events(db, ada.user_id)
    assert event["type"] == "operator_granted" and event["entity"] == "event" and event["userId"] == ada.user_id
    assert event["actorId"].startswith("cli:") and event["requestId"].startswith("admin-")
    assert event[SORT_KEY] == f"{EVENT}{event['eventId']}"


@pytest.mark.usefixtures("cli_env")
def test_granting_twice_leaves_one_role_and_writes_nothing_the_second_time(
    app: FastAPI, client: TestClient, db: Dynamo, capsys: pytest.CaptureFixture[str]
) -> None:
    ada = a_user(app)
    assert run_cli(capsys, "grant-operator", ada.email)[0] == 0
    user_before = db.get(user_key(ada.user_id))
    code, out, _ = run_cli(capsys, "grant-operator", ada.email)
    assert code == 0 and out == f"{ada.email} (user {ada.user_id}) is already an operator: nothing changed\n"
    assert db.get(user_key(ada.user_id)) == user_before  # not even updatedAt moved
    assert db.get(user_key(ada.user_id))["roles"] == {"borrower", "operator"}  # type: ignore[index]
    assert [event["type"] for event in role_events(db, ada.user_id)] == ["operator_granted"]


@pytest.mark.usefixtures("cli_env")
def test_revoke_takes_the_role_back_and_revoking_again_changes_nothing(
    app: FastAPI, client: TestClient, db: Dynamo, capsys: pytest.CaptureFixture[str]
) -> None:
    ada = a_user(app)
    assert run_cli(capsys, "grant-operator", ada.email)[0] == 0
    code, out, _ = run_cli(capsys, "revoke-operator", ada.email)
    assert code == 0 and out == f"revoked the operator role of {ada.email} (user {ada.user_id})\n"
    assert roles_of(client, ada) == ["borrower"]
    code, out, _ = run_cli(capsys, "revoke-operator", ada.email)
    assert code == 0 and out == f"{ada.email} (user {ada.user_id}) is not an operator: nothing changed\n"
    assert [event["type"] for event in role_events(db, ada.user_id)] == ["operator_granted", "operator_revoked"]


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("command", ["grant-operator", "revoke-operator"])
def test_an_unknown_email_exits_1_and_writes_nothing(
    app: FastAPI, ddb_client: Any, table_name: str, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    a_user(app)  # the table is not empty
    nobody = unique_email("nobody")
    before = item_count(ddb_client, table_name)
    code, out, err = run_cli(capsys, command, nobody)
    assert (code, out) == (1, "")
    assert err == f"no account has the email {nobody!r}: nothing changed\n"
    assert item_count(ddb_client, table_name) == before


@pytest.mark.usefixtures("cli_env")
def test_a_claim_that_outlived_its_user_item_exits_1_and_writes_no_event(
    app: FastAPI, db: Dynamo, capsys: pytest.CaptureFixture[str]
) -> None:
    ada = a_user(app)
    db.delete(user_key(ada.user_id))  # as an erasure in progress leaves it: the email claim is still there
    code, _, err = run_cli(capsys, "grant-operator", ada.email)
    assert code == 1 and "no account has the email" in err
    assert role_events(db, ada.user_id) == []
    assert db.get(user_key(ada.user_id)) is None  # the conditional update created no item


def test_python_m_app_admin_runs_the_command(app: FastAPI, client: TestClient, endpoint_url: str, table_name: str, tmp_path: Path) -> None:
    ada = a_user(app)
    env = subprocess_env(endpoint_url, table_name)

    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        command = [PYTHON, "-m", "app.admin", *argv]
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60, check=False)

    granted = run("grant-operator", ada.email)
    assert (granted.returncode, granted.stderr) == (0, "")
    assert granted.stdout == f"granted the operator role to {ada.email} (user {ada.user_id})\n"
    assert roles_of(client, ada) == ["borrower", "operator"]
    unknown = run("revoke-operator", unique_email("nobody"))
    assert unknown.returncode == 1 and unknown.stdout == "" and "no account has the email" in unknown.stderr


@pytest.mark.usefixtures("cli_env")
def test_the_command_needs_a_subcommand_and_an_email(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in ([], ["grant-operator"], ["make-admin", "a@example.com"]):
        with pytest.raises(SystemExit) as exited:
            admin.main(argv)
        assert exited.value.code == 2
    capsys.readouterr()


def test_the_grant_is_one_get_item_and_one_transaction(app: FastAPI, db: Dynamo) -> None:
    ada = a_user(app)
    with Recorder().recording(db.client) as recorder:
        outcome = users_service.grant_operator(db=db, clock=FakeClock(), email=ada.email, actor_id="cli:test", request_id="r-1")
    assert outcome == users_service.OperatorChange(user_id=ada.user_id, email=ada.email, changed=True)
    assert [name for name, _ in recorder.requests] == ["GetItem", "TransactWriteItems"]  # the email claim, then the change
    (update_kind, update), (put_kind, put) = recorder.transaction_operations()
    assert update_kind == "Update" and update["UpdateExpression"].startswith("ADD #roles :operator")
    assert update["ConditionExpression"] == "attribute_exists(PK) AND NOT contains(#roles, :role)"
    assert put_kind == "Put" and put["Item"]["type"] == {"S": "operator_granted"}
    assert put["Item"][PARTITION_KEY] == {"S": user_partition(ada.user_id)}
    assert put["ConditionExpression"] == "attribute_not_exists(PK)"


def test_the_outbox_sends_no_email_for_an_operator_event(app: FastAPI, db: Dynamo, clock: FakeClock) -> None:
    ada = a_user(app)
    for change in (users_service.grant_operator, users_service.revoke_operator):
        change(db=db, clock=clock, email=ada.email, actor_id="cli:test", request_id="r-2")
    events = role_events(db, ada.user_id)
    assert [event["type"] for event in events] == list(OPERATOR_EVENTS)

    class NothingSent:
        def send(self, *, to: str, email: RenderedEmail) -> str:
            raise AssertionError(f"an operator event emailed {to}")

    # The records as the stream's NEW_IMAGE carries the items written
    records = [
        {"eventName": "INSERT", "dynamodb": {"SequenceNumber": str(n), "NewImage": {k: serialize(v) for k, v in event.items()}}}
        for n, event in enumerate(events)
    ]
    result = handle_records(records, db=db, sender=NothingSent(), settings=app.state.settings, clock=clock, request_id="t")
    assert (result.handled, result.sent, result.failed_sequence_number) == (2, 0, None)
    for event in events:
        assert messages_for(event, db=db, settings=app.state.settings, now=clock.now()) == []
        assert db.get(delivery_marker_key(event["eventId"], ada.email)) is None


def test_no_api_route_grants_a_role(app: FastAPI, client: TestClient) -> None:
    ada = a_user(app)
    for body in ({"roles": ["borrower", "operator"]}, {"roles": ["operator"], "lastName": "Op"}, {"role": "operator"}):
        response = client.patch("/user/profile", json=body, headers=ada.headers)
        assert response.status_code == 422, response.text
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert roles_of(client, ada) == ["borrower"]


# --- CurrentOperator (app/ops/dependencies.py), on the real app with an /ops route mounted by the test --------------


@pytest.fixture
def ops_app(app: FastAPI) -> FastAPI:
    router = APIRouter(prefix="/ops", route_class=JsonRoute)

    @router.get("/whoami")
    def whoami(operator: CurrentOperator) -> dict[str, str]:
        return {"userId": operator.user_id}

    app.include_router(router, include_in_schema=False)
    return app


def comparable(response: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Status, body without its request id, headers without the per-request ones: what tells two answers apart."""
    body = response.json()
    body["error"].pop("requestId")
    per_request = ("x-request-id", "x-db-requests")
    return response.status_code, body, {name: value for name, value in response.headers.items() if name not in per_request}


def test_an_operator_route_answers_the_operator_and_404s_everyone_else(ops_app: FastAPI, db: Dynamo, clock: FakeClock) -> None:
    client = TestClient(ops_app, raise_server_exceptions=False)
    operator, borrower = a_user(ops_app, first_name="Opal"), a_user(ops_app, first_name="Bea")
    users_service.grant_operator(db=db, clock=clock, email=operator.email, actor_id="cli:test", request_id="r-3")
    settings = ops_app.state.settings
    expired = issue_access_token(
        settings=settings, user_id=operator.user_id, email=operator.email, now=clock.now() - timedelta(hours=1), email_verified=True
    )

    answered = client.get("/ops/whoami", headers=operator.headers)
    assert answered.status_code == 200 and answered.json() == {"userId": operator.user_id}

    unknown_path = {"error": {"code": "NOT_FOUND", "message": "Not Found", "details": []}}
    assert comparable(client.get("/ops/no-such-route"))[:2] == (404, unknown_path)
    callers = {
        "borrower": borrower.headers,
        "no token": {},
        "not a bearer token": {"Authorization": "Basic b3A6b3A="},
        "tampered token": {"Authorization": f"Bearer {operator.access_token[:-2]}xx"},
        "expired operator token": {"Authorization": f"Bearer {expired}"},
    }
    for caller, headers in callers.items():
        # Then each gets exactly what the same request to a path no route serves gets (headers included)
        response = client.get("/ops/whoami", headers=headers)
        assert comparable(response) == comparable(client.get("/ops/no-such-route", headers=headers)), caller
        assert "www-authenticate" not in response.headers and operator.user_id not in response.text, caller

    # A revocation counts at the operator's next request, with the token they hold
    users_service.revoke_operator(db=db, clock=clock, email=operator.email, actor_id="cli:test", request_id="r-4")
    response = client.get("/ops/whoami", headers=operator.headers)
    assert comparable(response) == comparable(client.get("/ops/no-such-route", headers=operator.headers))


def test_an_erased_operator_gets_404(ops_app: FastAPI, db: Dynamo, clock: FakeClock) -> None:
    client = TestClient(ops_app, raise_server_exceptions=False)
    operator = a_user(ops_app)
    users_service.grant_operator(db=db, clock=clock, email=operator.email, actor_id="cli:test", request_id="r-5")
    db.delete(user_key(operator.user_id))
    response = client.get("/ops/whoami", headers=operator.headers)
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"
