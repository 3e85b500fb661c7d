# terraform plan -var-file=environments/dev.tfvars  (README "Deploy")
environment              = "dev"
region                   = "us-east-1"
cors_allowed_origins     = ["https://dev.app.example.com", "http://localhost:5173"]
jwt_secret_ssm_parameter = "/lending/dev/jwt-secret"

# Email (README "Deploy" / "Email"): the SES identity (a domain: publish its DKIM CNAMEs), the From
# line at that domain, and the SPA every link in an email points to.
email_sender_identity = "dev.lending.example.com"
email_from            = "Lending <no-reply@dev.lending.example.com>"
app_base_url          = "https://dev.app.example.com"

# The ACH rail (README "Deploy" / "The ACH rail"): the platform at its ODFI (placeholders, those of
# scripts/dev.sh: use the routing number of the dev ODFI and the company id and name it assigns), and
# the SSM SecureString with the SFTP login (JSON: host, username, host_key, private_key), created out
# of band like the JWT secret.
ach_odfi_routing       = "091000019"
ach_company_id         = "1234567890"
ach_company_name       = "LENDING DEV"
ach_sftp_ssm_parameter = "/lending/dev/ach-sftp"

lambda_memory_mb                   = 1024
lambda_reserved_concurrency        = 10
notifications_reserved_concurrency = 2
log_level                          = "INFO"
log_retention_days                 = 365
throttling_rate_limit              = 20
throttling_burst_limit             = 40

# An SNS topic of your own (email/Slack/PagerDuty subscriptions); empty = alarms without notifications.
alarm_sns_topic_arn = ""
