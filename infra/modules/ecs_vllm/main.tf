# vLLM (Qwen3-8B, containers/vllm) as an ECS service on GPU instances, behind an internal Application Load Balancer:
# the OpenAI-compatible endpoint the reduce jobs name themes with.
#
#   cluster      ECS cluster with Container Insights; its only capacity is the capacity provider below (the
#                network it runs in is checked by the root's modules/network)
#   compute.tf   launch template (ECS GPU AMI, IMDSv2, encrypted root volume), Auto Scaling group (g5.xlarge,
#                80% Spot / 20% On-Demand), capacity provider with managed scaling and draining
#   network.tf   security groups (clients -> ALB -> instances, nothing else), the internal ALB, target group, listener
#   service.tf   task definition (1 GPU, /health check, model from S3), the service, its log group
#   iam.tf       instance role, execution role (image pull, logs), task role (read the model from S3)
#
# The service is created with desired_count = 0 and never changed by Terraform afterwards: the state machine
# (infra/modules/step_functions) owns desiredCount — it sets it to the execution's llm_tasks before the first
# quarter and back to 0 after the last, on every path. Nothing runs (and no GPU instance is paid for) between runs.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  name       = "${var.name_prefix}-vllm"

  tags = merge({ "ftm:component" = "vllm" }, var.tags)

  # The model's S3 folder, split for the task role's policy: s3://bucket/some/prefix/ -> bucket, some/prefix.
  model_location = regex("^s3://([^/]+)/?(.*)$", var.model_s3_uri)
  model_bucket   = local.model_location[0]
  model_prefix   = trim(local.model_location[1], "/")
}

resource "aws_ecs_cluster" "this" {
  name = local.name

  # Per-task GPU, CPU, memory and network metrics in CloudWatch (the load a run puts on vLLM).
  setting {
    name  = "containerInsights"
    value = "enabled"
  }

  tags = local.tags
}

# The cluster's only capacity: tasks without a strategy of their own land on the GPU Auto Scaling group.
resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = [aws_ecs_capacity_provider.gpu.name]

  default_capacity_provider_strategy {
    capacity_provider = aws_ecs_capacity_provider.gpu.name
    weight            = 1
    base              = 0
  }
}
