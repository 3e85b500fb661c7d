# Email delivery (app/notifications; README "Deploy" / "Email"). The outbox is the audit event items
# every transaction already writes: the table's stream (dynamodb.tf) carries each insertion to a third
# function built from the same zip (lambda_handler.stream_handler), which renders the emails and sends
# them through SES v2 from one sender identity. A record the function cannot deliver is reported back
# (ReportBatchItemFailures) and retried; after the retries its position goes to a dead-letter queue
# with an alarm. The scheduled reminders are the jobs function's (jobs.tf).
#
# A separate function and role for the same reason as the jobs function: this one may read the
# stream and the items an email is about, write nothing but delivery markers, and send from the
# sender identity. No KMS key, no index, no HTTP.

locals {
  notifications_name = "${local.name}-notifications"

  # EMAIL_FROM is "Name <address>" or a bare address; SES sends it only from the identity (that
  # address, or an address at that domain), and the SendEmail grants name that identity alone.
  email_from_address = lower(trimsuffix(trimspace(element(split("<", var.email_from), length(split("<", var.email_from)) - 1)), ">"))
  email_from_domain  = element(split("@", local.email_from_address), 1)

  # Only insertions of audit event items reach the function (Lambda's event filtering, before the
  # invocation and before billing): loans, invitations, users, markers and every MODIFY/REMOVE are
  # dropped. Item attributes arrive typed ({"S": "event"}), hence entity.S.
  notifications_filter = {
    eventName = ["INSERT"]
    dynamodb  = { NewImage = { entity = { S = ["event"] } } }
  }
}

# --- the sender identity ------------------------------------------------------------------------------

# A domain identity is verified by DNS: publish the three CNAMEs of the email_dkim_tokens output
# (<token>._domainkey.<domain> -> <token>.dkim.amazonses.com). An address identity is verified by the
# link SES mails to it. Until then, and while the account is in the SES sandbox, SES refuses to send
# (README "Deploy" / "Email": production access).
resource "aws_sesv2_email_identity" "sender" {
  email_identity = var.email_sender_identity

  lifecycle {
    precondition {
      condition     = contains([local.email_from_address, local.email_from_domain], lower(var.email_sender_identity))
      error_message = "email_from is not an address of email_sender_identity: SES would refuse to send it, and the ses:SendEmail grants name that identity only."
    }
  }
}

# --- the notifications function -------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "notifications" {
  name              = "/aws/lambda/${local.notifications_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.data.arn
}

resource "aws_iam_role" "notifications" {
  name               = local.notifications_name
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
}

