output "id" {
  description = "ID of the bucket (its name)."
  value       = aws_s3_bucket.this.id
}

output "arn" {
  description = "ARN of the bucket."
  value       = aws_s3_bucket.this.arn
}

output "bucket" {
  description = "Name of the bucket."
  value       = aws_s3_bucket.this.bucket
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the bucket; null with SSE-S3 (create_kms_key = false)."
  value       = local.kms_key_arn
}

output "encryption_option" {
  description = "SSE_KMS or SSE_S3 (Athena's names): how the bucket encrypts objects by default."
  value       = var.create_kms_key ? "SSE_KMS" : "SSE_S3"
}
