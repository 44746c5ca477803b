variable "region" {
  description = "AWS region of the Glue catalog."
  type        = string
}

variable "lake" {
  description = "The lake (modules/storage lake): only <prefix>/* in the bucket may be read and written; its KMS key(s) (empty with SSE-S3): Decrypt, GenerateDataKey, DescribeKey."
  type = object({
    bucket_arn   = string
    objects_arn  = string
    prefix       = string
    kms_key_arns = list(string)
  })
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
