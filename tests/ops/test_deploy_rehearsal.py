"""The deploy rehearsal: terraform/ applied to a moto server on 127.0.0.1, the app's whole story on what
it created, an empty second plan, destroy (machinery: scripts/rehearse_deploy.py; README "Rehearsal").

Phases, in the order of the tests below (one moto server and one local state for the module):
  init     copy terraform/ to a temp dir, override the provider's endpoints and the backend, seed the
           JWT secret's SSM parameter, `terraform init` offline from the provider mirror
  apply    plan -out + apply with environments/dev.tfvars and this run's Lambda zip: every resource
  story    the applied function's configuration, the table read back from moto, the app in prod
           (uvicorn over HTTP, then lambda_handler.handler with HTTP API v2 events): register, create a
           loan, accept with ACH details sealed by the applied KMS key, activation, dashboards; and
           the app's refusal to start in prod without a strong secret or the KMS key
  plan     `plan -detailed-exitcode` again: no changes
  destroy  `terraform destroy`: an empty state

Skipped, with the reason, where terraform or the provider mirror is missing (as test_terraform_cli.py),
unless REHEARSAL_REQUIRED=1 (scripts/rehearse_deploy.sh, the deploy workflow): then that fails.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import time
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from app.db import table as table_spec
from scripts.rehearse_deploy import (
    ENDPOINT_OF_TYPE,
    TERRAFORM_DIR,
    UNSUPPORTED_RESOURCES,
    Outputs,
    Rehearsal,
    blocks,
    declared_resources,
    endpoint_services,
    mirror_has_aws,
    override_tf,
    tfvar,
    zip_sha256,
)

MIRROR = Path(os.environ.get("TF_PLUGIN_MIRROR", "/opt/tf-plugins"))
TERRAFORM = shutil.which("terraform")
REQUIRED = os.environ.get("REHEARSAL_REQUIRED") == "1"


def _missing() -> str | None:
    if TERRAFORM is None:
        return "terraform is not installed"
    if not mirror_has_aws(MIRROR):
        return f"no AWS provider mirror at {MIRROR} (no registry access offline)"
    return None


MISSING = _missing()
EVENT = Path(__file__).resolve().parent / "events" / "http_api_v2.json"
PASSWORD = "correct horse battery staple"
ACH = {"accountHolderName": "Lou Lender", "routingNumber": "021000021", "accountNumber": "000123456789", "accountType": "checking"}

pytestmark = pytest.mark.slow


@dataclass
class Applied:
    rehearsal: Rehearsal
    outputs: Outputs
    zip_path: Path
    terraform_before: dict[str, str]
    apply_output: str


def snapshot(directory: Path) -> dict[str, str]:
    """What init/plan/apply would leave in a directory they ran in: provider data, lock file, state,
    plan, our override (other engineers may edit the .tf files meanwhile: those are not compared)."""
    generated = (".terraform", ".terraform.lock.hcl", "terraform.tfstate", "terraform.tfstate.backup", "tfplan", "rehearsal_override.tf")
    return {
        str(p.relative_to(directory)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(directory.iterdir())
        if p.name in generated
    }


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, ops_report: list[str]) -> Iterator[Applied]:
    if MISSING and REQUIRED:
        pytest.fail(f"REHEARSAL_REQUIRED=1 but {MISSING}")
    if MISSING:
        pytest.skip(f"{MISSING}: the deploy rehearsal needs terraform and the provider mirror")
    given = os.environ.get("REHEARSAL_LAMBDA_ZIP")
    rehearsal = Rehearsal(tmp_path_factory.mktemp("rehearsal"), mirror=MIRROR, zip_path=Path(given).resolve() if given else None)
    before = snapshot(TERRAFORM_DIR)
    try:
        with rehearsal:
            zip_path = rehearsal.build_zip()
            rehearsal.init()
            applied = rehearsal.apply()
            yield Applied(rehearsal, rehearsal.outputs(), zip_path, before, applied)
    finally:
        # moto, uvicorn and the Lambda driver are stopped by now, whatever happened (the state went with moto).
        ops_report.append(rehearsal.timing_line())


# ------------------------------------------------------------------------------------------ the stack


def test_every_aws_type_of_the_stack_has_an_endpoint_in_the_override() -> None:
    types = {kind for _, kind, _ in blocks()}
    assert types <= set(ENDPOINT_OF_TYPE), f"unknown to the rehearsal: {sorted(types - set(ENDPOINT_OF_TYPE))}"
    services = endpoint_services()
    assert {"apigatewayv2", "cloudwatch", "dynamodb", "iam", "kms", "lambda", "logs", "ssm", "sts"} <= set(services)
    override = override_tf("http://127.0.0.1:1", services)
    for service in services:
        assert re.search(rf"^ +{service} += {re.escape(json.dumps('http://127.0.0.1:1'))}$", override, re.M), service
    assert 'backend "local" {}' in override


def test_apply_creates_every_resource_of_terraform(stack: Applied) -> None:
    applied = {address.split("[", 1)[0] for address in stack.rehearsal.state() if not address.startswith("data.")}
    expected = declared_resources() - set(UNSUPPORTED_RESOURCES)
    assert applied == expected
    assert f"Apply complete! Resources: {len(expected)} added, 0 changed, 0 destroyed." in stack.apply_output
    assert len(expected) >= 20, "the .tf parser found too few resources"


def test_the_applied_function_runs_this_zip_with_the_apps_settings(stack: Applied) -> None:
    with stack.rehearsal.phase("story"):
        lam = stack.rehearsal.client("lambda")
        config = lam.get_function_configuration(FunctionName=stack.outputs.function_name, Qualifier="live")
        assert config["CodeSha256"] == zip_sha256(stack.zip_path)
        assert (config["Runtime"], config["Architectures"], config["Handler"]) == ("python3.12", ["arm64"], "lambda_handler.handler")
        assert config["Version"] == stack.outputs.function_version
        assert stack.outputs.region == tfvar("region")
        variables = config["Environment"]["Variables"]
        assert variables["TABLE_NAME"] == stack.outputs.table_name
        assert variables["ACH_KMS_KEY_ID"] == stack.outputs.ach_kms_key_arn
        assert variables["JWT_SECRET"] == stack.rehearsal.jwt_secret, "the secret comes from the SSM parameter"
        with zipfile.ZipFile(stack.zip_path) as package:
            assert {"lambda_handler.py", "app/main.py", "app/db/kms.py"} <= set(package.namelist())
        key = stack.rehearsal.client("kms").describe_key(KeyId=stack.outputs.ach_kms_key_arn)["KeyMetadata"]
        assert (key["KeyState"], key["KeyUsage"], key["KeySpec"]) == ("Enabled", "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT")


def test_the_table_the_app_finds_is_the_one_app_db_table_declares(stack: Applied) -> None:
    with stack.rehearsal.phase("story"):
        ddb = stack.rehearsal.client("dynamodb")
        table = ddb.describe_table(TableName=stack.outputs.table_name)["Table"]
        assert table["KeySchema"] == table_spec.KEY_SCHEMA
        attributes = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
        assert attributes == table_spec.ATTRIBUTE_TYPES
        indexes = [{k: index[k] for k in ("IndexName", "KeySchema", "Projection")} for index in table.get("GlobalSecondaryIndexes", [])]
        assert indexes == table_spec.GLOBAL_SECONDARY_INDEXES
        assert not table.get("LocalSecondaryIndexes")
        assert table["BillingModeSummary"]["BillingMode"] == table_spec.BILLING_MODE
        ttl = ddb.describe_time_to_live(TableName=stack.outputs.table_name)["TimeToLiveDescription"]
        assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", table_spec.TTL_ATTRIBUTE)
        # app/db/table.py declares no stream: none is on.
        assert not table.get("StreamSpecification", {}).get("StreamEnabled", False)
        # Beyond app/db/table.py, what terraform/ adds: encryption with the stack's data key (not the ACH
        # key), point-in-time recovery, and deletion protection only in prod (this is dev).
        sse = table["SSEDescription"]
        assert (sse["Status"], sse["SSEType"]) == ("ENABLED", "KMS")
        data_key = stack.rehearsal.client("kms").describe_key(KeyId="alias/lending-dev-data")["KeyMetadata"]["Arn"]
        assert sse["KMSMasterKeyArn"] == data_key != stack.outputs.ach_kms_key_arn
        backups = ddb.describe_continuous_backups(TableName=stack.outputs.table_name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
        assert table["DeletionProtectionEnabled"] is False


# ------------------------------------------------------------------------------------------ the story


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any


Send = Callable[..., Answer]


def _encode(body: Any) -> str | None:
    return None if body is None else json.dumps(body)


def _decode(text: str) -> Any:
    return json.loads(text, parse_float=Decimal) if text else None


def http_sender(client: httpx.Client) -> Send:
    def send(method: str, path: str, token: str | None = None, body: Any = None) -> Answer:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if body is not None:
            headers["Content-Type"] = "application/json"
        response = client.request(method, path, content=_encode(body), headers=headers)
        return Answer(response.status_code, {k.lower(): v for k, v in response.headers.items()}, _decode(response.text))

    return send


def lambda_sender(invoke: Callable[[dict[str, Any]], dict[str, Any]]) -> Send:
    """Each request as the API Gateway HTTP API v2 event the $default route sends (payload format 2.0)."""
    template = json.loads(EVENT.read_text())

    def send(method: str, path: str, token: str | None = None, body: Any = None) -> Answer:
        event = json.loads(json.dumps(template))
        request_id = uuid.uuid4().hex
        content = _encode(body)
        headers = {k: v for k, v in event["headers"].items() if k != "content-length"}
        headers["x-request-id"] = f"rehearsal-{request_id}"
        if token:
            headers["authorization"] = f"Bearer {token}"
        if content is not None:
            headers["content-type"] = "application/json"
            headers["content-length"] = str(len(content.encode()))
            event["body"] = content
        event.update(rawPath=path, rawQueryString="", headers=headers, isBase64Encoded=False)
        event["requestContext"]["http"].update(method=method, path=path)
        event["requestContext"].update(requestId=request_id, timeEpoch=int(time.time() * 1000))
        result = invoke(event)
        text = result.get("body") or ""
        if result.get("isBase64Encoded"):
            text = base64.b64decode(text).decode()
        return Answer(result["statusCode"], {k.lower(): v for k, v in (result.get("headers") or {}).items()}, _decode(text))

    return send


@dataclass
class StoryResult:
    loan_id: str
    lender_id: str


def story(send: Send, tag: str) -> StoryResult:
    """register, create a loan, accept it with ACH details (activation), dashboards: every answer checked."""
    health = send("GET", "/health")
    assert health.status == 200, health
    assert (health.body["status"], health.body["checks"]) == ("ok", {"dynamodb": "ok"})
    assert health.headers["x-request-id"]

    def register(name: str) -> dict[str, Any]:
        body = {"email": f"{name}-{tag}@example.com", "password": PASSWORD, "firstName": name.title(), "lastName": "Rehearsal"}
        answer = send("POST", "/auth/register", body=body)
        assert answer.status == 201, answer
        user: dict[str, Any] = answer.body
        return user

    borrower = register("bea")
    lender_email = f"lou-{tag}@example.com"
    loan_body = {
        "amount": 1000,
        "purpose": "Deploy rehearsal",
        "termMonths": 12,
        "interestRate": 7.25,
        "lenders": [{"email": lender_email, "amount": 1000}],
    }
    created = send("POST", "/loans", borrower["accessToken"], loan_body)
    assert created.status == 201, created
    loan_id = created.body["loanId"]
    assert (created.body["status"], created.body["fundedAmount"], created.body["amount"]) == ("pending", 0, 1000)

    lender = register("lou")
    assert lender["user"]["roles"] == ["borrower", "lender"], "an invited email registers as a lender"
    pending = send("GET", "/lender/pending", lender["accessToken"])
    assert pending.status == 200, pending
    assert [item["loanId"] for item in pending.body["items"]] == [loan_id]

    accepted = send("PUT", f"/lender/accept/{loan_id}", lender["accessToken"], {"achDetails": ACH})
    assert accepted.status == 200, accepted
    assert (accepted.body["status"], accepted.body["loanStatus"], accepted.body["fundedAmount"]) == ("accepted", "active", 1000)
    assert accepted.body["achDetails"] == {
        "accountHolderName": "Lou Lender",
        "accountType": "checking",
        "routingNumberLast4": "0021",
        "accountNumberLast4": "6789",
    }

    view = send("GET", f"/loans/{loan_id}", borrower["accessToken"])
    assert view.status == 200, view
    assert view.body["status"] == "active" and view.body["activatedAt"]
    assert view.body["outstandingPrincipal"] == 1000 and view.body["nextPayment"]["amount"] > 0

    mine = send("GET", "/user/dashboard", borrower["accessToken"])
    assert mine.status == 200, mine
    assert mine.body["roles"] == ["borrower"] and mine.body["lender"] is None
    figures = mine.body["borrower"]
    assert (figures["totalLoans"], figures["activeLoans"], figures["pendingLoans"]) == (1, 1, 0)
    assert (figures["activeBorrowed"], figures["totalFunded"], figures["outstandingPrincipal"]) == (1000, 1000, 1000)
    assert figures["nextPayment"]["loanId"] == loan_id

    theirs = send("GET", "/user/dashboard", lender["accessToken"])
    assert theirs.status == 200, theirs
    assert theirs.body["roles"] == ["borrower", "lender"]
    assert (theirs.body["lender"]["acceptedCount"], theirs.body["lender"]["activeInvestments"]) == (1, 1000)
    assert (theirs.body["lender"]["pendingInvitations"], theirs.body["lender"]["outstandingPrincipal"]) == (0, 1000)

    refused = send("GET", "/user/dashboard", "not-a-token")
    assert refused.status == 401 and refused.body["error"]["code"]
    return StoryResult(loan_id, lender["user"]["userId"])


def assert_ach_sealed_by_the_applied_key(stack: Applied, result: StoryResult) -> None:
    """The ACH item holds ciphertext and a data key that only the applied ACH key, with this loan and
    lender as encryption context, turns back into the numbers."""
    key = {"PK": {"S": f"LOAN#{result.loan_id}"}, "SK": {"S": f"ACH#{result.lender_id}"}}
    item = stack.rehearsal.client("dynamodb").get_item(TableName=stack.outputs.table_name, Key=key, ConsistentRead=True)["Item"]
    stored = json.dumps(item)
    assert ACH["routingNumber"] not in stored and ACH["accountNumber"] not in stored
    assert item["keySource"] == {"S": "kms"}
    kms = stack.rehearsal.client("kms")
    context = {"loanId": result.loan_id, "lenderId": result.lender_id}
    data_key = kms.decrypt(CiphertextBlob=base64.b64decode(item["dataKey"]["S"]), EncryptionContext=context)
    assert data_key["KeyId"] == stack.outputs.ach_kms_key_arn
    for field in ("routingNumber", "accountNumber"):
        blob = base64.b64decode(item[f"{field}Cipher"]["S"])
        associated = f"ach|{result.loan_id}|{result.lender_id}|{field}".encode()
        assert AESGCM(data_key["Plaintext"]).decrypt(blob[:12], blob[12:], associated).decode() == ACH[field]
    with pytest.raises(ClientError) as refused:
        kms.decrypt(CiphertextBlob=base64.b64decode(item["dataKey"]["S"]), EncryptionContext={**context, "lenderId": "someone-else"})
    assert refused.value.response["Error"]["Code"] == "InvalidCiphertextException"


def test_story_over_http_with_uvicorn_in_prod(stack: Applied) -> None:
    rehearsal = stack.rehearsal
    with rehearsal.phase("story"), rehearsal.uvicorn(rehearsal.app_env(stack.outputs)) as base_url:
        with httpx.Client(base_url=base_url, timeout=30, trust_env=False) as client:
            result = story(http_sender(client), uuid.uuid4().hex[:8])
        assert_ach_sealed_by_the_applied_key(stack, result)


def test_story_through_lambda_handler_with_http_api_v2_events(stack: Applied) -> None:
    rehearsal = stack.rehearsal
    with rehearsal.phase("story"), rehearsal.lambda_handler(rehearsal.app_env(stack.outputs)) as invoke:
        result = story(lambda_sender(invoke), uuid.uuid4().hex[:8])
        assert_ach_sealed_by_the_applied_key(stack, result)


def test_prod_refuses_to_start_without_a_strong_secret_or_the_kms_key(stack: Applied) -> None:
    rehearsal = stack.rehearsal
    cases: list[tuple[dict[str, str | None], str]] = [
        ({"JWT_SECRET": None}, "JWT_SECRET is missing or weak"),
        ({"JWT_SECRET": "short-secret"}, "JWT_SECRET is missing or weak"),
        ({"ACH_KMS_KEY_ID": None}, "ACH_KMS_KEY_ID is required in prod"),
    ]
    with rehearsal.phase("story"):
        for overrides, reason in cases:
            started = rehearsal.cold_start(rehearsal.app_env(stack.outputs, **overrides))
            assert started.returncode != 0, f"started in prod with {overrides}"
            assert reason in started.stderr, started.stderr[-2000:]
        control = rehearsal.cold_start(rehearsal.app_env(stack.outputs))
        assert control.returncode == 0, control.stderr[-2000:]


# --------------------------------------------------------------------------------- plan and destroy


def test_second_plan_is_empty(stack: Applied) -> None:
    plan = stack.rehearsal.plan_again()
    assert plan.returncode == 0, f"drift after apply (exit {plan.returncode}):\n{plan.stdout[-4000:]}"
    assert "No changes." in plan.stdout


def test_destroy_leaves_nothing(stack: Applied) -> None:
    rehearsal = stack.rehearsal
    kms = rehearsal.client("kms")
    stack_keys = {
        a["AliasName"]: a["TargetKeyId"] for a in kms.list_aliases()["Aliases"] if a["AliasName"].startswith("alias/lending-dev-")
    }
    assert set(stack_keys) == {"alias/lending-dev-ach", "alias/lending-dev-data"}
    output = rehearsal.destroy()
    assert f"Destroy complete! Resources: {len(declared_resources() - set(UNSUPPORTED_RESOURCES))} destroyed." in output
    assert [address for address in rehearsal.state() if not address.startswith("data.")] == []
    assert rehearsal.client("dynamodb").list_tables()["TableNames"] == []
    assert rehearsal.client("lambda").list_functions()["Functions"] == []
    assert not [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] in stack_keys]
    # KMS keys are never deleted at once: destroy schedules their deletion (deletion_window_in_days).
    assert {kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] for key_id in stack_keys.values()} == {"PendingDeletion"}
    # The real configuration was never used: nothing init, apply or the override would leave is in terraform/.
    assert snapshot(TERRAFORM_DIR) == stack.terraform_before
    assert 'backend "s3" {}' in (TERRAFORM_DIR / "versions.tf").read_text()
