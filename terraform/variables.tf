variable "project" {
  description = "Name prefix of every resource."
  type        = string
  default     = "lending"
}

variable "environment" {
  description = "Deployment environment; also the app's ENVIRONMENT (prod turns on the app's strict checks and the table's deletion protection)."
  type        = string

  validation {
    condition     = contains(["dev", "prod"], var.environment)
    error_message = "environment must be dev or prod."
  }
}

variable "region" {
  description = "AWS region of the whole stack."
  type        = string
  default     = "us-east-1"
}

variable "lambda_zip_path" {
  description = "The package built by scripts/build_lambda.sh, relative to terraform/."
  type        = string
  default     = "../dist/lambda.zip"
}

variable "lambda_memory_mb" {
  description = "Lambda memory (MB); CPU scales with it."
  type        = number
  default     = 1024
}

variable "lambda_timeout_seconds" {
  description = "Lambda timeout; keep it under API Gateway's 30 s integration limit (README: Timeouts and retries)."
  type        = number
  default     = 28

  validation {
    condition     = var.lambda_timeout_seconds >= 3 && var.lambda_timeout_seconds <= 29
    error_message = "lambda_timeout_seconds must be between 3 and 29 (API Gateway gives up at 30 s)."
  }
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency of the function: a ceiling that protects the account (and the table) from a runaway. -1 = no reservation (new accounts with a concurrency quota of 10 cannot reserve any)."
  type        = number
  default     = 50

  validation {
    condition     = var.lambda_reserved_concurrency == -1 || var.lambda_reserved_concurrency >= 1
    error_message = "lambda_reserved_concurrency must be -1 (unreserved) or at least 1 (0 would refuse every request)."
  }
}

variable "jobs_timeout_seconds" {
  description = "Timeout of the scheduled jobs function (jobs.tf). 300: the longest run, ach_send building and uploading a file of 10,000 payments, takes up to about 2 minutes, and gets more than twice that; at most the 5 minutes between expire-loans runs, so a run ends before the next one is due (reserved concurrency 1 queues it meanwhile)."
  type        = number
  default     = 300

  validation {
    condition     = var.jobs_timeout_seconds >= 10 && var.jobs_timeout_seconds <= 300
    error_message = "jobs_timeout_seconds must be between 10 and 300 (a run must end before the next one is due, and ach_send needs about 2 minutes for 10,000 payments)."
  }
}

variable "jobs_reserved_concurrency" {
  description = "Reserved concurrency of the scheduled jobs function: 1 keeps runs one at a time (they are idempotent anyway). -1 = no reservation (new accounts with a concurrency quota of 10 cannot reserve any)."
  type        = number
  default     = 1

  validation {
    condition     = var.jobs_reserved_concurrency == -1 || var.jobs_reserved_concurrency >= 1
    error_message = "jobs_reserved_concurrency must be -1 (unreserved) or at least 1 (0 would refuse every run)."
  }
}

variable "log_level" {
  description = "The app's LOG_LEVEL."
  type        = string
  default     = "INFO"

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be DEBUG, INFO, WARNING or ERROR (the app refuses anything else at start)."
  }
}

variable "log_retention_days" {
  description = "Retention of the log groups (the three functions' and the API access log)."
  type        = number
  default     = 365
}

variable "cors_allowed_origins" {
  description = "Origins of the SPA allowed to call the API (API Gateway CORS and the app's CORS_ORIGINS)."
  type        = list(string)
  default     = []
}

variable "jwt_secret_ssm_parameter" {
  description = "Name of the SSM Parameter Store SecureString holding JWT_SECRET (created out of band; never a literal here)."
  type        = string

  validation {
    condition     = startswith(var.jwt_secret_ssm_parameter, "/")
    error_message = "jwt_secret_ssm_parameter is a parameter name such as /lending/dev/jwt-secret, not the secret itself."
  }
}

