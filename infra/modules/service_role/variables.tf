variable "name" {
  description = "Name of the role."
  type        = string
}

variable "description" {
  description = "Description of the role."
  type        = string
}

variable "service" {
  description = "The service principal that assumes the role, e.g. ecs-tasks.amazonaws.com."
  type        = string
}

variable "source_account" {
  description = "When set, the role may be assumed only on behalf of this account's resources (aws:SourceAccount)."
  type        = string
  default     = null
}

variable "policy_name" {
  description = "Name of the role's inline policy."
  type        = string
}

variable "policy" {
  description = "The inline policy (JSON)."
  type        = string
}

variable "tags" {
  description = "Tags of the role."
  type        = map(string)
  default     = {}
}
