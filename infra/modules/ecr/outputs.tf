output "worker_repository_url" {
  description = "URL of the worker image repository (<account>.dkr.ecr.<region>.amazonaws.com/<name_prefix>-worker): push `ftm-worker:<tag>` here."
  value       = aws_ecr_repository.this["worker"].repository_url
}

output "worker_repository_arn" {
  description = "ARN of the worker image repository (the Batch execution role may pull from it)."
  value       = aws_ecr_repository.this["worker"].arn
}

output "vllm_repository_url" {
  description = "URL of the vLLM image repository."
  value       = aws_ecr_repository.this["vllm"].repository_url
}

output "vllm_repository_arn" {
  description = "ARN of the vLLM image repository."
  value       = aws_ecr_repository.this["vllm"].arn
}

output "images" {
  description = "The images this deployment runs, <repository url>:<tag>: worker (the job definitions'), lambda (the functions'), vllm (the task definition's)."
  value       = { for k, tag in var.image_tags : k => "${aws_ecr_repository.this[local.image_repositories[k]].repository_url}:${tag}" }
}

output "repository_names" {
  description = "Repository names by image: {worker = ..., vllm = ...}."
  value       = { for k, r in aws_ecr_repository.this : k => r.name }
}
