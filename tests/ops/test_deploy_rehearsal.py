"""The deploy rehearsal: terraform/ applied to a moto server on 127.0.0.1, the app's whole story on what
it created, an empty second plan, destroy (machinery: scripts/rehearse_deploy.py; README "Rehearsal").

Phases, in the order of the tests below (one moto server and one local state for the module):
  init     copy terraform/ to a temp dir, override the provider's endpoints and the backend, seed the
           SSM parameters of the JWT secret and the ACH SFTP login, `terraform init` offline from the
           provider mirror
  apply    plan -out + apply with environments/dev.tfvars and this run's Lambda zip: every resource
  story    the applied function's configuration, the table read back from moto, the email side (the
           stream, its event source mapping, the DLQ, the SES identity) read back, the app in prod
           (uvicorn over HTTP, then lambda_handler.handler with HTTP API v2 events): register, verify
           the email with the link the outbox sent, create a loan, accept with ACH details sealed by
           the applied KMS key, activation, dashboards; the emails of the story, sent by
           lambda_handler.stream_handler with the notifications function's own environment through
           moto's SES, once each; the jobs function's jobs that need no bank (expire-loans,
           send-payment-reminders, ach_settle); every AWS call of those two handlers judged against
           its role's applied policy (moto enforces no IAM); the ACH rail's side (the jobs function's
           SFTP login from the seeded parameter, the schedules, the archive bucket, the alarms) read
           back; and the app's refusal to start in prod without a strong secret, the KMS key or email
           verification
  plan     a From outside the sender identity refused; `plan -detailed-exitcode` again: no changes
  destroy  `terraform destroy`: an empty state

Skipped, with the reason, where terraform or the provider mirror is missing (as test_terraform_cli.py),
unless REHEARSAL_REQUIRED=1 (scripts/rehearse_deploy.sh, the deploy workflow): then that fails.
"""

from __future__ import annotations

import base64
import contextlib
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
    SETTINGS_LOST_BY_THE_EMULATOR,
    TAGS_LOST_BY_THE_EMULATOR,
    TERRAFORM_DIR,
    UNSUPPORTED_RESOURCES,
    Call,
    Outputs,
    Rehearsal,
    allows,
    blocks,
    calls_of,
    declared_resources,
    endpoint_services,
    filter_matches,
    insert_records,
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
    assert {
        "apigatewayv2",
        "cloudwatch",
        "dynamodb",
        "iam",
        "kms",
        "lambda",
        "logs",
        "s3",
        "scheduler",
        "sesv2",
        "sqs",
        "ssm",
        "sts",
    } <= set(services)
    override = override_tf("http://127.0.0.1:1", services)
    for service in services:
        assert re.search(rf"^ +{service} += {re.escape(json.dumps('http://127.0.0.1:1'))}$", override, re.M), service
    assert 'backend "local" {}' in override
    # The one concession to the emulator: the tags moto loses are not compared (README "Rehearsal").
    assert set(TAGS_LOST_BY_THE_EMULATOR) <= declared_resources()
    for address in TAGS_LOST_BY_THE_EMULATOR:
        kind, name = address.split(".")
        assert f'resource "{kind}" "{name}" {{\n  lifecycle {{\n    ignore_changes = [tags_all]\n  }}\n}}' in override
    assert override.count("ignore_changes") == len(TAGS_LOST_BY_THE_EMULATOR) + len(SETTINGS_LOST_BY_THE_EMULATOR)


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
        assert (variables["EMAIL_FROM"], variables["APP_BASE_URL"]) == (tfvar("email_from"), tfvar("app_base_url"))
        assert variables["EMAIL_VERIFICATION"] == "required"
        with zipfile.ZipFile(stack.zip_path) as package:
            names = set(package.namelist())
            assert {"lambda_handler.py", "app/main.py", "app/db/kms.py", "app/notifications/templates/verify_email.html"} <= names
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
        # The outbox: the stream app/db/table.py declares, the one the notifications function is mapped to.
        assert table["StreamSpecification"] == table_spec.STREAM_SPECIFICATION
        assert table["LatestStreamArn"] == applied_mapping(stack)["EventSourceArn"]
        # Beyond app/db/table.py, what terraform/ adds: encryption with the stack's data key (not the ACH
        # key), point-in-time recovery, and deletion protection only in prod (this is dev).
        sse = table["SSEDescription"]
        assert (sse["Status"], sse["SSEType"]) == ("ENABLED", "KMS")
        data_key = stack.rehearsal.client("kms").describe_key(KeyId="alias/lending-dev-data")["KeyMetadata"]["Arn"]
        assert sse["KMSMasterKeyArn"] == data_key != stack.outputs.ach_kms_key_arn
        backups = ddb.describe_continuous_backups(TableName=stack.outputs.table_name)["ContinuousBackupsDescription"]
        assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"
        assert table["DeletionProtectionEnabled"] is False


