# ftm on AWS. Modules arrive one at a time: athena (Glue database, Athena workgroup, results bucket) first;
# storage (the lake bucket), batch, step functions and the vLLM service follow.

locals {
  tags = merge({
    "ftm:project"    = "ftm"
    "ftm:managed-by" = "terraform"
  }, var.tags)
}

module "athena" {
  source = "./modules/athena"

  region                         = var.region
  name_prefix                    = var.name_prefix
  lake_bucket                    = var.lake_bucket
  lake_prefix                    = var.lake_prefix
  database_name                  = var.database_name
  workgroup_name                 = var.workgroup_name
  bytes_scanned_cutoff_per_query = var.bytes_scanned_cutoff_per_query
  results_expiration_days        = var.results_expiration_days
  create_kms_key                 = var.create_kms_key
  create_query_policy            = var.create_query_policy
  tags                           = local.tags
}
