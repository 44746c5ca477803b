# Three roles:
#   instance role   the ECS agent on each GPU instance (AWS's AmazonEC2ContainerServiceforEC2Role; modules/ecs_instance_role)
#   execution role  ECS on behalf of the task: pull the vLLM image, write its log stream
#   task role       vLLM's container (start.sh's s5cmd): read the model's S3 folder, nothing else

# --- ECS container instance role (modules/ecs_instance_role, as the Batch instances') ----------------------------
module "instance_role" {
  source = "../ecs_instance_role"

  name        = "${local.name}-instance"
  description = "ftm: ECS agent on the ${local.name} GPU instances"
  policy_arn  = var.instance_role_policy_arn
  tags        = local.tags
}

# --- execution role: image pull, logs --------------------------------------------------------------------------
module "execution_role" {
  source = "../ecs_execution_role"

  name           = "${local.name}-execution"
  description    = "ftm: ECS pulls the vLLM image and writes its logs"
  policy_name    = "ftm-vllm-execution"
  repository_arn = var.repository_arn
  log_group_arn  = aws_cloudwatch_log_group.vllm.arn
  pull_sid       = "PullVllmImage"
  tags           = local.tags
}

# --- task role: read the model ---------------------------------------------------------------------------------
data "aws_iam_policy_document" "task" {
  # s5cmd sync lists the folder, then reads each object.
  statement {
    sid       = "ListModelFolder"
    actions   = ["s3:ListBucket"]
    resources = ["arn:${local.partition}:s3:::${local.model_bucket}"]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = local.model_prefix == "" ? ["*"] : [local.model_prefix, "${local.model_prefix}/*"]
    }
  }

  statement {
    sid       = "ModelBucketLocation"
    actions   = ["s3:GetBucketLocation"]
    resources = ["arn:${local.partition}:s3:::${local.model_bucket}"]
  }

  statement {
    sid       = "ReadModel"
    actions   = ["s3:GetObject"]
    resources = ["arn:${local.partition}:s3:::${join("/", compact([local.model_bucket, local.model_prefix, "*"]))}"]
  }

  dynamic "statement" {
    for_each = length(var.model_kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "DecryptModel"
      actions   = ["kms:Decrypt", "kms:DescribeKey"]
      resources = var.model_kms_key_arns
    }
  }
}

module "task_role" {
  source = "../service_role"

  name        = "${local.name}-task"
  description = "ftm: the vLLM container reads the model from ${var.model_s3_uri}"
  service     = "ecs-tasks.amazonaws.com"
  policy_name = "ftm-vllm-task"
  policy      = data.aws_iam_policy_document.task.json
  tags        = local.tags
}