# ------------------------------------------------------------------------------------------ email


def applied_mapping(stack: Applied) -> dict[str, Any]:
    """The event source mapping of the notifications function, as the emulator reports it."""
    lam = stack.rehearsal.client("lambda")
    mappings = [
        m
        for m in lam.list_event_source_mappings()["EventSourceMappings"]
        if m["FunctionArn"].endswith(f":function:{stack.outputs.notifications_function_name}")
    ]
    assert len(mappings) == 1, mappings
    mapping: dict[str, Any] = mappings[0]
    return mapping


def test_the_email_side_is_applied_as_terraform_says(stack: Applied) -> None:
    """The stream -> the notifications function (retries, bisection, batch item failures, the DLQ, only
    inserted audit events), the DLQ itself, the SES identity, the function's settings, the alarms."""
    rehearsal = stack.rehearsal
    with rehearsal.phase("story"):
        mapping = applied_mapping(stack)
        assert mapping["State"] == "Enabled" and mapping["StartingPosition"] == "TRIM_HORIZON"
        assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        assert mapping["BisectBatchOnFunctionError"] is True
        assert (mapping["MaximumRetryAttempts"], mapping["MaximumRecordAgeInSeconds"]) == (5, 86400)
        assert (mapping["BatchSize"], mapping["MaximumBatchingWindowInSeconds"]) == (25, 1)
        sqs = rehearsal.client("sqs")
        queue_url = sqs.get_queue_url(QueueName=stack.outputs.notifications_dlq_url.rsplit("/", 1)[1])["QueueUrl"]
        attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        assert mapping["DestinationConfig"] == {"OnFailure": {"Destination": attributes["QueueArn"]}}
        assert attributes["MessageRetentionPeriod"] == str(14 * 24 * 3600) and attributes["SqsManagedSseEnabled"] == "true"
        (only,) = mapping["FilterCriteria"]["Filters"]
        assert json.loads(only["Pattern"]) == {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"entity": {"S": ["event"]}}}}

        identity = rehearsal.client("sesv2").get_email_identity(EmailIdentity=tfvar("email_sender_identity"))
        assert identity["IdentityType"] == "DOMAIN"
        assert stack.outputs.email_identity_arn.endswith(f":identity/{tfvar('email_sender_identity')}")

        config = rehearsal.client("lambda").get_function_configuration(FunctionName=stack.outputs.notifications_function_name)
        assert (config["Runtime"], config["Architectures"], config["Handler"]) == ("python3.12", ["arm64"], "lambda_handler.stream_handler")
        assert config["CodeSha256"] == zip_sha256(stack.zip_path)
        variables = config["Environment"]["Variables"]
        assert variables["EMAIL_BACKEND"] == "ses" and variables["EMAIL_FROM"] == tfvar("email_from")
        assert variables["APP_BASE_URL"] == tfvar("app_base_url") and variables["JWT_SECRET"] == rehearsal.jwt_secret
        jobs = rehearsal.client("lambda").get_function_configuration(FunctionName=f"{stack.outputs.function_name}-jobs")
        assert {k: jobs["Environment"]["Variables"][k] for k in ("EMAIL_BACKEND", "EMAIL_FROM", "APP_BASE_URL")} == {
            k: variables[k] for k in ("EMAIL_BACKEND", "EMAIL_FROM", "APP_BASE_URL")
        }
        schedules = rehearsal.client("scheduler").list_schedules()["Schedules"]
        assert {s["Name"] for s in schedules} == {
            "lending-dev-expire-loans",
            "lending-dev-send-payment-reminders",
            "lending-dev-ach_send",
            "lending-dev-ach_settle",
            "lending-dev-ach_receive",
        }

        # What the role allows, as IAM would judge it (moto does not): markers but no other item, the
        # sender identity but no other.
        policy = rehearsal.role_policy(stack.outputs.notifications_function_name)
        table_arn = rehearsal.client("dynamodb").describe_table(TableName=stack.outputs.table_name)["Table"]["TableArn"]
        assert allows(policy, Call("dynamodb:PutItem", (table_arn,), ("DELIVERY#e1",)))
        assert allows(policy, Call("dynamodb:Query", (table_arn,), ("LOAN#l1",)))
        assert not allows(policy, Call("dynamodb:PutItem", (table_arn,), ("LOAN#l1",)))
        assert not allows(policy, Call("dynamodb:UpdateItem", (table_arn,), ("USER#u1",)))
        assert not allows(policy, Call("dynamodb:Query", (f"{table_arn}/index/GSI1",), ()))
        assert allows(policy, Call("ses:SendEmail", (stack.outputs.email_identity_arn,)))
        assert not allows(policy, Call("ses:SendEmail", (stack.outputs.email_identity_arn.rsplit("/", 1)[0] + "/example.com",)))
        assert allows(policy, Call("dynamodb:GetRecords", (mapping["EventSourceArn"],)))

        alarms = {a["AlarmName"]: a for a in rehearsal.client("cloudwatch").describe_alarms()["MetricAlarms"]}
        dlq = alarms["lending-dev-notifications-dlq"]
        assert (dlq["MetricName"], dlq["Dimensions"]) == (
            "ApproximateNumberOfMessagesVisible",
            [{"Name": "QueueName", "Value": "lending-dev-notifications-dlq"}],
        )
        assert alarms["lending-dev-notifications-errors"]["Dimensions"] == [
            {"Name": "FunctionName", "Value": stack.outputs.notifications_function_name}
        ]


