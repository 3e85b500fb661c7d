output "api_url" {
  description = "Base URL of the API (the deploy smoke test calls {api_url}/health)."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "table_name" {
  description = "The single DynamoDB table."
  value       = aws_dynamodb_table.main.name
}

output "function_name" {
  description = "The Lambda function; the \"live\" alias is what API Gateway invokes."
  value       = aws_lambda_function.api.function_name
}

output "function_version" {
  description = "The version the \"live\" alias points at after this apply (roll back to an earlier one: README \"Deploy\")."
  value       = aws_lambda_alias.live.function_version
}

output "ach_kms_key_arn" {
  description = "The KMS key of ACH envelope encryption (the app's ACH_KMS_KEY_ID)."
  value       = aws_kms_key.ach.arn
}

output "dashboard_name" {
  description = "The CloudWatch dashboard of this environment."
  value       = aws_cloudwatch_dashboard.main.dashboard_name
}

output "jobs_function_name" {
  description = "The scheduled jobs function (EventBridge Scheduler invokes it with {\"job\": \"expire-loans\"} every 5 minutes, {\"job\": \"send-payment-reminders\"} hourly, and the ACH rail's jobs of ach.tf)."
  value       = aws_lambda_function.jobs.function_name
}

output "ach_archive_bucket" {
  description = "The bucket that keeps every outbound ACH file 7 years (outbound/<YYYYMMDD>-<HHMMSS>-<modifier>.ach, SSE-KMS with the ACH key; the jobs function's ACH_ARCHIVE_BUCKET)."
  value       = aws_s3_bucket.ach_archive.bucket
}

output "notifications_function_name" {
  description = "The function that sends the emails of the table's stream (email.tf)."
  value       = aws_lambda_function.notifications.function_name
}

output "notifications_dlq_url" {
  description = "The dead-letter queue of undelivered stream batches (positions, not records: README \"Email\")."
  value       = aws_sqs_queue.notifications_dlq.url
}

output "email_identity_arn" {
  description = "The SES v2 sender identity; the only resource of the functions' ses:SendEmail."
  value       = aws_sesv2_email_identity.sender.arn
}

output "email_dkim_tokens" {
  description = "A domain identity's Easy DKIM tokens: publish CNAME <token>._domainkey.<domain> -> <token>.dkim.amazonses.com for each (empty for an address identity)."
  value       = try(aws_sesv2_email_identity.sender.dkim_signing_attributes[0].tokens, [])
}
