# The Athena side of the lake: the Glue database the Iceberg tables are registered in, the Athena workgroup
# that reads them, and the bucket (and KMS key) for query results. The tables themselves are NOT created here:
# ftm creates and commits them through pyiceberg's Glue catalog (`ftm run --lake s3://bucket/prefix`).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  lake_prefix = trim(var.lake_prefix, "/")
  # The Iceberg warehouse (`ftm run --lake` value) and the database's location inside it. pyiceberg puts a table
  # created without an explicit location at <database location>/<table>; with the database at
  # <warehouse>/<database> this is the same place as pyiceberg's own default without a database location
  # (<warehouse>/<namespace>/<table>), so tables land in one place whichever way ftm creates them.
  warehouse_uri        = "s3://${join("/", compact([var.lake_bucket, local.lake_prefix]))}"
  database_location    = "${local.warehouse_uri}/${var.database_name}"
  lake_objects_arn     = "arn:${local.partition}:s3:::${join("/", compact([var.lake_bucket, local.lake_prefix, "*"]))}"
  results_bucket_name  = coalesce(var.results_bucket_name, "${var.name_prefix}-athena-results-${local.account_id}-${var.region}")
  results_prefix       = trim(var.results_prefix, "/")
  results_location     = "s3://${aws_s3_bucket.results.bucket}/${local.results_prefix}/"
  encryption_option    = var.create_kms_key ? "SSE_KMS" : "SSE_S3"
  kms_key_arn          = var.create_kms_key ? aws_kms_key.results[0].arn : null
  athena_workgroup_arn = "arn:${local.partition}:athena:${var.region}:${local.account_id}:workgroup/${var.workgroup_name}"

  tags = merge({ "ftm:component" = "athena" }, var.tags)
}

# ---------------------------------------------------------------------------------------------------------------
# Glue Data Catalog database = the Iceberg namespace (ftm's catalog.namespace). ftm must create its namespace
# only if missing (pyiceberg create_namespace_if_not_exists), since this one exists first.
resource "aws_glue_catalog_database" "lake" {
  name         = var.database_name
  description  = "ftm lake: Iceberg tables of financial topic modeling on earnings calls, written by ftm through pyiceberg and read by Athena engine v3 (workgroup ${var.workgroup_name}). Warehouse ${local.warehouse_uri}."
  location_uri = local.database_location
  tags         = local.tags
}

# ---------------------------------------------------------------------------------------------------------------
# Encryption of query results. SSE_KMS with a customer-managed key is the default: results are derived from
# licensed data (WRDS, transcripts), and a key of our own lets its key policy / IAM decide who may decrypt them
# (S3 read access alone is not enough), logs every use in CloudTrail, and is rotated yearly. S3 bucket keys keep
# the KMS request cost low. The key policy is AWS's default one (the account's IAM policies decide; see the
# query policy below). create_kms_key = false falls back to SSE_S3 (S3-managed keys, no KMS cost or policy).
resource "aws_kms_key" "results" {
  count = var.create_kms_key ? 1 : 0

  description             = "ftm: encrypts Athena query results of workgroup ${var.workgroup_name} (${local.results_bucket_name})"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  tags                    = local.tags

  #checkov:skip=CKV2_AWS_64:AWS's default key policy on purpose: the account's IAM policies decide (the query policy grants kms:Decrypt/GenerateDataKey on this key only); a hand-written key policy risks locking the account out and is not checkable here
}

resource "aws_kms_alias" "results" {
  count = var.create_kms_key ? 1 : 0

  name          = "alias/${var.name_prefix}-athena-results"
  target_key_id = aws_kms_key.results[0].key_id
}

# ---------------------------------------------------------------------------------------------------------------
# Results bucket: private, encrypted, versioned, TLS only; results expire.
resource "aws_s3_bucket" "results" {
  bucket        = local.results_bucket_name
  force_destroy = var.results_bucket_force_destroy
  tags          = local.tags

  lifecycle {
    precondition {
      condition     = var.region == data.aws_region.current.name
      error_message = "var.region (${var.region}) differs from the AWS provider's region (${data.aws_region.current.name})."
    }
  }

  #checkov:skip=CKV_AWS_18:no server access logging for query results: they expire after results_expiration_days, the workgroup's query history records who ran what, and CloudTrail covers Athena calls
  #checkov:skip=CKV_AWS_144:no cross-region replication: query results are re-computable from the lake and expire anyway
  #checkov:skip=CKV2_AWS_62:no event notifications: nothing reacts to new query results (clients poll Athena for them)
}

resource "aws_s3_bucket_ownership_controls" "results" {
  bucket = aws_s3_bucket.results.id

  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs off: the bucket owner owns every result object
  }
}

resource "aws_s3_bucket_public_access_block" "results" {
  bucket = aws_s3_bucket.results.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "results" {
  bucket = aws_s3_bucket.results.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.create_kms_key ? "aws:kms" : "AES256"
      kms_master_key_id = local.kms_key_arn
    }
    bucket_key_enabled = var.create_kms_key
  }
}

