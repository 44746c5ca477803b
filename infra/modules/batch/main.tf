# AWS Batch for ftm's map and reduce steps (`ftm run --executor batch`): Spot compute environments (GPU for the
# map step, CPU for reduce), a job queue per step, the job definitions ftm submits to (jobs.tf), their log group
# and the IAM roles (iam.tf). Network (VPC, subnets, security groups) is an input: this module creates none.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  tags = merge({ "ftm:component" = "batch" }, var.tags)
}