data "aws_iam_policy_document" "notifications" {
  # Lambda's poller reads the stream with the function's role (the event source mapping below). The
  # four actions of AWS's documented execution-role statement for DynamoDB streams, on this table's
  # stream only (its ARN changes if the stream is ever re-created; so does this grant).
  statement {
    sid       = "ReadTheTablesStream"
    actions   = ["dynamodb:DescribeStream", "dynamodb:GetRecords", "dynamodb:GetShardIterator", "dynamodb:ListStreams"]
    resources = [aws_dynamodb_table.main.stream_arn]
  }

  # What an email says: the loan, its invitations and events (a Query of the loan's partition), the
  # users (names, preferences), the schedule and repayments; single and batched gets.
  statement {
    sid       = "ReadWhatTheEmailsAreAbout"
    actions   = ["dynamodb:BatchGetItem", "dynamodb:GetItem", "dynamodb:Query"]
    resources = [aws_dynamodb_table.main.arn]
  }

  # The only writes: delivery markers (DELIVERY#<what> / TO#<email>), put before sending (conditional:
  # at most once per event and recipient), deleted when sending failed, updated once sent. IAM checks
  # the partition key of each written item: nothing else of the table can be written.
  statement {
    sid       = "WriteDeliveryMarkersOnly"
    actions   = ["dynamodb:DeleteItem", "dynamodb:PutItem", "dynamodb:UpdateItem"]
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

  # The event source mapping's on-failure destination is sent with the function's role.
  statement {
    sid       = "ReportUndeliveredBatchesToTheDlq"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.notifications_dlq.arn]
  }

  statement {
    sid       = "WriteOwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.notifications.arn}:log-stream:*"]
  }

  # As the other functions: X-Ray's two actions have no resource type, "*" is the only one AWS accepts.
  statement {
    sid       = "XRayActiveTracing"
    actions   = ["xray:PutTelemetryRecords", "xray:PutTraceSegments"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "notifications" {
  name   = "least-privilege"
  role   = aws_iam_role.notifications.id
  policy = data.aws_iam_policy_document.notifications.json
}

resource "aws_lambda_function" "notifications" {
  #checkov:skip=CKV_AWS_116:a dead-letter queue on the function applies to asynchronous invokes only; the stream's event source mapping has its own on-failure destination, the notifications DLQ below
  #checkov:skip=CKV_AWS_117:no VPC on purpose, as the other functions: it reaches only DynamoDB and SES, over TLS with IAM auth; a VPC would add NAT or endpoint costs without protecting anything
  #checkov:skip=CKV_AWS_272:code signing needs AWS Signer profiles; the zip is the API's, built by CI from reviewed main and pinned by source_code_hash (README "Deploy")
  function_name = local.notifications_name
  description   = "Lending marketplace emails (app/notifications): the table's stream to SES v2"
  role          = aws_iam_role.notifications.arn
  runtime       = "python3.12"
  architectures = ["arm64"]
  handler       = "lambda_handler.stream_handler"

  # The API's package; unpublished, as the jobs function: the mapping invokes $LATEST.
  filename         = var.lambda_zip_path
  source_code_hash = filebase64sha256(var.lambda_zip_path)

  memory_size                    = var.lambda_memory_mb
  timeout                        = var.notifications_timeout_seconds
  reserved_concurrent_executions = var.notifications_reserved_concurrency
  kms_key_arn                    = aws_kms_key.data.arn

  tracing_config {
    mode = "Active"
  }

  # What app/config.py reads. JWT_SECRET: the verification link's token is an HMAC of it. The key id
  # only because the app refuses to start in prod without one (the role has no KMS grant); the ACH
  # rail's public half (ach.tf) for the same reason, as the API's (no SFTP key). No
  # SES_ENDPOINT_URL: SES is the region's.
  environment {
    variables = {
      ENVIRONMENT       = var.environment
      TABLE_NAME        = aws_dynamodb_table.main.name
      ACH_KMS_KEY_ID    = aws_kms_key.ach.arn
      LOG_LEVEL         = var.log_level
      JWT_SECRET        = data.aws_ssm_parameter.jwt_secret.value
      EMAIL_BACKEND     = "ses"
      EMAIL_FROM        = var.email_from
      APP_BASE_URL      = var.app_base_url
      ACH_ODFI_ROUTING  = var.ach_odfi_routing
      ACH_COMPANY_ID    = var.ach_company_id
      ACH_COMPANY_NAME  = var.ach_company_name
      ACH_SFTP_HOST     = local.ach_sftp.host
      ACH_SFTP_USERNAME = local.ach_sftp.username
    }
  }

  depends_on = [aws_cloudwatch_log_group.notifications, aws_iam_role_policy.notifications]
}

# --- the stream -> the function -------------------------------------------------------------------------

# Where a batch that still fails after the retries goes. Lambda puts the batch's *position* here (shard,
# sequence numbers, the error), not the records: nothing personal, so SQS-managed encryption (no KMS
# grant for the role). A position can be re-read from the stream while the stream keeps it (24 h);
# the audit event items themselves stay in the table (README "Deploy" / "Email").
resource "aws_sqs_queue" "notifications_dlq" {
  name                      = "${local.notifications_name}-dlq"
  message_retention_seconds = 1209600 # 14 days, SQS's maximum
  sqs_managed_sse_enabled   = true
}

resource "aws_lambda_event_source_mapping" "notifications" {
  event_source_arn = aws_dynamodb_table.main.stream_arn
  function_name    = aws_lambda_function.notifications.arn

  # TRIM_HORIZON, not LATEST: the stream is created by the same apply as this mapping, so on the first
  # deploy "the oldest record" is seconds old, and LATEST would drop the events written in between (a
  # registration's verification email) and at every later re-creation of the mapping. A re-created
  # mapping replays at most the stream's 24 hours, which the delivery markers make harmless: each
  # (event, recipient) is sent at most once.
  starting_position = "TRIM_HORIZON"

  # Up to 25 records (a loan created for many lenders is one record, one email per invited address),
  # waiting at most 1 s to fill a batch: emails leave within seconds, batches stay small enough that a
  # retry repeats little (the markers skip what was sent).
  batch_size                         = 25
  maximum_batching_window_in_seconds = 1
  # The handler names the first record it could not deliver; Lambda retries from it, not the batch.
  function_response_types = ["ReportBatchItemFailures"]
  # A batch that makes the function fail (timeout, crash) is split in halves to isolate the bad record.
  bisect_batch_on_function_error = true
  # Five retries (SES throttling or a blip passes; a record that fails five times is a bug or an outage),
  # and never older than the stream keeps records: then the DLQ holds its position.
  maximum_retry_attempts        = 5
  maximum_record_age_in_seconds = 86400
  # One batch per shard at a time: a loan's events are delivered in the order they were written.
  parallelization_factor = 1

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.notifications_dlq.arn
    }
  }

  filter_criteria {
    filter {
      pattern = jsonencode(local.notifications_filter)
    }
  }

  depends_on = [aws_iam_role_policy.notifications]
}

# --- alarms (to alarm_sns_topic_arn, as monitoring.tf) ------------------------------------------------------

# Any message here is a batch of emails not sent after every retry (README "Deploy" / "Email": what to do).
resource "aws_cloudwatch_metric_alarm" "notifications_dlq" {
  alarm_name          = "${local.notifications_name}-dlq"
  alarm_description   = "Emails were not sent after every retry: the notifications DLQ holds their stream positions (README \"Email\")."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.notifications_dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# The function itself failed (crash, timeout, out of memory, a cold start refused by the settings):
# the handler reports undeliverable records without failing, so any error is a bug or a misconfiguration.
resource "aws_cloudwatch_metric_alarm" "notifications_errors" {
  alarm_name          = "${local.notifications_name}-errors"
  alarm_description   = "The notifications function failed in the last 5 minutes; its log group says why (the batch is retried, then bisected)."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.notifications.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# Emails falling behind: the oldest record of a batch was written more than 10 minutes earlier, for
# 10 minutes (retries piling up, or the reserved concurrency throttling the shards).
resource "aws_cloudwatch_metric_alarm" "notifications_iterator_age" {
  alarm_name          = "${local.notifications_name}-iterator-age"
  alarm_description   = "Emails are more than 10 minutes behind the table's stream."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = aws_lambda_function.notifications.function_name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 2
  comparison_operator = "GreaterThanThreshold"
  threshold           = 600000 # milliseconds
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
