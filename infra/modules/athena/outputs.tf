output "glue_database_name" {
  description = "Glue database (= Iceberg namespace) the lake's tables are registered in."
  value       = aws_glue_catalog_database.lake.name
}

output "glue_database_location" {
  description = "location_uri of the Glue database: where pyiceberg puts tables created without an explicit location."
  value       = aws_glue_catalog_database.lake.location_uri
}

output "warehouse_uri" {
  description = "The lake / Iceberg warehouse: the value to pass as `ftm run --lake`."
  value       = local.warehouse_uri
}

output "workgroup_name" {
  description = "Athena workgroup (ftm's athena.workgroup)."
  value       = aws_athena_workgroup.lake.name
}

output "workgroup_arn" {
  description = "ARN of the Athena workgroup."
  value       = aws_athena_workgroup.lake.arn
}

output "results_bucket" {
  description = "Name of the Athena query results bucket."
  value       = module.bucket.bucket
}

output "results_location" {
  description = "s3:// output location of the workgroup's query results (enforced by the workgroup)."
  value       = local.results_location
}

output "results_encryption_option" {
  description = "SSE_KMS or SSE_S3: how the workgroup encrypts query results."
  value       = local.encryption_option
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts query results; null when create_kms_key = false (SSE_S3)."
  value       = local.kms_key_arn
}

output "query_policy_arn" {
  description = "ARN of the IAM policy that lets a principal query the lake through the workgroup; null when create_query_policy = false."
  value       = var.create_query_policy ? aws_iam_policy.query[0].arn : null
}
