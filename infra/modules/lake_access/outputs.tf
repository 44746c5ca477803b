output "json" {
  description = "The policy document (JSON) with the lake's statements: ListLakePrefix, LakeBucketLocation, ReadWriteLake, GlueLakeTables or GlueReadLakeTables, UseLakeKey (with a key)."
  value       = data.aws_iam_policy_document.this.json
}
