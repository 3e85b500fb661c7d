# THE table, mirroring app/db/table.py (tests/ops/test_terraform_parity.py asserts they are equal).

resource "aws_dynamodb_table" "main" {
  name         = local.table_name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "PK"
  range_key    = "SK"

  attribute {
    name = "PK"
    type = "S"
  }

  attribute {
    name = "SK"
    type = "S"
  }

  attribute {
    name = "GSI2PK"
    type = "S"
  }

  attribute {
    name = "GSI2SK"
    type = "S"
  }

  # The inverse index: partition on SK, sort on PK.
  global_secondary_index {
    name            = "GSI1"
    hash_key        = "SK"
    range_key       = "PK"
    projection_type = "ALL"
  }

  # The "when" index, sparse and sharded: a pending loan carries GSI2PK = "PENDING#<0..7>" and
  # GSI2SK = "<fundingDeadline>#<loanId>", an active one "REMIND#<0..7>" / "<next reminder date>#<loanId>",
  # so the expiry and reminder jobs (jobs.tf) read only the loans that are due.
  global_secondary_index {
    name            = "GSI2"
    hash_key        = "GSI2PK"
    range_key       = "GSI2SK"
    projection_type = "ALL"
  }

  ttl {
    attribute_name = "expireAt"
    enabled        = true
  }

  # The outbox (app/db/table.py STREAM_SPECIFICATION): every audit event item's insertion reaches the
  # notifications function through this stream (email.tf). NEW_IMAGE: the event item as written is
  # all the emails need; the old image would only add size.
  stream_enabled   = true
  stream_view_type = "NEW_IMAGE"

  point_in_time_recovery {
    enabled = true
  }

  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.data.arn
  }

  deletion_protection_enabled = local.is_prod
}
