variable "region" {
  description = "AWS region of the whole deployment (lake bucket, Glue catalog, Athena)."
  type        = string
  default     = "us-east-1"
}

variable "allowed_account_ids" {
  description = "AWS account ids Terraform may act on (guards against applying to the wrong account). Empty: any."
  type        = list(string)
  default     = []
}

variable "name_prefix" {
  description = "Prefix of resource names (buckets, KMS alias, IAM policies)."
  type        = string
  default     = "ftm"
}

variable "lake_bucket" {
  description = "S3 bucket of the lake (until the storage module exists: an existing bucket, by name)."
  type        = string
}

variable "lake_prefix" {
  description = "Key prefix of the lake in lake_bucket: the warehouse is s3://<lake_bucket>/<lake_prefix>, the value of `ftm run --lake`."
  type        = string
  default     = "lake"
}

variable "database_name" {
  description = "Glue database = Iceberg namespace (ftm's catalog.namespace)."
  type        = string
  default     = "ftm"
}

variable "workgroup_name" {
  description = "Athena workgroup (ftm's athena.workgroup)."
  type        = string
  default     = "ftm"
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Athena cancels a query that scans more than this many bytes. Default 10 GiB."
  type        = number
  default     = 10737418240
}

variable "results_expiration_days" {
  description = "Days after which Athena query results are deleted."
  type        = number
  default     = 30
}

variable "create_kms_key" {
  description = "Encrypt query results with a KMS key created for them (SSE_KMS); false: SSE_S3."
  type        = bool
  default     = true
}

variable "create_query_policy" {
  description = "Create the IAM policy for principals that query the lake through Athena (attach it yourself)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
