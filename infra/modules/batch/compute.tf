# Where the jobs run: managed Spot compute environments that scale from 0 vCPUs (nothing runs, nothing is paid
# for) to max_vcpus, and the two job queues in front of them.
#
#   GPU environment  Spot g4dn.xlarge / g5.xlarge (1 NVIDIA GPU, 4 vCPUs, 16 GiB), ECS GPU AMI: the map step
#                    (embeddings on CUDA). Only with map_on_gpu = true.
#   CPU environment  Spot c6i / m6i / r6i families: the reduce step, and the map step when map_on_gpu = false.
#
# SPOT_PRICE_CAPACITY_OPTIMIZED picks, among the listed types and the subnets' AZs, the Spot pools least likely
# to be interrupted, and among those the cheapest. An interruption ends the job attempt with status reason
# "Host EC2 (instance i-...) terminated."; the job definitions retry exactly that.

locals {
  compute_environments = merge(
    var.map_on_gpu ? {
      gpu = {
        instance_types = var.gpu_instance_types
        max_vcpus      = var.gpu_max_vcpus
        image_type     = var.gpu_image_type
      }
    } : {},
    {
      cpu = {
        instance_types = var.cpu_instance_types
        max_vcpus      = var.cpu_max_vcpus
        image_type     = var.cpu_image_type
      }
    },
  )
}

# IMDSv2 only, hop limit 1, and a larger, encrypted root volume (the ECS AMIs' 30 GiB is tight for a CUDA image).
# Hop limit 1 keeps the containers (bridge network, one hop further) away from the instance metadata, hence from
# the instance role's credentials; a job's own AWS credentials come from the job role through the ECS agent
# (169.254.170.2), and its region from the job definition's FTM_CATALOG__REGION (recent ECS agents also set
# AWS_REGION in containers).
resource "aws_launch_template" "batch" {
  name_prefix            = "${var.name_prefix}-batch-"
  description            = "ftm: instances of the ${var.name_prefix} Batch compute environments"
  update_default_version = true

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda" # root device of the ECS-optimized Amazon Linux AMIs

    ebs {
      volume_size           = var.root_volume_size_gib
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  # No tags on the template itself (the instances are tagged through compute_resources.tags): moto copies a
  # template's own tags into its launch data, which would make every plan against it show a change.
}

resource "aws_batch_compute_environment" "this" {
  for_each = local.compute_environments

  # A prefix, not a fixed name: most changes replace a compute environment, and create_before_destroy then
  # builds the new one and moves the queue over before the old one goes.
  compute_environment_name_prefix = "${var.name_prefix}-${each.key}-spot-"
  type                            = "MANAGED"
  state                           = "ENABLED"
  service_role                    = aws_iam_role.service.arn

  compute_resources {
    type                = "SPOT"
    allocation_strategy = "SPOT_PRICE_CAPACITY_OPTIMIZED"
    instance_type       = each.value.instance_types
    min_vcpus           = 0
    max_vcpus           = each.value.max_vcpus
    instance_role       = module.instance_role.instance_profile_arn
    subnets             = var.network.subnet_ids
    security_group_ids  = var.network.security_group_ids

    ec2_configuration {
      image_type = each.value.image_type
    }

    launch_template {
      launch_template_id = aws_launch_template.batch.id
      version            = aws_launch_template.batch.latest_version
    }

    tags = merge(local.tags, { Name = "${var.name_prefix}-batch-${each.key}" })
  }

  tags = local.tags

  lifecycle {
    create_before_destroy = true
    # Batch moves desired_vcpus as jobs come and go.
    ignore_changes = [compute_resources[0].desired_vcpus]
  }

  # Batch needs its role's permissions while it deletes the environment (terminates instances).
  depends_on = [aws_iam_role_policy_attachment.service]
}

locals {
  map_compute_environment = var.map_on_gpu ? "gpu" : "cpu"
}

resource "aws_batch_job_queue" "map" {
  name     = "${var.name_prefix}-map"
  state    = "ENABLED"
  priority = 1

  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.this[local.map_compute_environment].arn
  }

  tags = local.tags
}

resource "aws_batch_job_queue" "reduce" {
  name     = "${var.name_prefix}-reduce"
  state    = "ENABLED"
  priority = 1

  compute_environment_order {
    order               = 1
    compute_environment = aws_batch_compute_environment.this["cpu"].arn
  }

  tags = local.tags
}
