# The lake's IAM statements, written once for every role that works on the lake: list the lake prefix, read and
# write the objects under it, read (and with glue_write, create, commit and drop) the Iceberg tables of the Glue
# database, use the lake's KMS key. No resources: the root makes one document with Glue writes (the Batch job role
# puts it in its policy alone) and one that reads the tables (the Lambda lake role merges it with statements of its
# own through `source_policy_documents`).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  lake_prefix = trim(var.lake.prefix, "/")

  # No CreateDatabase: Terraform creates the database and ftm only creates a namespace that is missing.
  glue_read  = ["glue:GetDatabase", "glue:GetTable", "glue:GetTables"]
  glue_write = ["glue:CreateTable", "glue:UpdateTable", "glue:DeleteTable"]
}

data "aws_iam_policy_document" "this" {
  # List only under the lake prefix (pyiceberg/pyarrow list a table's folders; ftm lists _staging/).
  statement {
    sid       = "ListLakePrefix"
    actions   = ["s3:ListBucket"]
    resources = [var.lake.bucket_arn]

    dynamic "condition" {
      for_each = local.lake_prefix == "" ? [] : [1]
      content {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = [local.lake_prefix, "${local.lake_prefix}/*"]
      }
    }
  }

  statement {
    sid       = "LakeBucketLocation"
    actions   = ["s3:GetBucketLocation"]
    resources = [var.lake.bucket_arn]
  }

  statement {
    sid = "ReadWriteLake"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = [var.lake.objects_arn]
  }

  # The Iceberg catalog: the database and its tables only.
  statement {
    sid     = var.glue_write ? "GlueLakeTables" : "GlueReadLakeTables"
    actions = concat(local.glue_read, var.glue_write ? local.glue_write : [])
    resources = [
      "arn:${local.partition}:glue:${var.region}:${local.account_id}:catalog",
      "arn:${local.partition}:glue:${var.region}:${local.account_id}:database/${var.glue_database}",
      "arn:${local.partition}:glue:${var.region}:${local.account_id}:table/${var.glue_database}/*",
    ]
  }

  dynamic "statement" {
    for_each = length(var.lake.kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "UseLakeKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
      resources = var.lake.kms_key_arns
    }
  }
}
