# Container registries of ftm's images: the worker (`ftm worker map|reduce`, run by AWS Batch) and the vLLM server
# (topic naming). Tags are immutable, so a tag names one image for good: a job definition that points at
# <repo>:<tag> runs exactly the image that was tested under that tag, and a re-push cannot swap it underneath.
# Every push is scanned for known vulnerabilities; old images are expired so storage stays bounded.

locals {
  repositories = {
    worker = "${var.name_prefix}-worker"
    vllm   = "${var.name_prefix}-vllm"
  }

  # The images this deployment runs (outputs.tf images), by what runs them: <repository url>:<tag>. The Lambda image
  # is the worker image's `lambda` target, in the worker repository.
  image_repositories = { worker = "worker", lambda = "worker", vllm = "vllm" }

  tags = merge({ "ftm:component" = "ecr" }, var.tags)

  lifecycle_policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "untagged images (layers of superseded multi-arch or failed pushes) go after a day"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = 1
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "keep the last ${var.keep_images} images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.keep_images
        }
        action = { type = "expire" }
      },
    ]
  })
}

resource "aws_ecr_repository" "this" {
  for_each = local.repositories

  name                 = each.value
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  # KMS with the AWS-managed aws/ecr key unless a key is given (ECR's default, AES256, is not KMS).
  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }

  tags = merge(local.tags, { "ftm:image" = each.key })
}

resource "aws_ecr_lifecycle_policy" "this" {
  for_each = aws_ecr_repository.this

  repository = each.value.name
  policy     = local.lifecycle_policy
}
