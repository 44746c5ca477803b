# Built from the name in AWS's ARN format rather than read from the resource, so that it is known before the state
# machine exists: `terraform plan` already shows ftm_env, and the tests' emulated apply, which cannot create a state
# machine in moto, still has it. tests/test_terraform.py checks it against the planned resource's name.
output "state_machine_arn" {
  description = "ARN of the multi-quarter state machine (ftm's cloud.state_machine_arn)."
  value       = local.state_machine_arn
}

output "state_machine_name" {
  description = "Name of the state machine."
  value       = local.name
}

output "role_arn" {
  description = "Role of the state machine."
  value       = module.role.arn
}

output "log_group" {
  description = "CloudWatch log group of the executions."
  value       = aws_cloudwatch_log_group.this.name
}

output "definition" {
  description = "The rendered Amazon States Language definition."
  value       = local.definition
}

output "operator_policy_arn" {
  description = "IAM policy for whoever runs `ftm cloud run|status|stop|record` (attach it yourself); null when create_operator_policy = false."
  value       = var.create_operator_policy ? aws_iam_policy.operator[0].arn : null
}
