output "checked" {
  description = "The network, checked at plan time: batch = {subnet_ids, security_group_ids} (modules/batch), llm = {vpc_id, subnet_ids} (modules/ecs_vllm and modules/lambdas: the vLLM service and the health-check Lambda)."
  value = {
    batch = { subnet_ids = var.subnet_ids, security_group_ids = var.security_group_ids }
    llm   = { vpc_id = var.vpc_id, subnet_ids = local.llm_subnet_ids }
  }

  precondition {
    condition     = length(local.errors) == 0
    error_message = "Network inputs: ${join("; ", local.errors)}."
  }

  precondition {
    condition     = length(local.llm_azs) >= 2
    error_message = "vLLM network inputs: an Application Load Balancer needs subnets in at least two Availability Zones; llm_subnet_ids (default subnet_ids) are all in ${join(", ", local.llm_azs)}."
  }
}
