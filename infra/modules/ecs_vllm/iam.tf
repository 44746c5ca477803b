# Three roles:
#   instance role   the ECS agent on each GPU instance (AWS's AmazonEC2ContainerServiceforEC2Role; modules/ecs_instance_role)
#   execution role  ECS on behalf of the task: pull the vLLM image, write its log stream
#   task role       vLLM's container (start.sh's s5cmd): read the model's S3 folder, nothing else

data "aws_iam_policy_document" "assume" {
  for_each = {
    ecs = "ecs-tasks.amazonaws.com"
  }

  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = [each.value]
    }
  }
}

# --- ECS container instance role (modules/ecs_instance_role, as the Batch instances') ----------------------------
module "instance_role" {
  source = "../ecs_instance_role"

  name        = "${local.name}-instance"
  description = "ftm: ECS agent on the ${local.name} GPU instances"
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

# --- execution role: image pull, logs --------------------------------------------------------------------------
data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"] # account-wide by nature: it has no resource to scope to
    resources = ["*"]
  }

  statement {
    sid       = "PullVllmImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [var.repository_arn]
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.vllm.arn}:*"]
  }
}

resource "aws_iam_role" "execution" {
  name               = "${local.name}-execution"
  description        = "ftm: ECS pulls the vLLM image and writes its logs"
  assume_role_policy = data.aws_iam_policy_document.assume["ecs"].json
  tags               = local.tags
}

resource "aws_iam_role_policy" "execution" {
  name   = "ftm-vllm-execution"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
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

resource "aws_iam_role" "task" {
  name               = "${local.name}-task"
  description        = "ftm: the vLLM container reads the model from ${var.model_s3_uri}"
  assume_role_policy = data.aws_iam_policy_document.assume["ecs"].json
  tags               = local.tags
}

resource "aws_iam_role_policy" "task" {
  name   = "ftm-vllm-task"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}
