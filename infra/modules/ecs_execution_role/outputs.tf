output "arn" {
  description = "ARN of the role."
  value       = module.role.arn
}
