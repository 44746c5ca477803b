output "function_arns" {
  description = "ARN of each function by its name in the state machine: generate_quarters, check_prefetch, partition_firms, llm_health, record_quarter."
  value       = { for k, f in aws_lambda_function.this : k => f.arn }
}

output "function_names" {
  description = "Function names by the same keys."
  value       = { for k, f in aws_lambda_function.this : k => f.function_name }
}

output "handlers" {
  description = "Python handler of each function (its image command)."
  value       = local.handlers
}

output "image_uri" {
  description = "The image the functions run."
  value       = var.image_uri
}

output "llm_health_security_group_id" {
  description = "Security group of llm_health: the vLLM load balancer must admit it."
  value       = aws_security_group.llm_health.id
}

output "lake_role_arn" {
  description = "Role of the functions that use the lake."
  value       = module.role["lake"].arn
}

output "health_role_arn" {
  description = "Role of llm_health."
  value       = module.role["health"].arn
}

output "environment" {
  description = "The functions' environment (ftm's settings)."
  value       = local.environment
}
