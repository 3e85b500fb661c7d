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
  description = "The scheduled jobs function (EventBridge Scheduler invokes it every 5 minutes with {\"job\": \"expire-loans\"})."
  value       = aws_lambda_function.jobs.function_name
}
