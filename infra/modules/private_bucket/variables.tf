variable "bucket_name" {
  description = "Name of the bucket to create (S3 bucket names are global: pick one nobody has)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a bare S3 bucket name (no s3:// and no prefix)."
  }
}

variable "region" {
  description = "AWS region the bucket must be in (checked against the provider's before the bucket is created)."
  type        = string
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket while it still holds objects."
  type        = bool
  default     = false
}

variable "create_kms_key" {
  description = "true: SSE-KMS with a customer-managed key created here (rotated yearly, bucket keys on). false: SSE-S3 (AES256), no key."
  type        = bool
  default     = true
}

variable "kms_alias_name" {
  description = "Alias of the KMS key (create_kms_key = true), with its alias/ prefix."
  type        = string

  validation {
    condition     = startswith(var.kms_alias_name, "alias/") && !startswith(var.kms_alias_name, "alias/aws/")
    error_message = "kms_alias_name must start with alias/ (and not alias/aws/, which AWS keeps for its own keys)."
  }
}

variable "kms_description" {
  description = "Description of the KMS key (create_kms_key = true)."
  type        = string
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before a deleted KMS key is destroyed (7-30 days)."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_in_days >= 7 && var.kms_deletion_window_in_days <= 30
    error_message = "kms_deletion_window_in_days must be between 7 and 30."
  }
}

variable "extra_policy_documents" {
  description = "Further IAM policy documents (JSON, e.g. aws_iam_policy_document.x.json) whose statements the bucket policy adds to its built-in one, DenyInsecureTransport (any request without TLS is denied; a statement of that sid here is replaced by it)."
  type        = list(string)
  default     = []
}

variable "lifecycle_rules" {
  description = <<-EOT
    The bucket's lifecycle rules, each enabled: id; prefix (the filter; null for the whole bucket); expiration_days
    (current objects expire this many days after they were written); expired_object_delete_marker (remove delete
    markers left without versions); noncurrent_days (non-current versions go this many days after they became
    non-current); abort_incomplete_multipart_days. An attribute left null leaves its action out of the rule.
  EOT
  type = list(object({
    id                              = string
    prefix                          = optional(string)
    expiration_days                 = optional(number)
    expired_object_delete_marker    = optional(bool)
    noncurrent_days                 = optional(number)
    abort_incomplete_multipart_days = optional(number)
  }))

  validation {
    condition     = length(var.lifecycle_rules) >= 1 && length(distinct([for r in var.lifecycle_rules : r.id])) == length(var.lifecycle_rules)
    error_message = "lifecycle_rules needs at least one rule (S3 keeps no empty lifecycle configuration), each with its own id."
  }
}

variable "tags" {
  description = "Tags put on the bucket and the KMS key."
  type        = map(string)
  default     = {}
}
