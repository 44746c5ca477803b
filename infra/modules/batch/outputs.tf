output "map_job_queue" {
  description = "Name of the map job queue (ftm's batch.job_queue)."
  value       = aws_batch_job_queue.map.name
}

output "reduce_job_queue" {
  description = "Name of the reduce job queue (ftm's batch.reduce_job_queue)."
  value       = aws_batch_job_queue.reduce.name
}

output "map_job_definition" {
  description = "Name of the map job definition (ftm's batch.map_job_definition; submit by name = latest active revision)."
  value       = aws_batch_job_definition.this["map"].name
}

output "reduce_job_definition" {
  description = "Name of the reduce job definition (ftm's batch.reduce_job_definition)."
  value       = aws_batch_job_definition.this["reduce"].name
}

output "map_job_definition_arn" {
  description = "ARN (with revision) of the map job definition."
  value       = aws_batch_job_definition.this["map"].arn
}

output "reduce_job_definition_arn" {
  description = "ARN (with revision) of the reduce job definition."
  value       = aws_batch_job_definition.this["reduce"].arn
}

output "log_group" {
  description = "CloudWatch log group of the jobs (ftm's batch.log_group); streams are ftm/<container>/<task id>."
  value       = aws_cloudwatch_log_group.jobs.name
}

output "log_group_arn" {
  description = "ARN of the jobs' log group."
  value       = aws_cloudwatch_log_group.jobs.arn
}

output "image" {
  description = "Image the job definitions run."
  value       = var.image
}

output "lake_uri" {
  description = "Default `lake` parameter of the job definitions."
  value       = var.lake_uri
}

output "compute_environment_arns" {
  description = "ARNs of the compute environments by kind (gpu only with map_on_gpu, cpu always)."
  value       = { for k, ce in aws_batch_compute_environment.this : k => ce.arn }
}

output "job_role_arn" {
  description = "Role of the jobs' own code (lake prefix, Glue database)."
  value       = module.job_role.arn
}

output "execution_role_arn" {
  description = "Role ECS uses for the jobs (image pull, logs, LLM key secret)."
  value       = module.execution_role.arn
}

output "instance_role_arn" {
  description = "Role of the ECS agent on the instances."
  value       = module.instance_role.role_arn
}

output "service_role_arn" {
  description = "Role of AWS Batch itself."
  value       = aws_iam_role.service.arn
}

output "map_job_queue_arn" {
  description = "ARN of the map job queue (the state machine's SubmitJob target; its role may submit to it)."
  value       = aws_batch_job_queue.map.arn
}

output "reduce_job_queue_arn" {
  description = "ARN of the reduce job queue."
  value       = aws_batch_job_queue.reduce.arn
}

output "shared_environment" {
  description = "The environment both job definitions add to their own (LLM_BASE_URL / LLM_MODEL when set, extra_environment): the state machine's Lambda functions get it too, so that a quarter is planned with the settings its jobs run with."
  value       = local.shared_environment
}
