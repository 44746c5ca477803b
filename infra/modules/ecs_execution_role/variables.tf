variable "name" {
  description = "Name of the role."
  type        = string
}

variable "description" {
  description = "Description of the role."
  type        = string
}

variable "policy_name" {
  description = "Name of the role's inline policy."
  type        = string
}

variable "repository_arn" {
  description = "ARN of the ECR repository of the task's image."
  type        = string
}

variable "log_group_arn" {
  description = "ARN of the log group the task writes to."
  type        = string
}

variable "secret_arns" {
  description = "Secrets Manager secrets ECS reads for the task; empty: none."
  type        = list(string)
  default     = []
}

variable "pull_sid" {
  description = "Sid of the image pull statement."
  type        = string
  default     = "PullImage"
}

variable "logs_sid" {
  description = "Sid of the log writing statement."
  type        = string
  default     = "WriteLogs"
}

variable "secrets_sid" {
  description = "Sid of the secret reading statement."
  type        = string
  default     = "ReadSecrets"
}

variable "tags" {
  description = "Tags of the role."
  type        = map(string)
  default     = {}
}
