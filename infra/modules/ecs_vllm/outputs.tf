locals {
  endpoint = "http://${aws_lb.this.dns_name}${var.listener_port == 80 ? "" : ":${var.listener_port}"}"
}

output "cluster_name" {
  description = "ECS cluster of the vLLM service (ftm's cloud.llm_cluster)."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of that cluster."
  value       = aws_ecs_cluster.this.arn
}

output "service_name" {
  description = "ECS service of vLLM (ftm's cloud.llm_service); its desiredCount belongs to the state machine."
  value       = local.name
}

output "service_arn" {
  description = "ARN of the service (the state machine may update this service only)."
  value       = "arn:${local.partition}:ecs:${var.region}:${local.account_id}:service/${aws_ecs_cluster.this.name}/${local.name}"
}

output "base_url" {
  description = "OpenAI-compatible URL of vLLM through the internal load balancer (the jobs' LLM_BASE_URL, ftm's cloud.llm_base_url)."
  value       = "${local.endpoint}/v1"
}

output "health_url" {
  description = "vLLM's GET /health through the load balancer (ftm's cloud.llm_health_url)."
  value       = "${local.endpoint}/health"
}

output "served_model_name" {
  description = "The model name vLLM serves (what ftm sends as LLM_MODEL)."
  value       = var.served_model_name
}

output "alb_security_group_id" {
  description = "Security group of the load balancer (clients need egress to it on listener_port)."
  value       = aws_security_group.alb.id
}

output "alb_arn" {
  description = "ARN of the internal load balancer."
  value       = aws_lb.this.arn
}

output "instance_security_group_id" {
  description = "Security group of the GPU instances."
  value       = aws_security_group.instances.id
}

output "listener_port" {
  description = "Port of the load balancer's listener."
  value       = var.listener_port
}

output "task_definition_arn" {
  description = "ARN (with revision) of the vLLM task definition."
  value       = aws_ecs_task_definition.vllm.arn
}

output "autoscaling_group_name" {
  description = "Auto Scaling group of the GPU instances."
  value       = aws_autoscaling_group.gpu.name
}

output "capacity_provider_name" {
  description = "Capacity provider of the cluster."
  value       = aws_ecs_capacity_provider.gpu.name
}

output "log_group" {
  description = "CloudWatch log group of vLLM (streams vllm/vllm/<task id>)."
  value       = aws_cloudwatch_log_group.vllm.name
}
