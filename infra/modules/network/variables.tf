variable "vpc_id" {
  description = "VPC of every subnet and security group below."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the Batch instances (several AZs widen the Spot pools)."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0
    error_message = "subnet_ids needs at least one subnet."
  }
}

variable "security_group_ids" {
  description = "Security groups of the Batch instances (recommended: no inbound, all outbound)."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) > 0
    error_message = "security_group_ids needs at least one security group."
  }
}

variable "llm_subnet_ids" {
  description = "Subnets of the vLLM load balancer, its GPU instances and the health-check Lambda: at least two Availability Zones. null: subnet_ids."
  type        = list(string)
  default     = null
}

variable "subnets_are_public" {
  description = "true: every subnet must auto-assign public IPv4 addresses (checked). false: private subnets whose egress is a NAT gateway or VPC endpoints (ECR api+dkr, S3, Glue, Logs, Batch, ECS; not checked)."
  type        = bool
  default     = true
}