variable "throttling_rate_limit" {
  description = "API Gateway stage steady-state request rate limit (requests per second)."
  type        = number
  default     = 100
}

variable "throttling_burst_limit" {
  description = "API Gateway stage burst limit (requests)."
  type        = number
  default     = 200
}

variable "alarm_sns_topic_arn" {
  description = "SNS topic notified when an alarm fires or recovers; empty = alarms without notifications."
  type        = string
  default     = ""
}

variable "alarm_5xx_rate_percent" {
  description = "Alarm when more than this percentage of requests end in a 5xx over 5 minutes."
  type        = number
  default     = 1
}

variable "alarm_p95_latency_ms" {
  description = "Alarm when the p95 API latency stays above this for 15 minutes."
  type        = number
  default     = 1000
}

variable "alarm_lambda_errors" {
  description = "Alarm when the function fails more than this many times in 5 minutes."
  type        = number
  default     = 0
}

# --- email (email.tf) -----------------------------------------------------------------------------

variable "email_sender_identity" {
  description = "The SES v2 identity emails are sent from: a domain (lending.example.com; Easy DKIM, publish the CNAMEs of the email_dkim_tokens output) or a single address. The functions' ses:SendEmail names this identity only."
  type        = string

  validation {
    condition = (
      can(regex("^[^@\\s<>]+@([A-Za-z0-9-]+\\.)+[A-Za-z]{2,}$", var.email_sender_identity)) ||
      can(regex("^([A-Za-z0-9-]+\\.)+[A-Za-z]{2,}$", var.email_sender_identity))
    )
    error_message = "email_sender_identity must be a domain (lending.example.com) or an email address (no-reply@lending.example.com)."
  }
}

variable "email_from" {
  description = "The app's EMAIL_FROM: \"Display Name <address>\" or a bare address, at the email_sender_identity domain (or that address)."
  type        = string

  validation {
    condition     = can(regex("^([^<>@]+ <[^@\\s<>]+@[A-Za-z0-9.-]+>|[^@\\s<>]+@[A-Za-z0-9.-]+)$", var.email_from))
    error_message = "email_from must be \"Name <address@domain>\" or \"address@domain\"."
  }
}

variable "app_base_url" {
  description = "The app's APP_BASE_URL: the SPA's https origin (and path, if any) that every link in an email starts with; no trailing slash."
  type        = string

  validation {
    condition     = can(regex("^https://[A-Za-z0-9.-]+(:[0-9]+)?(/[^\\s]*[^/\\s])?$", var.app_base_url))
    error_message = "app_base_url must be an https URL without a trailing slash (the links in emails are {app_base_url}/...)."
  }
}

variable "notifications_timeout_seconds" {
  description = "Timeout of the notifications function (email.tf): one batch of stream records, each a few reads and one SES call per recipient."
  type        = number
  default     = 60

  validation {
    condition     = var.notifications_timeout_seconds >= 10 && var.notifications_timeout_seconds <= 900
    error_message = "notifications_timeout_seconds must be between 10 and 900 (Lambda's maximum)."
  }
}

variable "notifications_reserved_concurrency" {
  description = "Reserved concurrency of the notifications function: a ceiling on parallel batches, hence on the SES send rate (one invocation per stream shard at a time). -1 = no reservation."
  type        = number
  default     = 5

  validation {
    condition     = var.notifications_reserved_concurrency == -1 || var.notifications_reserved_concurrency >= 1
    error_message = "notifications_reserved_concurrency must be -1 (unreserved) or at least 1 (0 would stop every delivery)."
  }
}

# --- the ACH rail (ach.tf) --------------------------------------------------------------------------
# The platform as its ODFI knows it: plain settings, in each environment's tfvars (no defaults: a
# wrong routing number or company id makes the bank reject every file). The SFTP login is not here:
# it is the SSM parameter ach_sftp_ssm_parameter (README "Deploy" / "The ACH rail").

