# A role that one AWS service assumes, with its one inline policy: the execution, job, task, Lambda and state
# machine roles of modules/batch, modules/ecs_vllm, modules/lambdas and modules/step_functions. With
# source_account, only that account's resources of the service may assume it (confused deputy).

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = [var.service]
    }

    dynamic "condition" {
      for_each = var.source_account == null ? [] : [var.source_account]
      content {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [condition.value]
      }
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  description        = var.description
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy" "this" {
  name   = var.policy_name
  role   = aws_iam_role.this.id
  policy = var.policy
}