# ------------------------------------------------------------------------------------------ the ACH rail

ACH_EVENTS = {"ach_file_rejected", "ach_unmatched_entry", "ach_bank_unreachable", "ach_exception"}


def test_the_ach_side_is_applied_as_terraform_says(stack: Applied) -> None:
    """The jobs function's rail (the SFTP login from the seeded parameter, its keys in no other function, the
    archive bucket, USER), the schedules in New York time, the archive bucket read back, the jobs role judged
    on it as IAM would, and a metric filter of the jobs log group with its alarm per operator event."""
    rehearsal = stack.rehearsal
    with rehearsal.phase("story"):
        lam = rehearsal.client("lambda")
        login = rehearsal.ach_sftp
        jobs = lam.get_function_configuration(FunctionName=f"{stack.outputs.function_name}-jobs")
        assert jobs["Timeout"] == 300, "ach_send's 10,000 payments take up to ~2 minutes"
        variables = jobs["Environment"]["Variables"]
        public = {
            "ACH_ODFI_ROUTING": tfvar("ach_odfi_routing"),
            "ACH_COMPANY_ID": tfvar("ach_company_id"),
            "ACH_COMPANY_NAME": tfvar("ach_company_name"),
            "ACH_SFTP_HOST": login["host"],
            "ACH_SFTP_USERNAME": login["username"],
        }
        expected = {
            **public,
            "ACH_SFTP_PORT": "22",
            "ACH_SFTP_HOST_KEY": login["host_key"],
            "ACH_SFTP_PRIVATE_KEY": login["private_key"],
            "ACH_SFTP_OUTBOUND_DIR": "outbound",
            "ACH_SFTP_INBOUND_DIR": "inbound",
            "ACH_RETURN_WINDOW_DAYS": "2",
            "ACH_ARCHIVE_BUCKET": stack.outputs.ach_archive_bucket,
            "ACH_KMS_KEY_ID": stack.outputs.ach_kms_key_arn,
            "USER": "lending",
        }
        assert {name: variables.get(name) for name in expected} == expected
        assert len(json.dumps(variables)) <= 4096, "Lambda's limit (the precondition in jobs.tf)"
        for name in (stack.outputs.function_name, stack.outputs.notifications_function_name):
            others = lam.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
            assert {key: others.get(key) for key in public} == public, name
            assert not {"ACH_SFTP_PRIVATE_KEY", "ACH_SFTP_HOST_KEY", "ACH_ARCHIVE_BUCKET"} & set(others), name

        scheduler = rehearsal.client("scheduler")
        for job, expression, timezone in (
            ("ach_send", "cron(0 10,14 ? * MON-FRI *)", "America/New_York"),
            ("ach_settle", "cron(0 10,14 ? * MON-FRI *)", "America/New_York"),
            ("ach_receive", "rate(15 minutes)", None),
        ):
            schedule = scheduler.get_schedule(Name=f"lending-dev-{job}")
            assert schedule["ScheduleExpression"] == expression
            assert schedule.get("ScheduleExpressionTimezone", "UTC") == (timezone or "UTC")
            assert (schedule["Target"]["Arn"], json.loads(schedule["Target"]["Input"])) == (jobs["FunctionArn"], {"job": job})

        s3 = rehearsal.client("s3")
        bucket = stack.outputs.ach_archive_bucket
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        (rule,) = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
        assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": stack.outputs.ach_kms_key_arn}
        blocked = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert blocked == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
        expiry = [r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"] if r.get("Expiration", {}).get("Days")]
        assert [(r["Status"], r["Expiration"]["Days"]) for r in expiry] == [("Enabled", 2557)]
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        assert {(s["Sid"], s["Effect"]) for s in policy["Statement"]} == {
            ("DenyInsecureTransport", "Deny"),
            ("DenyPutsWithoutSseKms", "Deny"),
            ("DenyPutsUnderAnotherKey", "Deny"),
        }
        (other_key,) = [s for s in policy["Statement"] if s["Sid"] == "DenyPutsUnderAnotherKey"]
        assert other_key["Condition"] == {
            "StringNotEquals": {"s3:x-amz-server-side-encryption-aws-kms-key-id": stack.outputs.ach_kms_key_arn}
        }

        # The jobs role, as IAM would judge it: files put under outbound/ (where app/ach/archive.py puts them), nothing else.
        role = rehearsal.role_policy(f"{stack.outputs.function_name}-jobs")
        objects = f"arn:aws:s3:::{bucket}"
        assert allows(role, Call("s3:PutObject", (f"{objects}/outbound/20260105-100000-A.ach",)))
        assert not allows(role, Call("s3:PutObject", (f"{objects}/inbound/20260105-100000-A.ach",)))
        assert not allows(role, Call("s3:GetObject", (f"{objects}/outbound/20260105-100000-A.ach",)))
        assert not allows(role, Call("s3:DeleteObject", (f"{objects}/outbound/20260105-100000-A.ach",)))
        assert not allows(role, Call("s3:PutObject", ("arn:aws:s3:::another-bucket/outbound/x.ach",)))

        alarms = {
            a["AlarmName"]: a for a in rehearsal.client("cloudwatch").describe_alarms(AlarmNamePrefix="lending-dev-ach-")["MetricAlarms"]
        }
        group = "/aws/lambda/lending-dev-jobs"
        filters = {f["filterName"]: f for f in rehearsal.client("logs").describe_metric_filters(logGroupName=group)["metricFilters"]}
        for event in sorted(ACH_EVENTS):
            name = f"lending-dev-{event.replace('_', '-')}"
            metric_filter, alarm = filters[name], alarms[name]
            assert metric_filter["filterPattern"] == f'{{ $.event = "{event}" }}'
            (transformation,) = metric_filter["metricTransformations"]
            assert transformation["metricNamespace"] == "lending/dev"
            assert (alarm["Namespace"], alarm["MetricName"]) == (transformation["metricNamespace"], transformation["metricName"])
            assert (alarm["ComparisonOperator"], alarm["Threshold"], alarm["Period"]) == ("GreaterThanOrEqualToThreshold", 1.0, 300)
            assert alarm["TreatMissingData"] == "notBreaching"
        assert set(alarms) == {f"lending-dev-{event.replace('_', '-')}" for event in ACH_EVENTS}


@dataclass
class Outbox:
    """The table's stream as the notifications function gets it, delivered by lambda_handler.stream_handler
    (in a fresh interpreter, with the applied function's environment, SES at moto).

    moto cannot run the function from its own stream (README "Rehearsal"), so the records are made here
    from the table's items (a NEW_IMAGE record carries the item as the table holds it) and put through the
    applied mapping's filter: exactly the audit events must pass. Every delivery hands over every event
    so far, in the order written (event ids are time-ordered), in batches of the mapping's size: each one
    after the first is a replay, which the delivery markers must make send nothing twice."""

    stack: Applied
    invoke: Callable[[dict[str, Any]], dict[str, Any]]

    def deliver(self) -> int:
        rehearsal = self.stack.rehearsal
        mapping = applied_mapping(self.stack)
        pattern = json.loads(mapping["FilterCriteria"]["Filters"][0]["Pattern"])
        ddb = rehearsal.client("dynamodb")
        items = [item for page in ddb.get_paginator("scan").paginate(TableName=self.stack.outputs.table_name) for item in page["Items"]]
        region = tfvar("region")
        passed = [
            item
            for item in items
            if filter_matches(pattern, insert_records([item], stream_arn=mapping["EventSourceArn"], region=region)[0])
        ]
        events = [item for item in items if item.get("entity") == {"S": "event"}]
        assert sorted(map(json.dumps, passed)) == sorted(map(json.dumps, events)), "the filter passes the audit events, nothing else"
        records = insert_records(sorted(passed, key=lambda item: item["eventId"]["S"]), stream_arn=mapping["EventSourceArn"], region=region)
        before = len(rehearsal.sent_emails())
        size = mapping["BatchSize"]
        mark = rehearsal.recording_mark()  # from here to the end of the loop, only the handler calls AWS
        for start in range(0, len(records), size):
            result = self.invoke({"Records": records[start : start + size]})
            assert result == {"batchItemFailures": []}, result
        calls = assert_granted(self.stack, rehearsal.recorded_since(mark), role=self.stack.outputs.notifications_function_name)
        sent = rehearsal.sent_emails()
        assert rehearsal.ses_accepted() == len(sent), "SES accepted every email sent (from the applied identity)"
        # (the check saw the handler's calls: a claimed marker before each email)
        claims = [c for c in calls if c.action == "dynamodb:PutItem" and c.leading_keys[0].startswith("DELIVERY#")]
        assert len(claims) >= len([c for c in calls if c.action == "ses:SendEmail"]) == len(sent) - before
        return len(sent) - before

    def emails_to(self, address: str) -> list[dict[str, str]]:
        return [m for m in self.stack.rehearsal.sent_emails() if m["to"] == address]


def assert_granted(stack: Applied, recorded: list[dict[str, Any]], *, role: str) -> list[Call]:
    """moto does not enforce IAM: every call a function's handler made is checked against its role's
    applied policy here (actions, resources, the DELIVERY# condition)."""
    table_arn = stack.rehearsal.client("dynamodb").describe_table(TableName=stack.outputs.table_name)["Table"]["TableArn"]
    calls = calls_of(recorded, table_arn=table_arn, ses_identity_arn=stack.outputs.email_identity_arn)
    policy = stack.rehearsal.role_policy(role)
    refused = [call for call in calls if not allows(policy, call)]
    assert not refused, f"{role} would be refused in AWS: {refused}"
    return calls


@contextlib.contextmanager
def outbox(stack: Applied) -> Iterator[Outbox]:
    stack.rehearsal.record_requests()
    env = stack.rehearsal.function_env(stack.outputs.notifications_function_name, LOG_LEVEL="WARNING")
    with stack.rehearsal.lambda_handler(env, handler="stream_handler") as invoke:
        yield Outbox(stack, invoke)


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
    bank_account_id: str
    borrower_email: str
    lender_email: str
    tokens: list[str]


VERIFY_LINK = re.compile(r"/verify-email\?token=([A-Za-z0-9_-]+)")


def story(send: Send, tag: str, mail: Outbox) -> StoryResult:
    """register and verify the email with the emailed link, create a loan, accept it with ACH details
    (activation), dashboards: every answer checked."""
    health = send("GET", "/health")
    assert health.status == 200, health
    assert (health.body["status"], health.body["checks"]) == ("ok", {"dynamodb": "ok"})
    assert health.headers["x-request-id"]
    tokens: list[str] = []

    def register(name: str) -> dict[str, Any]:
        email = f"{name}-{tag}@example.com"
        body = {"email": email, "password": PASSWORD, "firstName": name.title(), "lastName": "Rehearsal"}
        answer = send("POST", "/auth/register", body=body)
        assert answer.status == 201, answer
        user: dict[str, Any] = answer.body
        tokens.extend([user["accessToken"], user["refreshToken"]])
        # Unverified: the gated operations answer 403 until the emailed link is followed.
        refused = send("GET", "/lender/pending", user["accessToken"])
        assert (refused.status, refused.body["error"]["code"]) == (403, "EMAIL_NOT_VERIFIED"), refused
        assert mail.deliver() >= 1
        (letter,) = [m for m in mail.emails_to(email) if VERIFY_LINK.search(m["text"])]
        assert letter["from"] == tfvar("email_from")
        assert f"{tfvar('app_base_url')}/verify-email?token=" in letter["text"]
        link = VERIFY_LINK.search(letter["text"])
        assert link and link.group(0) in letter["html"]
        verified = send("POST", "/auth/verify-email", user["accessToken"], {"token": link.group(1)})
        assert verified.status == 200 and verified.body["emailVerified"] is True, verified
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
    return StoryResult(loan_id, lender["user"]["userId"], accepted.body["bankAccountId"], f"bea-{tag}@example.com", lender_email, tokens)


def assert_the_storys_emails(mail: Outbox, result: StoryResult) -> list[str]:
    """Each email of API.md "Email" reached exactly its recipients, once, from EMAIL_FROM with links to
    APP_BASE_URL and nothing secret in it; handing every record over again sends nothing."""
    sent = mail.deliver()
    assert sent == 3, f"{sent} emails for the invitation, the acceptance and the activation (borrower, lender)"
    borrower, lender = mail.emails_to(result.borrower_email), mail.emails_to(result.lender_email)
    # borrower: verification, accepted, activated; lender: verification, invitation, activated
    assert (len(borrower), len(lender)) == (3, 3), ([m["subject"] for m in borrower], [m["subject"] for m in lender])
    for message in borrower + lender:
        assert message["from"] == tfvar("email_from")
        assert message["subject"] and message["text"] and message["html"], "a subject, a text and an HTML part"
        assert tfvar("app_base_url") in message["text"] and tfvar("app_base_url") in message["html"]
        for secret in (ACH["accountNumber"], ACH["routingNumber"], PASSWORD, *result.tokens):
            assert not [part for part in ("subject", "text", "html") if secret in message[part]], "nothing secret in an email"
    assert mail.deliver() == 0, "a replay of the same records sends nothing"
    role = {result.borrower_email: "borrower", result.lender_email: "lender"}
    return [f"{role[m['to']]}: {m['subject']}" for m in mail.stack.rehearsal.sent_emails() if m["to"] in role]


def assert_ach_sealed_by_the_applied_key(stack: Applied, result: StoryResult) -> None:
    """The bank account the acceptance registered holds ciphertext and a data key that only the applied ACH key,
    with this lender and account as encryption context, turns back into the numbers."""
    key = {"PK": {"S": f"USER#{result.lender_id}"}, "SK": {"S": f"BANK#{result.bank_account_id}"}}
    item = stack.rehearsal.client("dynamodb").get_item(TableName=stack.outputs.table_name, Key=key, ConsistentRead=True)["Item"]
    stored = json.dumps(item)
    assert ACH["routingNumber"] not in stored and ACH["accountNumber"] not in stored
    assert item["keySource"] == {"S": "kms"}
    kms = stack.rehearsal.client("kms")
    context = {"userId": result.lender_id, "bankAccountId": result.bank_account_id}
    data_key = kms.decrypt(CiphertextBlob=base64.b64decode(item["dataKey"]["S"]), EncryptionContext=context)
    assert data_key["KeyId"] == stack.outputs.ach_kms_key_arn
    for field in ("routingNumber", "accountNumber"):
        blob = base64.b64decode(item[f"{field}Cipher"]["S"])
        associated = f"bank|{result.lender_id}|{result.bank_account_id}|{field}".encode()
        assert AESGCM(data_key["Plaintext"]).decrypt(blob[:12], blob[12:], associated).decode() == ACH[field]
    with pytest.raises(ClientError) as refused:
        kms.decrypt(CiphertextBlob=base64.b64decode(item["dataKey"]["S"]), EncryptionContext={**context, "userId": "someone-else"})
    assert refused.value.response["Error"]["Code"] == "InvalidCiphertextException"


def test_story_over_http_with_uvicorn_in_prod(stack: Applied, ops_report: list[str]) -> None:
    rehearsal = stack.rehearsal
    with rehearsal.phase("story"), rehearsal.uvicorn(rehearsal.app_env(stack.outputs)) as base_url, outbox(stack) as mail:
        with httpx.Client(base_url=base_url, timeout=30, trust_env=False) as client:
            result = story(http_sender(client), uuid.uuid4().hex[:8], mail)
        assert_ach_sealed_by_the_applied_key(stack, result)
        emails = assert_the_storys_emails(mail, result)
    ops_report.append("emails of the rehearsal's story, through moto's SES: " + "; ".join(emails))


def test_story_through_lambda_handler_with_http_api_v2_events(stack: Applied) -> None:
    rehearsal = stack.rehearsal
    with rehearsal.phase("story"), rehearsal.lambda_handler(rehearsal.app_env(stack.outputs)) as invoke, outbox(stack) as mail:
        result = story(lambda_sender(invoke), uuid.uuid4().hex[:8], mail)
        assert_ach_sealed_by_the_applied_key(stack, result)
        assert_the_storys_emails(mail, result)


def test_the_jobs_function_runs_the_scheduled_jobs_with_its_own_settings(stack: Applied) -> None:
    """What each schedule sends ({"job": ...}) through lambda_handler.scheduled_handler, with the applied
    jobs function's environment, every call granted by the jobs role. No email: the story's loans are
    active, their first payment a month away (the reminder job may look at them and move their date on).
    ach_settle needs no bank (nothing to settle here: it reads the index); ach_send and ach_receive would
    need the ODFI's SFTP server, which the rehearsal does not have (tests/payments runs them on a real one)."""
    from app.jobs import JOBS

    rehearsal = stack.rehearsal
    env = rehearsal.function_env(f"{stack.outputs.function_name}-jobs", LOG_LEVEL="WARNING")
    rehearsal.record_requests()
    sent_before = len(rehearsal.sent_emails())
    with rehearsal.phase("story"), rehearsal.lambda_handler(env, handler="scheduled_handler") as invoke:
        for job in ("expire-loans", "send-payment-reminders", "ach_settle"):
            assert job in JOBS
            mark = rehearsal.recording_mark()
            report = invoke({"job": job})
            assert report["job"] == job and report.get("failed", 0) == 0, report
            calls = assert_granted(stack, rehearsal.recorded_since(mark), role=f"{stack.outputs.function_name}-jobs")
            index = f"/index/{table_spec.DEADLINE_INDEX}"
            assert [c for c in calls if c.action == "dynamodb:Query" and c.resources[0].endswith(index)], "found through the index"
    assert len(rehearsal.sent_emails()) == sent_before


def test_prod_refuses_to_start_without_a_strong_secret_or_the_kms_key(stack: Applied) -> None:
    rehearsal = stack.rehearsal
    cases: list[tuple[dict[str, str | None], str]] = [
        ({"JWT_SECRET": None}, "JWT_SECRET is missing or weak"),
        ({"JWT_SECRET": "short-secret"}, "JWT_SECRET is missing or weak"),
        ({"ACH_KMS_KEY_ID": None}, "ACH_KMS_KEY_ID is required in prod"),
        ({"EMAIL_VERIFICATION": "off"}, "EMAIL_VERIFICATION=off is refused in prod"),
    ]
    with rehearsal.phase("story"):
        for overrides, reason in cases:
            started = rehearsal.cold_start(rehearsal.app_env(stack.outputs, **overrides))
            assert started.returncode != 0, f"started in prod with {overrides}"
            assert reason in started.stderr, started.stderr[-2000:]
        control = rehearsal.cold_start(rehearsal.app_env(stack.outputs))
        assert control.returncode == 0, control.stderr[-2000:]


# --------------------------------------------------------------------------------- plan and destroy


def test_plan_refuses_a_sender_outside_the_identity(stack: Applied) -> None:
    """SES would refuse such a From, and the SendEmail grants name the identity alone: caught at plan time."""
    output = stack.rehearsal.plan_refused("email_from=Lending <no-reply@elsewhere.example.com>")
    assert "email_from is not an address of email_sender_identity" in output, output[-3000:]


def test_plan_refuses_an_sftp_login_it_could_not_use_and_never_prints_it(stack: Applied) -> None:
    """The ACH SFTP parameter is checked before anything changes: not the JSON of README "The ACH rail", a host
    key pasted with its host name (as in known_hosts), or a key too big for Lambda's 4 KB of environment."""
    rehearsal = stack.rehearsal
    login = rehearsal.ach_sftp
    name = "/lending/dev/ach-sftp-rehearsal-refused"
    oversized = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + "A" * 3600 + "\n-----END OPENSSH PRIVATE KEY-----\n"
    cases = [
        ("host: sftp.bank.example", "must hold JSON with host, username, host_key"),
        (json.dumps({**login, "host_key": f"{login['host']} {login['host_key']}"}), "must hold JSON with host, username, host_key"),
        (json.dumps({**login, "private_key": oversized}), "would exceed Lambda's 4 KB"),
    ]
    for value, refused in cases:
        rehearsal.client("ssm").put_parameter(Name=name, Type="SecureString", Value=value, Overwrite=True)
        output = rehearsal.plan_refused(f"ach_sftp_ssm_parameter={name}")
        assert refused in " ".join(output.split()), output[-3000:]
        assert "A" * 64 not in output and login["private_key"].splitlines()[1] not in output, "the login is never printed"


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
    assert rehearsal.client("s3").list_buckets()["Buckets"] == [], "the archive was empty, so destroy could remove it"
    assert not [a for a in kms.list_aliases()["Aliases"] if a["AliasName"] in stack_keys]
    # KMS keys are never deleted at once: destroy schedules their deletion (deletion_window_in_days).
    assert {kms.describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"] for key_id in stack_keys.values()} == {"PendingDeletion"}
    # The real configuration was never used: nothing init, apply or the override would leave is in terraform/.
    assert snapshot(TERRAFORM_DIR) == stack.terraform_before
    assert 'backend "s3" {}' in (TERRAFORM_DIR / "versions.tf").read_text()
