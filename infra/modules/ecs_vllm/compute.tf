# The GPU capacity of the cluster: an Auto Scaling group of g5.xlarge (1 NVIDIA A10G, 24 GB: Qwen3-8B in bf16 needs
# ~16.4 GB, more than a T4 has), 80% Spot / 20% On-Demand, scaled by ECS through a capacity provider from 0 to
# max_instances. One vLLM task takes the instance's one GPU, so instances = running tasks.

# The current ECS-optimised Amazon Linux 2023 GPU AMI (NVIDIA driver, container toolkit, ECS agent), from AWS's
# public SSM parameter; ami_id pins one instead. A new AMI in the parameter changes the launch template on the next
# apply; running instances keep theirs, new ones (the next scale-out) get it.
data "aws_ssm_parameter" "gpu_ami" {
  count = var.ami_id == null ? 1 : 0
  name  = var.ami_ssm_parameter
}

locals {
  ami_id = var.ami_id != null ? var.ami_id : nonsensitive(data.aws_ssm_parameter.gpu_ami[0].value)

  # /etc/ecs/ecs.config of each instance:
  #   ECS_ENABLE_GPU_SUPPORT             the agent registers the GPU, so a task can reserve it
  #   ECS_ENABLE_SPOT_INSTANCE_DRAINING  on a Spot interruption notice (2 minutes) the instance is set DRAINING: the
  #                                      service starts a replacement elsewhere and the ALB stops sending requests
  #   ECS_IMAGE_PULL_BEHAVIOR            prefer-cached: a task restarted on the same instance skips the ~13 GB pull
  #                                      (ECR tags are immutable, so a cached tag is the right image)
  user_data = <<-EOT
    #!/bin/bash
    cat >> /etc/ecs/ecs.config <<'CONFIG'
    ECS_CLUSTER=${local.name}
    ECS_ENABLE_GPU_SUPPORT=true
    ECS_ENABLE_SPOT_INSTANCE_DRAINING=true
    ECS_IMAGE_PULL_BEHAVIOR=prefer-cached
    CONFIG
  EOT
}

# IMDSv2 only, hop limit 1: the vLLM container (bridge network, one hop further) cannot reach the instance
# metadata, hence not the instance role's credentials; its own come from the task role through the ECS agent.
# The root volume holds the vLLM image (~29 GB unpacked, plus the compressed layers while pulling) and the model
# copied from S3 (16.4 GB, Docker volume "models"): root_volume_size_gib (default 150) leaves room for a second
# image during an update. gp3, encrypted, deleted with the instance.
resource "aws_launch_template" "gpu" {
  name_prefix            = "${local.name}-"
  description            = "ftm: GPU instances of the ${local.name} ECS cluster"
  image_id               = local.ami_id
  update_default_version = true
  user_data              = base64encode(local.user_data)
  vpc_security_group_ids = [aws_security_group.instances.id]

  iam_instance_profile {
    arn = module.instance_role.instance_profile_arn
  }

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  monitoring {
    enabled = true
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

  tag_specifications {
    resource_type = "instance"
    tags          = merge(local.tags, { Name = local.name })
  }

  tag_specifications {
    resource_type = "volume"
    tags          = merge(local.tags, { Name = local.name })
  }

  # No tags on the template itself: moto copies a template's own tags into its launch data (a perpetual plan diff
  # in the tests); the instances and volumes are tagged through tag_specifications.
}

resource "aws_autoscaling_group" "gpu" {
  name_prefix         = "${local.name}-"
  min_size            = 0
  max_size            = var.max_instances
  vpc_zone_identifier = var.network.subnet_ids
  health_check_type   = "EC2"

  # ECS's managed termination protection only terminates instances that run no task: the group must protect new
  # instances from scale-in, and ECS lifts the protection of an idle one.
  protect_from_scale_in = true

  # Replace a Spot instance AWS flags as at elevated risk of interruption before it is interrupted.
  capacity_rebalance = true

  mixed_instances_policy {
    instances_distribution {
      on_demand_base_capacity                  = var.on_demand_base_capacity
      on_demand_percentage_above_base_capacity = var.on_demand_percentage_above_base_capacity
      on_demand_allocation_strategy            = "prioritized"              # instance_types in the order given
      spot_allocation_strategy                 = "price-capacity-optimized" # pools least likely to be interrupted, cheapest among those
    }

    launch_template {
      launch_template_specification {
        launch_template_id = aws_launch_template.gpu.id
        version            = aws_launch_template.gpu.latest_version
      }

      dynamic "override" {
        for_each = var.instance_types
        content {
          instance_type = override.value
        }
      }
    }
  }

  # ECS requires this tag on groups behind a capacity provider with managed scaling.
  tag {
    key                 = "AmazonECSManaged"
    value               = "true"
    propagate_at_launch = true
  }

  dynamic "tag" {
    for_each = local.tags
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  lifecycle {
    # The capacity provider's managed scaling moves the desired capacity.
    ignore_changes = [desired_capacity]
  }
}

resource "aws_ecs_capacity_provider" "gpu" {
  name = "${local.name}-gpu"

  auto_scaling_group_provider {
    auto_scaling_group_arn = aws_autoscaling_group.gpu.arn

    # ECS never terminates an instance that still runs a vLLM task on scale-in, and drains an instance (moves its
    # tasks) before the group terminates it.
    managed_termination_protection = "ENABLED"
    managed_draining               = "ENABLED"

    # target_capacity 100: no idle spare instance; the group is sized to exactly the tasks that need placing (0 when
    # the service is at 0). Steps of up to max_instances so that llm_tasks instances start at once.
    managed_scaling {
      status                    = "ENABLED"
      target_capacity           = 100
      minimum_scaling_step_size = 1
      maximum_scaling_step_size = var.max_instances
      instance_warmup_period    = 300
    }
  }

  tags = local.tags
}
