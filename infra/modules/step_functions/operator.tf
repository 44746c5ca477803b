# What a person (or CI) needs to run `ftm cloud run|status|stop|record` against this state machine: a managed
# policy, created but not attached (attach it to the role or user that runs ftm cloud; output
# operator_policy_arn). Least privilege: this state machine and its executions, the vLLM service, the Batch jobs,
# the lake's records (the driver keeps .cloud.json / .cloud.ipynb beside each quarter's run) and the logs an
# operator reads. Its actions cover ftm.cloud.stepfunctions.PERMISSIONS (tests/test_infra_contract.py).

locals {
  # The state machine's executions: arn:aws:states:REGION:ACCOUNT:execution:NAME:<execution name>
  executions_arn = "arn:${local.partition}:states:${var.region}:${local.account_id}:execution:${local.name}:*"

  # <lake_prefix>/_records: each quarter's records (Lake.put_record)
  records_prefix = join("/", compact([var.lake.prefix, "_records"]))
  operator_logs  = compact([aws_cloudwatch_log_group.this.arn, var.batch_log_group_arn])
}

data "aws_iam_policy_document" "operator" {
  count = var.create_operator_policy ? 1 : 0

  # ftm cloud run: refuse while another execution runs (ListExecutions), start one; status and stop find the
  # latest execution and the vLLM service named in the definition (DescribeStateMachine).
  statement {
    sid       = "StateMachine"
    actions   = ["states:StartExecution", "states:ListExecutions", "states:DescribeStateMachine"]
    resources = [local.state_machine_arn]
  }

  # ftm cloud status / stop: follow an execution's history, stop it (also the later of two simultaneous starts).
  statement {
    sid       = "Executions"
    actions   = ["states:DescribeExecution", "states:GetExecutionHistory", "states:StopExecution"]
    resources = [local.executions_arn]
  }

  # ftm cloud stop: a stopped execution never reaches StopLLM, so the driver scales vLLM to 0 itself.
  statement {
    sid       = "VllmService"
    actions   = ["ecs:DescribeServices", "ecs:UpdateService"]
    resources = [var.ecs_service_arn]
  }

  # ftm cloud stop terminates the execution's active jobs. Job ids are not known in advance: any job of this
  # account and region (as the state machine's own role).
  statement {
    sid       = "TerminateJobs"
    actions   = ["batch:TerminateJob"]
    resources = [local.batch_jobs_arn]
  }

  # DescribeJobs has no resource-level permissions.
  statement {
    sid       = "DescribeJobs"
    actions   = ["batch:DescribeJobs"]
    resources = ["*"]
  }

  # ftm cloud record / make cloud-run: <run id>.cloud.json and .cloud.ipynb beside each quarter's run, and the
  # RecordQuarter state's .sfn.json to read. Nothing else of the lake.
  statement {
    sid       = "ListRecords"
    actions   = ["s3:ListBucket"]
    resources = [var.lake.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [local.records_prefix, "${local.records_prefix}/*"]
    }
  }

  statement {
    sid       = "ReadWriteRecords"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${var.lake.bucket_arn}/${local.records_prefix}/*"]
  }

  dynamic "statement" {
    for_each = length(var.lake.kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "UseLakeKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
      resources = var.lake.kms_key_arns
    }
  }

  # Reading what went wrong: the executions' log group and the Batch jobs' (ftm worker's JSON lines).
  statement {
    sid       = "ReadLogs"
    actions   = ["logs:GetLogEvents", "logs:FilterLogEvents"]
    resources = flatten([for arn in local.operator_logs : [arn, "${arn}:*"]])
  }
}

resource "aws_iam_policy" "operator" {
  count = var.create_operator_policy ? 1 : 0

  name        = "${var.name_prefix}-cloud-operator"
  description = "ftm: run, follow and stop executions of ${local.name} (ftm cloud run|status|stop|record); attach to whoever runs ftm cloud"
  policy      = data.aws_iam_policy_document.operator[0].json
  tags        = local.tags
}
