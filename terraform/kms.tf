# Two customer-managed keys: one for ACH account numbers (the app's envelope encryption, and the
# outbound file archive of ach.tf) and one for data at rest (table, Lambda environment variables, log
# groups). Separate keys keep the functions' kms:Decrypt scoped to ACH data keys alone.

locals {
  # The encryption context keys of the app's sealed bank account numbers (app/payments/sealing.py
  # Binding): {userId, bankAccountId} for a bank account, {loanId, lenderId} for the ACH records of
  # earlier versions. The API and jobs roles may use the ACH key for data keys bound to these and
  # nothing shaped differently (lambda.tf, jobs.tf).
  ach_envelope_context_keys = ["bankAccountId", "lenderId", "loanId", "userId"]
}

data "aws_iam_policy_document" "ach_key" {
  # A key policy is not an identity policy: its Resource "*" means "this key", and the statement below
  # is AWS's default key policy (the account administers the key through IAM, so the key can never be
  # locked out). Who may *use* the key is decided by IAM policies, e.g. the Lambda role's in lambda.tf.
  #checkov:skip=CKV_AWS_109:key policy: Resource "*" is this key only; the account-root statement is AWS's default that delegates to IAM
  #checkov:skip=CKV_AWS_111:key policy: Resource "*" is this key only; writes are granted through IAM policies scoped to this key
  #checkov:skip=CKV_AWS_356:key policy: "*" is the only Resource a key policy takes and means this key
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }
}

resource "aws_kms_key" "ach" {
  description             = "${local.name}: ACH account numbers (envelope encryption, outbound file archive)"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.ach_key.json
}

resource "aws_kms_alias" "ach" {
  name          = "alias/${local.name}-ach"
  target_key_id = aws_kms_key.ach.key_id
}

data "aws_iam_policy_document" "data_key" {
  #checkov:skip=CKV_AWS_109:key policy: Resource "*" is this key only; the account-root statement is AWS's default that delegates to IAM
  #checkov:skip=CKV_AWS_111:key policy: Resource "*" is this key only; CloudWatch Logs is limited to our four log groups by encryption context
  #checkov:skip=CKV_AWS_356:key policy: "*" is the only Resource a key policy takes and means this key
  statement {
    sid       = "AccountAdministersKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${local.partition}:iam::${local.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogsEncryptsOurLogGroups"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "Service"
      identifiers = ["logs.${var.region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values = [
        "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/lambda/${local.name}",
        "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/lambda/${local.name}-jobs",
        "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/lambda/${local.name}-notifications",
        "arn:${local.partition}:logs:${var.region}:${local.account_id}:log-group:/aws/apigateway/${local.name}",
      ]
    }
  }
}

resource "aws_kms_key" "data" {
  description             = "${local.name}: the table, Lambda environment variables and log groups at rest"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.data_key.json
}

resource "aws_kms_alias" "data" {
  name          = "alias/${local.name}-data"
  target_key_id = aws_kms_key.data.key_id
}
