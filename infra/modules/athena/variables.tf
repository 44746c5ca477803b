variable "name_prefix" {
  description = "Prefix of the names of the resources this module creates (results bucket, KMS alias, IAM policy)."
  type        = string
}

variable "region" {
  description = "AWS region of the Glue catalog, the Athena workgroup and the results bucket (the lake bucket must be in the same region)."
  type        = string
}

variable "lake" {
  description = "The lake (modules/storage lake, created there or imported): uri, the Iceberg warehouse s3://<bucket>/<prefix> (the value of `ftm run --lake`) the database's location is in; bucket_arn and objects_arn, which the query policy may list and read; kms_key_arns, the key(s) the bucket is encrypted with (empty with SSE-S3), which it may decrypt with."
  type = object({
    uri          = string
    bucket_arn   = string
    objects_arn  = string
    kms_key_arns = list(string)
  })
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
