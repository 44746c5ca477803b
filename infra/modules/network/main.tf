# The deployment's network, checked once at plan time for every module that runs in it (this module creates
# nothing: the VPC, subnets and security groups are inputs). Two sets of subnets of one VPC:
#   batch  subnet_ids and security_group_ids: the Batch instances (modules/batch)
#   llm    llm_subnet_ids (default subnet_ids): the vLLM load balancer and GPU instances (modules/ecs_vllm) and the
#          health-check Lambda (modules/lambdas); an Application Load Balancer needs two Availability Zones
# Every subnet and security group must be in vpc_id; with subnets_are_public every subnet must auto-assign public
# IPv4 addresses (instances there reach ECR, S3, Batch and ECS only through one). The output carries the checks:
# a module that takes a part of it runs in a network that passed.

locals {
  llm_subnet_ids = coalesce(var.llm_subnet_ids, var.subnet_ids)
}

data "aws_subnet" "this" {
  for_each = toset(concat(var.subnet_ids, local.llm_subnet_ids))
  id       = each.value
}

data "aws_security_group" "this" {
  for_each = toset(var.security_group_ids)
  id       = each.value
}

locals {
  llm_azs = distinct([for id in local.llm_subnet_ids : data.aws_subnet.this[id].availability_zone])

  errors = concat(
    [for s in data.aws_subnet.this : "subnet ${s.id} is in ${s.vpc_id}, not vpc_id ${var.vpc_id}" if s.vpc_id != var.vpc_id],
    [for g in data.aws_security_group.this : "security group ${g.id} is in ${g.vpc_id}, not vpc_id ${var.vpc_id}" if g.vpc_id != var.vpc_id],
    [for s in data.aws_subnet.this : "subnet ${s.id} does not auto-assign public IPv4 addresses (map_public_ip_on_launch), so the instances in it could not reach ECR, S3, Batch or ECS without a NAT gateway; enable it, or set subnets_are_public = false for private subnets with a NAT gateway or VPC endpoints" if var.subnets_are_public && !s.map_public_ip_on_launch],
  )
}
