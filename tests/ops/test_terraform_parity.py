"""terraform/ matches the code: the table is app/db/table.py's, the Lambda role grants exactly the calls
the data layer makes (derived from the code, not listed here), and the function gets the settings the
app reads; the email side (email.tf) streams only audit events to the notifications function, whose
role can read, write delivery markers and send from the sender identity, nothing more; the ACH rail
(ach.tf) has its schedules, its SFTP login from one SSM parameter (the keys for the jobs function
alone), a private archive bucket under the ACH key and an alarm per operator event. Pure parsing
(python-hcl2): no AWS, no terraform binary."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path
from typing import Any

import boto3
import hcl2
import pytest
from hcl2.utils import SerializationOptions

from app.ach import archive
from app.ach.settings import AchRail
from app.config import Settings
from app.db import keys, table
from app.observability import JsonFormatter
from app.payments import sealing

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
DATA_LAYER = {
    # Dynamo's calls, and those that find out a lost transaction's outcome (GetItem, TransactWriteItems again)
    "dynamodb": [ROOT / "app" / "db" / "dynamo.py", ROOT / "app" / "db" / "outcome.py"],
    "kms": [ROOT / "app" / "db" / "kms.py"],
    "sesv2": [ROOT / "app" / "notifications" / "senders.py"],  # SesSender (EMAIL_BACKEND=ses)
    "s3": [ROOT / "app" / "ach" / "archive.py"],  # S3Archive (ACH_ARCHIVE_BUCKET): ach_send's copy of each file
}
CLIENT_FACTORY = ROOT / "app" / "db" / "client.py"  # builds the DynamoDB and KMS clients; calls no operation
IAM_PREFIX = {"sesv2": "ses"}  # SES v2's operations are authorized as ses:<Operation>
ADMIN_ONLY = "app/db/schema_admin.py"  # CreateTable for scripts/tests; in AWS, Terraform owns the table
# The local worker's stream reader (python -m app.worker on DynamoDB Local). In AWS, Lambda's poller reads
# the stream with the notifications role (email.tf): no function calls DynamoDB Streams itself.
LOCAL_ONLY = ["app/db/streams.py"]

# IAM has no action for a transaction as a whole: each operation inside it is authorized as the
# matching item action (AWS's rule, "Using IAM with DynamoDB transactions").
TRANSACTION_ACTIONS = {
    "TransactWriteItems": {"PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"},
    "TransactGetItems": {"GetItem"},
}
# Actions for which IAM defines no resource type: "*" is the only Resource AWS accepts for them.
RESOURCELESS_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}

TABLE_ARN = "${aws_dynamodb_table.main.arn}"
STREAM_ARN = "${aws_dynamodb_table.main.stream_arn}"
SENDER_IDENTITY_ARN = "${aws_sesv2_email_identity.sender.arn}"
DLQ_ARN = "${aws_sqs_queue.notifications_dlq.arn}"
NOTIFICATIONS_LOG_STREAMS = "${aws_cloudwatch_log_group.notifications.arn}:log-stream:*"
# dynamodb:LeadingKeys values that confine writes to delivery markers (DELIVERY#<what> / TO#<email>)
MARKERS_ONLY = {
    ("ForAllValues:StringLike", "dynamodb:LeadingKeys"): [f"{keys.DELIVERY}*"],
    ("Null", "dynamodb:LeadingKeys"): ["false"],
}
ACH_KEY_ARN = "${aws_kms_key.ach.arn}"
LOG_STREAMS = "${aws_cloudwatch_log_group.lambda.arn}:log-stream:*"
ARCHIVE_BUCKET_ARN = "${aws_s3_bucket.ach_archive.arn}"
ARCHIVE_OBJECTS = f"{ARCHIVE_BUCKET_ARN}/outbound/*"  # where ach_send puts each file it sent (and nothing else)

# Environment variables a function may carry beyond the app's settings: what a library reads from the
# process environment. asyncssh (the ACH jobs' SFTP client) asks getpass.getuser() for a default login
# name, which fails on Lambda without USER or LOGNAME.
PROCESS_VARIABLES = {"USER"}
# The ACH rail's public half, which every function gets (the app's settings are read by every process);
# its secret half, the jobs function's alone (ach.tf).
ACH_PUBLIC = {
    "ACH_ODFI_ROUTING": "${var.ach_odfi_routing}",
    "ACH_COMPANY_ID": "${var.ach_company_id}",
    "ACH_COMPANY_NAME": "${var.ach_company_name}",
    "ACH_SFTP_HOST": "${local.ach_sftp.host}",
    "ACH_SFTP_USERNAME": "${local.ach_sftp.username}",
}
ACH_SECRET = {"ACH_SFTP_PRIVATE_KEY", "ACH_SFTP_HOST_KEY", "ACH_SFTP_PASSWORD"}

OPTIONS = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)


def _load(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        parsed: dict[str, Any] = hcl2.load(handle, serialization_options=OPTIONS)
    return parsed


@pytest.fixture(scope="module")
def blocks() -> dict[str, dict[str, dict[str, Any]]]:
    """Every `resource` and `data` block of terraform/*.tf: {"resource.aws_x": {"name": body}}; and
    {"variable"|"output"|"locals": {"name": body}}."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        for kind, entries in _load(path).items():
            if kind not in {"resource", "data", "variable", "output", "locals"}:
                continue
            for entry in entries:
                if kind in {"variable", "output", "locals"}:
                    for name, body in entry.items():
                        found.setdefault(kind, {})[name] = body
                    continue
                for type_name, named in entry.items():
                    for name, body in named.items():
                        assert name not in found.get(f"{kind}.{type_name}", {}), f"duplicate {kind} {type_name}.{name}"
                        found.setdefault(f"{kind}.{type_name}", {})[name] = body
    return found


def _app_variables() -> set[str]:
    """The environment variables the app reads: Settings' fields, and its ACH group's (env prefix ACH_)."""
    prefix = AchRail.model_config.get("env_prefix", "")
    return {name.upper() for name in Settings.model_fields} | {f"{prefix}{name}".upper() for name in AchRail.model_fields}


def _local(blocks: dict[str, dict[str, dict[str, Any]]], value: Any) -> Any:
    """`value`, or the local it names whole ("${local.x}")."""
    named = re.fullmatch(r"\$\{local\.(\w+)\}", value) if isinstance(value, str) else None
    return blocks["locals"][named.group(1)] if named else value


def _environment(blocks: dict[str, dict[str, dict[str, Any]]], function: str) -> dict[str, str]:
    """A function's environment variables (written in its block, or a local it names)."""
    (environment,) = blocks["resource.aws_lambda_function"][function]["environment"]
    variables: dict[str, str] = _local(blocks, environment["variables"])
    return variables


@pytest.fixture(scope="module")
def dynamodb_table(blocks: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    tables = blocks["resource.aws_dynamodb_table"]
    assert list(tables) == ["main"], "the app has exactly one table"
    return tables["main"]


ROLES = {"lambda", "jobs", "scheduler", "notifications"}  # the three functions', EventBridge Scheduler's


def _role_statements(blocks: dict[str, dict[str, dict[str, Any]]], role: str) -> list[dict[str, Any]]:
    """The statements of the one policy on aws_iam_role.<role>."""
    policies = blocks["resource.aws_iam_role_policy"]
    assert sorted(body["role"] for body in policies.values()) == sorted(f"${{aws_iam_role.{name}.id}}" for name in ROLES)
    (policy,) = [body for body in policies.values() if body["role"] == f"${{aws_iam_role.{role}.id}}"]
    document = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", policy["policy"])
    assert document, "the role policy is an aws_iam_policy_document (parsable, checked here)"
    statements: list[dict[str, Any]] = blocks["data.aws_iam_policy_document"][document.group(1)]["statement"]
    # (a condition's values may be a local shared by two roles: local.ach_envelope_context_keys)
    return [
        {**s, "condition": [{**c, "values": _local(blocks, c["values"])} for c in s["condition"]]} if "condition" in s else s
        for s in statements
    ]


@pytest.fixture(scope="module")
def lambda_statements(blocks: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The statements of the one policy on the API function's execution role."""
    return _role_statements(blocks, "lambda")


def _calls(module: Path) -> set[str]:
    """The boto3 client methods a data-layer module calls (`self.client.<method>(...)` or `client.<method>(...)`)."""
    calls = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and (
                (isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "client")
                or (isinstance(node.func.value, ast.Name) and node.func.value.id == "client")
            )
        ):
            calls.add(node.func.attr)
    return calls


def _required_actions(service: str) -> set[str]:
    """IAM actions for the calls the code makes, through botocore's own method -> operation names."""
    client = boto3.session.Session().client(service, region_name="us-east-1")
    operations = {client.meta.method_to_api_mapping[method] for path in DATA_LAYER[service] for method in _calls(path)}
    actions: set[str] = set()
    for operation in operations:
        actions |= TRANSACTION_ACTIONS.get(operation, {operation})
    return {f"{IAM_PREFIX.get(service, service)}:{action}" for action in actions}


def _granted(statements: list[dict[str, Any]], service: str) -> dict[str, set[str]]:
    """{action: resources} over every Allow statement, for one service."""
    granted: dict[str, set[str]] = {}
    for statement in statements:
        if statement.get("effect", "Allow") != "Allow":
            continue
        for action in statement["actions"]:
            if action.startswith(f"{service}:"):
                granted.setdefault(action, set()).update(statement["resources"])
    return granted


# --- the table ------------------------------------------------------------------------------


def test_table_keys_and_attribute_types_match_the_app(dynamodb_table: dict[str, Any]) -> None:
    assert dynamodb_table["hash_key"] == table.PARTITION_KEY
    assert dynamodb_table["range_key"] == table.SORT_KEY
    assert {a["name"]: a["type"] for a in dynamodb_table["attribute"]} == table.ATTRIBUTE_TYPES
    assert dynamodb_table["billing_mode"] == table.BILLING_MODE


def test_table_gsis_match_the_app(dynamodb_table: dict[str, Any]) -> None:
    def from_terraform(gsi: dict[str, Any]) -> dict[str, Any]:
        projection: dict[str, Any] = {"ProjectionType": gsi["projection_type"]}
        if gsi.get("non_key_attributes"):
            projection["NonKeyAttributes"] = sorted(gsi["non_key_attributes"])
        keys = [{"AttributeName": gsi["hash_key"], "KeyType": "HASH"}]
        if gsi.get("range_key"):
            keys.append({"AttributeName": gsi["range_key"], "KeyType": "RANGE"})
        return {"IndexName": gsi["name"], "KeySchema": keys, "Projection": projection}

    terraform = sorted((from_terraform(g) for g in dynamodb_table.get("global_secondary_index", [])), key=str)
    assert terraform == sorted(table.GLOBAL_SECONDARY_INDEXES, key=str)
    assert not dynamodb_table.get("local_secondary_index"), "the app defines no LSI"


def test_table_ttl_matches_the_app(dynamodb_table: dict[str, Any]) -> None:
    (ttl,) = dynamodb_table["ttl"]
    assert ttl == {"attribute_name": table.TTL_ATTRIBUTE, "enabled": True}


def test_table_stream_matches_the_app(dynamodb_table: dict[str, Any]) -> None:
    """The outbox: app/db/table.py's STREAM_SPECIFICATION (DynamoDB Local has the same, for the worker)."""
    assert dynamodb_table["stream_enabled"] is table.STREAM_SPECIFICATION["StreamEnabled"] is True
    assert dynamodb_table["stream_view_type"] == table.STREAM_SPECIFICATION["StreamViewType"]


def test_table_is_recoverable_encrypted_and_protected_in_prod(dynamodb_table: dict[str, Any]) -> None:
    assert dynamodb_table["point_in_time_recovery"] == [{"enabled": True}]
    (sse,) = dynamodb_table["server_side_encryption"]
    assert sse["enabled"] is True and sse["kms_key_arn"].startswith("${aws_kms_key.")
    assert dynamodb_table["deletion_protection_enabled"] == "${local.is_prod}"


# --- the Lambda role ----------------------------------------------------------------------------


def test_only_the_data_layer_talks_to_aws() -> None:
    """So the calls derived from dynamo.py and outcome.py, kms.py and the SES sender are every call a function makes.

    (Importing only botocore's exception classes, as app/db/errors.py does to translate them, makes no call.)
    """
    importers = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "app").rglob("*.py")
        if re.search(r"^\s*(import boto3|from boto3|import botocore|from botocore(?!\.exceptions import))", path.read_text(), re.M)
    )
    data_layer = {str(path.relative_to(ROOT)) for paths in DATA_LAYER.values() for path in paths}
    assert set(importers) - {ADMIN_ONLY} - set(LOCAL_ONLY) <= data_layer | {str(CLIENT_FACTORY.relative_to(ROOT))}
    assert _calls(CLIENT_FACTORY) == set()
    # The admin module creates tables for scripts and tests: the running app never imports it. The
    # stream reader is the local worker's: nothing else imports it, nor does lambda_handler the worker.
    for module_path, allowed in {ADMIN_ONLY: [], **{path: ["app/worker.py"] for path in LOCAL_ONLY}}.items():
        package, name = module_path.removesuffix(".py").replace("/", ".").rsplit(".", 1)
        imports = re.compile(rf"\b{re.escape(package)}\.{name}\b|^\s*from {re.escape(package)} import [^\n]*\b{name}\b", re.M)
        users = sorted(
            str(path.relative_to(ROOT))
            for path in (ROOT / "app").rglob("*.py")
            if str(path.relative_to(ROOT)) != module_path and imports.search(path.read_text())
        )
        assert users in ([], allowed), f"{module_path} is imported by {users}"
    assert not re.search(r"app\.db\.streams|app\.worker", (ROOT / "lambda_handler.py").read_text())


def test_every_dynamodb_call_is_granted_and_nothing_else(lambda_statements: list[dict[str, Any]]) -> None:
    required = _required_actions("dynamodb")
    assert {"dynamodb:GetItem", "dynamodb:Query", "dynamodb:ConditionCheckItem"} <= required  # sanity of the derivation
    granted = _granted(lambda_statements, "dynamodb")
    assert set(granted) == required
    for action, resources in granted.items():
        assert TABLE_ARN in resources, action


def test_dynamodb_grants_name_only_this_table_and_its_indexes(lambda_statements: list[dict[str, Any]]) -> None:
    indexes = {f"{TABLE_ARN}/index/{gsi['IndexName']}" for gsi in table.GLOBAL_SECONDARY_INDEXES}
    for action, resources in _granted(lambda_statements, "dynamodb").items():
        allowed = {TABLE_ARN} | (indexes if action == "dynamodb:Query" else set())
        assert resources <= allowed, f"{action} on {resources - allowed}"


def test_the_api_sends_no_email_and_reads_no_stream(lambda_statements: list[dict[str, Any]]) -> None:
    """The API's audit events are the outbox: sending is the notifications and jobs functions' alone."""
    assert not _granted(lambda_statements, "ses") and not _granted(lambda_statements, "sqs")
    assert not [r for s in lambda_statements for r in s["resources"] if r == STREAM_ARN]


def test_every_kms_call_is_granted_on_the_ach_key_only(lambda_statements: list[dict[str, Any]]) -> None:
    required = _required_actions("kms")
    assert required == {"kms:GenerateDataKey", "kms:Decrypt"}
    granted = _granted(lambda_statements, "kms")
    assert set(granted) == required
    assert all(resources == {ACH_KEY_ARN} for resources in granted.values())


def test_kms_grant_requires_the_apps_encryption_context(lambda_statements: list[dict[str, Any]]) -> None:
    (statement,) = [s for s in lambda_statements if any(a.startswith("kms:") for a in s["actions"])]
    conditions = {(c["test"], c["variable"]): sorted(c["values"]) for c in statement["condition"]}
    bindings = (sealing.Binding.bank_account("user", "bank"), sealing.Binding.ach_record("loan", "lender"))
    context_keys = sorted({name for binding in bindings for name, _ in binding.context})
    assert conditions[("ForAllValues:StringEquals", "kms:EncryptionContextKeys")] == context_keys
    assert conditions[("Null", "kms:EncryptionContextKeys")] == ["false"]


def _no_wildcards(statements: list[dict[str, Any]], log_streams: str, *patterns: str) -> None:
    for statement in statements:
        assert "not_actions" not in statement and "not_resources" not in statement
        assert not any("*" in action for action in statement["actions"]), statement["actions"]
        for resource in statement["resources"]:
            if resource == "*":
                assert set(statement["actions"]) <= RESOURCELESS_ACTIONS, statement
            elif "*" in resource:
                # Lambda names its log streams per execution environment: the one allowed pattern
                # (and, for the jobs, the archive's objects: ach_send names each file it puts).
                assert resource in {log_streams, *patterns}, resource


def test_no_wildcard_action_or_resource(lambda_statements: list[dict[str, Any]]) -> None:
    _no_wildcards(lambda_statements, LOG_STREAMS)


def test_role_has_no_other_policies(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    assert "resource.aws_iam_role_policy_attachment" not in blocks
    assert "resource.aws_iam_policy" not in blocks
    roles = blocks["resource.aws_iam_role"]
    assert set(roles) == ROLES
    for role in roles.values():
        assert "managed_policy_arns" not in role and "inline_policy" not in role


# --- the function's settings --------------------------------------------------------------------


def test_function_runs_the_handler_on_arm64_python312(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    function = blocks["resource.aws_lambda_function"]["api"]
    assert function["runtime"] == "python3.12"
    assert function["architectures"] == ["arm64"]
    module, attribute = function["handler"].split(".")
    assert (ROOT / f"{module}.py").exists() and f"{attribute} =" in (ROOT / f"{module}.py").read_text()
    assert function["tracing_config"] == [{"mode": "Active"}]
    for setting in ("memory_size", "timeout", "reserved_concurrent_executions"):
        assert function[setting].startswith("${var."), f"{setting} is a variable"


def test_function_environment_is_what_the_app_reads(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    variables = _environment(blocks, "api")
    settings = _app_variables()
    assert set(variables) <= settings, set(variables) - settings
    assert {"ENVIRONMENT", "TABLE_NAME", "ACH_KMS_KEY_ID", "CORS_ORIGINS", "LOG_LEVEL", "JWT_SECRET"} <= set(variables)
    assert "AWS_REGION" not in variables, "reserved: Lambda sets it"
    assert "DYNAMODB_ENDPOINT_URL" not in variables and "DEBUG_DB_METRICS" not in variables
    assert variables["TABLE_NAME"] == "${aws_dynamodb_table.main.name}"
    assert variables["ACH_KMS_KEY_ID"] == ACH_KEY_ARN
    assert variables["JWT_SECRET"].startswith("${data.aws_ssm_parameter."), "the secret comes from SSM, never a literal"
    # Email: verification is enforced (prod refuses off), and the settings every function validates.
    assert variables["EMAIL_VERIFICATION"] == "required"
    assert (variables["EMAIL_FROM"], variables["APP_BASE_URL"]) == ("${var.email_from}", "${var.app_base_url}")
    assert "SES_ENDPOINT_URL" not in variables and "SMTP_HOST" not in variables
    assert_ach_public_half_only(variables)


def assert_ach_public_half_only(variables: dict[str, str]) -> None:
    """The rail's routing number, company and login names, as the jobs function has them; no key: only the jobs talk to the bank."""
    assert {name: variables.get(name) for name in ACH_PUBLIC} == ACH_PUBLIC
    assert not ACH_SECRET & set(variables), "the SFTP keys are the jobs function's alone"
    assert not {name for name in variables if name.startswith("ACH_")} - set(ACH_PUBLIC) - {"ACH_KMS_KEY_ID"}


def test_tfvars_set_only_declared_variables_and_every_required_one(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    declared = blocks["variable"]
    required = {name for name, body in declared.items() if "default" not in body}
    files = sorted((TERRAFORM / "environments").glob("*.tfvars"))
    assert [f.stem for f in files] == ["dev", "prod"]
    for path in files:
        values = _load(path)
        assert set(values) <= set(declared), f"{path.name}: {set(values) - set(declared)}"
        assert required <= set(values), f"{path.name} misses {required - set(values)}"
        assert values["environment"] == path.stem


def test_outputs_give_the_api_url_and_table_name(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    assert {"api_url", "table_name"} <= set(blocks["output"])


def test_no_output_carries_a_secret(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Outputs are printed by every apply and read by the pipeline: never the JWT secret (nor anything sensitive)."""
    for name, output in blocks["output"].items():
        assert "aws_ssm_parameter" not in json.dumps(output), name
        assert not output.get("sensitive"), f"{name}: a sensitive output has no place here"


# --- the scheduled jobs (terraform/jobs.tf) ---------------------------------------------------------

JOBS_FUNCTION = "${aws_lambda_function.jobs.arn}"
JOBS_LOG_STREAMS = "${aws_cloudwatch_log_group.jobs.arn}:log-stream:*"


@pytest.fixture(scope="module")
def jobs_statements(blocks: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return _role_statements(blocks, "jobs")


def _conditions(statement: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    return {(c["test"], c["variable"]): sorted(c["values"]) for c in statement.get("condition", [])}


def test_jobs_role_reads_and_writes_items_and_deletes_only_delivery_markers(jobs_statements: list[dict[str, Any]]) -> None:
    """Least privilege: a subset of what the data layer calls. The "when" index only (GSI2: deadlines,
    reminders, payments by status, a file's claims, open files, verification deadlines: the jobs never read
    GSI1) and the table by key and partition; writes are items (loans, invitations, events, markers,
    payments and the rail's items; no condition check: that is the API's), and a delete is only ever the
    release of a delivery marker.

    (tests/jobs/test_expiry_requests.py checks these grants against the calls an expiry run makes.)"""
    granted = _granted(jobs_statements, "dynamodb")
    assert set(granted) <= _required_actions("dynamodb")
    indexes = {f"{TABLE_ARN}/index/{gsi['IndexName']}" for gsi in table.GLOBAL_SECONDARY_INDEXES}
    assert f"{TABLE_ARN}/index/{table.DEADLINE_INDEX}" in indexes
    assert granted.pop("dynamodb:Query") == {TABLE_ARN, f"{TABLE_ARN}/index/{table.DEADLINE_INDEX}"}
    assert granted and all(resources == {TABLE_ARN} for resources in granted.values()), granted
    items = {"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"}
    assert set(granted) == items | {"dynamodb:DeleteItem"}
    (delete,) = [s for s in jobs_statements if "dynamodb:DeleteItem" in s["actions"]]
    assert delete["actions"] == ["dynamodb:DeleteItem"] and _conditions(delete) == MARKERS_ONLY
    _no_wildcards(jobs_statements, JOBS_LOG_STREAMS, ARCHIVE_OBJECTS)


def test_jobs_use_the_ach_key_as_the_api_does_and_to_archive_through_s3(
    jobs_statements: list[dict[str, Any]], lambda_statements: list[dict[str, Any]]
) -> None:
    """ach_send unseals account numbers and ach_receive seals a NOC's new one: the API's grant, condition for
    condition. The archive's puts make S3 ask for a data key of the same key: GenerateDataKey only, only
    through S3, only for the archive bucket; no Decrypt that S3 (or anything else unbound) could use."""
    kms = [s for s in jobs_statements if any(a.startswith("kms:") for a in s["actions"])]
    (api,) = [s for s in lambda_statements if any(a.startswith("kms:") for a in s["actions"])]
    (envelope,) = [s for s in kms if "kms:Decrypt" in s["actions"]]
    assert (
        (sorted(envelope["actions"]), envelope["resources"])
        == (sorted(api["actions"]), api["resources"])
        == (
            ["kms:Decrypt", "kms:GenerateDataKey"],
            [ACH_KEY_ARN],
        )
    )
    assert _conditions(envelope) == _conditions(api)
    assert "aws:s3:arn" not in _conditions(envelope)[("ForAllValues:StringEquals", "kms:EncryptionContextKeys")], "S3 cannot use it"
    (through_s3,) = [s for s in kms if s is not envelope]
    assert (through_s3["actions"], through_s3["resources"]) == (["kms:GenerateDataKey"], [ACH_KEY_ARN])
    assert _conditions(through_s3) == {
        ("StringEquals", "kms:ViaService"): ["s3.${var.region}.amazonaws.com"],
        ("StringLike", "kms:EncryptionContext:aws:s3:arn"): sorted([ARCHIVE_BUCKET_ARN, ARCHIVE_OBJECTS]),
    }
    assert set(_granted(jobs_statements, "kms")) == _required_actions("kms")
    # What the archive calls, derived from the code (PutObject), on its objects only: never read, list or delete.
    assert _required_actions("s3") == {"s3:PutObject"}
    assert _granted(jobs_statements, "s3") == {"s3:PutObject": {ARCHIVE_OBJECTS}}
    assert f"{ARCHIVE_BUCKET_ARN}/{archive.PREFIX}*" == ARCHIVE_OBJECTS, "the prefix the archive writes under"


def test_only_the_jobs_write_the_archive(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    for role in ROLES - {"jobs"}:
        assert not _granted(_role_statements(blocks, role), "s3"), role


def test_jobs_and_notifications_send_only_from_the_sender_identity(
    jobs_statements: list[dict[str, Any]], notifications_statements: list[dict[str, Any]]
) -> None:
    """What the SES sender calls (SendEmail), derived from the code, on the one identity; the reminders
    (jobs) and the stream's emails (notifications) both send."""
    required = _required_actions("sesv2")
    assert required == {"ses:SendEmail"}
    for statements in (jobs_statements, notifications_statements):
        granted = _granted(statements, "ses")
        assert set(granted) == required
        assert all(resources == {SENDER_IDENTITY_ARN} for resources in granted.values()), granted


def test_scheduler_role_can_only_invoke_the_jobs_function(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    (statement,) = _role_statements(blocks, "scheduler")
    assert statement["actions"] == ["lambda:InvokeFunction"] and statement["resources"] == [JOBS_FUNCTION]
    trust = blocks["resource.aws_iam_role"]["scheduler"]["assume_role_policy"]
    (assume,) = blocks["data.aws_iam_policy_document"][trust.split(".")[2]]["statement"]
    assert assume["principals"] == [{"type": "Service", "identifiers": ["scheduler.amazonaws.com"]}]
    assert {c["variable"] for c in assume["condition"]} == {"aws:SourceAccount", "aws:SourceArn"}, "no confused deputy"


# resource name: (job, schedule expression, its time zone or None (UTC), longest time to the next run (s))
SCHEDULES = {
    "expire_loans": ("expire-loans", "rate(5 minutes)", None, 300),
    "send_payment_reminders": ("send-payment-reminders", "rate(1 hour)", None, 3600),
    # The bank's windows: 10:00 and 14:00 New York time (daylight saving followed), Monday to Friday; the
    # jobs skip Federal Reserve holidays themselves. Next run at least 4 hours later.
    "ach_send": ("ach_send", "cron(0 10,14 ? * MON-FRI *)", "America/New_York", 4 * 3600),
    "ach_settle": ("ach_settle", "cron(0 10,14 ? * MON-FRI *)", "America/New_York", 4 * 3600),
    "ach_receive": ("ach_receive", "rate(15 minutes)", None, 900),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_each_schedule_runs_a_known_job(blocks: dict[str, dict[str, dict[str, Any]]], name: str) -> None:
    from app.jobs import JOBS

    schedules = blocks["resource.aws_scheduler_schedule"]
    assert set(schedules) == set(SCHEDULES)
    job, expression, timezone, interval = SCHEDULES[name]
    schedule = schedules[name]
    assert schedule["name"] == f"${{local.name}}-{job}", "the scheduler role's trust admits schedules named ${local.name}-*"
    assert schedule["schedule_expression"] == expression
    assert schedule.get("schedule_expression_timezone") == timezone
    assert schedule["flexible_time_window"] == [{"mode": "OFF"}]
    (target,) = schedule["target"]
    assert (target["arn"], target["role_arn"]) == (JOBS_FUNCTION, "${aws_iam_role.scheduler.arn}")
    named = re.fullmatch(r'\$\{jsonencode\(\{job = "([\w-]+)"\}\)\}', target["input"])
    assert named and named.group(1) == job, target["input"]
    assert job in JOBS, f"app.jobs.JOBS has no {job!r}: the schedule would fail every run"
    (retry,) = target["retry_policy"]
    assert retry["maximum_event_age_in_seconds"] <= interval, "a run is worth retrying only until the next one"
    assert 0 <= retry["maximum_retry_attempts"] <= 3


def test_the_jobs_timeout_leaves_ach_send_room_for_10000_payments(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    """ach_send builds and uploads a file of 10,000 payments in up to ~2 minutes: the default timeout gives it more
    than twice that, and still ends before the next expire-loans run (5 minutes) is due."""
    timeout = blocks["variable"]["jobs_timeout_seconds"]
    assert 240 <= timeout["default"] <= SCHEDULES["expire_loans"][3]
    assert blocks["resource.aws_lambda_function"]["jobs"]["timeout"] == "${var.jobs_timeout_seconds}"


def test_jobs_function_runs_the_scheduled_handler_from_the_api_zip(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    functions = blocks["resource.aws_lambda_function"]
    assert set(functions) == {"api", "jobs", "notifications"}
    api, jobs = functions["api"], functions["jobs"]
    assert jobs["handler"] == "lambda_handler.scheduled_handler"
    assert re.search(r"^def scheduled_handler\(event", (ROOT / "lambda_handler.py").read_text(), re.M)
    for setting in ("runtime", "architectures", "filename", "source_code_hash", "kms_key_arn", "tracing_config"):
        assert jobs[setting] == api[setting], setting
    assert jobs["role"] == "${aws_iam_role.jobs.arn}"
    assert jobs["reserved_concurrent_executions"].startswith("${var.") and jobs["timeout"].startswith("${var.")
    variables = _environment(blocks, "jobs")
    assert set(variables) <= _app_variables() | PROCESS_VARIABLES, set(variables) - _app_variables() - PROCESS_VARIABLES
    assert variables["TABLE_NAME"] == "${aws_dynamodb_table.main.name}"
    assert "DYNAMODB_ENDPOINT_URL" not in variables and "DEBUG_DB_METRICS" not in variables and "AWS_REGION" not in variables
    assert_sends_through_ses(variables)


def test_the_jobs_function_has_the_whole_ach_rail(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    """The rail's settings (plain variables), the SFTP login from the one SSM parameter, the bank's host key
    pinned, the archive bucket, and USER for asyncssh; the environment checked against Lambda's 4 KB."""
    variables = _environment(blocks, "jobs")
    assert {name: variables[name] for name in ACH_PUBLIC} == ACH_PUBLIC
    assert variables["ACH_SFTP_PRIVATE_KEY"] == "${local.ach_sftp.private_key}"
    assert variables["ACH_SFTP_HOST_KEY"] == "${trimspace(local.ach_sftp.host_key)}", "pinned: never 'accept any host key'"
    assert "ACH_SFTP_PASSWORD" not in variables, "a key, not a password, in AWS"
    assert variables["ACH_SFTP_PORT"] == "${tostring(var.ach_sftp_port)}"
    assert (variables["ACH_SFTP_OUTBOUND_DIR"], variables["ACH_SFTP_INBOUND_DIR"]) == (
        "${var.ach_sftp_outbound_dir}",
        "${var.ach_sftp_inbound_dir}",
    )
    assert variables["ACH_RETURN_WINDOW_DAYS"] == "${tostring(var.ach_return_window_days)}"
    assert variables["ACH_ARCHIVE_BUCKET"] == "${aws_s3_bucket.ach_archive.bucket}"
    assert "ACH_ARCHIVE_DIR" not in variables, "in AWS the archive is the bucket"
    assert variables["USER"] == "lending"
    # The login is one SSM SecureString read at deploy time, as the JWT secret is: never a literal, never a variable's value.
    (parameter,) = [body for name, body in blocks["data.aws_ssm_parameter"].items() if name == "ach_sftp"]
    assert (parameter["name"], parameter["with_decryption"]) == ("${var.ach_sftp_ssm_parameter}", True)
    login: object = blocks["locals"]["ach_sftp"]
    assert login == "${jsondecode(data.aws_ssm_parameter.ach_sftp.value)}"
    assert "default" not in blocks["variable"]["ach_sftp_ssm_parameter"]
    (lifecycle,) = blocks["resource.aws_lambda_function"]["jobs"]["lifecycle"]
    (precondition,) = lifecycle["precondition"]
    assert precondition["condition"] == "${length(jsonencode(local.jobs_environment)) <= 4096}"
    for name in ("ach_odfi_routing", "ach_company_id", "ach_company_name"):
        variable = blocks["variable"][name]
        assert variable["description"] and variable["validation"] and "default" not in variable, name


def test_each_environment_names_an_ach_rail_the_app_accepts() -> None:
    """What the tfvars give the functions, read by the app's own settings (its validators: ABA checksum, lengths)."""
    for path in sorted((TERRAFORM / "environments").glob("*.tfvars")):
        values = _load(path)
        rail = AchRail(
            odfi_routing=values["ach_odfi_routing"], company_id=values["ach_company_id"], company_name=values["ach_company_name"]
        )
        assert (rail.odfi_routing, rail.company_id, rail.company_name) == (
            values["ach_odfi_routing"],
            values["ach_company_id"],
            values["ach_company_name"],
        ), path.name
        # beside the JWT secret's, within the deploy role's ssm:GetParameter on /lending/<env>/* (README "Deploy")
        assert values["ach_sftp_ssm_parameter"].startswith(f"/lending/{values['environment']}/"), path.name


def assert_sends_through_ses(variables: dict[str, str]) -> None:
    assert variables["EMAIL_BACKEND"] == "ses"
    assert (variables["EMAIL_FROM"], variables["APP_BASE_URL"]) == ("${var.email_from}", "${var.app_base_url}")
    assert not {"SES_ENDPOINT_URL", "SMTP_HOST", "SMTP_PORT"} & set(variables), "SES is the region's; no SMTP in AWS"
    # The app refuses to start in prod without these (app/config.py validators).
    assert variables["ACH_KMS_KEY_ID"] == ACH_KEY_ARN
    assert variables["JWT_SECRET"].startswith("${data.aws_ssm_parameter."), "the secret comes from SSM, never a literal"


def test_every_log_group_is_encrypted_by_a_key_that_lets_logs_use_it(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Lambda writes to /aws/lambda/<function name>; the data key's policy must let CloudWatch Logs use it there."""
    groups = blocks["resource.aws_cloudwatch_log_group"]
    assert groups["lambda"]["name"] == "/aws/lambda/${local.name}"
    assert blocks["resource.aws_lambda_function"]["jobs"]["function_name"] == "${local.name}-jobs"
    assert groups["jobs"]["name"] == "/aws/lambda/${local.name}-jobs"
    assert blocks["resource.aws_lambda_function"]["notifications"]["function_name"] == "${local.notifications_name}"
    assert blocks["locals"]["notifications_name"] == "${local.name}-notifications"
    assert groups["notifications"]["name"] == "/aws/lambda/${local.notifications_name}"
    names = {group["name"].replace("${local.notifications_name}", "${local.name}-notifications") for group in groups.values()}
    data_key = blocks["data.aws_iam_policy_document"]["data_key"]["statement"]
    (logs,) = [s for s in data_key if s.get("sid") == "CloudWatchLogsEncryptsOurLogGroups"]
    (context,) = logs["condition"]
    allowed = {value.rsplit(":log-group:", 1)[1] for value in context["values"]}
    assert allowed == names
    for group in groups.values():
        assert group["kms_key_id"] == "${aws_kms_key.data.arn}" and group["retention_in_days"] == "${var.log_retention_days}"


def test_a_failed_job_run_trips_an_alarm(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    alarm = blocks["resource.aws_cloudwatch_metric_alarm"]["jobs_errors"]
    assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    assert alarm["dimensions"] == {"FunctionName": "${aws_lambda_function.jobs.function_name}"}
    assert alarm["period"] * alarm["evaluation_periods"] == 600
    assert (alarm["comparison_operator"], alarm["threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert alarm["alarm_actions"] == alarm["ok_actions"] == "${local.alarm_actions}"


# --- email (terraform/email.tf): the stream, the notifications function, the DLQ, SES ---------------------------

NOTIFICATIONS_FUNCTION = "${aws_lambda_function.notifications.arn}"


@pytest.fixture(scope="module")
def notifications_statements(blocks: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return _role_statements(blocks, "notifications")


def test_notifications_role_reads_the_stream_and_the_table_and_writes_only_delivery_markers(
    notifications_statements: list[dict[str, Any]],
) -> None:
    granted = _granted(notifications_statements, "dynamodb")
    stream_actions = {"dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"}
    reads = {"dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"}
    writes = {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"}
    assert set(granted) == stream_actions | reads | writes
    assert all(granted[action] == {STREAM_ARN} for action in stream_actions), "this table's stream, nothing else"
    assert all(granted[action] == {TABLE_ARN} for action in reads | writes), "the table: no index, no stream"
    assert reads | writes <= _required_actions("dynamodb"), "only calls the data layer makes"
    for statement in notifications_statements:
        if set(statement["actions"]) & writes:
            assert set(statement["actions"]) == writes and _conditions(statement) == MARKERS_ONLY, statement
        elif statement["actions"] != ["ses:SendEmail"]:
            assert not statement.get("condition"), statement
    # The DLQ is the event source mapping's on-failure destination, sent with this role.
    assert _granted(notifications_statements, "sqs") == {"sqs:SendMessage": {DLQ_ARN}}
    assert not _granted(notifications_statements, "kms")
    _no_wildcards(notifications_statements, NOTIFICATIONS_LOG_STREAMS)
    (logs,) = [s for s in notifications_statements if any(a.startswith("logs:") for a in s["actions"])]
    assert logs["resources"] == [NOTIFICATIONS_LOG_STREAMS]


def test_notifications_function_runs_the_stream_handler_from_the_api_zip(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    functions = blocks["resource.aws_lambda_function"]
    api, notifications = functions["api"], functions["notifications"]
    assert notifications["handler"] == "lambda_handler.stream_handler"
    assert re.search(r"^def stream_handler\(event", (ROOT / "lambda_handler.py").read_text(), re.M)
    for setting in ("runtime", "architectures", "filename", "source_code_hash", "kms_key_arn", "tracing_config"):
        assert notifications[setting] == api[setting], setting
    assert notifications["role"] == "${aws_iam_role.notifications.arn}"
    for setting in ("memory_size", "timeout", "reserved_concurrent_executions"):
        assert notifications[setting].startswith("${var."), f"{setting} is a variable"
    assert "${aws_iam_role_policy.notifications}" in notifications["depends_on"]
    assert "${aws_cloudwatch_log_group.notifications}" in notifications["depends_on"]
    variables = _environment(blocks, "notifications")
    assert set(variables) <= _app_variables(), set(variables) - _app_variables()
    assert variables["TABLE_NAME"] == "${aws_dynamodb_table.main.name}"
    assert variables["ENVIRONMENT"] == "${var.environment}" and variables["LOG_LEVEL"] == "${var.log_level}"
    assert not {"DYNAMODB_ENDPOINT_URL", "DEBUG_DB_METRICS", "AWS_REGION", "CORS_ORIGINS"} & set(variables)
    assert_sends_through_ses(variables)
    assert_ach_public_half_only(variables)


@pytest.fixture(scope="module")
def mapping(blocks: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    mappings = blocks["resource.aws_lambda_event_source_mapping"]
    assert list(mappings) == ["notifications"]
    return mappings["notifications"]


def test_the_stream_feeds_the_notifications_function_with_retries_then_the_dlq(mapping: dict[str, Any]) -> None:
    assert (mapping["event_source_arn"], mapping["function_name"]) == (STREAM_ARN, NOTIFICATIONS_FUNCTION)
    # The markers make a replay harmless, so nothing written since the stream exists is skipped (email.tf).
    assert mapping["starting_position"] == "TRIM_HORIZON"
    assert mapping["function_response_types"] == ["ReportBatchItemFailures"], "stream_handler returns batchItemFailures"
    assert mapping["bisect_batch_on_function_error"] is True
    assert 1 <= mapping["maximum_retry_attempts"] <= 10
    assert 60 <= mapping["maximum_record_age_in_seconds"] <= 86400, "not beyond the stream's 24 h retention"
    assert 1 <= mapping["batch_size"] <= 100 and 0 <= mapping["maximum_batching_window_in_seconds"] <= 5
    assert mapping.get("parallelization_factor", 1) == 1, "a loan's events in the order they were written"
    (destination,) = mapping["destination_config"]
    assert destination["on_failure"] == [{"destination_arn": DLQ_ARN}]
    assert "${aws_iam_role_policy.notifications}" in mapping["depends_on"], "the role can read the stream first"


def _matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Lambda event filtering for the patterns used here: nested objects, and lists of allowed exact values."""
    for key, wanted in pattern.items():
        if key not in event:
            return False
        if isinstance(wanted, dict):
            if not isinstance(event[key], dict) or not _matches(wanted, event[key]):
                return False
        elif event[key] not in wanted:
            return False
    return True


def _record(event_name: str, item: dict[str, Any], sequence: int) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeSerializer

    image = {name: TypeSerializer().serialize(value) for name, value in item.items()}
    body: dict[str, Any] = {"Keys": {k: image[k] for k in ("PK", "SK")}, "SequenceNumber": str(sequence), "StreamViewType": "NEW_IMAGE"}
    if event_name != "REMOVE":
        body["NewImage"] = image
    return {"eventID": str(sequence), "eventName": event_name, "eventSource": "aws:dynamodb", "dynamodb": body}


def test_only_inserted_audit_events_reach_the_function(blocks: dict[str, dict[str, dict[str, Any]]], mapping: dict[str, Any]) -> None:
    """The filter passes exactly the records the handler acts on (app/notifications/stream.py event_of):
    an inserted audit event, of a loan or of a user; never its later changes, nor any other item."""
    from app.notifications.stream import event_of

    (criteria,) = mapping["filter_criteria"]
    (only,) = criteria["filter"]
    assert only["pattern"] == "${jsonencode(local.notifications_filter)}"
    pattern = blocks["locals"]["notifications_filter"]
    assert json.loads(json.dumps(pattern)) == {"eventName": ["INSERT"], "dynamodb": {"NewImage": {"entity": {"S": ["event"]}}}}

    loan_event = {"PK": "LOAN#l1", "SK": "EVENT#e1", "entity": "event", "eventId": "e1", "type": "created", "loanId": "l1"}
    user_event = {"PK": "USER#u1", "SK": "EVENT#e2", "entity": "event", "eventId": "e2", "type": "verification_requested"}
    others = [
        {"PK": "LOAN#l1", "SK": "USER#u1", "entity": "loan", "loanId": "l1"},
        {"PK": "LOAN#l1", "SK": "INVITE#x", "entity": "invitation"},
        {"PK": "USER#u1", "SK": "USER#u1", "entity": "user"},
        {**keys.delivery_marker_key("e1", "a@example.com"), "entity": "delivery"},
    ]
    cases = [("INSERT", loan_event, True), ("INSERT", user_event, True), ("MODIFY", loan_event, False), ("REMOVE", loan_event, False)]
    cases += [("INSERT", item, False) for item in others] + [("MODIFY", item, False) for item in others]
    for sequence, (name, item, expected) in enumerate(cases, start=100):
        record = _record(name, item, sequence)
        assert _matches(pattern, record) is expected, (name, item)
        assert (event_of(record) is not None) is expected, "the handler and the filter agree"


def test_the_dlq_keeps_failed_batches_14_days_encrypted(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    queues = blocks["resource.aws_sqs_queue"]
    assert list(queues) == ["notifications_dlq"]
    queue = queues["notifications_dlq"]
    assert queue["message_retention_seconds"] == 14 * 24 * 3600
    assert queue.get("sqs_managed_sse_enabled") is True or queue.get("kms_master_key_id") == "${aws_kms_key.data.arn}"
    assert "policy" not in queue, "no resource policy: only the notifications role (IAM) sends to it"


def test_undelivered_emails_and_a_failing_function_trip_alarms(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    alarms = blocks["resource.aws_cloudwatch_metric_alarm"]
    dlq = alarms["notifications_dlq"]
    assert (dlq["namespace"], dlq["metric_name"]) == ("AWS/SQS", "ApproximateNumberOfMessagesVisible")
    assert dlq["dimensions"] == {"QueueName": "${aws_sqs_queue.notifications_dlq.name}"}
    assert (dlq["comparison_operator"], dlq["threshold"]) == ("GreaterThanThreshold", 0)
    errors = alarms["notifications_errors"]
    assert (errors["namespace"], errors["metric_name"], errors["statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    assert errors["dimensions"] == {"FunctionName": "${aws_lambda_function.notifications.function_name}"}
    assert (errors["comparison_operator"], errors["threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    lag = alarms["notifications_iterator_age"]
    assert (lag["metric_name"], lag["dimensions"]) == ("IteratorAge", errors["dimensions"])
    for alarm in (dlq, errors, lag):
        assert alarm["alarm_actions"] == alarm["ok_actions"] == "${local.alarm_actions}"
        assert alarm["treat_missing_data"] == "notBreaching"


def _address(email_from: str) -> str:
    return email_from.rsplit("<", 1)[-1].removesuffix(">").strip().lower()


def test_the_sender_identity_and_each_environments_email_settings(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    """The identity is a variable; each tfvars sends from an address of its identity (email.tf checks it
    at plan time too), links to an https SPA, and the app accepts both settings in that environment."""
    (identity,) = blocks["resource.aws_sesv2_email_identity"].values()
    assert identity["email_identity"] == "${var.email_sender_identity}"
    (lifecycle,) = identity["lifecycle"]
    (precondition,) = lifecycle["precondition"]
    assert "local.email_from_address" in precondition["condition"] and "var.email_sender_identity" in precondition["condition"]
    for name in ("email_sender_identity", "email_from", "app_base_url"):
        variable = blocks["variable"][name]
        assert variable["description"] and variable["validation"] and "default" not in variable, name
    for path in sorted((TERRAFORM / "environments").glob("*.tfvars")):
        values = _load(path)
        address, sender = _address(values["email_from"]), values["email_sender_identity"].lower()
        assert sender in {address, address.split("@", 1)[1]}, f"{path.name}: {values['email_from']} is not sent from {sender}"
        assert values["app_base_url"].startswith("https://") and not values["app_base_url"].endswith("/")
        rail = AchRail(  # the tfvars' identity of the rail; host and user come from the SFTP parameter (terraform/ach.tf)
            _env_file=None,  # type: ignore[call-arg]
            odfi_routing=values["ach_odfi_routing"],
            company_id=values["ach_company_id"],
            company_name=values["ach_company_name"],
            sftp_host="sftp.odfi.example",
            sftp_username="lending",
        )
        settings = Settings(
            environment=values["environment"],
            jwt_secret="x" * 48,
            ach_kms_key_id="arn:aws:kms:us-east-1:123456789012:key/k",
            email_backend="ses",
            email_from=values["email_from"],
            app_base_url=values["app_base_url"],
            ach=rail,
        )
        assert (settings.email_from, settings.app_base_url) == (values["email_from"], values["app_base_url"])


# --- the ACH rail (terraform/ach.tf): the archive bucket and the operator alarms ------------------------------------

ARCHIVE = "${aws_s3_bucket.ach_archive.id}"


def test_the_archive_is_private_versioned_under_the_ach_key_and_kept_7_years(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    """ach_send's copy of every file sent: no public access, no ACLs, versions, SSE-KMS with the ACH key (the
    data it protects elsewhere), expired after 7 years, never force-destroyed."""
    (bucket,) = blocks["resource.aws_s3_bucket"].values()
    assert bucket["bucket"].startswith("${local.name}-ach-archive-") and not bucket.get("force_destroy", False)
    configured = {kind: list(named.values()) for kind, named in blocks.items() if kind.startswith("resource.aws_s3_bucket_")}
    for kind, bodies in configured.items():
        assert [body["bucket"] for body in bodies] == [ARCHIVE], kind
    (access,) = configured["resource.aws_s3_bucket_public_access_block"]
    assert all(
        access[flag] is True for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
    )
    (ownership,) = configured["resource.aws_s3_bucket_ownership_controls"]
    assert ownership["rule"] == [{"object_ownership": "BucketOwnerEnforced"}]
    (versioning,) = configured["resource.aws_s3_bucket_versioning"]
    assert versioning["versioning_configuration"] == [{"status": "Enabled"}]
    (encryption,) = configured["resource.aws_s3_bucket_server_side_encryption_configuration"]
    ((rule,),) = [encryption["rule"]]
    assert rule["apply_server_side_encryption_by_default"] == [{"sse_algorithm": "aws:kms", "kms_master_key_id": ACH_KEY_ARN}]
    (lifecycle,) = configured["resource.aws_s3_bucket_lifecycle_configuration"]
    (keep,) = [r for r in lifecycle["rule"] if r.get("expiration", [{}])[0].get("days")]
    assert keep["status"] == "Enabled" and keep["filter"] in ([{}], {}, [])
    assert 7 * 365 <= keep["expiration"][0]["days"] <= 7 * 366, "7 years, then expired (the files hold account numbers)"
    assert keep["noncurrent_version_expiration"][0]["noncurrent_days"] <= 90
    assert keep["abort_incomplete_multipart_upload"][0]["days_after_initiation"] >= 1


def test_the_archive_policy_refuses_plain_http_and_puts_not_under_the_ach_key(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Whoever asks (the app passes ServerSideEncryption=aws:kms and SSEKMSKeyId=ACH_KMS_KEY_ID, the key's ARN)."""
    (policy,) = blocks["resource.aws_s3_bucket_policy"].values()
    assert policy["policy"] == "${data.aws_iam_policy_document.ach_archive.json}"
    statements = blocks["data.aws_iam_policy_document"]["ach_archive"]["statement"]
    assert all(s["effect"] == "Deny" and s["principals"] == [{"type": "*", "identifiers": ["*"]}] for s in statements), "denials only"
    assert len(statements) == 3
    # (two put denials, each its own statement: the conditions of one statement must all hold to deny)
    puts = [_conditions(s) for s in statements if s["actions"] == ["s3:PutObject"]]
    assert sorted(map(str, puts)) == sorted(
        map(
            str,
            [
                {("StringNotEquals", "s3:x-amz-server-side-encryption"): ["aws:kms"]},
                {("StringNotEquals", "s3:x-amz-server-side-encryption-aws-kms-key-id"): [ACH_KEY_ARN]},
            ],
        )
    )
    (tls,) = [s for s in statements if s["actions"] == ["s3:*"]]
    assert sorted(tls["resources"]) == sorted([ARCHIVE_BUCKET_ARN, f"{ARCHIVE_BUCKET_ARN}/*"])
    assert _conditions(tls) == {("Bool", "aws:SecureTransport"): ["false"]}
    assert "${aws_s3_bucket_public_access_block.ach_archive}" in policy["depends_on"]


# The app's operator events (one JSON log line each, "event" at the top level) -> metric -> alarm.
ACH_EVENTS = {
    "ach_file_rejected": "AchFileRejected",
    "ach_unmatched_entry": "AchUnmatchedEntry",
    "ach_bank_unreachable": "AchBankUnreachable",
    "ach_exception": "AchException",
}
JSON_EVENT_PATTERN = re.compile(r'^\{ \$\.event = "(\w+)" \}$')


def _app_log_line(event: str) -> dict[str, Any]:
    """The line the app writes for an event (app/observability.py), read back as CloudWatch Logs parses JSON."""
    import logging

    record = logging.LogRecord("app.jobs", logging.WARNING, __file__, 1, "what happened", None, None)
    record.event = event
    line: dict[str, Any] = json.loads(JsonFormatter().format(record))
    return line


@pytest.mark.parametrize("event", sorted(ACH_EVENTS))
def test_each_ach_operator_event_alarms_within_5_minutes(blocks: dict[str, dict[str, dict[str, Any]]], event: str) -> None:
    filters, alarms = blocks["resource.aws_cloudwatch_log_metric_filter"], blocks["resource.aws_cloudwatch_metric_alarm"]
    metric_filter = filters[event]
    assert metric_filter["log_group_name"] == "${aws_cloudwatch_log_group.jobs.name}", "the jobs write them"
    matched = JSON_EVENT_PATTERN.fullmatch(metric_filter["pattern"])
    assert matched and matched.group(1) == event, metric_filter["pattern"]
    # The pattern's selector is a top-level field of the app's line, holding exactly the event's name;
    # and the app does log that event (a renamed event would leave its alarm silent for good).
    assert _app_log_line(event)["event"] == event and all(_app_log_line(other)["event"] != event for other in ACH_EVENTS if other != event)
    assert any(f'"event": "{event}"' in path.read_text() for path in (ROOT / "app").rglob("*.py")), f"no app code logs {event!r}"
    (transformation,) = metric_filter["metric_transformation"]
    assert (transformation["name"], transformation["namespace"], transformation["value"]) == (
        ACH_EVENTS[event],
        "${local.metric_namespace}",
        "1",
    )
    alarm = alarms[event]
    assert alarm["namespace"] == "${local.metric_namespace}"
    assert alarm["metric_name"] == f"${{aws_cloudwatch_log_metric_filter.{event}.metric_transformation[0].name}}"
    assert (alarm["statistic"], alarm["period"], alarm["evaluation_periods"]) == ("Sum", 300, 1)
    assert (alarm["comparison_operator"], alarm["threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert alarm["treat_missing_data"] == "notBreaching"
    assert alarm["alarm_actions"] == alarm["ok_actions"] == "${local.alarm_actions}"
    assert alarm["alarm_name"] == f"${{local.name}}-{event.replace('_', '-')}"
