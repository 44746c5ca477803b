# Who may talk to whom, and nothing else:
#
#   clients (the Batch instances' security groups, the health-check Lambda's)  --HTTP listener_port-->  ALB
#   ALB  --HTTP container_port-->  GPU instances (vLLM's port, mapped 1:1 on the host: one task per instance)
#   GPU instances  --HTTPS 443-->  anywhere (ECR, S3, ECS, CloudWatch Logs: every AWS API they need is HTTPS)
#
# The ALB is internal: its DNS name resolves to private addresses of the VPC, reachable only from inside it.

resource "aws_security_group" "alb" {
  name        = "${local.name}-alb"
  description = "ftm: internal load balancer of the vLLM service; only the Batch jobs and the health check may call it"
  vpc_id      = var.network.vpc_id
  tags        = merge(local.tags, { Name = "${local.name}-alb" })
}

resource "aws_vpc_security_group_ingress_rule" "alb_from_clients" {
  for_each = var.client_security_group_ids

  security_group_id            = aws_security_group.alb.id
  description                  = "ftm: ${each.key} may call the vLLM endpoint"
  referenced_security_group_id = each.value
  ip_protocol                  = "tcp"
  from_port                    = var.listener_port
  to_port                      = var.listener_port
  tags                         = local.tags

  #checkov:skip=CKV_AWS_260:false positive: the source is referenced_security_group_id (one client security group), never 0.0.0.0/0; checkov's check reads cidr_ipv4/cidr_ipv6 and the older security_groups arguments only and takes a rule without them for an open one
}

resource "aws_vpc_security_group_egress_rule" "alb_to_instances" {
  security_group_id            = aws_security_group.alb.id
  description                  = "ftm: requests and health checks to vLLM on the GPU instances"
  referenced_security_group_id = aws_security_group.instances.id
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  tags                         = local.tags
}

resource "aws_security_group" "instances" {
  name        = "${local.name}-instances"
  description = "ftm: GPU instances of the vLLM service; only the load balancer may reach vLLM"
  vpc_id      = var.network.vpc_id
  tags        = merge(local.tags, { Name = "${local.name}-instances" })
}

resource "aws_vpc_security_group_ingress_rule" "instances_from_alb" {
  security_group_id            = aws_security_group.instances.id
  description                  = "ftm: the load balancer forwards requests and health checks to vLLM"
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
  tags                         = local.tags
}

# HTTPS only: ECR (image), S3 (model, image layers), ECS (agent), CloudWatch Logs. DNS (the VPC resolver) and time
# (169.254.169.123) are not filtered by security groups.
resource "aws_vpc_security_group_egress_rule" "instances_https" {
  security_group_id = aws_security_group.instances.id
  description       = "ftm: AWS APIs over HTTPS (ECR, S3, ECS, CloudWatch Logs)"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  tags              = local.tags
}

resource "aws_lb" "this" {
  name               = "${var.name_prefix}-vllm"
  internal           = true
  load_balancer_type = "application"
  security_groups    = [aws_security_group.alb.id]
  subnets            = var.network.subnet_ids

  drop_invalid_header_fields = true
  enable_deletion_protection = var.alb_deletion_protection

  # A naming request is answered as a whole (no streaming): the connection is idle while vLLM generates. Above
  # ftm's naming.timeout_s (60 s) so that the client, which retries, gives up first.
  idle_timeout = var.alb_idle_timeout_s

  tags = local.tags

  #checkov:skip=CKV_AWS_91:access logs would need a bucket with the ELB log-delivery policy; the only clients are ftm's own jobs and the health check, and vLLM logs every request in its CloudWatch log group
  #checkov:skip=CKV2_AWS_28:WAF protects internet-facing endpoints; this load balancer is internal and admits only the Batch jobs' and the health check's security groups
  #checkov:skip=CKV2_AWS_20:no HTTPS listener to redirect to: TLS on an internal load balancer needs a certificate for a private name (ACM Private CA, about $400 a month); the traffic stays inside the VPC between known security groups
}

resource "aws_lb_target_group" "this" {
  name        = "${var.name_prefix}-vllm"
  port        = var.container_port
  protocol    = "HTTP"
  target_type = "instance" # bridge network: ECS registers the instance and the host port
  vpc_id      = var.network.vpc_id

  # Requests are short (a naming prompt, 200 tokens back); a draining task gets 30 s to finish them.
  deregistration_delay = 30
  # Route to the task with the fewest requests in flight: generation times differ a lot between requests.
  load_balancing_algorithm_type = "least_outstanding_requests"

  # vLLM's GET /health answers 200 once the model is loaded. The service's health_check_grace_period_s covers the
  # model load; after it, 3 failures 15 s apart (45 s) take a task out of rotation, 2 successes put it back.
  health_check {
    enabled             = true
    path                = "/health"
    port                = "traffic-port"
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = local.tags

  #checkov:skip=CKV_AWS_378:the target group speaks HTTP to vLLM inside the VPC, behind security groups that admit only the load balancer; vLLM serves no TLS itself
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.this.arn
  port              = var.listener_port
  protocol          = "HTTP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  tags = local.tags

  #checkov:skip=CKV_AWS_2:internal load balancer inside the VPC: HTTPS needs a certificate for a private name (ACM Private CA, about $400 a month), and only ftm's own security groups may connect
  #checkov:skip=CKV_AWS_103:no TLS on this internal listener (see CKV_AWS_2), hence no TLS policy to set
}
