# The four roles of AWS Batch on EC2:
#   service role    Batch itself: starts and stops instances, manages the ECS cluster (AWS's AWSBatchServiceRole).
#   instance role   the ECS agent on each instance: registers it with the cluster (AmazonEC2ContainerServiceforEC2Role;
#                   modules/ecs_instance_role).
#   execution role  ECS on behalf of a job: pulls the image, writes the log stream, reads the LLM key secret.
#   job role        the job's own code (ftm worker): the lake prefix, the Glue database, the lake's KMS key
#                   (modules/lake_access).
# No Spot Fleet role: SPOT_PRICE_CAPACITY_OPTIMIZED (like SPOT_CAPACITY_OPTIMIZED) launches Spot instances through
# EC2 Fleet with Batch's own permissions; spotIamFleetRole is required only for the BEST_FIT strategy (or none given).

data "aws_iam_policy_document" "assume" {
  for_each = {
    service   = "batch.amazonaws.com"
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

# --- ECS container instance role (modules/ecs_instance_role, as the vLLM instances') ----------------------------
module "instance_role" {
  source = "../ecs_instance_role"

  name        = "${var.name_prefix}-batch-instance"
  description = "ftm: ECS agent on the ${var.name_prefix} Batch instances"
  policy_arn  = var.instance_role_policy_arn
  tags        = local.tags
}

# State written before the role moved into the module: moved, not replaced.
moved {
  from = aws_iam_role.instance
  to   = module.instance_role.aws_iam_role.this
}

moved {
  from = aws_iam_role_policy_attachment.instance
  to   = module.instance_role.aws_iam_role_policy_attachment.this
}

moved {
  from = aws_iam_instance_profile.instance
  to   = module.instance_role.aws_iam_instance_profile.this
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
# The lake prefix, the Glue database's tables (read, create, commit, drop: the jobs publish), the lake key: the
# statements modules/lake_access writes for every role on the lake.
module "lake_access" {
  source = "../lake_access"

  region            = var.region
  lake_bucket       = var.lake_bucket
  lake_prefix       = local.lake_prefix
  lake_kms_key_arns = var.lake_kms_key_arns
  glue_database     = var.glue_database
  glue_write        = true
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
  policy = module.lake_access.json
}
