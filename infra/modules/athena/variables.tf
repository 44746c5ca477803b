variable "name_prefix" {
  description = "Prefix of the names of the resources this module creates (results bucket, KMS alias, IAM policy)."
  type        = string
  default     = "ftm"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of a-z, 0-9 and '-', start with a letter and not end with '-' (it goes into an S3 bucket name)."
  }
}

variable "region" {
  description = "AWS region of the Glue catalog, the Athena workgroup and the results bucket (the lake bucket must be in the same region)."
  type        = string
}

variable "lake_bucket" {
  description = "Name of the existing S3 bucket that holds the lake (created by the storage module, or by hand)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.lake_bucket))
    error_message = "lake_bucket must be a bare S3 bucket name (no s3:// and no prefix)."
  }
}

variable "lake_kms_key_arns" {
  description = "KMS key(s) the lake bucket is encrypted with (modules/storage; empty with SSE-S3): the query policy may decrypt with them. A list so that its length is known at plan time."
  type        = list(string)
  default     = []
}

variable "lake_prefix" {
  description = "Key prefix of the lake inside lake_bucket: the Iceberg warehouse is s3://<lake_bucket>/<lake_prefix> (the value of `ftm run --lake`). Empty for the bucket root."
  type        = string
  default     = "lake"

  validation {
    condition     = !startswith(var.lake_prefix, "s3://")
    error_message = "lake_prefix is a key prefix inside lake_bucket, not an s3:// URI."
  }
}

variable "database_name" {
  description = "Glue database = the Iceberg namespace ftm writes its tables into (ftm's catalog.namespace, default ftm)."
  type        = string
  default     = "ftm"

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,63}$", var.database_name))
    error_message = "database_name must match ^[a-z][a-z0-9_]{0,63}$ (the rule ftm's catalog.namespace follows; Athena wants lower case)."
  }
}

variable "workgroup_name" {
  description = "Athena workgroup name (ftm's athena.workgroup, default ftm)."
  type        = string
  default     = "ftm"
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Athena cancels any query of the workgroup that scans more than this many bytes (minimum 10 MiB). Default 10 GiB."
  type        = number
  default     = 10737418240

  validation {
    condition     = var.bytes_scanned_cutoff_per_query >= 10485760
    error_message = "bytes_scanned_cutoff_per_query must be at least 10485760 (10 MiB), the Athena minimum."
  }
}

variable "results_bucket_name" {
  description = "Name of the Athena results bucket this module creates [default: <name_prefix>-athena-results-<account id>-<region>]."
  type        = string
  default     = null
}

variable "results_prefix" {
  description = "Key prefix of query results inside the results bucket."
  type        = string
  default     = "results"
}

variable "results_expiration_days" {
  description = "Query results (and their non-current versions) are deleted this many days after they were written."
  type        = number
  default     = 30

  validation {
    condition     = var.results_expiration_days >= 1
    error_message = "results_expiration_days must be at least 1."
  }
}

variable "results_bucket_force_destroy" {
  description = "Let `terraform destroy` delete the results bucket while it still holds objects."
  type        = bool
  default     = false
}

variable "workgroup_force_destroy" {
  description = "Let `terraform destroy` delete the workgroup while it still has named queries or query history."
  type        = bool
  default     = false
}

variable "create_kms_key" {
  description = "true: a customer-managed KMS key (created here) encrypts the results bucket and the workgroup's results (SSE_KMS). false: SSE_S3, no key."
  type        = bool
  default     = true
}

variable "kms_deletion_window_in_days" {
  description = "Waiting period before a deleted KMS key is destroyed (7-30 days; modules/private_bucket checks the range)."
  type        = number
  default     = 30
}

variable "create_query_policy" {
  description = "Create an IAM policy that lets a principal query the lake through the workgroup (attach it to the roles/users that run `ftm query --engine athena`)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags put on every taggable resource of the module."
  type        = map(string)
  default     = {}
}
