variable "name_prefix" {
  description = "Prefix of resource names (KMS alias)."
  type        = string
}

variable "region" {
  description = "AWS region of the bucket (checked against the provider's)."
  type        = string
}

variable "bucket_name" {
  description = "Name of the lake bucket to create (S3 bucket names are global: pick one nobody has; a bare name, no s3:// and no prefix: modules/private_bucket checks it)."
  type        = string
}

variable "lake_prefix" {
  description = "Key prefix of the lake inside the bucket: the Iceberg warehouse is s3://<bucket_name>/<lake_prefix>. Empty for the bucket root."
  type        = string
  default     = "lake"

  validation {
    condition     = !startswith(var.lake_prefix, "s3://")
    error_message = "lake_prefix is a key prefix inside the bucket, not an s3:// URI."
  }
}

variable "staging_expiration_days" {
  description = "Objects under <lake_prefix>/_staging/ (runs' staged Parquet, checkpoints, prefetched calls) are deleted this many days after they were written, each on its own: longer than any run may stay unpublished (`ftm lake gc` is the precise clean-up of whole runs; this is the backstop)."
  type        = number
  default     = 30

  validation {
    condition     = var.staging_expiration_days >= 1
    error_message = "staging_expiration_days must be at least 1."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Overwritten or deleted objects stay recoverable (as non-current versions) for this many days."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1
    error_message = "noncurrent_version_expiration_days must be at least 1."
  }
}

variable "abort_incomplete_multipart_days" {
  description = "Incomplete multipart uploads (a writer that died mid-upload) are aborted after this many days."
  type        = number
  default     = 1

  validation {
    condition     = var.abort_incomplete_multipart_days >= 1
    error_message = "abort_incomplete_multipart_days must be at least 1."
  }
}

variable "create_kms_key" {
  description = "true: SSE-KMS with a customer-managed key created here (rotated yearly, bucket keys on). false: SSE-S3."
  type        = bool
  default     = true
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the bucket while it still holds objects (the whole lake!)."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags put on every taggable resource of the module."
  type        = map(string)
  default     = {}
}
