output "bucket" {
  description = "Name of the lake bucket."
  value       = module.bucket.bucket
}

output "bucket_arn" {
  description = "ARN of the lake bucket."
  value       = module.bucket.arn
}

output "lake_prefix" {
  description = "Key prefix of the lake inside the bucket (no leading or trailing slash; empty for the bucket root)."
  value       = local.lake_prefix
}

output "lake_uri" {
  description = "The lake / Iceberg warehouse, s3://<bucket>/<lake_prefix>: the value of `ftm run --lake`."
  value       = local.lake_uri
}

output "lake" {
  description = "The lake, for the modules that work on it (Athena, the IAM statements of the jobs, functions and operator): bucket, prefix (no leading or trailing slash), uri (s3://<bucket>/<prefix>), bucket_arn, objects_arn (<prefix>/* in the bucket), kms_key_arns (empty with SSE-S3)."
  value       = local.lake
}

output "staging_prefix" {
  description = "Key prefix of runs' staged data, which expires after staging_expiration_days."
  value       = local.staging_prefix
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the bucket; null with SSE-S3 (create_kms_key = false)."
  value       = local.kms_key_arn
}
