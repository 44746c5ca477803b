output "glue_database_name" {
  description = "Glue database the lake's Iceberg tables are registered in (ftm's catalog.namespace)."
  value       = module.athena.glue_database_name
}

output "warehouse_uri" {
  description = "The lake: pass it as `ftm run --lake`."
  value       = module.athena.warehouse_uri
}

output "athena_workgroup" {
  description = "Athena workgroup (ftm's athena.workgroup)."
  value       = module.athena.workgroup_name
}

output "athena_results_bucket" {
  description = "Bucket of Athena query results."
  value       = module.athena.results_bucket
}

output "athena_results_location" {
  description = "s3:// location of Athena query results (enforced by the workgroup)."
  value       = module.athena.results_location
}

output "athena_kms_key_arn" {
  description = "KMS key of the query results; null with create_kms_key = false."
  value       = module.athena.kms_key_arn
}

output "athena_query_policy_arn" {
  description = "IAM policy to attach to whoever runs `ftm query --engine athena`."
  value       = module.athena.query_policy_arn
}
