# Scheduled jobs (app/jobs): EventBridge Scheduler invokes a second function built from the same zip,
# with its own handler (lambda_handler.scheduled_handler) and its own role. It is a separate function
# and not the API function with a second entry point because a function has one role: this one can
# do only what its jobs do. expire-loans (every 5 minutes): Query GSI2, write loans, invitations
# and events. send-payment-reminders (hourly): Query GSI2, read the loan, its schedule and its
# borrower, send from the SES sender identity (email.tf), write delivery markers and the loan's next
# reminder date. The ACH rail's three (ach.tf: their schedules, the archive bucket, the SFTP login
# and their alarms): ach_send, ach_settle and ach_receive read and write payments, bank accounts and
# the rail's items, use the ACH key for bank account numbers, talk to the bank over SFTP and archive
# each file sent. Its Errors metric counts failed runs only, and the API's reserved concurrency is
# not shared with it.
# Locally the same jobs run from `python -m app.worker` (README "Worker and scheduled jobs").

resource "aws_cloudwatch_log_group" "jobs" {
  name              = "/aws/lambda/${local.name}-jobs"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

resource "aws_iam_role" "jobs" {
  name               = "${local.name}-jobs"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "jobs" {
  # expire_due_loans (app/loans/service.py): one Query per shard of the deadline index, then one
  # TransactWriteItems per due loan: an Update of the loan and of each invitation, a Put of the
  # `expired` event (IAM authorizes each operation of a transaction as its item action).
  # tests/jobs/test_expiry_requests.py checks these grants against the calls a run makes.
  #
  # send_payment_reminders (app/notifications/reminders.py): one Query per shard of the same index's
  # REMIND# partitions, then per due loan GetItem/Query of the loan (its partition), its schedule
  # (SERVICING#) and its borrower (USER#); per email a delivery marker (PutItem, UpdateItem once sent,
  # DeleteItem when sending failed) and SendEmail; last an UpdateItem of the loan's reminder keys.
  #
  # The ACH jobs (app/jobs/ach.py; their rules in app/payments sending.py, receiving.py, settling.py):
  # payments by status, a file's claimed payments, the open files and the verification deadlines from
  # GSI2 (ACHPAY#<status>, ACHCLAIM#<fileId>, ACHFILES#open, VERIFYBY#<shard>); accounts, payments and
  # traces by key (GetItem, BatchGetItem); files, counters, digests and exceptions put or updated by key
  # (PutItem, UpdateItem, ADD on the counters); their transactions put and update items (no
  # ConditionCheck, no GSI1: those are the API's). No delete beyond the delivery markers' below: an ACH
  # job that deleted would be refused. tests/notifications/test_reminders.py records the expiry and
  # reminder runs against these grants; the ACH jobs' BatchGetItem is the one action only they use.
  statement {
    sid       = "QueryTheWhenIndex"
    actions   = ["dynamodb:Query"]
    resources = ["${aws_dynamodb_table.main.arn}/index/GSI2"]
  }

  statement {
    sid       = "ReadItemsByKeyAndPartition"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.main.arn]
  }

  statement {
    sid       = "WriteLoansRemindersMarkersAndPayments"
    actions   = ["dynamodb:PutItem", "dynamodb:UpdateItem"]
    resources = [aws_dynamodb_table.main.arn]
  }

  # Deleting is only ever the release of a delivery marker whose email could not be sent.
  statement {
    sid       = "ReleaseDeliveryMarkers"
    actions   = ["dynamodb:DeleteItem"]
    resources = [aws_dynamodb_table.main.arn]
    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["DELIVERY#*"]
    }
    condition {
      test     = "Null"
      variable = "dynamodb:LeadingKeys"
      values   = ["false"]
    }
  }

  statement {
    sid       = "SendFromTheSenderIdentity"
    actions   = ["ses:SendEmail"]
    resources = [aws_sesv2_email_identity.sender.arn]
  }

  # ach_send unseals the bank account numbers of the payments it sends, and ach_receive seals the new
  # number a notification of change (C01, C03) gives: the API's grant, the same encryption context
  # keys (lambda.tf AchEnvelopeEncryption, local.ach_envelope_context_keys).
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

  # ach_send archives each file it uploads (ach.tf): one PutObject under outbound/, SSE-KMS with the
  # ACH key, so S3 asks KMS for a data key on the role's behalf. Only through S3 and only for this
  # bucket (its ARN is the context with bucket keys, the object's without); no Decrypt: the archive
  # is never read back, nor listed.
  statement {
    sid       = "ArchiveOutboundAchFiles"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.ach_archive.arn}/outbound/*"]
  }

  statement {
    sid       = "EncryptTheArchiveThroughS3"
    actions   = ["kms:GenerateDataKey"]
    resources = [aws_kms_key.ach.arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.region}.amazonaws.com"]
    }
    condition {
      test     = "StringLike"
      variable = "kms:EncryptionContext:aws:s3:arn"
      values   = [aws_s3_bucket.ach_archive.arn, "${aws_s3_bucket.ach_archive.arn}/outbound/*"]
    }
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.jobs.arn}:log-stream:*"]
  }

  # As the API function: X-Ray's two actions have no resource type, "*" is the only one AWS accepts.
  statement {
    sid       = "XRayActiveTracing"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "jobs" {
  name   = "least-privilege"
  role   = aws_iam_role.jobs.id
  policy = data.aws_iam_policy_document.jobs.json
}

locals {
  # What app/config.py (and its ACH group, app/ach/settings.py) reads. The jobs use no tokens, but the
  # app refuses to start in prod without a strong JWT_SECRET and an ACH_KMS_KEY_ID, so they get both;
  # the key is also the ACH jobs' (bank account numbers, the archive). No CORS: there is no HTTP. The
  # reminders are sent through SES from EMAIL_FROM, with links to APP_BASE_URL (as the notifications
  # function's). The ACH rail's whole configuration (ach.tf): the SFTP login from its SSM parameter,
  # the bank's host key pinned (never "accept any"), the archive bucket. USER: asyncssh asks
  # getpass.getuser() for a default login name, which fails on Lambda without USER or LOGNAME (the
  # login actually used is ACH_SFTP_USERNAME).
  jobs_environment = {
    ENVIRONMENT            = var.environment
    TABLE_NAME             = aws_dynamodb_table.main.name
    ACH_KMS_KEY_ID         = aws_kms_key.ach.arn
    LOG_LEVEL              = var.log_level
    JWT_SECRET             = data.aws_ssm_parameter.jwt_secret.value
    EMAIL_BACKEND          = "ses"
    EMAIL_FROM             = var.email_from
    APP_BASE_URL           = var.app_base_url
    ACH_ODFI_ROUTING       = var.ach_odfi_routing
    ACH_COMPANY_ID         = var.ach_company_id
    ACH_COMPANY_NAME       = var.ach_company_name
    ACH_SFTP_HOST          = local.ach_sftp.host
    ACH_SFTP_PORT          = tostring(var.ach_sftp_port)
    ACH_SFTP_USERNAME      = local.ach_sftp.username
    ACH_SFTP_HOST_KEY      = trimspace(local.ach_sftp.host_key)
    ACH_SFTP_PRIVATE_KEY   = local.ach_sftp.private_key
    ACH_SFTP_OUTBOUND_DIR  = var.ach_sftp_outbound_dir
    ACH_SFTP_INBOUND_DIR   = var.ach_sftp_inbound_dir
    ACH_RETURN_WINDOW_DAYS = tostring(var.ach_return_window_days)
    ACH_ARCHIVE_BUCKET     = aws_s3_bucket.ach_archive.bucket
    USER                   = "lending"
  }
}

resource "aws_lambda_function" "jobs" {
  #checkov:skip=CKV_AWS_116:the scheduled event carries no work, only {"job": "<name>"}: a failed run trips the jobs-errors alarm and the next run (5 minutes to the next banking day later) redoes it, so a dead-letter queue would only hold stale copies of that input
  #checkov:skip=CKV_AWS_117:no VPC on purpose, as the API function: it reaches DynamoDB, KMS, S3 and SES over TLS with IAM auth, and the bank's SFTP server over SSH with a pinned host key; a VPC would add NAT or endpoint costs without protecting anything
  #checkov:skip=CKV_AWS_272:code signing needs AWS Signer profiles; the zip is the API's, built by CI from reviewed main and pinned by source_code_hash (README "Deploy")
  function_name = "${local.name}-jobs"
  description   = "Lending marketplace scheduled jobs (app/jobs), invoked by EventBridge Scheduler"
  role          = aws_iam_role.jobs.arn
  runtime       = "python3.12"
  architectures = ["arm64"]
  handler       = "lambda_handler.scheduled_handler"

  # The API's package (no second build). Unpublished: the schedule invokes $LATEST, i.e. the code of
  # the last apply (rolling the API's alias back does not roll this function back; apply the old zip).
  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)

  memory_size                    = var.lambda_memory_mb
  timeout                        = var.jobs_timeout_seconds
  reserved_concurrent_executions = var.jobs_reserved_concurrency
  kms_key_arn                    = aws_kms_key.data.arn

  tracing_config {
    mode = "Active"
  }

  environment {
    variables = local.jobs_environment
  }

  lifecycle {
    # Lambda refuses a function whose environment, as JSON, exceeds 4 KB; the SFTP keys are most of
    # it. Refused here at plan (or before the change, when the key ARN is not known yet) rather than
    # half-way through an apply. An ed25519 key is ~0.4 KB; an RSA-4096 key alone would not fit.
    precondition {
      condition     = length(jsonencode(local.jobs_environment)) <= 4096
      error_message = "The jobs function's environment would exceed Lambda's 4 KB: use an ed25519 (or ECDSA) SFTP key in the ACH SFTP parameter (README \"The ACH rail\")."
    }
  }

  depends_on = [aws_cloudwatch_log_group.jobs, aws_iam_role_policy.jobs]
}

# EventBridge Scheduler calls the target with this role, so the function needs no resource policy.
data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    # Only schedules of this account and this stack can use the role (no confused deputy).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${local.partition}:scheduler:${var.region}:${local.account_id}:schedule/default/${local.name}-*"]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name               = "${local.name}-scheduler"
  assume_role_policy = data.aws_iam_policy_document.scheduler_assume.json
}

data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "InvokeTheJobsFunction"
    actions   = ["lambda:InvokeFunction"]
    resources = [aws_lambda_function.jobs.arn]
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "invoke-jobs"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "expire_loans" {
  #checkov:skip=CKV_AWS_297:the schedule stores only its input {"job": "expire-loans"}, no personal or secret data; a customer managed key would make the scheduler role hold kms:Decrypt on the data key, which also guards the table
  name                = "${local.name}-expire-loans"
  description         = "Expire pending loans whose funding deadline has passed (app/jobs/expiry.py)"
  schedule_expression = "rate(5 minutes)"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.jobs.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ job = "expire-loans" })

    # A run is worth making only until the next one is due; the job is idempotent either way.
    retry_policy {
      maximum_event_age_in_seconds = 300
      maximum_retry_attempts       = 2
    }
  }
}

# Hourly: a reminder is due on a day (3 days before a due date, the day after a missed one), and the
# job sends whatever is due up to today, once each (delivery markers). The first run of a UTC day
# sends that day's reminders; the other 23 find nothing new, or retry what failed an hour earlier
# (a daily schedule would make a failed run wait a day). Cheap: one Query per shard finds nothing.
# Both schedules invoke the one function (reserved concurrency 1). Scheduler invokes it
# asynchronously, so when the two runs meet, Lambda queues the second one and retries it: nothing is lost.
resource "aws_scheduler_schedule" "send_payment_reminders" {
  #checkov:skip=CKV_AWS_297:the schedule stores only its input {"job": "send-payment-reminders"}, no personal or secret data; a customer managed key would make the scheduler role hold kms:Decrypt on the data key, which also guards the table
  name                = "${local.name}-send-payment-reminders"
  description         = "Email borrowers their payment reminders (app/jobs/reminders.py)"
  schedule_expression = "rate(1 hour)"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.jobs.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ job = "send-payment-reminders" })

    # Worth retrying within the hour; the next run redoes it anyway.
    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 2
    }
  }
}
