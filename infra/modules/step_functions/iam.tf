data "aws_iam_policy_document" "this" {
  statement {
    sid       = "InvokeFunctions"
    actions   = ["lambda:InvokeFunction"]
    resources = values(var.lambda_arns)
  }

  # SubmitJob is authorised against the job queue and the job definition (with its revision, hence name:*).
  statement {
    sid     = "SubmitJobs"
    actions = ["batch:SubmitJob"]
    resources = concat(
      [var.map_job_queue_arn, var.reduce_job_queue_arn],
      local.job_definition_names,
      [for n in local.job_definition_names : "${n}:*"],
    )
  }

  # The submitted jobs carry tags (ftm:quarter, ftm:run, ftm:execution): tagging on creation is authorised as
  # batch:TagResource on the new job. Jobs have no name known in advance: any job of this account and region.
  statement {
    sid       = "TagAndStopJobs"
    actions   = ["batch:TagResource", "batch:TerminateJob"]
    resources = [local.batch_jobs_arn]
  }

  # .sync: Step Functions polls the job; DescribeJobs has no resource to scope to.
  statement {
    sid       = "DescribeJobs"
    actions   = ["batch:DescribeJobs"]
    resources = ["*"]
  }

  # .sync: the managed EventBridge rule through which Step Functions learns that a Batch job ended.
  statement {
    sid       = "BatchJobEvents"
    actions   = ["events:PutTargets", "events:PutRule", "events:DescribeRule"]
    resources = ["arn:${local.partition}:events:${var.region}:${local.account_id}:rule/StepFunctionsGetEventsForBatchJobsRule"]
  }

  # StartLLM / StopLLM: the vLLM service's desired count, that service only.
  statement {
    sid       = "ScaleVllmService"
    actions   = ["ecs:UpdateService"]
    resources = [var.ecs_service_arn]
  }

  # Execution logs (level ALL) to CloudWatch Logs: Step Functions sets up the log delivery with these calls, which
  # have no resource to scope to (AWS's documented policy for Step Functions logging).
  statement {
    sid = "DeliverLogs"
    actions = [
      "logs:CreateLogDelivery",
      "logs:GetLogDelivery",
      "logs:UpdateLogDelivery",
      "logs:DeleteLogDelivery",
      "logs:ListLogDeliveries",
      "logs:PutResourcePolicy",
      "logs:DescribeResourcePolicies",
      "logs:DescribeLogGroups",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "XRay"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
    resources = ["*"]
  }
}

# Only state machines of this account may assume the role (confused deputy).
module "role" {
  source = "../service_role"

  name           = "${local.name}-states"
  description    = "ftm: the ${local.name} state machine (its Lambda functions, Batch jobs, the vLLM service's desired count)"
  service        = "states.amazonaws.com"
  source_account = local.account_id
  policy_name    = "ftm-multi-quarter"
  policy         = data.aws_iam_policy_document.this.json
  tags           = local.tags
}
