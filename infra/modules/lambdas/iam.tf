# Two roles, least privilege:
#   lake    generate_quarters, check_prefetch, partition_firms, record_quarter: read and write the lake prefix
#           (plans, checkpoints, staged run files, records), read the Glue database's tables, the lake key; no Glue
#           writes (the Batch reduce job publishes), no Batch or ECS calls (the state machine makes those)
#   health  llm_health: its logs and its network interfaces in the VPC; nothing of the lake

locals {
  log_group_arns = { for k, g in aws_cloudwatch_log_group.this : k => "${g.arn}:*" }
}

# --- lake role -------------------------------------------------------------------------------------------------
# The lake prefix (plans, checkpoints, staged run files, records), the Glue database's tables read only (the reduce
# job publishes), the lake key: the statements modules/lake_access writes for every role on the lake (var.lake_policy).
data "aws_iam_policy_document" "lake" {
  # Its log groups and traces first, then the lake's statements.
  source_policy_documents = [data.aws_iam_policy_document.logs["lake"].json, var.lake_policy]
}

# Each role's log groups (the health role: llm_health's; the lake role: the others') and traces.
data "aws_iam_policy_document" "logs" {
  for_each = {
    lake   = [for k, arn in local.log_group_arns : arn if k != "llm_health"]
    health = [local.log_group_arns["llm_health"]]
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = each.value
  }

  # Active tracing: Lambda sends the functions' trace segments with the function's role. X-Ray's write actions have
  # no resource to scope to.
  statement {
    sid       = "XRay"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

# --- health role -----------------------------------------------------------------------------------------------
data "aws_iam_policy_document" "health" {
  # Its log group and traces first, then its network interfaces.
  source_policy_documents = [data.aws_iam_policy_document.logs["health"].json]

  # What AWS's AWSLambdaVPCAccessExecutionRole grants: Lambda creates, describes and deletes the function's network
  # interfaces with the function's role. Creating and deleting them is limited to this account and region; the
  # Describe calls have no resource to scope to.
  statement {
    sid       = "DescribeNetwork"
    actions   = ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"]
    resources = ["*"]
  }

  statement {
    sid = "ManageFunctionEnis"
    actions = [
      "ec2:CreateNetworkInterface",
      "ec2:DeleteNetworkInterface",
      "ec2:AssignPrivateIpAddresses",
      "ec2:UnassignPrivateIpAddresses",
    ]
    resources = [
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:network-interface/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:subnet/*",
      "arn:${local.partition}:ec2:${var.region}:${local.account_id}:security-group/*",
    ]
  }
}

# --- the roles -------------------------------------------------------------------------------------------------
# Only this account's functions may assume them (confused deputy).
module "role" {
  source = "../service_role"

  for_each = {
    lake   = { description = "ftm: the state machine's Lambda functions that read and write the lake", policy = data.aws_iam_policy_document.lake.json }
    health = { description = "ftm: the llm_health Lambda function (logs, its network interfaces; no lake access)", policy = data.aws_iam_policy_document.health.json }
  }

  name           = "${var.name_prefix}-lambda-${each.key}"
  description    = each.value.description
  service        = "lambda.amazonaws.com"
  source_account = local.account_id
  policy_name    = "ftm-lambda-${each.key}"
  policy         = each.value.policy
  tags           = local.tags
}
