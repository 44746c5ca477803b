variable "name_prefix" {
  description = "Prefix of the repository names: <name_prefix>-worker and <name_prefix>-vllm."
  type        = string
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

variable "image_tags" {
  description = "The tag this deployment runs of each image: worker (the Batch jobs), lambda (the Lambda functions: the worker repository's <worker tag>-lambda, as `make images` pushes it), vllm. Tags are immutable: a new image means a new tag (and a new job or task definition revision, function version)."
  type = object({
    worker = string
    lambda = string
    vllm   = string
  })

  validation {
    condition     = alltrue([for tag in values(var.image_tags) : can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", tag))])
    error_message = "image_tags must be valid Docker tags (the root's worker_image_tag, lambda_image_tag, vllm_image_tag)."
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