variable "ach_odfi_routing" {
  description = "The app's ACH_ODFI_ROUTING: the ODFI's 9-digit ABA routing number (the file header's immediate destination, the first 8 digits of every trace number)."
  type        = string

  validation {
    # The app's rule (app/money/routing.py): a Federal Reserve prefix and the ABA checksum.
    condition = (
      can(regex("^(0[1-9]|1[0-2]|2[1-9]|3[0-2]|6[1-9]|7[0-2]|80)[0-9]{7}$", var.ach_odfi_routing)) &&
      try(sum([for i, weight in [3, 7, 1, 3, 7, 1, 3, 7, 1] : weight * tonumber(substr(var.ach_odfi_routing, i, 1))]) % 10 == 0, false)
    )
    error_message = "ach_odfi_routing must be a valid ABA routing number: 9 digits, a Federal Reserve prefix (01-12, 21-32, 61-72, 80) and the ABA checksum (the app refuses anything else at start)."
  }
}

variable "ach_company_id" {
  description = "The app's ACH_COMPANY_ID: the platform's company identification at the ODFI (the file's immediate origin and every batch's company id), exactly 10 characters."
  type        = string

  validation {
    # As the app reads it (app/ach/settings.py): the text unchanged by the ACH alphabet's rules, so no
    # leading, trailing or double space.
    condition     = can(regex("^[A-Z0-9 ]{10}$", var.ach_company_id)) && trimspace(var.ach_company_id) == var.ach_company_id && !strcontains(var.ach_company_id, "  ")
    error_message = "ach_company_id must be exactly 10 characters of upper-case letters, digits and single inner spaces (the app refuses anything else at start)."
  }
}

variable "ach_company_name" {
  description = "The app's ACH_COMPANY_NAME: the company name of every batch, 1 to 16 characters of the ACH alphabet."
  type        = string

  validation {
    condition     = can(regex("^[A-Z0-9\\-.,&'/]([A-Z0-9 \\-.,&'/]{0,14}[A-Z0-9\\-.,&'/])?$", var.ach_company_name))
    error_message = "ach_company_name must be 1 to 16 characters of the ACH alphabet (upper-case letters, digits, space and - . , & ' /), without leading or trailing spaces."
  }
}

variable "ach_sftp_ssm_parameter" {
  description = "Name of the SSM Parameter Store SecureString holding the ODFI's SFTP login as JSON {\"host\", \"username\", \"host_key\", \"private_key\"} (created out of band, as the JWT secret's; never a literal here)."
  type        = string

  validation {
    condition     = startswith(var.ach_sftp_ssm_parameter, "/")
    error_message = "ach_sftp_ssm_parameter is a parameter name such as /lending/dev/ach-sftp, not the login itself."
  }
}

variable "ach_sftp_port" {
  description = "The app's ACH_SFTP_PORT: the port of the ODFI's SFTP server."
  type        = number
  default     = 22

  validation {
    condition     = var.ach_sftp_port >= 1 && var.ach_sftp_port <= 65535 && floor(var.ach_sftp_port) == var.ach_sftp_port
    error_message = "ach_sftp_port must be a port number (1..65535)."
  }
}

variable "ach_sftp_outbound_dir" {
  description = "The app's ACH_SFTP_OUTBOUND_DIR: the ODFI's folder for our files."
  type        = string
  default     = "outbound"
}

variable "ach_sftp_inbound_dir" {
  description = "The app's ACH_SFTP_INBOUND_DIR: the ODFI's folder for its return and change files."
  type        = string
  default     = "inbound"
}

variable "ach_return_window_days" {
  description = "The app's ACH_RETURN_WINDOW_DAYS: banking days after the effective date with no return before a payment is settled."
  type        = number
  default     = 2

  validation {
    condition     = var.ach_return_window_days >= 1 && var.ach_return_window_days <= 10 && floor(var.ach_return_window_days) == var.ach_return_window_days
    error_message = "ach_return_window_days must be a whole number of banking days between 1 and 10 (the app refuses anything else at start)."
  }
}
