# A private S3 bucket, hardened the same way wherever ftm keeps data: ACLs off, all public access blocked, default
# encryption (SSE-KMS with a key of its own, or SSE-S3), versioning on, a bucket policy that denies any request
# without TLS, and the caller's lifecycle rules. Used by modules/storage (the lake bucket) and modules/athena (the
# query results bucket).
#
# checkov: the callers skip CKV_AWS_18 (access logging), CKV_AWS_144 (cross-region replication), CKV2_AWS_62 (event
# notifications) and CKV2_AWS_64 (key policy) on their `module "bucket"` block, each with the reason that holds for
# its bucket (checkov pushes a module block's skips down to the module's resources of that call).

data "aws_region" "current" {}

locals {
  kms_key_arn = var.create_kms_key ? aws_kms_key.this[0].arn : null
}

# ---------------------------------------------------------------------------------------------------------------
# Encryption. SSE-KMS with a customer-managed key is the default: both buckets hold data derived from licensed
# sources (WRDS, transcripts), and a key of our own makes decryption a separate permission (S3 read access alone is
# not enough), logged in CloudTrail, that can be revoked (the key disabled); it is rotated yearly. The key policy is
# AWS's default one: the account's IAM policies decide who may use the key (the callers' roles and policies grant
# kms:Decrypt/GenerateDataKey on this key only). Bucket keys keep KMS request costs low (one data key per bucket and
# hour, not per object). create_kms_key = false: SSE-S3 (AES256, no key to manage, no KMS cost).
resource "aws_kms_key" "this" {
  count = var.create_kms_key ? 1 : 0

  description             = var.kms_description
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_in_days
  tags                    = var.tags

  # CKV2_AWS_64 (a hand-written key policy) is skipped on the callers' module blocks, each with its reason.
}

resource "aws_kms_alias" "this" {
  count = var.create_kms_key ? 1 : 0

  name          = var.kms_alias_name
  target_key_id = aws_kms_key.this[0].key_id
}

# ---------------------------------------------------------------------------------------------------------------
resource "aws_s3_bucket" "this" {
  bucket        = var.bucket_name
  force_destroy = var.force_destroy
  tags          = var.tags

  lifecycle {
    precondition {
      condition     = var.region == data.aws_region.current.name
      error_message = "var.region (${var.region}) differs from the AWS provider's region (${data.aws_region.current.name})."
    }
  }

  # CKV_AWS_18 (access logging), CKV_AWS_144 (replication), CKV2_AWS_62 (event notifications): skipped on the
  # callers' module blocks, each with the reason that holds for its bucket.
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs off: the bucket owner owns every object
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.create_kms_key ? "aws:kms" : "AES256"
      kms_master_key_id = local.kms_key_arn
    }
    bucket_key_enabled = var.create_kms_key
  }
}

# Always on: an overwritten or deleted object stays recoverable as a non-current version until a lifecycle rule
# removes it.
resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  dynamic "rule" {
    for_each = var.lifecycle_rules
    content {
      id     = rule.value.id
      status = "Enabled"

      filter {
        prefix = rule.value.prefix # null: the whole bucket
      }

      dynamic "expiration" {
        for_each = rule.value.expiration_days != null || rule.value.expired_object_delete_marker != null ? [1] : []
        content {
          days                         = rule.value.expiration_days
          expired_object_delete_marker = rule.value.expired_object_delete_marker
        }
      }

      dynamic "noncurrent_version_expiration" {
        for_each = rule.value.noncurrent_days != null ? [1] : []
        content {
          noncurrent_days = rule.value.noncurrent_days
        }
      }

      dynamic "abort_incomplete_multipart_upload" {
        for_each = rule.value.abort_incomplete_multipart_days != null ? [1] : []
        content {
          days_after_initiation = rule.value.abort_incomplete_multipart_days
        }
      }
    }
  }

  # S3 rejects lifecycle rules while versioning changes.
  depends_on = [aws_s3_bucket_versioning.this]
}

data "aws_iam_policy_document" "policy" {
  source_policy_documents = var.extra_policy_documents

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
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

resource "aws_s3_bucket_policy" "this" {
  bucket = aws_s3_bucket.this.id
  policy = data.aws_iam_policy_document.policy.json

  # S3 refuses a bucket policy while the public access block is being written.
  depends_on = [aws_s3_bucket_public_access_block.this]
}
