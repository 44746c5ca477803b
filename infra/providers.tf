provider "aws" {
  region = var.region

  # Refuse to touch any other account than the one named (empty: no check).
  allowed_account_ids = length(var.allowed_account_ids) > 0 ? var.allowed_account_ids : null
}
