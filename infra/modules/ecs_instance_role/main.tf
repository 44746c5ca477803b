# The role of an ECS container instance (the ECS agent on an EC2 instance registers it with its cluster), one place
# for both kinds of instance: the Batch compute environments' (modules/batch) and the vLLM GPU instances'
# (modules/ecs_vllm). AWS's managed AmazonEC2ContainerServiceforEC2Role, or a stricter copy (policy_arn), and the
# instance profile the launch template or compute environment names. Containers cannot use it: the launch
# templates keep them away from the instance metadata (IMDSv2, hop limit 1).

data "aws_partition" "current" {}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  name               = var.name
  description        = var.description
  assume_role_policy = data.aws_iam_policy_document.assume.json
  tags               = var.tags
}

resource "aws_iam_role_policy_attachment" "this" {
  role       = aws_iam_role.this.name
  policy_arn = coalesce(var.policy_arn, "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role")
}

resource "aws_iam_instance_profile" "this" {
  name = var.name
  role = aws_iam_role.this.name
  tags = var.tags
}
