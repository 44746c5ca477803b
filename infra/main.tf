# ftm on AWS, one module per part:
#   network  checks the VPC, subnets and security groups given (creates nothing)
#   storage  the lake bucket (versioned, encrypted, TLS only, staging expiry)
#   athena   Glue database, Athena workgroup, results bucket: how the lake is read
#   ecr      the worker and vLLM image repositories
#   batch           Spot compute environments, job queues and job definitions of the map and reduce steps
#   ecs_vllm        vLLM (Qwen3-8B) on ECS GPU instances behind an internal load balancer: the jobs' LLM endpoint
#   lambdas         the state machine's five Lambda functions (the worker image's `lambda` target)
#   step_functions  the multi-quarter state machine: many quarters unattended, vLLM up only while it runs

locals {
  tags = merge({
    "ftm:project"    = "ftm"
    "ftm:managed-by" = "terraform"
  }, var.tags)

  # The lake as modules/storage describes it (bucket, prefix, uri, ARNs, KMS key list), for every module on it.
  lake = module.storage.lake

  # The LLM endpoint of the jobs: one given explicitly, else the vLLM service's internal load balancer.
  llm_base_url = coalesce(var.llm_base_url, module.ecs_vllm.base_url)
  llm_model    = coalesce(var.llm_model, var.llm_served_model_name)

  # The model may sit in the lake bucket (under a prefix outside the lake's): then the task role needs its key.
  llm_model_in_lake_bucket = startswith(var.llm_model_s3_uri, "s3://${var.lake_bucket}/")

  # ftm's settings of this deployment (ftm/config.py: FTM_<SECTION>__<FIELD>), written once: the lake and its Glue
  # catalog, the Batch queues, job definitions and log group, the vLLM service. The laptop's `ftm_env` output adds
  # the state machine's ARN; the Lambda functions' environment adds their own (lambdas module, var.ftm_env).
  ftm_env = {
    FTM_LAKE                         = module.storage.lake_uri
    FTM_CATALOG__KIND                = "glue"
    FTM_CATALOG__NAMESPACE           = module.athena.glue_database_name
    FTM_CATALOG__REGION              = var.region
    FTM_BATCH__JOB_QUEUE             = module.batch.map_job_queue
    FTM_BATCH__REDUCE_JOB_QUEUE      = module.batch.reduce_job_queue
    FTM_BATCH__MAP_JOB_DEFINITION    = module.batch.map_job_definition
    FTM_BATCH__REDUCE_JOB_DEFINITION = module.batch.reduce_job_definition
    FTM_BATCH__REGION                = var.region
    FTM_BATCH__LOG_GROUP             = module.batch.log_group
    FTM_CLOUD__REGION                = var.region
    FTM_CLOUD__LLM_CLUSTER           = module.ecs_vllm.cluster_name
    FTM_CLOUD__LLM_SERVICE           = module.ecs_vllm.service_name
  }
}

# The network (VPC, subnets, security groups: inputs, nothing created), checked once at plan time: the Batch
# instances' subnets and security groups, the vLLM service's and the health check's subnets (llm_subnet_ids).
module "network" {
  source = "./modules/network"

  vpc_id             = var.vpc_id
  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids
  llm_subnet_ids     = var.llm_subnet_ids
  subnets_are_public = var.subnets_are_public
}

module "storage" {
  source = "./modules/storage"

  region                             = var.region
  name_prefix                        = var.name_prefix
  bucket_name                        = var.lake_bucket
  lake_prefix                        = var.lake_prefix
  staging_expiration_days            = var.lake_staging_expiration_days
  noncurrent_version_expiration_days = var.lake_noncurrent_version_expiration_days
  create_kms_key                     = var.lake_create_kms_key
  force_destroy                      = var.lake_bucket_force_destroy
  tags                               = local.tags
}

module "athena" {
  source = "./modules/athena"

  region                         = var.region
  name_prefix                    = var.name_prefix
  lake                           = local.lake
  database_name                  = var.database_name
  workgroup_name                 = var.workgroup_name
  bytes_scanned_cutoff_per_query = var.bytes_scanned_cutoff_per_query
  results_expiration_days        = var.results_expiration_days
  create_kms_key                 = var.create_kms_key
  create_query_policy            = var.create_query_policy
  tags                           = local.tags
}

# The lake's IAM statements, written once for every role on the lake: the Batch jobs publish (Glue table writes),
# the Lambda functions read the tables.
module "lake_access" {
  source   = "./modules/lake_access"
  for_each = { publish = true, read = false }

  region        = var.region
  lake          = local.lake
  glue_database = module.athena.glue_database_name
  glue_write    = each.value
}

module "ecr" {
  source = "./modules/ecr"

  name_prefix = var.name_prefix
  image_tags = {
    worker = var.worker_image_tag
    lambda = coalesce(var.lambda_image_tag, "${var.worker_image_tag}-lambda")
    vllm   = var.vllm_image_tag
  }
  keep_images  = var.ecr_keep_images
  force_delete = var.ecr_force_delete
  tags         = local.tags
}

