# The four roles of AWS Batch on EC2:
#   service role    Batch itself: starts and stops instances, manages the ECS cluster (AWS's AWSBatchServiceRole).
#   instance role   the ECS agent on each instance: registers it with the cluster (AmazonEC2ContainerServiceforEC2Role).
#   execution role  ECS on behalf of a job: pulls the image, writes the log stream, reads the LLM key secret.
#   job role        the job's own code (ftm worker): the lake prefix, the Glue database, the lake's KMS key.
# No Spot Fleet role: SPOT_PRICE_CAPACITY_OPTIMIZED (like SPOT_CAPACITY_OPTIMIZED) launches Spot instances through
# EC2 Fleet with Batch's own permissions; spotIamFleetRole is required only for the BEST_FIT strategy (or none given).

data "aws_iam_policy_document" "assume" {
  for_each = {
    service   = "batch.amazonaws.com"
    instance  = "ec2.amazonaws.com"
    execution = "ecs-tasks.amazonaws.com"
    job       = "ecs-tasks.amazonaws.com"
  }

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = [each.value]
    }
  }
}

# --- Batch service role ----------------------------------------------------------------------------------------
resource "aws_iam_role" "service" {
  name               = "${var.name_prefix}-batch-service"
  description        = "ftm: AWS Batch manages the ${var.name_prefix} compute environments"
  assume_role_policy = data.aws_iam_policy_document.assume["service"].json
  tags               = local.tags
}

resource "aws_iam_role_policy_attachment" "service" {
  role       = aws_iam_role.service.name
  policy_arn = coalesce(var.service_role_policy_arn, "arn:${local.partition}:iam::aws:policy/service-role/AWSBatchServiceRole")
}

# --- ECS container instance role -------------------------------------------------------------------------------
resource "aws_iam_role" "instance" {
  name               = "${var.name_prefix}-batch-instance"
  description        = "ftm: ECS agent on the ${var.name_prefix} Batch instances"
  assume_role_policy = data.aws_iam_policy_document.assume["instance"].json
  tags               = local.tags
}

resource "aws_iam_role_policy_attachment" "instance" {
  role       = aws_iam_role.instance.name
  policy_arn = coalesce(var.instance_role_policy_arn, "arn:${local.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role")
}

resource "aws_iam_instance_profile" "instance" {
  name = "${var.name_prefix}-batch-instance"
  role = aws_iam_role.instance.name
  tags = local.tags
}

# --- execution role: image pull, logs, the LLM key -------------------------------------------------------------
data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"] # account-wide by nature: it has no resource to scope to
    resources = ["*"]
  }

  statement {
    sid       = "PullWorkerImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [var.worker_repository_arn]
  }

  statement {
    sid       = "WriteJobLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.jobs.arn}:*"]
  }

  # ECS reads the secret for the job (job definition `secrets`) and hands the value to the container as
  # LLM_API_KEY: the execution role needs the read, the job role does not.
  dynamic "statement" {
    for_each = var.llm_api_key_secret_arn == null ? [] : [1]
    content {
      sid       = "ReadLlmApiKey"
      actions   = ["secretsmanager:GetSecretValue"]
      resources = [var.llm_api_key_secret_arn]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name_prefix}-batch-execution"
  description        = "ftm: ECS pulls the worker image, writes logs and reads the LLM key for ${var.name_prefix} Batch jobs"
  assume_role_policy = data.aws_iam_policy_document.assume["execution"].json
  tags               = local.tags
}

resource "aws_iam_role_policy" "execution" {
  name   = "ftm-batch-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# --- job role: what `ftm worker map|reduce` may touch ----------------------------------------------------------
data "aws_iam_policy_document" "job" {
  # List only under the lake prefix (pyiceberg/pyarrow list a table's folders; ftm lists _staging/).
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

  # The Iceberg catalog: read the database, create/commit/drop the tables in it. No CreateDatabase: Terraform
  # creates the database and ftm only creates a namespace that is missing.
  statement {
    sid = "GlueLakeTables"
    actions = [
      "glue:GetDatabase",
      "glue:GetTable",
      "glue:GetTables",
      "glue:CreateTable",
      "glue:UpdateTable",
      "glue:DeleteTable",
    ]
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

resource "aws_iam_role" "job" {
  name               = "${var.name_prefix}-batch-job"
  description        = "ftm: what ftm worker map/reduce may touch (lake prefix, Glue database ${var.glue_database})"
  assume_role_policy = data.aws_iam_policy_document.assume["job"].json
  tags               = local.tags
}

resource "aws_iam_role_policy" "job" {
  name   = "ftm-batch-job"
  role   = aws_iam_role.job.id
  policy = data.aws_iam_policy_document.job.json
}
