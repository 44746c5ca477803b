output "glue_database_name" {
  description = "Glue database the lake's Iceberg tables are registered in (ftm's catalog.namespace)."
  value       = module.athena.glue_database_name
}

output "warehouse_uri" {
  description = "The lake: pass it as `ftm run --lake`."
  value       = module.athena.warehouse_uri
}

output "athena_workgroup" {
  description = "Athena workgroup (ftm's athena.workgroup)."
  value       = module.athena.workgroup_name
}

output "athena_results_bucket" {
  description = "Bucket of Athena query results."
  value       = module.athena.results_bucket
}

output "athena_results_location" {
  description = "s3:// location of Athena query results (enforced by the workgroup)."
  value       = module.athena.results_location
}

output "athena_kms_key_arn" {
  description = "KMS key of the query results; null with create_kms_key = false."
  value       = module.athena.kms_key_arn
}

output "athena_query_policy_arn" {
  description = "IAM policy to attach to whoever runs `ftm query --engine athena`."
  value       = module.athena.query_policy_arn
}

# --- the lake bucket, images and AWS Batch ---------------------------------------------------------------------

output "lake_uri" {
  description = "The lake, s3://<lake_bucket>/<lake_prefix>: `ftm run --lake` (FTM_LAKE)."
  value       = module.storage.lake_uri
}

output "lake_bucket" {
  description = "Name of the lake bucket."
  value       = module.storage.bucket
}

output "lake_kms_key_arn" {
  description = "KMS key of the lake bucket; null with lake_create_kms_key = false (SSE-S3)."
  value       = module.storage.kms_key_arn
}

output "ecr_worker_repository_url" {
  description = "Push the worker image here: docker push <url>:<worker_image_tag>."
  value       = module.ecr.worker_repository_url
}

output "ecr_vllm_repository_url" {
  description = "Push the vLLM image here."
  value       = module.ecr.vllm_repository_url
}

output "batch_map_job_queue" {
  description = "Job queue of the map step (name)."
  value       = module.batch.map_job_queue
}

output "batch_reduce_job_queue" {
  description = "Job queue of the reduce step (name)."
  value       = module.batch.reduce_job_queue
}

output "batch_map_job_definition" {
  description = "Job definition of `ftm worker map` (name)."
  value       = module.batch.map_job_definition
}

output "batch_reduce_job_definition" {
  description = "Job definition of `ftm worker reduce` (name)."
  value       = module.batch.reduce_job_definition
}

output "batch_log_group" {
  description = "CloudWatch log group of the Batch jobs."
  value       = module.batch.log_group
}

output "batch_image" {
  description = "The worker image the job definitions run."
  value       = module.batch.image
}

output "ftm_env" {
  description = "Settings for submitting runs from a laptop (`ftm run --executor batch`): export them, e.g. eval \"$(terraform output -json ftm_env | jq -r 'to_entries[] | \"export \\(.key)=\\(.value)\"')\"."
  value       = merge(local.ftm_env, { FTM_CLOUD__STATE_MACHINE_ARN = module.step_functions.state_machine_arn })
}

# --- the vLLM service, the Lambda functions, the state machine ------------------------------------------------

output "state_machine_arn" {
  description = "The multi-quarter state machine (ftm's cloud.state_machine_arn): `ftm cloud run` starts executions of it."
  value       = module.step_functions.state_machine_arn
}

output "cloud_operator_policy_arn" {
  description = "IAM policy to attach to whoever runs `ftm cloud run|status|stop|record` (this state machine, its executions, the vLLM service, the Batch jobs, the lake's records, the logs); null with create_cloud_operator_policy = false."
  value       = module.step_functions.operator_policy_arn
}

output "state_machine_log_group" {
  description = "CloudWatch log group of the executions."
  value       = module.step_functions.log_group
}

output "llm_cluster" {
  description = "ECS cluster of the vLLM service (ftm's cloud.llm_cluster)."
  value       = module.ecs_vllm.cluster_name
}

output "llm_service" {
  description = "ECS service of vLLM (ftm's cloud.llm_service); the state machine sets its desired count."
  value       = module.ecs_vllm.service_name
}

output "llm_base_url" {
  description = "The LLM endpoint the jobs use (LLM_BASE_URL): llm_base_url, else vLLM's internal load balancer."
  value       = local.llm_base_url
}

output "llm_health_url" {
  description = "vLLM's /health through the internal load balancer (reachable from inside the VPC only)."
  value       = module.ecs_vllm.health_url
}

output "llm_log_group" {
  description = "CloudWatch log group of vLLM."
  value       = module.ecs_vllm.log_group
}

output "lambda_function_names" {
  description = "The state machine's Lambda functions by their state names."
  value       = module.lambdas.function_names
}

output "lambda_image" {
  description = "The image the Lambda functions run (push it before applying: a function cannot be created without its image)."
  value       = module.lambdas.image_uri
}
