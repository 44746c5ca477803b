variable "region" {
  description = "AWS region of the Glue catalog."
  type        = string
}

variable "lake_bucket" {
  description = "Lake bucket (modules/storage): only <lake_prefix>/* in it may be read and written."
  type        = string
}

variable "lake_prefix" {
  description = "Key prefix of the lake in lake_bucket (empty for the bucket root)."
  type        = string
}

variable "lake_kms_key_arns" {
  description = "KMS key(s) of the lake bucket (empty with SSE-S3): Decrypt, GenerateDataKey, DescribeKey."
  type        = list(string)
  default     = []
}

variable "glue_database" {
  description = "Glue database of the lake's Iceberg tables (ftm's catalog.namespace)."
  type        = string
}

variable "glue_write" {
  description = "Also create, commit and drop the database's tables (the Batch jobs publish); false: read them only (statement GlueReadLakeTables instead of GlueLakeTables)."
  type        = bool
  default     = false
}
