# The Athena side of the lake: the Glue database the Iceberg tables are registered in, the Athena workgroup
# that reads them, and the bucket (and KMS key) for query results. The tables themselves are NOT created here:
# ftm creates and commits them through pyiceberg's Glue catalog (`ftm run --lake s3://bucket/prefix`).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # The Iceberg warehouse (`ftm run --lake` value) and the database's location inside it. pyiceberg puts a table
  # created without an explicit location at <database location>/<table>; with the database at
  # <warehouse>/<database> this is the same place as pyiceberg's own default without a database location
  # (<warehouse>/<namespace>/<table>), so tables land in one place whichever way ftm creates them.
  warehouse_uri        = var.lake.uri
  database_location    = "${local.warehouse_uri}/${var.database_name}"
  results_bucket_name  = coalesce(var.results_bucket_name, "${var.name_prefix}-athena-results-${local.account_id}-${var.region}")
  results_prefix       = trim(var.results_prefix, "/")
  results_location     = "s3://${module.bucket.bucket}/${local.results_prefix}/"
  encryption_option    = module.bucket.encryption_option
  kms_key_arn          = module.bucket.kms_key_arn
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
# Results bucket: private, encrypted, versioned, TLS only (modules/private_bucket, shared with the lake bucket);
# results expire. Encryption of query results: SSE_KMS with a customer-managed key by default (see there why: results
# are derived from licensed data too); the workgroup encrypts with the same key. create_kms_key = false: SSE_S3.
module "bucket" {
  source = "../private_bucket"

  bucket_name     = local.results_bucket_name
  region          = var.region
  force_destroy   = var.results_bucket_force_destroy
  create_kms_key  = var.create_kms_key
  kms_alias_name  = "alias/${var.name_prefix}-athena-results"
  kms_description = "ftm: encrypts Athena query results of workgroup ${var.workgroup_name} (${local.results_bucket_name})"
  tags            = local.tags

  lifecycle_rules = [
    {
      id                              = "expire-query-results"
      expiration_days                 = var.results_expiration_days
      noncurrent_days                 = var.results_expiration_days
      abort_incomplete_multipart_days = 1
    },
  ]

  # checkov's skips for the results bucket and its key (checkov applies a module block's skips to that call's resources):
  #checkov:skip=CKV_AWS_18:no server access logging for query results: they expire after results_expiration_days, the workgroup's query history records who ran what, and CloudTrail covers Athena calls
  #checkov:skip=CKV_AWS_144:no cross-region replication: query results are re-computable from the lake and expire anyway
  #checkov:skip=CKV2_AWS_62:no event notifications: nothing reacts to new query results (clients poll Athena for them)
  #checkov:skip=CKV2_AWS_64:AWS's default key policy on purpose: the account's IAM policies decide (the query policy grants kms:Decrypt/GenerateDataKey on this key only); a hand-written key policy risks locking the account out and is not checkable here
  #checkov:skip=CKV_AWS_300:false positive: the rule above aborts incomplete uploads after a day for the whole bucket (tests/test_terraform.py reads it back), but once infra/ holds the orchestration modules checkov no longer resolves the rule's null prefix of private_bucket's dynamic filter and takes the rule for a prefixed one
}

# State written before the bucket moved into modules/private_bucket: moved, not destroyed and created again.
moved {
  from = aws_kms_key.results
  to   = module.bucket.aws_kms_key.this
}

moved {
  from = aws_kms_alias.results
  to   = module.bucket.aws_kms_alias.this
}

moved {
  from = aws_s3_bucket.results
  to   = module.bucket.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_ownership_controls.results
  to   = module.bucket.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_public_access_block.results
  to   = module.bucket.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.results
  to   = module.bucket.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_versioning.results
  to   = module.bucket.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.results
  to   = module.bucket.aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = aws_s3_bucket_policy.results
  to   = module.bucket.aws_s3_bucket_policy.this
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

  # The results bucket first, policy and encryption included.
  depends_on = [module.bucket]
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
    resources = [var.lake.bucket_arn, module.bucket.arn]
  }

  statement {
    sid       = "ReadLake"
    actions   = ["s3:GetObject"]
    resources = [var.lake.objects_arn]
  }

  statement {
    sid = "ReadWriteResults"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${module.bucket.arn}/${local.results_prefix}/*"]
  }

  dynamic "statement" {
    for_each = length(var.lake.kms_key_arns) > 0 ? [1] : []
    content {
      sid       = "DecryptLake"
      actions   = ["kms:Decrypt", "kms:DescribeKey"]
      resources = var.lake.kms_key_arns
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
