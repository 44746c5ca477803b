# Two roles, least privilege:
#   lake    generate_quarters, check_prefetch, partition_firms, record_quarter: read and write the lake prefix
#           (plans, checkpoints, staged run files, records), read the Glue database's tables, the lake key; no Glue
#           writes (the Batch reduce job publishes), no Batch or ECS calls (the state machine makes those)
#   health  llm_health: its logs and its network interfaces in the VPC; nothing of the lake

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

locals {
  log_group_arns = { for k, g in aws_cloudwatch_log_group.this : k => "${g.arn}:*" }
}

# --- lake role -------------------------------------------------------------------------------------------------
data "aws_iam_policy_document" "lake" {
  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [for k, arn in local.log_group_arns : arn if k != "llm_health"]
  }

  # Active tracing: Lambda sends the functions' trace segments with the function's role. X-Ray's write actions have
  # no resource to scope to.
  statement {
    sid       = "XRay"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

  statement {
    sid       = "ListLakePrefix"
    actions   = ["s3:ListBucket"]
    resources = [local.lake_bucket_arn]

    dynamic "condition" {
      for_each = local.lake_prefix == "" ? [] : [1]
      content {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = [local.lake_prefix, "${local.lake_prefix}/*"]
      }
    }
  }

  statement {
    sid       = "LakeBucketLocation"
    actions   = ["s3:GetBucketLocation"]
    resources = [local.lake_bucket_arn]
  }

  statement {
    sid = "ReadWriteLake"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = [local.lake_objects_arn]
  }

  # Read the Iceberg catalog (the prefetched transcripts, the published runs); publishing is the reduce job's.
  statement {
    sid     = "GlueReadLakeTables"
    actions = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables"]
    resources = [
      "arn:${local.partition}:glue:${var.region}:${local.account_id}:catalog",
      "arn:${local.partition}:glue:${var.region}:${local.account_id}:database/${var.glue_database}",
      "arn:${local.partition}:glue:${var.region}:${local.account_id}:table/${var.glue_database}/*",
    ]
  }

  dynamic "statement" {
    for_each = length(var.lake_kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "UseLakeKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
      resources = var.lake_kms_key_arns
    }
  }
}

resource "aws_iam_role" "lake" {
  name               = "${var.name_prefix}-lambda-lake"
  description        = "ftm: the state machine's Lambda functions that read and write the lake"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "lake" {
  name   = "ftm-lambda-lake"
  role   = aws_iam_role.lake.id
  policy = data.aws_iam_policy_document.lake.json
}

# --- health role -----------------------------------------------------------------------------------------------
data "aws_iam_policy_document" "health" {
  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [local.log_group_arns["llm_health"]]
  }

  statement {
    sid       = "XRay"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }

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

resource "aws_iam_role" "health" {
  name               = "${var.name_prefix}-lambda-health"
  description        = "ftm: the llm_health Lambda function (logs, its network interfaces; no lake access)"
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "health" {
  name   = "ftm-lambda-health"
  role   = aws_iam_role.health.id
  policy = data.aws_iam_policy_document.health.json
}
