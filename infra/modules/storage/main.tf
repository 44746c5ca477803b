# The lake bucket: where ftm's Iceberg warehouse lives (s3://<bucket>/<lake_prefix>, the value of `ftm run --lake`).
# Private, versioned, encrypted, TLS only. Lifecycle: what runs stage under <lake_prefix>/_staging/ is temporary
# (publish copies it into Iceberg; `ftm lake gc` removes the staging of published and abandoned runs, whole runs at
# a time), so it also expires, as a backstop for staging nobody collects; overwritten or deleted objects (Iceberg gc,
# orphan removal) keep a non-current version for a while, then go; incomplete multipart uploads are aborted. Athena's query results are NOT here (modules/athena has its own bucket).

data "aws_partition" "current" {}

locals {
  partition   = data.aws_partition.current.partition
  lake_prefix = trim(var.lake_prefix, "/")
  lake_uri    = "s3://${join("/", compact([var.bucket_name, local.lake_prefix]))}"
  # ftm stages each run under <lake>/_staging/quarter=<q>/<run_id>/ (Lake.staging_dir).
  staging_prefix = "${join("/", compact([local.lake_prefix, "_staging"]))}/"
  kms_key_arn    = module.bucket.kms_key_arn

  # What the modules that work on the lake take (outputs.tf lake): its names and ARNs derived here once. The ARNs are
  # built from the name, so they are known at plan time; kms_key_arns is a list whose length is known at plan time
  # even while the key is being created.
  lake = {
    bucket       = module.bucket.bucket
    prefix       = local.lake_prefix
    uri          = local.lake_uri
    bucket_arn   = "arn:${local.partition}:s3:::${var.bucket_name}"
    objects_arn  = "arn:${local.partition}:s3:::${join("/", compact([var.bucket_name, local.lake_prefix, "*"]))}"
    kms_key_arns = var.create_kms_key ? [local.kms_key_arn] : []
  }

  tags = merge({ "ftm:component" = "storage" }, var.tags)
}

# ---------------------------------------------------------------------------------------------------------------
# The bucket and its hardening (ACLs off, public access blocked, encryption, versioning, TLS-only policy):
# modules/private_bucket, shared with the Athena results bucket. Encryption: SSE-KMS with a key of our own by default
# (see there why); create_kms_key = false: SSE-S3.
module "bucket" {
  source = "../private_bucket"

  bucket_name     = var.bucket_name
  region          = var.region
  force_destroy   = var.force_destroy
  create_kms_key  = var.create_kms_key
  kms_alias_name  = "alias/${var.name_prefix}-lake"
  kms_description = "ftm: encrypts the lake bucket ${var.bucket_name}"
  tags            = local.tags

  lifecycle_rules = [
    # Staging (runs' Parquet, checkpoints, prefetched calls): the backstop behind `ftm lake gc`. S3 expires each
    # object by its own age, not whole runs: a run left unpublished longer than this loses its oldest files first,
    # so it must be started again, not resumed. Hence a default well above any run's life.
    {
      id                              = "expire-staging"
      prefix                          = local.staging_prefix
      expiration_days                 = var.staging_expiration_days
      noncurrent_days                 = 1
      abort_incomplete_multipart_days = var.abort_incomplete_multipart_days
    },
    # Everything: versions that were overwritten or deleted (Iceberg gc, orphan removal) are kept for a while as a
    # safety net, then removed, and so are the delete markers left without versions behind them.
    {
      id                              = "noncurrent-versions"
      noncurrent_days                 = var.noncurrent_version_expiration_days
      expired_object_delete_marker    = true
      abort_incomplete_multipart_days = var.abort_incomplete_multipart_days
    },
  ]

  # checkov's skips for the lake bucket and its key (checkov applies a module block's skips to that call's resources):
  #checkov:skip=CKV_AWS_18:no server access logging: it needs a second (log) bucket and costs a PUT per request on a bucket Iceberg writes many small files to; who read or wrote what is recorded, if needed, by CloudTrail data events on this bucket (an account-level decision)
  #checkov:skip=CKV_AWS_144:no cross-region replication: the lake is rebuilt from its sources (ftm run per quarter), versioning covers accidental deletes, and a second-region copy doubles storage cost
  #checkov:skip=CKV2_AWS_62:no event notifications: nothing reacts to new objects (ftm commits through the Glue catalog, readers find data through Iceberg metadata)
  #checkov:skip=CKV2_AWS_64:AWS's default key policy on purpose: the account's IAM policies decide who may use the key (the Batch job role and the Athena query policy grant kms:Decrypt/GenerateDataKey on this key only); a hand-written key policy risks locking the account out and is not checkable here
}

# State written before the bucket moved into modules/private_bucket: moved, not destroyed and created again.
moved {
  from = aws_kms_key.lake
  to   = module.bucket.aws_kms_key.this
}

moved {
  from = aws_kms_alias.lake
  to   = module.bucket.aws_kms_alias.this
}

moved {
  from = aws_s3_bucket.lake
  to   = module.bucket.aws_s3_bucket.this
}

moved {
  from = aws_s3_bucket_ownership_controls.lake
  to   = module.bucket.aws_s3_bucket_ownership_controls.this
}

moved {
  from = aws_s3_bucket_public_access_block.lake
  to   = module.bucket.aws_s3_bucket_public_access_block.this
}

moved {
  from = aws_s3_bucket_server_side_encryption_configuration.lake
  to   = module.bucket.aws_s3_bucket_server_side_encryption_configuration.this
}

moved {
  from = aws_s3_bucket_versioning.lake
  to   = module.bucket.aws_s3_bucket_versioning.this
}

moved {
  from = aws_s3_bucket_lifecycle_configuration.lake
  to   = module.bucket.aws_s3_bucket_lifecycle_configuration.this
}

moved {
  from = aws_s3_bucket_policy.lake
  to   = module.bucket.aws_s3_bucket_policy.this
}
