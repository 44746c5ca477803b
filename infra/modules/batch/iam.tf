# The four roles of AWS Batch on EC2:
#   service role    Batch itself: starts and stops instances, manages the ECS cluster (AWS's AWSBatchServiceRole).
#   instance role   the ECS agent on each instance: registers it with the cluster (AmazonEC2ContainerServiceforEC2Role;
#                   modules/ecs_instance_role).
#   execution role  ECS on behalf of a job: pulls the image, writes the log stream, reads the LLM key secret.
#   job role        the job's own code (ftm worker): the lake prefix, the Glue database, the lake's KMS key
#                   (var.lake_policy: modules/lake_access).
# No Spot Fleet role: SPOT_PRICE_CAPACITY_OPTIMIZED (like SPOT_CAPACITY_OPTIMIZED) launches Spot instances through
# EC2 Fleet with Batch's own permissions; spotIamFleetRole is required only for the BEST_FIT strategy (or none given).

data "aws_iam_policy_document" "assume_service" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["batch.amazonaws.com"]
    }
  }
}

# --- Batch service role ----------------------------------------------------------------------------------------
resource "aws_iam_role" "service" {
  name               = "${var.name_prefix}-batch-service"
  description        = "ftm: AWS Batch manages the ${var.name_prefix} compute environments"
  assume_role_policy = data.aws_iam_policy_document.assume_service.json
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

# --- execution role: image pull, logs, the LLM key -------------------------------------------------------------
module "execution_role" {
  source = "../ecs_execution_role"

  name           = "${var.name_prefix}-batch-execution"
  description    = "ftm: ECS pulls the worker image, writes logs and reads the LLM key for ${var.name_prefix} Batch jobs"
  policy_name    = "ftm-batch-execution"
  repository_arn = var.worker_repository_arn
  log_group_arn  = aws_cloudwatch_log_group.jobs.arn
  pull_sid       = "PullWorkerImage"
  logs_sid       = "WriteJobLogs"
  # ECS reads the secret for the job (job definition `secrets`) and hands the value to the container as
  # LLM_API_KEY: the execution role needs the read, the job role does not.
  secret_arns = compact([var.llm_api_key_secret_arn])
  secrets_sid = "ReadLlmApiKey"
  tags        = local.tags
}

# --- job role: what `ftm worker map|reduce` may touch ----------------------------------------------------------
# The lake prefix, the Glue database's tables (read, create, commit, drop: the jobs publish), the lake key: the
# statements modules/lake_access writes for every role on the lake (var.lake_policy, from the root).
module "job_role" {
  source = "../service_role"

  name        = "${var.name_prefix}-batch-job"
  description = "ftm: what ftm worker map/reduce may touch (lake prefix, Glue database ${var.glue_database})"
  service     = "ecs-tasks.amazonaws.com"
  policy_name = "ftm-batch-job"
  policy      = var.lake_policy
  tags        = local.tags
}
