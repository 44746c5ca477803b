# The multi-quarter state machine (STANDARD): infra/state_machines/multi_quarter.asl.json, rendered with the ARNs
# and names of the Lambda functions, the vLLM service and the Batch queues and job definitions. Its role may invoke
# those five functions, submit to those two queues with those two job definitions (and watch and stop the jobs it
# submitted), and set the desired count of that one ECS service — nothing else. Every execution is logged (level
# ALL, with its data) to a log group of its own and traced with X-Ray. operator.tf: the IAM policy for whoever runs
# `ftm cloud` (created, not attached).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  name       = "${var.name_prefix}-multi-quarter"

  # Built from the name in AWS's ARN format (outputs.tf says why).
  state_machine_arn = "arn:${local.partition}:states:${var.region}:${local.account_id}:stateMachine:${local.name}"

  # Any Batch job of this account and region: job ids are not known in advance (the state machine's role tags and
  # stops the jobs it submits, the operator stops an execution's jobs).
  batch_jobs_arn = "arn:${local.partition}:batch:${var.region}:${local.account_id}:job/*"

  tags = merge({ "ftm:component" = "step-functions" }, var.tags)

  # The ASL's template variables, exactly (tests/test_infra_contract.py compares them with the file's ${...}).
  definition_vars = {
    generate_quarters     = var.lambda_arns.generate_quarters
    check_prefetch        = var.lambda_arns.check_prefetch
    partition_firms       = var.lambda_arns.partition_firms
    llm_health            = var.lambda_arns.llm_health
    record_quarter        = var.lambda_arns.record_quarter
    ecs_cluster           = var.ecs_cluster_arn
    ecs_service           = var.ecs_service_name
    map_job_queue         = var.map_job_queue_arn
    reduce_job_queue      = var.reduce_job_queue_arn
    map_job_definition    = var.map_job_definition_arn
    reduce_job_definition = var.reduce_job_definition_arn
  }

  # The file is shared with whoever writes the states; this module only fills in the names.
  definition = templatefile("${path.module}/../../state_machines/multi_quarter.asl.json", local.definition_vars)

  # A job definition ARN without its revision: the role may submit any revision of the two definitions.
  job_definition_names = [for arn in [var.map_job_definition_arn, var.reduce_job_definition_arn] : replace(arn, "/:[0-9]+$/", "")]
}

resource "aws_cloudwatch_log_group" "this" {
  # /aws/vendedlogs/: AWS's recommended prefix for logs delivered by a service, which keeps the CloudWatch Logs
  # resource policy Step Functions writes short.
  name              = "/aws/vendedlogs/states/${local.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = local.tags

  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts log data at rest with its own keys; a customer-managed key (log_kms_key_arn) is optional, since it needs a key policy that lets the logs service use it
  #checkov:skip=CKV_AWS_338:execution logs are for following and debugging executions, kept log_retention_days (default 30); each quarter's record lives in the lake
}

resource "aws_sfn_state_machine" "this" {
  name       = local.name
  type       = "STANDARD" # hours-long executions that wait on Batch jobs (.sync): EXPRESS allows 5 minutes
  role_arn   = module.role.arn
  definition = local.definition

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.this.arn}:*"
    include_execution_data = true # inputs and outputs: quarters, run ids, job ids, errors; no secrets
    level                  = "ALL"
  }

  tracing_configuration {
    enabled = true
  }

  tags = local.tags

  # Step Functions checks at creation that the role may deliver the logs.
  depends_on = [module.role]
}
