# The state machine's five Lambda functions (infra/state_machines/multi_quarter.asl.json), one container image:
# the worker image's `lambda` build target (containers/worker/Dockerfile), pushed as <worker_image_tag>-lambda.
# An image, not a zip: the handlers import ftm with pyarrow and pyiceberg, far past Lambda's 250 MB zip limit.
#
#   function            handler (ftm/cloud/lambdas.py)                  network          role
#   generate_quarters   ftm.cloud.lambdas.generate_quarters_handler     outside the VPC  lake
#   check_prefetch      ftm.cloud.lambdas.check_prefetch_handler        outside the VPC  lake
#   partition_firms     ftm.cloud.lambdas.partition_firms_handler       outside the VPC  lake
#   llm_health          ftm.cloud.lambdas.llm_health_handler            in the VPC       health
#   record_quarter      ftm.cloud.lambdas.record_quarter_handler        outside the VPC  lake
#
# Outside the VPC the functions reach S3 and Glue directly (in the VPC they would need a NAT gateway or endpoints).
# llm_health must reach the internal load balancer, so it runs in the VPC with a security group whose only egress
# is the load balancer, and a role without any lake access.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  tags = merge({ "ftm:component" = "lambdas" }, var.tags)

  # The handlers' names are the contract with ftm/cloud/lambdas.py (tests/test_infra_contract.py checks them).
  handlers = {
    generate_quarters = "ftm.cloud.lambdas.generate_quarters_handler"
    check_prefetch    = "ftm.cloud.lambdas.check_prefetch_handler"
    partition_firms   = "ftm.cloud.lambdas.partition_firms_handler"
    llm_health        = "ftm.cloud.lambdas.llm_health_handler"
    record_quarter    = "ftm.cloud.lambdas.record_quarter_handler"
  }

  # Size and limits per function. partition_firms plans a quarter (reads its transcripts, writes the run's
  # manifest and settings to the lake): Lambda's longest timeout, and memory (CPU grows with it) for pyarrow. The
  # others read or write a few small objects, but every one imports pyarrow: 1024 MB at least. Reserved concurrency
  # (var.reserved_concurrency) caps each function: an execution runs at most max_concurrency quarters, several
  # executions may overlap, and a runaway loop cannot take the account's whole Lambda concurrency.
  functions = {
    generate_quarters = { timeout = 120, memory = 1024, ephemeral = 512, vpc = false }
    check_prefetch    = { timeout = 300, memory = 2048, ephemeral = 512, vpc = false }
    partition_firms   = { timeout = 900, memory = var.partition_memory_mb, ephemeral = 4096, vpc = false }
    llm_health        = { timeout = 30, memory = 1024, ephemeral = 512, vpc = true }
    record_quarter    = { timeout = 120, memory = 1024, ephemeral = 512, vpc = false }
  }

  # ftm's configuration, from the environment (ftm/config.py: FTM_<SECTION>__<FIELD>): the deployment's settings
  # (var.ftm_env: the lake and its Glue catalog, the Batch queues and job definitions, the vLLM service), the
  # prefetched transcripts as source, the Batch executor, the defaults of an execution (cloud.*), which its input
  # may override, and the jobs' shared settings last (so that a quarter is planned with the settings its jobs run
  # with).
  environment = merge(
    var.ftm_env,
    {
      FTM_SOURCE                   = var.source_name
      FTM_EXECUTOR__KIND           = "batch"
      FTM_CLOUD__MAX_CONCURRENCY   = tostring(var.max_concurrency)
      FTM_CLOUD__LLM_TASKS         = tostring(var.llm_tasks)
      FTM_CLOUD__LLM_MAX_TASKS     = tostring(var.llm_max_tasks)
      FTM_CLOUD__LLM_BASE_URL      = var.llm_base_url
      FTM_CLOUD__LLM_HEALTH_URL    = var.llm_health_url
      FTM_CLOUD__HEALTH_WAIT_S     = tostring(var.health_wait_s)
      FTM_CLOUD__HEALTH_MAX_CHECKS = tostring(var.health_max_checks)
      # Nothing downloads models at run time here; a try fails at once instead of hanging.
      HF_HUB_OFFLINE = "1"
    },
    var.job_environment,
  )
}
