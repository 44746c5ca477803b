variable "name" {
  description = "Name of the role and of its instance profile."
  type        = string
}

variable "description" {
  description = "Description of the role."
  type        = string
}

variable "policy_arn" {
  description = "Policy of the role; null: AWS's managed AmazonEC2ContainerServiceforEC2Role."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags of the role and the instance profile."
  type        = map(string)
  default     = {}
}