resource "aws_s3_bucket_versioning" "results" {
  bucket = aws_s3_bucket.results.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "results" {
  bucket = aws_s3_bucket.results.id

  rule {
    id     = "expire-query-results"
    status = "Enabled"

    filter {}

    expiration {
      days = var.results_expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = var.results_expiration_days
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 1
    }
  }

  # Expiration needs versioning to be settled first (S3 rejects lifecycle rules while versioning changes).
  depends_on = [aws_s3_bucket_versioning.results]
}

data "aws_iam_policy_document" "results_tls_only" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.results.arn,
      "${aws_s3_bucket.results.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "results" {
  bucket = aws_s3_bucket.results.id
  policy = data.aws_iam_policy_document.results_tls_only.json

  # S3 refuses a bucket policy while the public access block is being written.
  depends_on = [aws_s3_bucket_public_access_block.results]
}

# ---------------------------------------------------------------------------------------------------------------
# The workgroup ftm queries through (`ftm query NAME --engine athena`, athena.workgroup). Its settings are
# enforced: a client cannot pick another output location, turn encryption off or lift the scan cutoff.
resource "aws_athena_workgroup" "lake" {
  name          = var.workgroup_name
  description   = "ftm: queries the Iceberg tables of Glue database ${var.database_name} (engine v3)"
  state         = "ENABLED"
  force_destroy = var.workgroup_force_destroy

  configuration {
    enforce_workgroup_configuration    = true
    publish_cloudwatch_metrics_enabled = true
    bytes_scanned_cutoff_per_query     = var.bytes_scanned_cutoff_per_query
    requester_pays_enabled             = false

    # Engine v3 (Trino) reads Iceberg tables from the Glue catalog, including their snapshots (time travel).
    engine_version {
      selected_engine_version = "Athena engine version 3"
    }

    result_configuration {
      output_location       = local.results_location
      expected_bucket_owner = local.account_id

      encryption_configuration {
        encryption_option = local.encryption_option
        kms_key_arn       = local.kms_key_arn
      }
    }
  }

  # moto (the tests' AWS) also needs at least one tag here: its ListTagsForResource fails on an untagged workgroup.
  tags = local.tags

  depends_on = [
    aws_s3_bucket_policy.results,
    aws_s3_bucket_server_side_encryption_configuration.results,
  ]
}

# ---------------------------------------------------------------------------------------------------------------
# Least privilege for whoever queries the lake through Athena: run queries in this workgroup only, read the
# Glue database and its tables, read the lake's objects, read/write results, use the results key.
data "aws_iam_policy_document" "query" {
  count = var.create_query_policy ? 1 : 0

  statement {
    sid = "AthenaWorkgroup"
    actions = [
      "athena:StartQueryExecution",
      "athena:StopQueryExecution",
      "athena:GetQueryExecution",
      "athena:GetQueryResults",
      "athena:GetQueryResultsStream",
      "athena:GetQueryRuntimeStatistics",
      "athena:ListQueryExecutions",
      "athena:GetWorkGroup",
      "athena:BatchGetQueryExecution",
    ]
    resources = [local.athena_workgroup_arn]
  }

  statement {
    sid = "GlueReadLakeTables"
    actions = [
      "glue:GetDatabase",
      "glue:GetDatabases",
      "glue:GetTable",
      "glue:GetTables",
      "glue:GetPartition",
      "glue:GetPartitions",
      "glue:BatchGetPartition",
    ]
    resources = [
      "arn:${local.partition}:glue:${var.region}:${local.account_id}:catalog",
      "arn:${local.partition}:glue:${var.region}:${local.account_id}:database/${var.database_name}",
      "arn:${local.partition}:glue:${var.region}:${local.account_id}:table/${var.database_name}/*",
    ]
  }

  statement {
    sid       = "ListLakeAndResults"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation"]
    resources = ["arn:${local.partition}:s3:::${var.lake_bucket}", aws_s3_bucket.results.arn]
  }

  statement {
    sid       = "ReadLake"
    actions   = ["s3:GetObject"]
    resources = [local.lake_objects_arn]
  }

  statement {
    sid = "ReadWriteResults"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${aws_s3_bucket.results.arn}/${local.results_prefix}/*"]
  }

  dynamic "statement" {
    for_each = length(var.lake_kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "DecryptLake"
      actions   = ["kms:Decrypt", "kms:DescribeKey"]
      resources = var.lake_kms_key_arns
    }
  }

  dynamic "statement" {
    for_each = var.create_kms_key ? [1] : []
    content {
      sid       = "UseResultsKey"
      actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
      resources = [local.kms_key_arn]
    }
  }
}

resource "aws_iam_policy" "query" {
  count = var.create_query_policy ? 1 : 0

  name        = "${var.name_prefix}-athena-query"
  description = "ftm: query the lake (Glue database ${var.database_name}) through Athena workgroup ${var.workgroup_name}"
  policy      = data.aws_iam_policy_document.query[0].json
  tags        = local.tags
}
