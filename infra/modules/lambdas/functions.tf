resource "aws_cloudwatch_log_group" "this" {
  for_each = local.functions

  # The group Lambda writes a function's logs to by default (/aws/lambda/<function name>), created here so that it has
  # a retention (Lambda would create it without one). The functions depend on it, so it exists before they log.
  name              = "/aws/lambda/${var.name_prefix}-${replace(each.key, "_", "-")}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = local.tags

  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts log data at rest with its own keys; a customer-managed key (log_kms_key_arn) is optional, since it needs a key policy that lets the logs service use it
  #checkov:skip=CKV_AWS_338:the functions' logs are for debugging an execution, kept log_retention_days (default 30); each quarter's record and results live in the lake
}

# The health check's only way out: the load balancer's listener.
resource "aws_security_group" "llm_health" {
  name        = "${var.name_prefix}-llm-health"
  description = "ftm: the llm_health Lambda function; egress to the vLLM load balancer only"
  vpc_id      = var.network.vpc_id
  tags        = merge(local.tags, { Name = "${var.name_prefix}-llm-health" })
}

resource "aws_vpc_security_group_egress_rule" "llm_health_to_alb" {
  security_group_id            = aws_security_group.llm_health.id
  description                  = "ftm: GET /health through the vLLM load balancer"
  referenced_security_group_id = var.alb_security_group_id
  ip_protocol                  = "tcp"
  from_port                    = var.alb_listener_port
  to_port                      = var.alb_listener_port
  tags                         = local.tags
}

resource "aws_lambda_function" "this" {
  for_each = local.functions

  function_name = "${var.name_prefix}-${replace(each.key, "_", "-")}"
  description   = "ftm state machine: ${each.key} (${local.handlers[each.key]})"
  package_type  = "Image"
  image_uri     = var.image_uri
  architectures = ["x86_64"] # the image is built for linux/amd64
  role          = each.value.vpc ? module.role["health"].arn : module.role["lake"].arn

  # The image's ENTRYPOINT is the runtime interface client (python -m awslambdaric); the command names the handler.
  image_config {
    command = [local.handlers[each.key]]
  }

  timeout                        = each.value.timeout
  memory_size                    = each.value.memory
  reserved_concurrent_executions = var.reserved_concurrency[each.key] # -1: unreserved

  ephemeral_storage {
    size = each.value.ephemeral
  }

  environment {
    variables = local.environment
  }

  tracing_config {
    mode = "Active"
  }

  dynamic "vpc_config" {
    for_each = each.value.vpc ? [1] : []
    content {
      subnet_ids         = var.network.subnet_ids
      security_group_ids = [aws_security_group.llm_health.id]
    }
  }

  tags = local.tags

  # The roles' policies must exist while a function is created (Lambda checks the VPC permissions, writes logs)
  # and while it is deleted (Lambda removes the health function's network interfaces with its role).
  depends_on = [module.role, aws_ecr_repository_policy.lambda_pull, aws_cloudwatch_log_group.this]

  #checkov:skip=CKV_AWS_116:the state machine invokes every function synchronously (lambda:invoke waits for the result and retries); a dead-letter queue only receives failed asynchronous invocations
  #checkov:skip=CKV_AWS_117:only llm_health needs the VPC (the internal load balancer) and runs in it; the others read and write S3 and Glue, which from inside the VPC would need a NAT gateway or endpoints
  #checkov:skip=CKV_AWS_173:the environment holds no secret (lake URI, queue names, URLs, numbers); Lambda encrypts it at rest with an AWS-managed key
  #checkov:skip=CKV_AWS_272:Lambda code signing applies to zip packages; these functions run a container image from an immutable ECR tag, scanned on push
}

# Lambda pulls the image with its service principal: the worker repository lets it, for this account's ftm
# functions only (without this, creating a function needs ecr:SetRepositoryPolicy and Lambda writes the policy itself).
data "aws_iam_policy_document" "lambda_pull" {
  statement {
    sid     = "LambdaPullFtmImage"
    actions = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }

    condition {
      test     = "StringLike"
      variable = "aws:sourceArn"
      values   = ["arn:${local.partition}:lambda:${var.region}:${local.account_id}:function:${var.name_prefix}-*"]
    }
  }
}

resource "aws_ecr_repository_policy" "lambda_pull" {
  repository = var.repository_name
  policy     = data.aws_iam_policy_document.lambda_pull.json
}
