# Alarms (to var.alarm_sns_topic_arn) and one dashboard: API traffic, latency and errors, the
# function's duration and cold starts, the emails' stream lag and DLQ, and the table's consumed
# capacity and throttles. The email alarms are in email.tf, the ACH rail's in ach.tf.

locals {
  api_dimensions    = { ApiId = aws_apigatewayv2_api.main.id, Stage = aws_apigatewayv2_stage.default.name }
  lambda_dimensions = { FunctionName = aws_lambda_function.api.function_name }
  metric_namespace  = "${var.project}/${var.environment}"
}

# Lambda has no cold-start metric: count the REPORT lines that carry "Init Duration" (only the
# first invocation of an execution environment has one).
resource "aws_cloudwatch_log_metric_filter" "cold_starts" {
  name           = "${local.name}-cold-starts"
  log_group_name = aws_cloudwatch_log_group.lambda.name
  pattern        = "\"REPORT RequestId\" \"Init Duration\""

  metric_transformation {
    name          = "ColdStarts"
    namespace     = local.metric_namespace
    value         = "1"
    default_value = "0"
    unit          = "Count"
  }
}

resource "aws_cloudwatch_metric_alarm" "api_5xx_rate" {
  alarm_name          = "${local.name}-api-5xx-rate"
  alarm_description   = "More than ${var.alarm_5xx_rate_percent}% of API requests ended in a 5xx over 5 minutes."
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_5xx_rate_percent
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "rate"
    expression  = "IF(requests > 0, 100 * errors / requests, 0)"
    label       = "5xx rate (%)"
    return_data = true
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "5xx"
      dimensions  = local.api_dimensions
      period      = 300
      stat        = "Sum"
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApiGateway"
      metric_name = "Count"
      dimensions  = local.api_dimensions
      period      = 300
      stat        = "Sum"
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "api_p95_latency" {
  alarm_name          = "${local.name}-api-p95-latency"
  alarm_description   = "API p95 latency above ${var.alarm_p95_latency_ms} ms for 15 minutes."
  namespace           = "AWS/ApiGateway"
  metric_name         = "Latency"
  dimensions          = local.api_dimensions
  extended_statistic  = "p95"
  period              = 300
  evaluation_periods  = 3
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_p95_latency_ms
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "lambda_errors" {
  alarm_name          = "${local.name}-lambda-errors"
  alarm_description   = "The function failed (unhandled error, timeout or out of memory); the app answers its own errors, so any is a bug."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = local.lambda_dimensions
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = var.alarm_lambda_errors
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

resource "aws_cloudwatch_metric_alarm" "lambda_throttles" {
  alarm_name          = "${local.name}-lambda-throttles"
  alarm_description   = "Requests refused because the function hit its reserved concurrency."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = local.lambda_dimensions
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# A scheduled job failed: an exception (a job's own, or an unknown job name), a timeout or out of
# memory. Each run is one invocation, so any error in 10 minutes means a run failed: expire-loans,
# send-payment-reminders, and the ACH rail's ach_send, ach_settle and ach_receive (ach.tf) alike.
resource "aws_cloudwatch_metric_alarm" "jobs_errors" {
  alarm_name          = "${local.name}-jobs-errors"
  alarm_description   = "A scheduled job (jobs.tf, ach.tf) failed in the last 10 minutes; its log group says which job and why."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.jobs.function_name }
  statistic           = "Sum"
  period              = 600
  evaluation_periods  = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  threshold           = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions
}

# On-demand tables still throttle (a hot partition, or the account's table limits): reads and
# writes, on the table and on both indexes.
resource "aws_cloudwatch_metric_alarm" "dynamodb_throttles" {
  alarm_name          = "${local.name}-dynamodb-throttles"
  alarm_description   = "DynamoDB throttled reads or writes on the table, GSI1 or GSI2."
  comparison_operator = "GreaterThanThreshold"
  threshold           = 0
  evaluation_periods  = 1
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_actions
  ok_actions          = local.alarm_actions

  metric_query {
    id          = "throttles"
    expression  = "SUM(METRICS())"
    label       = "Throttle events"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = {
      tr = { metric = "ReadThrottleEvents", dimensions = { TableName = aws_dynamodb_table.main.name } }
      tw = { metric = "WriteThrottleEvents", dimensions = { TableName = aws_dynamodb_table.main.name } }
      ir = { metric = "ReadThrottleEvents", dimensions = { TableName = aws_dynamodb_table.main.name, GlobalSecondaryIndexName = "GSI1" } }
      iw = { metric = "WriteThrottleEvents", dimensions = { TableName = aws_dynamodb_table.main.name, GlobalSecondaryIndexName = "GSI1" } }
      dr = { metric = "ReadThrottleEvents", dimensions = { TableName = aws_dynamodb_table.main.name, GlobalSecondaryIndexName = "GSI2" } }
      dw = { metric = "WriteThrottleEvents", dimensions = { TableName = aws_dynamodb_table.main.name, GlobalSecondaryIndexName = "GSI2" } }
    }
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/DynamoDB"
        metric_name = metric_query.value.metric
        dimensions  = metric_query.value.dimensions
        period      = 300
        stat        = "Sum"
      }
    }
  }
}

locals {
  # Widget metrics are [namespace, metric name, dimension name, value, ..., {options}].
  api_dims    = ["ApiId", aws_apigatewayv2_api.main.id, "Stage", aws_apigatewayv2_stage.default.name]
  lambda_dims = ["FunctionName", aws_lambda_function.api.function_name]
  table_dims  = ["TableName", aws_dynamodb_table.main.name]
  gsi_dims    = ["TableName", aws_dynamodb_table.main.name, "GlobalSecondaryIndexName", "GSI1"]

  dashboard_widgets = [
    {
      title   = "Requests per minute"
      metrics = [concat(["AWS/ApiGateway", "Count"], local.api_dims, [{ stat = "Sum", label = "requests" }])]
    },
    {
      title   = "API latency (ms)"
      metrics = [for p in ["p50", "p90", "p95", "p99"] : concat(["AWS/ApiGateway", "Latency"], local.api_dims, [{ stat = p, label = p }])]
    },
    {
      title = "Errors"
      metrics = [
        concat(["AWS/ApiGateway", "4xx"], local.api_dims, [{ stat = "Sum", label = "API 4xx" }]),
        concat(["AWS/ApiGateway", "5xx"], local.api_dims, [{ stat = "Sum", label = "API 5xx" }]),
        concat(["AWS/Lambda", "Errors"], local.lambda_dims, [{ stat = "Sum", label = "Lambda errors" }]),
        concat(["AWS/Lambda", "Throttles"], local.lambda_dims, [{ stat = "Sum", label = "Lambda throttles" }]),
        ["AWS/Lambda", "Errors", "FunctionName", aws_lambda_function.jobs.function_name, { stat = "Sum", label = "scheduled job errors" }],
        ["AWS/Lambda", "Errors", "FunctionName", aws_lambda_function.notifications.function_name, { stat = "Sum", label = "email function errors" }],
      ]
    },
    {
      title = "Emails: stream lag and undelivered batches"
      metrics = [
        ["AWS/Lambda", "IteratorAge", "FunctionName", aws_lambda_function.notifications.function_name, { stat = "Maximum", label = "stream iterator age (ms)" }],
        ["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.notifications_dlq.name, { stat = "Maximum", label = "DLQ messages", yAxis = "right" }],
      ]
    },
    {
      title   = "Lambda duration (ms)"
      metrics = [for p in ["p50", "p95", "p99", "Maximum"] : concat(["AWS/Lambda", "Duration"], local.lambda_dims, [{ stat = p, label = p }])]
    },
    {
      title = "Cold starts and concurrency"
      metrics = [
        [local.metric_namespace, "ColdStarts", { stat = "Sum", label = "cold starts" }],
        concat(["AWS/Lambda", "ConcurrentExecutions"], local.lambda_dims, [{ stat = "Maximum", label = "concurrent executions" }]),
      ]
    },
    {
      title = "ACH rail: events for an operator (ach.tf alarms)"
      metrics = [
        [local.metric_namespace, "AchFileRejected", { stat = "Sum", label = "inbound files rejected" }],
        [local.metric_namespace, "AchUnmatchedEntry", { stat = "Sum", label = "unmatched returns/NOCs" }],
        [local.metric_namespace, "AchBankUnreachable", { stat = "Sum", label = "bank unreachable" }],
        [local.metric_namespace, "AchException", { stat = "Sum", label = "ACH exceptions" }],
        ["AWS/Lambda", "Duration", "FunctionName", aws_lambda_function.jobs.function_name, { stat = "Maximum", label = "longest job run (ms)", yAxis = "right" }],
      ]
    },
    {
      title = "DynamoDB consumed capacity and throttles"
      metrics = [
        concat(["AWS/DynamoDB", "ConsumedReadCapacityUnits"], local.table_dims, [{ stat = "Sum", label = "table RCU" }]),
        concat(["AWS/DynamoDB", "ConsumedWriteCapacityUnits"], local.table_dims, [{ stat = "Sum", label = "table WCU" }]),
        concat(["AWS/DynamoDB", "ConsumedReadCapacityUnits"], local.gsi_dims, [{ stat = "Sum", label = "GSI1 RCU" }]),
        concat(["AWS/DynamoDB", "ConsumedWriteCapacityUnits"], local.gsi_dims, [{ stat = "Sum", label = "GSI1 WCU" }]),
        concat(["AWS/DynamoDB", "ReadThrottleEvents"], local.table_dims, [{ stat = "Sum", label = "read throttles" }]),
        concat(["AWS/DynamoDB", "WriteThrottleEvents"], local.table_dims, [{ stat = "Sum", label = "write throttles" }]),
      ]
    },
  ]
}

resource "aws_cloudwatch_dashboard" "main" {
  dashboard_name = local.name
  dashboard_body = jsonencode({
    widgets = [
      for index, widget in local.dashboard_widgets : {
        type   = "metric"
        x      = (index % 2) * 12
        y      = floor(index / 2) * 6
        width  = 12
        height = 6
        properties = {
          title   = widget.title
          metrics = widget.metrics
          period  = 60
          region  = var.region
          view    = "timeSeries"
          stacked = false
        }
      }
    ]
  })
}
