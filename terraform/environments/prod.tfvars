# terraform plan -var-file=environments/prod.tfvars  (README "Deploy")
environment              = "prod"
region                   = "us-east-1"
cors_allowed_origins     = ["https://app.example.com"]
jwt_secret_ssm_parameter = "/lending/prod/jwt-secret"

email_sender_identity = "lending.example.com"
email_from            = "Lending <no-reply@lending.example.com>"
app_base_url          = "https://app.example.com"

# The ACH rail (README "Deploy" / "The ACH rail"). PLACEHOLDERS: replace with what the ODFI assigned
# (its routing number, our company id and name) before the first prod apply; the SFTP login is the
# SSM SecureString below (JSON: host, username, host_key, private_key), never a value in this file.
ach_odfi_routing       = "091000019"
ach_company_id         = "1234567890"
ach_company_name       = "LENDING"
ach_sftp_ssm_parameter = "/lending/prod/ach-sftp"

lambda_memory_mb                   = 1024
lambda_reserved_concurrency        = 100
notifications_reserved_concurrency = 5
log_level                          = "INFO"
log_retention_days                 = 365
throttling_rate_limit              = 100
throttling_burst_limit             = 200

alarm_sns_topic_arn    = "arn:aws:sns:us-east-1:123456789012:lending-prod-alarms"
alarm_5xx_rate_percent = 1
alarm_p95_latency_ms   = 1000
