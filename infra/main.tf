# ftm on AWS, one module per part:
#   storage  the lake bucket (versioned, encrypted, TLS only, staging expiry)
#   athena   Glue database, Athena workgroup, results bucket: how the lake is read
#   ecr      the worker and vLLM image repositories
#   batch    Spot compute environments, job queues and job definitions of the map and reduce steps
# Step Functions and the vLLM service follow.

locals {
  tags = merge({
    "ftm:project"    = "ftm"
    "ftm:managed-by" = "terraform"
  }, var.tags)
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
  lake_bucket                    = module.storage.bucket
  lake_prefix                    = var.lake_prefix
  lake_kms_key_arns              = var.lake_create_kms_key ? [module.storage.kms_key_arn] : []
  database_name                  = var.database_name
  workgroup_name                 = var.workgroup_name
  bytes_scanned_cutoff_per_query = var.bytes_scanned_cutoff_per_query
  results_expiration_days        = var.results_expiration_days
  create_kms_key                 = var.create_kms_key
  create_query_policy            = var.create_query_policy
  tags                           = local.tags
}

module "ecr" {
  source = "./modules/ecr"

  name_prefix  = var.name_prefix
  keep_images  = var.ecr_keep_images
  force_delete = var.ecr_force_delete
  tags         = local.tags
}

module "batch" {
  source = "./modules/batch"

  region             = var.region
  name_prefix        = var.name_prefix
  vpc_id             = var.vpc_id
  subnet_ids         = var.subnet_ids
  security_group_ids = var.security_group_ids
  subnets_are_public = var.subnets_are_public

  lake_bucket       = module.storage.bucket
  lake_prefix       = module.storage.lake_prefix
  lake_kms_key_arns = var.lake_create_kms_key ? [module.storage.kms_key_arn] : []
  glue_database     = module.athena.glue_database_name

  worker_repository_url = module.ecr.worker_repository_url
  worker_repository_arn = module.ecr.worker_repository_arn
  image_tag             = var.worker_image_tag

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

  llm_base_url           = var.llm_base_url
  llm_model              = var.llm_model
  llm_api_key_secret_arn = var.llm_api_key_secret_arn
  extra_environment      = var.batch_extra_environment

  service_role_policy_arn  = var.batch_service_role_policy_arn
  instance_role_policy_arn = var.batch_instance_role_policy_arn

  tags = local.tags
}