module "batch" {
  source = "./modules/batch"

  region      = var.region
  name_prefix = var.name_prefix
  network     = module.network.checked.batch

  lake_uri      = local.lake.uri
  lake_policy   = module.lake_access["publish"].json
  glue_database = module.athena.glue_database_name

  image                 = module.ecr.images.worker
  worker_repository_arn = module.ecr.worker_repository_arn

  map_on_gpu             = var.map_on_gpu
  gpu_instance_types     = var.batch_gpu_instance_types
  cpu_instance_types     = var.batch_cpu_instance_types
  gpu_max_vcpus          = var.batch_gpu_max_vcpus
  cpu_max_vcpus          = var.batch_cpu_max_vcpus
  map_memory_mib         = var.batch_map_memory_mib
  reduce_memory_mib      = var.batch_reduce_memory_mib
  map_timeout_seconds    = var.batch_map_timeout_seconds
  reduce_timeout_seconds = var.batch_reduce_timeout_seconds
  log_retention_days     = var.batch_log_retention_days

  llm_base_url           = local.llm_base_url
  llm_model              = local.llm_model
  llm_api_key_secret_arn = var.llm_api_key_secret_arn
  extra_environment      = var.batch_extra_environment

  service_role_policy_arn  = var.batch_service_role_policy_arn
  instance_role_policy_arn = var.batch_instance_role_policy_arn

  tags = local.tags
}

module "ecs_vllm" {
  source = "./modules/ecs_vllm"

  region      = var.region
  name_prefix = var.name_prefix
  network     = module.network.checked.llm

  # Only the Batch jobs (their instances' security groups) and the health check may call vLLM.
  client_security_group_ids = merge(
    { for i, id in var.security_group_ids : "batch-${i}" => id },
    { llm-health = module.lambdas.llm_health_security_group_id },
  )

  image              = module.ecr.images.vllm
  repository_arn     = module.ecr.vllm_repository_arn
  model_s3_uri       = var.llm_model_s3_uri
  model_kms_key_arns = concat(var.llm_model_kms_key_arns, local.llm_model_in_lake_bucket ? local.lake.kms_key_arns : [])
  served_model_name  = var.llm_served_model_name

  instance_types                           = var.llm_instance_types
  on_demand_base_capacity                  = var.llm_on_demand_base_capacity
  on_demand_percentage_above_base_capacity = var.llm_on_demand_percentage
  max_instances                            = var.llm_max_instances
  alb_deletion_protection                  = var.llm_alb_deletion_protection
  log_retention_days                       = var.llm_log_retention_days
  instance_role_policy_arn                 = var.batch_instance_role_policy_arn

  tags = local.tags
}

module "lambdas" {
  source = "./modules/lambdas"

  region      = var.region
  name_prefix = var.name_prefix

  image_uri       = module.ecr.images.lambda
  repository_name = module.ecr.repository_names["worker"]

  lake_policy = module.lake_access["read"].json
  source_name = var.cloud_source

  ftm_env         = local.ftm_env # the lake, catalog, Batch and vLLM settings the laptop's ftm_env has too
  job_environment = module.batch.shared_environment

  max_concurrency   = var.cloud_max_concurrency
  llm_tasks         = var.cloud_llm_tasks
  llm_max_tasks     = var.llm_max_instances # one vLLM task per GPU instance
  llm_base_url      = local.llm_base_url
  llm_health_url    = module.ecs_vllm.health_url
  health_wait_s     = var.cloud_health_wait_s
  health_max_checks = var.cloud_health_max_checks

  network               = module.network.checked.llm
  alb_security_group_id = module.ecs_vllm.alb_security_group_id
  alb_listener_port     = module.ecs_vllm.listener_port

  partition_memory_mb  = var.lambda_partition_memory_mb
  reserved_concurrency = var.lambda_reserved_concurrency
  log_retention_days   = var.cloud_log_retention_days

  tags = local.tags
}

module "step_functions" {
  source = "./modules/step_functions"

  region      = var.region
  name_prefix = var.name_prefix

  lambda_arns               = module.lambdas.function_arns
  ecs_cluster_arn           = module.ecs_vllm.cluster_arn
  ecs_service_name          = module.ecs_vllm.service_name
  ecs_service_arn           = module.ecs_vllm.service_arn
  map_job_queue_arn         = module.batch.map_job_queue_arn
  reduce_job_queue_arn      = module.batch.reduce_job_queue_arn
  map_job_definition_arn    = module.batch.map_job_definition_arn
  reduce_job_definition_arn = module.batch.reduce_job_definition_arn

  # The operator policy (ftm cloud run|status|stop|record): the lake's records, the jobs' logs.
  create_operator_policy = var.create_cloud_operator_policy
  lake                   = local.lake
  batch_log_group_arn    = module.batch.log_group_arn

  log_retention_days = var.cloud_log_retention_days

  tags = local.tags
}
