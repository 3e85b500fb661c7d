# terraform plan -var-file=environments/prod.tfvars  (README "Deploy")
environment              = "prod"
region                   = "us-east-1"
cors_allowed_origins     = ["https://app.example.com"]
jwt_secret_ssm_parameter = "/lending/prod/jwt-secret"

email_sender_identity = "lending.example.com"
email_from            = "Lending <no-reply@lending.example.com>"
app_base_url          = "https://app.example.com"

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
