# The vLLM task and the service that keeps llm_tasks of them running during a state machine execution.

resource "aws_cloudwatch_log_group" "vllm" {
  name              = "/ecs/${local.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = local.tags

  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts log data at rest with its own keys; a customer-managed key (log_kms_key_arn) is optional, since it needs a key policy that lets the logs service use it
  #checkov:skip=CKV_AWS_338:vLLM's logs (start-up, requests) are for debugging a run, kept log_retention_days (default 30); the names it produced live in the lake
}

locals {
  # start.sh's settings (containers/vllm/start.sh); the rest keep the image's defaults. The serving limits are the
  # throughput bench's estimates for g5.xlarge (README "LLM naming throughput").
  environment = {
    MODEL_S3_URI           = var.model_s3_uri
    SERVED_MODEL_NAME      = var.served_model_name
    MAX_MODEL_LEN          = tostring(var.max_model_len)
    GPU_MEMORY_UTILIZATION = tostring(var.gpu_memory_utilization)
    MAX_NUM_SEQS           = tostring(var.max_num_seqs)
    MAX_NUM_BATCHED_TOKENS = tostring(var.max_num_batched_tokens)
    ENABLE_CHUNKED_PREFILL = tostring(var.enable_chunked_prefill)
    PORT                   = tostring(var.container_port)
  }

  # The container health check calls vLLM's /health with python3 (vLLM is a Python program, so the image has it;
  # curl is not guaranteed by the image's contract). ECS allows a startPeriod of at most 300 s, less than a cold
  # start may take (image pull aside: the S3 copy, ~15-60 s, the weights to the GPU, ~15-30 s, CUDA graph capture,
  # ~0.5-1.5 min, on a slow day more): failures during startPeriod do not count, and after it `retries` failures
  # 30 s apart (another 5 minutes) mark the container unhealthy. The ALB's view has its own grace period on the
  # service (health_check_grace_period_s).
  health_check = {
    command     = ["CMD", "python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${var.container_port}/health', timeout=8)"]
    interval    = 30
    timeout     = 10
    retries     = 10
    startPeriod = 300
  }

  container = {
    name      = "vllm"
    image     = var.image
    essential = true
    user      = "10001:10001" # the image's vllm user (containers/vllm/Dockerfile), pinned here as well: never root

    portMappings = [{ containerPort = var.container_port, hostPort = var.container_port, protocol = "tcp" }]

    resourceRequirements = [{ type = "GPU", value = "1" }]
    environment          = [for k in sort(keys(local.environment)) : { name = k, value = local.environment[k] }]
    healthCheck          = local.health_check

    # An init process as PID 1 (forwards SIGTERM, reaps children; start.sh execs vLLM). vLLM's processes exchange
    # tensors through /dev/shm, whose Docker default (64 MiB) is too small.
    linuxParameters = {
      initProcessEnabled = true
      sharedMemorySize   = var.shared_memory_mib
    }

    ulimits = [{ name = "nofile", softLimit = 65536, hardLimit = 65536 }]

    # Read-only root file system; vLLM writes only to these volumes: /models (the weights, kept on the instance
    # across tasks so a restart skips the S3 copy), /home/vllm (its compile caches) and /tmp.
    readonlyRootFilesystem = var.readonly_root_filesystem
    mountPoints = [
      { sourceVolume = "models", containerPath = "/models", readOnly = false },
      { sourceVolume = "home", containerPath = "/home/vllm", readOnly = false },
      { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
    ]

    # A Spot interruption gives 2 minutes; vLLM stops within seconds of SIGTERM.
    stopTimeout = 60

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        "awslogs-group"         = aws_cloudwatch_log_group.vllm.name
        "awslogs-region"        = var.region
        "awslogs-stream-prefix" = "vllm"
      }
    }
  }
}

resource "aws_ecs_task_definition" "vllm" {
  family                   = local.name
  requires_compatibilities = ["EC2"]
  # bridge, not awsvpc: an awsvpc task gets an ENI without a public IP, so in the recommended public subnets (no
  # NAT gateway) it could not reach S3 for the model; in bridge mode its traffic leaves through the instance's
  # address, and hop limit 1 still keeps it away from the instance metadata.
  network_mode       = "bridge"
  cpu                = var.task_cpu
  memory             = var.task_memory_mib
  execution_role_arn = module.execution_role.arn
  task_role_arn      = module.task_role.arn

  container_definitions = jsonencode([local.container])

  # Docker volumes: "models" is shared by the instance's tasks and kept after a task stops (the next task on the
  # instance finds the weights; s5cmd sync --size-only skips them); "home" and "tmp" live as long as the task.
  # Docker fills an empty named volume from the image's folder, so they are owned by the image's vllm user.
  volume {
    name = "models"
    docker_volume_configuration {
      scope         = "shared"
      autoprovision = true
      driver        = "local"
    }
  }

  volume {
    name = "home"
    docker_volume_configuration {
      scope  = "task"
      driver = "local"
    }
  }

  volume {
    name = "tmp"
    docker_volume_configuration {
      scope  = "task"
      driver = "local"
    }
  }

  tags = local.tags
}

resource "aws_ecs_service" "vllm" {
  name            = local.name
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.vllm.arn

  # 0 between runs: no task, no GPU instance. The state machine raises it to llm_tasks at the start of an
  # execution and sets it back to 0 at the end (ecs:UpdateService); Terraform never touches it after creation.
  desired_count = 0

  capacity_provider_strategy {
    capacity_provider = aws_ecs_capacity_provider.gpu.name
    weight            = 1
    base              = 0
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = "vllm"
    container_port   = var.container_port
  }

  # The ALB's health checks are ignored this long after a task starts: the model must be copied from S3 and loaded
  # before /health answers (the container's own check has its 300 s startPeriod plus retries).
  health_check_grace_period_seconds = var.health_check_grace_period_s

  # A new task definition (image tag, model) during a run: start the new task before stopping the old one (one
  # more GPU instance for a few minutes), and roll back if new tasks keep failing.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  enable_ecs_managed_tags = true
  propagate_tags          = "SERVICE"
  tags                    = local.tags

  lifecycle {
    ignore_changes = [desired_count]
  }

  # The target group must belong to a load balancer (through the listener) before a service can use it; the
  # capacity provider must be the cluster's before the service's strategy names it.
  depends_on = [aws_lb_listener.http, aws_ecs_cluster_capacity_providers.this]
}
