# The AWS side of the ACH rail (app/ach, its jobs in app/jobs; README "Deploy" / "The ACH rail").
# Three more jobs of the jobs function (jobs.tf), on EventBridge Scheduler: ach_send (the outbound
# NACHA file of the payments due, uploaded to the ODFI's SFTP server, a copy archived here) and
# ach_settle (payments past their return window become settled) at 10:00 and 14:00 New York time,
# Monday to Friday (the jobs themselves skip Federal Reserve holidays), and ach_receive (the ODFI's
# return and change files) every 15 minutes. Their grants are in the jobs role's policy (jobs.tf),
# their settings in the functions' environments (the ACH_* variables).
#
# The SFTP login (host, user, the bank's host key, our private key) is ONE SSM SecureString holding
# JSON, created out of band and read at deploy time exactly as the JWT secret is (lambda.tf): no SSM
# call or permission at run time, the value sensitive in plans, encrypted in the Lambda configuration
# (data key) and in the state (private, encrypted bucket). The key and the host key reach the jobs
# function only; the API and the notifications function get the rail's public half (routing number,
# company, host and user): every process reads the same settings, and prod may insist on them at start.
#
# Every outbound file is also kept 7 years in a private, versioned bucket under the ACH key; what the
# jobs log as an operator event (one JSON line, its "event" field) is a metric and an alarm each.

# --- the SFTP login -------------------------------------------------------------------------------------

# {"host": "sftp.bank.example", "username": "...", "host_key": "ssh-ed25519 AAAA...",
#  "private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\n..."}: README "Deploy" / "The ACH rail" has
# the put-parameter command. An ed25519 key keeps the jobs function's environment far under Lambda's
# 4 KB (a precondition in jobs.tf checks it at plan time). The postcondition refuses a parameter that
# is not that object before anything is changed; its value is never printed.
data "aws_ssm_parameter" "ach_sftp" {
  name            = var.ach_sftp_ssm_parameter
  with_decryption = true

  lifecycle {
    postcondition {
      condition = (
        can(jsondecode(self.value).host) && can(jsondecode(self.value).username) &&
        try(length(trimspace(jsondecode(self.value).host)) > 0 && length(trimspace(jsondecode(self.value).username)) > 0, false) &&
        # as in known_hosts but without the host name: "<key type> <base64>[ comment]"
        can(regex("^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521) [A-Za-z0-9+/]+=*( .*)?$", trimspace(jsondecode(self.value).host_key))) &&
        try(strcontains(jsondecode(self.value).private_key, "PRIVATE KEY-----"), false)
      )
      error_message = "The SSM parameter named by ach_sftp_ssm_parameter must hold JSON with host, username, host_key (\"ssh-ed25519 AAAA...\", no host name in front) and private_key (OpenSSH/PEM text): README \"The ACH rail\". (Its value is not shown.)"
    }
  }
}

locals {
  ach_sftp = jsondecode(data.aws_ssm_parameter.ach_sftp.value) # sensitive, as the parameter
}

# --- the outbound file archive ------------------------------------------------------------------------------

# ach_send writes each file it uploads as outbound/<YYYYMMDD>-<HHMMSS>-<modifier>.ach (PutObject with
# SSE-KMS under ACH_KMS_KEY_ID) and never reads it back: the archive is for people (a dispute, an
# audit, the NACHA retention rule), read with an administrator's credentials. No role of the stack can
# read it: the jobs role may only put under outbound/, and no role may decrypt through S3.
#
# The ACH key, not a new one: a file holds exactly what that key already protects (full account and
# routing numbers, in clear inside the NACHA records), and the app names that key for the puts
# (ACH_KMS_KEY_ID), so one key guards every copy of an account number. Its grants stay apart by
# condition: the functions' envelope encryption requires the app's encryption context keys
# (userId, bankAccountId, loanId, lenderId), which S3's context ("aws:s3:arn") never matches; the
# archive's kms:GenerateDataKey requires kms:ViaService S3 and this bucket's ARN as context, and
# grants no Decrypt. Not the data key: CloudWatch Logs may use that one, and it guards the table.
resource "aws_s3_bucket" "ach_archive" {
  #checkov:skip=CKV_AWS_18:server access logs would need a second bucket (itself unlogged); the only writer is the jobs role, whose every put is one log line of ach_send, and CloudTrail S3 data events can be turned on for the bucket if an audit asks who read it
  #checkov:skip=CKV_AWS_144:no cross-region replica: the bank holds every file we sent, the archive is our own copy, versioned against overwrites; a replica would need a second region and key for 7 years of account numbers
  #checkov:skip=CKV2_AWS_62:nothing consumes events of this bucket: files are written once by ach_send and read only by people
  # Account-wide unique, stable name. Not force_destroy: S3 refuses to delete a bucket that still
  # holds files, so no destroy can take 7 years of files with it.
  bucket = "${local.name}-ach-archive-${local.account_id}"
}

