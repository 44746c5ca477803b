# The lake bucket: where ftm's Iceberg warehouse lives (s3://<bucket>/<lake_prefix>, the value of `ftm run --lake`).
# Private, versioned, encrypted, TLS only. Lifecycle: what runs stage under <lake_prefix>/_staging/ is temporary
# (publish copies it into Iceberg; `ftm lake gc` removes the staging of published and abandoned runs, whole runs at
# a time), so it also expires, as a backstop for staging nobody collects; overwritten or deleted objects (Iceberg gc,
# orphan removal) keep a non-current version for a while, then go; incomplete multipart uploads are aborted. Athena's query results are NOT here (modules/athena has its own bucket).

data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  partition   = data.aws_partition.current.partition
  lake_prefix = trim(var.lake_prefix, "/")
  lake_uri    = "s3://${join("/", compact([var.bucket_name, local.lake_prefix]))}"
  # ftm stages each run under <lake>/_staging/quarter=<q>/<run_id>/ (Lake.staging_dir).
  staging_prefix = "${join("/", compact([local.lake_prefix, "_staging"]))}/"
  kms_key_arn    = var.create_kms_key ? aws_kms_key.lake[0].arn : null

  tags = merge({ "ftm:component" = "storage" }, var.tags)
}

# ---------------------------------------------------------------------------------------------------------------
# Encryption. SSE-KMS with a key of our own is the default, for the reason the Athena results have one: the lake
# holds data derived from licensed sources (WRDS, transcripts), and a key of our own makes decryption a separate
# permission, logged in CloudTrail, that can be revoked. Bucket keys keep KMS request costs low (one data key per
# bucket and hour, not per object). create_kms_key = false: SSE-S3 (AES256, no key to manage, no KMS cost).
resource "aws_kms_key" "lake" {
  count = var.create_kms_key ? 1 : 0

  description             = "ftm: encrypts the lake bucket ${var.bucket_name}"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  tags                    = local.tags

  #checkov:skip=CKV2_AWS_64:AWS's default key policy on purpose: the account's IAM policies decide who may use the key (the Batch job role and the Athena query policy grant kms:Decrypt/GenerateDataKey on this key only); a hand-written key policy risks locking the account out and is not checkable here
}

resource "aws_kms_alias" "lake" {
  count = var.create_kms_key ? 1 : 0

  name          = "alias/${var.name_prefix}-lake"
  target_key_id = aws_kms_key.lake[0].key_id
}

# ---------------------------------------------------------------------------------------------------------------
resource "aws_s3_bucket" "lake" {
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = local.tags

  lifecycle {
    precondition {
      condition     = var.region == data.aws_region.current.name
      error_message = "var.region (${var.region}) differs from the AWS provider's region (${data.aws_region.current.name})."
    }
  }

  #checkov:skip=CKV_AWS_18:no server access logging: it needs a second (log) bucket and costs a PUT per request on a bucket Iceberg writes many small files to; who read or wrote what is recorded, if needed, by CloudTrail data events on this bucket (an account-level decision)
  #checkov:skip=CKV_AWS_144:no cross-region replication: the lake is rebuilt from its sources (ftm run per quarter), versioning covers accidental deletes, and a second-region copy doubles storage cost
  #checkov:skip=CKV2_AWS_62:no event notifications: nothing reacts to new objects (ftm commits through the Glue catalog, readers find data through Iceberg metadata)
}

resource "aws_s3_bucket_ownership_controls" "lake" {
  bucket = aws_s3_bucket.lake.id

  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs off: the bucket owner owns every object
  }
}

resource "aws_s3_bucket_public_access_block" "lake" {
  bucket = aws_s3_bucket.lake.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.create_kms_key ? "aws:kms" : "AES256"
      kms_master_key_id = local.kms_key_arn
    }
    bucket_key_enabled = var.create_kms_key
  }
}

resource "aws_s3_bucket_versioning" "lake" {
  bucket = aws_s3_bucket.lake.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "lake" {
  bucket = aws_s3_bucket.lake.id

  # Staging (runs' Parquet, checkpoints, prefetched calls): the backstop behind `ftm lake gc`. S3 expires each object
  # by its own age, not whole runs: a run left unpublished longer than this loses its oldest files first, so it must
  # be started again, not resumed. Hence a default well above any run's life.
  rule {
    id     = "expire-staging"
    status = "Enabled"

    filter {
      prefix = local.staging_prefix
    }

    expiration {
      days = var.staging_expiration_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }
  }

  # Everything: versions that were overwritten or deleted (Iceberg gc, orphan removal) are kept for a while as a
  # safety net, then removed, and so are the delete markers left without versions behind them.
  rule {
    id     = "noncurrent-versions"
    status = "Enabled"

    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }
  }

  # S3 rejects lifecycle rules while versioning changes.
  depends_on = [aws_s3_bucket_versioning.lake]
}

data "aws_iam_policy_document" "tls_only" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.lake.arn,
      "${aws_s3_bucket.lake.arn}/*",
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

resource "aws_s3_bucket_policy" "lake" {
  bucket = aws_s3_bucket.lake.id
  policy = data.aws_iam_policy_document.tls_only.json

  # S3 refuses a bucket policy while the public access block is being written.
  depends_on = [aws_s3_bucket_public_access_block.lake]
}
