# The job definitions `<name_prefix>-map` and `<name_prefix>-reduce`: the contract with ftm's Python side.
#
#   command      ftm worker map|reduce --lake Ref::lake --quarter Ref::quarter --run-id Ref::run_id
#                (`lake` defaults to the warehouse URI here; ftm's submitter passes quarter and run_id)
#   environment  ftm config fields only (FTM_<SECTION>__<FIELD>, or the LLM_* aliases ftm accepts); the image
#                sets everything else (HF_HUB_OFFLINE, ...)
#   image        <ecr worker repository>:<tag> (var.image)
#
# The command and the environments are plain locals so that tests/test_infra_contract.py can read them with
# python-hcl2 and check them against ftm (its CLI and its config) without running Terraform.

locals {
  map_command    = ["ftm", "worker", "map", "--lake", "Ref::lake", "--quarter", "Ref::quarter", "--run-id", "Ref::run_id"]
  reduce_command = ["ftm", "worker", "reduce", "--lake", "Ref::lake", "--quarter", "Ref::quarter", "--run-id", "Ref::run_id"]

  # Defaults of the Ref:: placeholders; submit_job's parameters override them (quarter and run_id always).
  job_parameters = {
    lake = var.lake_uri
  }

  map_environment = {
    FTM_CATALOG__KIND      = "glue"
    FTM_CATALOG__NAMESPACE = var.glue_database
    FTM_CATALOG__REGION    = var.region
    FTM_EMBED__DEVICE      = var.map_on_gpu ? "cuda" : "cpu"
    FTM_EXECUTOR__WORKERS  = "1"
  }

  reduce_environment = {
    FTM_CATALOG__KIND      = "glue"
    FTM_CATALOG__NAMESPACE = var.glue_database
    FTM_CATALOG__REGION    = var.region
    FTM_EMBED__DEVICE      = "cpu"
    FTM_EXECUTOR__WORKERS  = "1"
  }

  # Set only when given (null: left out).
  optional_environment = {
    LLM_BASE_URL = var.llm_base_url
    LLM_MODEL    = var.llm_model
  }

  shared_environment = merge({ for k, v in local.optional_environment : k => v if v != null }, var.extra_environment)

  log_configuration = {
    logDriver = "awslogs"
    options = {
      "awslogs-group"         = aws_cloudwatch_log_group.jobs.name
      "awslogs-region"        = var.region
      "awslogs-stream-prefix" = "ftm"
    }
  }

  # LLM_API_KEY from Secrets Manager, read by ECS (execution role) at container start; nothing when no secret.
  secrets = { for k, v in { secrets = [{ name = "LLM_API_KEY", valueFrom = var.llm_api_key_secret_arn }] } : k => v if var.llm_api_key_secret_arn != null }

  map_resources = concat(
    [{ type = "VCPU", value = tostring(var.map_vcpus) }, { type = "MEMORY", value = tostring(var.map_memory_mib) }],
    var.map_on_gpu ? [{ type = "GPU", value = tostring(var.map_gpus) }] : [],
  )
  reduce_resources = [{ type = "VCPU", value = tostring(var.reduce_vcpus) }, { type = "MEMORY", value = tostring(var.reduce_memory_mib) }]

  # Per step: its command, resources and environment (its own settings, then the shared ones).
  steps = {
    map    = { command = local.map_command, resources = local.map_resources, environment = merge(local.map_environment, local.shared_environment) }
    reduce = { command = local.reduce_command, resources = local.reduce_resources, environment = merge(local.reduce_environment, local.shared_environment) }
  }

  container_properties = { for step, s in local.steps : step => merge({
    image                = var.image
    command              = s.command
    jobRoleArn           = module.job_role.arn
    executionRoleArn     = module.execution_role.arn
    resourceRequirements = s.resources
    environment          = [for k in sort(keys(s.environment)) : { name = k, value = s.environment[k] }]
    logConfiguration     = local.log_configuration
  }, local.secrets) }

  timeouts = {
    map    = var.map_timeout_seconds
    reduce = var.reduce_timeout_seconds
  }
}

resource "aws_cloudwatch_log_group" "jobs" {
  name              = "/aws/batch/${var.name_prefix}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = local.tags

  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts log data at rest with its own keys; a customer-managed key (log_kms_key_arn) is optional, since it needs a key policy that lets the logs service use it
  #checkov:skip=CKV_AWS_338:job logs are for debugging failed runs, kept log_retention_days (default 30); a run's results and lineage live in the lake, not in the logs
}

resource "aws_batch_job_definition" "this" {
  for_each = local.container_properties

  name                  = "${var.name_prefix}-${each.key}"
  type                  = "container"
  platform_capabilities = ["EC2"]
  parameters            = local.job_parameters
  container_properties  = jsonencode(each.value)
  propagate_tags        = true

  # Retry a Spot reclaim (or any host termination), never a failure of ftm itself: a bug or bad input fails the
  # same way again, and ftm's own checkpoints make a retried attempt resume, not redo.
  retry_strategy {
    attempts = var.retry_attempts

    evaluate_on_exit {
      on_status_reason = "Host EC2*"
      action           = "RETRY"
    }

    evaluate_on_exit {
      on_reason = "*"
      action    = "EXIT"
    }
  }

  timeout {
    attempt_duration_seconds = local.timeouts[each.key]
  }

  tags = local.tags
}
