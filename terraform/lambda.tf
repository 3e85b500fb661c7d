# The API function: the zip from scripts/build_lambda.sh (python3.12, arm64), its log group, and an
# execution role that can do exactly what app/db/dynamo.py and app/db/kms.py call, nothing more
# (tests/ops/test_terraform_parity.py derives those calls from the code and checks this file).

# JWT_SECRET is resolved here, at deploy time, from an SSM SecureString created out of band (README
# "Deploy"): the app reads it from its environment, so the function needs no SSM permission and no
# extra network call on a cold start. The value is sensitive (never printed by plan/apply) and is
# stored encrypted in the Lambda configuration (data key below) and in the state (encrypted bucket).
# Rotating it: put a new value in the parameter, then apply.
data "aws_ssm_parameter" "jwt_secret" {
  name            = var.jwt_secret_ssm_parameter
  with_decryption = true
}

resource "aws_cloudwatch_log_group" "lambda" {
  # Created before the function so retention and encryption apply from the first invocation
  # (Lambda would otherwise create a never-expiring group on its own).
  name              = "/aws/lambda/${local.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "lambda" {
  name               = "${local.name}-api"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "lambda" {
  # The item calls of app/db/dynamo.py: get_item, batch_get_item, put_item, update_item, delete_item,
  # query, and transact_write_items, which IAM authorizes per operation inside it (PutItem,
  # UpdateItem, DeleteItem, ConditionCheckItem): there is no TransactWriteItems action to grant.
  # No Scan, no BatchWriteItem, no table administration.
  statement {
    sid = "ItemsOnTheTable"
    actions = [
      "dynamodb:BatchGetItem",
      "dynamodb:ConditionCheckItem",
      "dynamodb:DeleteItem",
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:Query",
      "dynamodb:UpdateItem",
    ]
    resources = [aws_dynamodb_table.main.arn]
  }

  # The only index read: the inverse index GSI1 (Query only; an index cannot be written or got).
  statement {
    sid       = "QueryTheInverseIndex"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.main.arn}/index/GSI1"]
  }

  # Envelope encryption of bank account numbers (app/db/kms.py): a data key per record, always bound to
  # the encryption context of its Binding (app/payments/sealing.py): {userId, bankAccountId} for a bank
  # account, {loanId, lenderId} for the ACH records of earlier versions, so the role cannot use the key
  # for anything shaped differently (local.ach_envelope_context_keys, kms.tf; the jobs role's is the same).
  statement {
    sid       = "AchEnvelopeEncryption"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [aws_kms_key.ach.arn]
    condition {
      test     = "ForAllValues:StringEquals"
      variable = "kms:EncryptionContextKeys"
      values   = local.ach_envelope_context_keys
    }
    condition {
      test     = "Null"
      variable = "kms:EncryptionContextKeys"
      values   = ["false"]
    }
  }

  # Logs go to the one group above; stream names are chosen by Lambda per execution environment.
  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda.arn}:log-stream:*"]
  }

  # X-Ray active tracing. These two actions have no resource type in IAM: "*" is the only resource
  # AWS accepts for them (the test allows "*" for exactly these two and nothing else).
  statement {
    sid       = "XRayActiveTracing"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }

  # Not needed here: kms:Decrypt on the data key. Lambda decrypts the environment variables and
  # DynamoDB the table through KMS grants they create at deploy time, not through this role.
}

resource "aws_iam_role_policy" "lambda" {
  name   = "least-privilege"
  role   = aws_iam_role.lambda.id
  policy = data.aws_iam_policy_document.lambda.json
}

resource "aws_lambda_function" "api" {
  #checkov:skip=CKV_AWS_116:synchronous API Gateway invocations return errors to the caller; a dead-letter queue only applies to asynchronous invokes
  #checkov:skip=CKV_AWS_117:no VPC on purpose: the function reaches only DynamoDB and KMS, over TLS with IAM auth; a VPC would add NAT or endpoint costs and cold-start latency without protecting anything
  #checkov:skip=CKV_AWS_272:code signing needs AWS Signer profiles; the zip is built by CI from reviewed main and pinned by source_code_hash (README "Deploy")
  function_name = local.name
  description   = "Lending marketplace API (FastAPI via Mangum)"
  role          = aws_iam_role.lambda.arn
  runtime       = "python3.12"
  architectures = ["arm64"]
  handler       = "lambda_handler.handler"

  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)
  # Every apply that changes the code publishes a numbered version; the "live" alias below points at
  # it and API Gateway calls the alias, so a rollback is one alias update (README "Deploy").
  publish = true

  memory_size                    = var.lambda_memory_mb
  timeout                        = var.lambda_timeout_seconds
  reserved_concurrent_executions = var.lambda_reserved_concurrency
  kms_key_arn                    = aws_kms_key.data.arn

  tracing_config {
    mode = "Active"
  }

  # SnapStart (python3.12+): each published version is initialised once at publish time and its
  # memory snapshotted; a cold start of the "live" alias resumes from that snapshot instead of
  # running the import. $LATEST is never snapshotted (nothing calls it). What init caches was checked
  # for per-sandbox state (random seeds, secrets, clocks, connections): docs/performance.md "SnapStart".
  snap_start {
    apply_on = "PublishedVersions"
  }

  # Every variable the app reads (app/config.py). AWS_REGION is set by Lambda itself (reserved).
  # The API sends no email (its audit events are the outbox: email.tf), but it enforces verification
  # (EMAIL_VERIFICATION=required, which prod also insists on) and validates the email settings at
  # import like every function, so it gets the same EMAIL_FROM and APP_BASE_URL. Likewise the ACH
  # rail's public half (ach.tf): every process reads the same settings, and prod may insist on them at
  # start. Never the SFTP private key nor the host key: only the jobs function talks to the bank.
  environment {
    variables = {
      ENVIRONMENT        = var.environment
      TABLE_NAME         = aws_dynamodb_table.main.name
      ACH_KMS_KEY_ID     = aws_kms_key.ach.arn
      CORS_ORIGINS       = join(",", var.cors_allowed_origins)
      LOG_LEVEL          = var.log_level
      JWT_SECRET         = data.aws_ssm_parameter.jwt_secret.value
      EMAIL_FROM         = var.email_from
      APP_BASE_URL       = var.app_base_url
      EMAIL_VERIFICATION = "required"
      ACH_ODFI_ROUTING   = var.ach_odfi_routing
      ACH_COMPANY_ID     = var.ach_company_id
      ACH_COMPANY_NAME   = var.ach_company_name
      ACH_SFTP_HOST      = local.ach_sftp.host
      ACH_SFTP_USERNAME  = local.ach_sftp.username
    }
  }

  depends_on = [aws_cloudwatch_log_group.lambda, aws_iam_role_policy.lambda]
}

resource "aws_lambda_alias" "live" {
  name             = "live"
  description      = "The version API Gateway serves"
  function_name    = aws_lambda_function.api.function_name
  function_version = aws_lambda_function.api.version
}