resource "aws_s3_bucket_ownership_controls" "ach_archive" {
  bucket = aws_s3_bucket.ach_archive.id

  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs off: access is IAM and the bucket policy only
  }
}

resource "aws_s3_bucket_public_access_block" "ach_archive" {
  bucket                  = aws_s3_bucket.ach_archive.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Versioned: a file put twice under one name, or deleted, can be recovered for 30 days (lifecycle below).
resource "aws_s3_bucket_versioning" "ach_archive" {
  bucket = aws_s3_bucket.ach_archive.id

  versioning_configuration {
    status = "Enabled"
  }
}

# Default encryption with the ACH key, for anything put without the headers (the policy below refuses
# such puts anyway). Bucket keys: S3 asks KMS for a data key per bucket and period, not per object.
resource "aws_s3_bucket_server_side_encryption_configuration" "ach_archive" {
  bucket = aws_s3_bucket.ach_archive.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.ach.arn
    }
    bucket_key_enabled = true
  }
}

# Kept 7 years (2557 days: NACHA asks the ODFI for 6, we keep one more), then expired: a file holds
# account numbers, so it does not stay longer than it must. A version made noncurrent (an overwrite, a
# deletion, the expiry itself) is kept 30 more days, then removed with its delete marker.
resource "aws_s3_bucket_lifecycle_configuration" "ach_archive" {
  bucket = aws_s3_bucket.ach_archive.id

  rule {
    id     = "keep-7-years-then-expire"
    status = "Enabled"
    filter {}

    expiration {
      days = 2557
    }

    noncurrent_version_expiration {
      noncurrent_days = 30
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  rule {
    id     = "remove-expired-delete-markers"
    status = "Enabled"
    filter {}

    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.ach_archive]
}

# Whoever the caller: no request without TLS, and no put that is not SSE-KMS under the ACH key (each a
# statement of its own: conditions of one statement must all hold, and either one must refuse).
# S3 encrypts a put that names aws:kms without a key id with the AWS-managed aws/s3 key, hence the key id.
data "aws_iam_policy_document" "ach_archive" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.ach_archive.arn, "${aws_s3_bucket.ach_archive.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid       = "DenyPutsWithoutSseKms"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.ach_archive.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption"
      values   = ["aws:kms"]
    }
  }

  statement {
    sid       = "DenyPutsUnderAnotherKey"
    effect    = "Deny"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.ach_archive.arn}/*"]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "StringNotEquals"
      variable = "s3:x-amz-server-side-encryption-aws-kms-key-id"
      values   = [aws_kms_key.ach.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "ach_archive" {
  bucket = aws_s3_bucket.ach_archive.id
  policy = data.aws_iam_policy_document.ach_archive.json

  # S3 refuses a policy while the public access block is being written.
  depends_on = [aws_s3_bucket_public_access_block.ach_archive]
}

# --- the schedules (the jobs function and the scheduler role of jobs.tf) -------------------------------------

# The bank's processing windows are New York business hours: the cron is in that zone, so it follows
# daylight saving time. ach_send and ach_settle start at the same minute as each other (and as
# expire-loans and ach_receive): the function runs one invocation at a time (reserved concurrency 1)
# and Scheduler invokes it asynchronously, so Lambda queues the others and retries them; nothing is lost.
resource "aws_scheduler_schedule" "ach_send" {
  #checkov:skip=CKV_AWS_297:the schedule stores only its input {"job": "ach_send"}, no personal or secret data; a customer managed key would make the scheduler role hold kms:Decrypt on the data key, which also guards the table
  name                         = "${local.name}-ach_send"
  description                  = "Send the outbound ACH file to the ODFI (app/jobs ach_send), weekdays 10:00 and 14:00 New York time"
  schedule_expression          = "cron(0 10,14 ? * MON-FRI *)"
  schedule_expression_timezone = "America/New_York"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.jobs.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ job = "ach_send" })

    # A file sent more than an hour late may miss the bank's cutoff; the next run (14:00, or 10:00 the
    # next banking day) sends whatever is still due. The job is idempotent either way.
    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 2
    }
  }
}

resource "aws_scheduler_schedule" "ach_settle" {
  #checkov:skip=CKV_AWS_297:the schedule stores only its input {"job": "ach_settle"}, no personal or secret data; a customer managed key would make the scheduler role hold kms:Decrypt on the data key, which also guards the table
  name                         = "${local.name}-ach_settle"
  description                  = "Settle ACH payments past their return window (app/jobs ach_settle), weekdays 10:00 and 14:00 New York time"
  schedule_expression          = "cron(0 10,14 ? * MON-FRI *)"
  schedule_expression_timezone = "America/New_York"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.jobs.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ job = "ach_settle" })

    # As ach_send: worth retrying within the hour, the next run settles whatever is still due.
    retry_policy {
      maximum_event_age_in_seconds = 3600
      maximum_retry_attempts       = 2
    }
  }
}

# Every 15 minutes, every day: the bank drops return and change files when it likes, and a run that
# finds nothing new is one SFTP listing.
resource "aws_scheduler_schedule" "ach_receive" {
  #checkov:skip=CKV_AWS_297:the schedule stores only its input {"job": "ach_receive"}, no personal or secret data; a customer managed key would make the scheduler role hold kms:Decrypt on the data key, which also guards the table
  name                = "${local.name}-ach_receive"
  description         = "Read the ODFI's return and notification-of-change files (app/jobs ach_receive)"
  schedule_expression = "rate(15 minutes)"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = aws_lambda_function.jobs.arn
    role_arn = aws_iam_role.scheduler.arn
    input    = jsonencode({ job = "ach_receive" })

    # A run is worth making only until the next one is due.
    retry_policy {
      maximum_event_age_in_seconds = 900
      maximum_retry_attempts       = 2
    }
  }
}

# --- alarms (to alarm_sns_topic_arn, as monitoring.tf) ---------------------------------------------------------

# The jobs write one JSON line per event (app/observability.py: "event" at the top level); a JSON
# filter pattern selects the lines of that event, never a REPORT line. Any in 5 minutes alarms. A
# failed run (an exception escaping a job, a timeout, out of memory) is the jobs-errors alarm's
# (monitoring.tf), which counts every failed invocation of the function, the ACH jobs' included.

resource "aws_cloudwatch_log_metric_filter" "ach_file_rejected" {
  name           = "${local.name}-ach-file-rejected"
  log_group_name = aws_cloudwatch_log_group.jobs.name
  pattern        = "{ $.event = \"ach_file_rejected\" }"

  metric_transformation {
    name      = "AchFileRejected"
    namespace = local.metric_namespace
    value     = "1"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "ach_file_rejected" {
  alarm_name          = "${local.name}-ach-file-rejected"
  alarm_description   = "ach_receive found an inbound file from the ODFI that did not parse and moved it to rejected/ on the bank's server, unprocessed: the jobs log (event ach_file_rejected) names it and why; ask the bank for a corrected file (README \"The ACH rail\")."
  namespace           = local.metric_namespace
  metric_name         = aws_cloudwatch_log_metric_filter.ach_file_rejected.metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_log_metric_filter" "ach_unmatched_entry" {
  name           = "${local.name}-ach-unmatched-entry"
  log_group_name = aws_cloudwatch_log_group.jobs.name
  pattern        = "{ $.event = \"ach_unmatched_entry\" }"

  metric_transformation {
    name      = "AchUnmatchedEntry"
    namespace = local.metric_namespace
    value     = "1"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "ach_unmatched_entry" {
  alarm_name          = "${local.name}-ach-unmatched-entry"
  alarm_description   = "ach_receive read a return or notification of change that matches no payment we sent: the jobs log (event ach_unmatched_entry) and the ACH exceptions say which entry; resolve it with the bank (README \"The ACH rail\")."
  namespace           = local.metric_namespace
  metric_name         = aws_cloudwatch_log_metric_filter.ach_unmatched_entry.metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_log_metric_filter" "ach_bank_unreachable" {
  name           = "${local.name}-ach-bank-unreachable"
  log_group_name = aws_cloudwatch_log_group.jobs.name
  pattern        = "{ $.event = \"ach_bank_unreachable\" }"

  metric_transformation {
    name      = "AchBankUnreachable"
    namespace = local.metric_namespace
    value     = "1"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "ach_bank_unreachable" {
  alarm_name          = "${local.name}-ach-bank-unreachable"
  alarm_description   = "ach_send or ach_receive could not reach the ODFI's SFTP server (connect, host key, login or a file operation): the jobs log (event ach_bank_unreachable) says which step; the next run tries again. Check the bank's status and the SFTP login parameter (README \"The ACH rail\")."
  namespace           = local.metric_namespace
  metric_name         = aws_cloudwatch_log_metric_filter.ach_bank_unreachable.metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_log_metric_filter" "ach_exception" {
  name           = "${local.name}-ach-exception"
  log_group_name = aws_cloudwatch_log_group.jobs.name
  pattern        = "{ $.event = \"ach_exception\" }"

  metric_transformation {
    name      = "AchException"
    namespace = local.metric_namespace
    value     = "1"
    unit      = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "ach_exception" {
  alarm_name          = "${local.name}-ach-exception"
  alarm_description   = "The ACH jobs recorded an exception for an operator (e.g. an upload whose rename outcome is unknown: was the file delivered?): the jobs log (event ach_exception) and the ACH exceptions say what to check (README \"The ACH rail\")."
  namespace           = local.metric_namespace
  metric_name         = aws_cloudwatch_log_metric_filter.ach_exception.metric_transformation[0].name
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}
