"""terraform/ matches the code: the table is app/db/table.py's, the Lambda role grants exactly the calls
the data layer makes (derived from the code, not listed here), and the function gets the settings the
app reads. Pure parsing (python-hcl2): no AWS, no terraform binary."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import boto3
import hcl2
import pytest
from hcl2.utils import SerializationOptions

from app.config import Settings
from app.db import table
from app.loans import ach

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "terraform"
DATA_LAYER = {"dynamodb": ROOT / "app" / "db" / "dynamo.py", "kms": ROOT / "app" / "db" / "kms.py"}
ADMIN_ONLY = "app/db/schema_admin.py"  # CreateTable for scripts/tests; in AWS, Terraform owns the table

# IAM has no action for a transaction as a whole: each operation inside it is authorized as the
# matching item action (AWS's rule, "Using IAM with DynamoDB transactions").
TRANSACTION_ACTIONS = {
    "TransactWriteItems": {"PutItem", "UpdateItem", "DeleteItem", "ConditionCheckItem"},
    "TransactGetItems": {"GetItem"},
}
# Actions for which IAM defines no resource type: "*" is the only Resource AWS accepts for them.
RESOURCELESS_ACTIONS = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}

TABLE_ARN = "${aws_dynamodb_table.main.arn}"
ACH_KEY_ARN = "${aws_kms_key.ach.arn}"
LOG_STREAMS = "${aws_cloudwatch_log_group.lambda.arn}:log-stream:*"

OPTIONS = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)


def _load(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        parsed: dict[str, Any] = hcl2.load(handle, serialization_options=OPTIONS)
    return parsed


@pytest.fixture(scope="module")
def blocks() -> dict[str, dict[str, dict[str, Any]]]:
    """Every `resource` and `data` block of terraform/*.tf: {"resource.aws_x": {"name": body}}."""
    found: dict[str, dict[str, dict[str, Any]]] = {}
    for path in sorted(TERRAFORM.glob("*.tf")):
        for kind, entries in _load(path).items():
            if kind not in {"resource", "data", "variable", "output"}:
                continue
            for entry in entries:
                if kind in {"variable", "output"}:
                    for name, body in entry.items():
                        found.setdefault(kind, {})[name] = body
                    continue
                for type_name, named in entry.items():
                    for name, body in named.items():
                        assert name not in found.get(f"{kind}.{type_name}", {}), f"duplicate {kind} {type_name}.{name}"
                        found.setdefault(f"{kind}.{type_name}", {})[name] = body
    return found


@pytest.fixture(scope="module")
def dynamodb_table(blocks: dict[str, dict[str, dict[str, Any]]]) -> dict[str, Any]:
    tables = blocks["resource.aws_dynamodb_table"]
    assert list(tables) == ["main"], "the app has exactly one table"
    return tables["main"]


ROLES = {"lambda", "jobs", "scheduler"}  # the API function's, the jobs function's, EventBridge Scheduler's


def _role_statements(blocks: dict[str, dict[str, dict[str, Any]]], role: str) -> list[dict[str, Any]]:
    """The statements of the one policy on aws_iam_role.<role>."""
    policies = blocks["resource.aws_iam_role_policy"]
    assert sorted(body["role"] for body in policies.values()) == sorted(f"${{aws_iam_role.{name}.id}}" for name in ROLES)
    (policy,) = [body for body in policies.values() if body["role"] == f"${{aws_iam_role.{role}.id}}"]
    document = re.fullmatch(r"\$\{data\.aws_iam_policy_document\.(\w+)\.json\}", policy["policy"])
    assert document, "the role policy is an aws_iam_policy_document (parsable, checked here)"
    statements: list[dict[str, Any]] = blocks["data.aws_iam_policy_document"][document.group(1)]["statement"]
    return statements


@pytest.fixture(scope="module")
def lambda_statements(blocks: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """The statements of the one policy on the API function's execution role."""
    return _role_statements(blocks, "lambda")


def _calls(module: Path) -> set[str]:
    """The boto3 client methods a data-layer module calls (`self.client.<method>(...)`)."""
    calls = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Attribute)
            and node.func.value.attr == "client"
        ):
            calls.add(node.func.attr)
    return calls


def _required_actions(service: str) -> set[str]:
    """IAM actions for the calls the code makes, through botocore's own method -> operation names."""
    client = boto3.session.Session().client(service, region_name="us-east-1")
    operations = {client.meta.method_to_api_mapping[method] for method in _calls(DATA_LAYER[service])}
    actions: set[str] = set()
    for operation in operations:
        actions |= TRANSACTION_ACTIONS.get(operation, {operation})
    return {f"{service}:{action}" for action in actions}


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


def test_table_is_recoverable_encrypted_and_protected_in_prod(dynamodb_table: dict[str, Any]) -> None:
    assert dynamodb_table["point_in_time_recovery"] == [{"enabled": True}]
    (sse,) = dynamodb_table["server_side_encryption"]
    assert sse["enabled"] is True and sse["kms_key_arn"].startswith("${aws_kms_key.")
    assert dynamodb_table["deletion_protection_enabled"] == "${local.is_prod}"


# --- the Lambda role ----------------------------------------------------------------------------


def test_only_the_data_layer_talks_to_aws() -> None:
    """So the calls derived from dynamo.py and kms.py are every call the function makes.

    (Importing only botocore's exception classes, as app/db/errors.py does to translate them, makes no call.)
    """
    importers = sorted(
        str(path.relative_to(ROOT))
        for path in (ROOT / "app").rglob("*.py")
        if re.search(r"^\s*(import boto3|from boto3|import botocore|from botocore(?!\.exceptions import))", path.read_text(), re.M)
    )
    assert sorted(set(importers) - {ADMIN_ONLY}) == sorted(str(p.relative_to(ROOT)) for p in DATA_LAYER.values())
    # The admin module creates tables for scripts and tests; the running app never imports it.
    admin_module = ADMIN_ONLY.removesuffix(".py").replace("/", ".")
    users = [p for p in (ROOT / "app").rglob("*.py") if admin_module in p.read_text() and str(p.relative_to(ROOT)) != ADMIN_ONLY]
    assert not users, users


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


def test_every_kms_call_is_granted_on_the_ach_key_only(lambda_statements: list[dict[str, Any]]) -> None:
    required = _required_actions("kms")
    assert required == {"kms:GenerateDataKey", "kms:Decrypt"}
    granted = _granted(lambda_statements, "kms")
    assert set(granted) == required
    assert all(resources == {ACH_KEY_ARN} for resources in granted.values())


def test_kms_grant_requires_the_apps_encryption_context(lambda_statements: list[dict[str, Any]]) -> None:
    (statement,) = [s for s in lambda_statements if any(a.startswith("kms:") for a in s["actions"])]
    conditions = {(c["test"], c["variable"]): sorted(c["values"]) for c in statement["condition"]}
    context_keys = sorted(ach._context("loan", "lender"))
    assert conditions[("ForAllValues:StringEquals", "kms:EncryptionContextKeys")] == context_keys
    assert conditions[("Null", "kms:EncryptionContextKeys")] == ["false"]


def _no_wildcards(statements: list[dict[str, Any]], log_streams: str) -> None:
    for statement in statements:
        assert "not_actions" not in statement and "not_resources" not in statement
        assert not any("*" in action for action in statement["actions"]), statement["actions"]
        for resource in statement["resources"]:
            if resource == "*":
                assert set(statement["actions"]) <= RESOURCELESS_ACTIONS, statement
            elif "*" in resource:
                # Lambda names its log streams per execution environment: the one allowed pattern.
                assert resource == log_streams, resource


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
    (environment,) = blocks["resource.aws_lambda_function"]["api"]["environment"]
    variables: dict[str, str] = environment["variables"]
    settings = {name.upper() for name in Settings.model_fields}
    assert set(variables) <= settings, set(variables) - settings
    assert {"ENVIRONMENT", "TABLE_NAME", "ACH_KMS_KEY_ID", "CORS_ORIGINS", "LOG_LEVEL", "JWT_SECRET"} <= set(variables)
    assert "AWS_REGION" not in variables, "reserved: Lambda sets it"
    assert "DYNAMODB_ENDPOINT_URL" not in variables and "DEBUG_DB_METRICS" not in variables
    assert variables["TABLE_NAME"] == "${aws_dynamodb_table.main.name}"
    assert variables["ACH_KMS_KEY_ID"] == ACH_KEY_ARN
    assert variables["JWT_SECRET"].startswith("${data.aws_ssm_parameter."), "the secret comes from SSM, never a literal"


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


# --- the scheduled jobs (terraform/jobs.tf) ---------------------------------------------------------

JOBS_FUNCTION = "${aws_lambda_function.jobs.arn}"
JOBS_LOG_STREAMS = "${aws_cloudwatch_log_group.jobs.arn}:log-stream:*"


@pytest.fixture(scope="module")
def jobs_statements(blocks: dict[str, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    return _role_statements(blocks, "jobs")


def test_jobs_role_queries_only_the_deadline_index_and_writes_only_items(jobs_statements: list[dict[str, Any]]) -> None:
    """Least privilege: a subset of what the data layer calls, Query on GSI2 alone; no GetItem, no KMS.

    (tests/jobs/test_expiry_requests.py checks these grants are exactly the calls an expiry run makes.)"""
    granted = _granted(jobs_statements, "dynamodb")
    assert set(granted) <= _required_actions("dynamodb")
    assert granted.pop("dynamodb:Query") == {f"{TABLE_ARN}/index/{table.DEADLINE_INDEX}"}
    assert granted and all(resources == {TABLE_ARN} for resources in granted.values()), granted
    assert set(granted) <= {"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem"}
    assert not _granted(jobs_statements, "kms")
    _no_wildcards(jobs_statements, JOBS_LOG_STREAMS)


def test_scheduler_role_can_only_invoke_the_jobs_function(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    (statement,) = _role_statements(blocks, "scheduler")
    assert statement["actions"] == ["lambda:InvokeFunction"] and statement["resources"] == [JOBS_FUNCTION]
    trust = blocks["resource.aws_iam_role"]["scheduler"]["assume_role_policy"]
    (assume,) = blocks["data.aws_iam_policy_document"][trust.split(".")[2]]["statement"]
    assert assume["principals"] == [{"type": "Service", "identifiers": ["scheduler.amazonaws.com"]}]
    assert {c["variable"] for c in assume["condition"]} == {"aws:SourceAccount", "aws:SourceArn"}, "no confused deputy"


def test_schedule_runs_a_known_job_every_5_minutes(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    from app.jobs import JOBS

    schedules = blocks["resource.aws_scheduler_schedule"]
    assert set(schedules) == {"expire_loans"}
    schedule = schedules["expire_loans"]
    assert schedule["schedule_expression"] == "rate(5 minutes)"
    assert schedule["flexible_time_window"] == [{"mode": "OFF"}]
    (target,) = schedule["target"]
    assert (target["arn"], target["role_arn"]) == (JOBS_FUNCTION, "${aws_iam_role.scheduler.arn}")
    named = re.fullmatch(r'\$\{jsonencode\(\{job = "([\w-]+)"\}\)\}', target["input"])
    assert named and named.group(1) in JOBS, target["input"]


def test_jobs_function_runs_the_scheduled_handler_from_the_api_zip(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    functions = blocks["resource.aws_lambda_function"]
    assert set(functions) == {"api", "jobs"}
    api, jobs = functions["api"], functions["jobs"]
    assert jobs["handler"] == "lambda_handler.scheduled_handler"
    assert re.search(r"^def scheduled_handler\(event", (ROOT / "lambda_handler.py").read_text(), re.M)
    for setting in ("runtime", "architectures", "filename", "source_code_hash", "kms_key_arn", "tracing_config"):
        assert jobs[setting] == api[setting], setting
    assert jobs["role"] == "${aws_iam_role.jobs.arn}"
    assert jobs["reserved_concurrent_executions"].startswith("${var.") and jobs["timeout"].startswith("${var.")
    (environment,) = jobs["environment"]
    variables: dict[str, str] = environment["variables"]
    assert set(variables) <= {name.upper() for name in Settings.model_fields}
    assert variables["TABLE_NAME"] == "${aws_dynamodb_table.main.name}"
    assert "DYNAMODB_ENDPOINT_URL" not in variables and "DEBUG_DB_METRICS" not in variables and "AWS_REGION" not in variables


def test_every_log_group_is_encrypted_by_a_key_that_lets_logs_use_it(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    """Lambda writes to /aws/lambda/<function name>; the data key's policy must let CloudWatch Logs use it there."""
    groups = blocks["resource.aws_cloudwatch_log_group"]
    assert groups["lambda"]["name"] == "/aws/lambda/${local.name}"
    assert blocks["resource.aws_lambda_function"]["jobs"]["function_name"] == "${local.name}-jobs"
    assert groups["jobs"]["name"] == "/aws/lambda/${local.name}-jobs"
    data_key = blocks["data.aws_iam_policy_document"]["data_key"]["statement"]
    (logs,) = [s for s in data_key if s.get("sid") == "CloudWatchLogsEncryptsOurLogGroups"]
    (context,) = logs["condition"]
    allowed = {value.rsplit(":log-group:", 1)[1] for value in context["values"]}
    assert allowed == {group["name"] for group in groups.values()}
    for group in groups.values():
        assert group["kms_key_id"] == "${aws_kms_key.data.arn}" and group["retention_in_days"] == "${var.log_retention_days}"


def test_a_failed_job_run_trips_an_alarm(blocks: dict[str, dict[str, dict[str, Any]]]) -> None:
    alarm = blocks["resource.aws_cloudwatch_metric_alarm"]["jobs_errors"]
    assert (alarm["namespace"], alarm["metric_name"], alarm["statistic"]) == ("AWS/Lambda", "Errors", "Sum")
    assert alarm["dimensions"] == {"FunctionName": "${aws_lambda_function.jobs.function_name}"}
    assert alarm["period"] * alarm["evaluation_periods"] == 600
    assert (alarm["comparison_operator"], alarm["threshold"]) == ("GreaterThanOrEqualToThreshold", 1)
    assert alarm["alarm_actions"] == alarm["ok_actions"] == "${local.alarm_actions}"
