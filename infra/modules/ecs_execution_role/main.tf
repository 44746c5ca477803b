# The execution role of ECS tasks (ECS on behalf of a task or Batch job), one place for both kinds of task: the
# Batch jobs' (modules/batch) and the vLLM service's (modules/ecs_vllm). ECS pulls the image from its repository,
# writes the task's log stream and, with secret_arns, reads the secrets it hands to the container.

data "aws_iam_policy_document" "this" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"] # account-wide by nature: it has no resource to scope to
    resources = ["*"]
  }

  statement {
    sid       = var.pull_sid
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [var.repository_arn]
  }

  statement {
    sid       = var.logs_sid
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${var.log_group_arn}:*"]
  }

  # ECS reads a secret for the task (`secrets` of its definition) and hands the value to the container: the
  # execution role needs the read, the task's own role does not.
  dynamic "statement" {
    for_each = length(var.secret_arns) > 0 ? [1] : []
    content {
      sid       = var.secrets_sid
      actions   = ["secretsmanager:GetSecretValue"]
      resources = var.secret_arns
    }
  }
}

module "role" {
  source = "../service_role"

  name        = var.name
  description = var.description
  service     = "ecs-tasks.amazonaws.com"
  policy_name = var.policy_name
  policy      = data.aws_iam_policy_document.this.json
  tags        = var.tags
}
