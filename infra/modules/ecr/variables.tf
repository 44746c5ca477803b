variable "name_prefix" {
  description = "Prefix of the repository names: <name_prefix>-worker and <name_prefix>-vllm."
  type        = string
  default     = "ftm"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of a-z, 0-9 and '-', start with a letter and not end with '-'."
  }
}

variable "keep_images" {
  description = "Each repository keeps its last this many images; older ones are expired (untagged ones after a day)."
  type        = number
  default     = 30

  validation {
    condition     = var.keep_images >= 1
    error_message = "keep_images must be at least 1."
  }
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the images; null: the AWS-managed aws/ecr key."
  type        = string
  default     = null
}

variable "force_delete" {
  description = "Let `terraform destroy` delete a repository that still holds images."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags put on every taggable resource of the module."
  type        = map(string)
  default     = {}
}
