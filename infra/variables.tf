variable "region" {
  description = "AWS region of the whole deployment (lake bucket, Glue catalog, Athena, ECR, Batch, the vLLM service, Lambda, Step Functions)."
  type        = string
  default     = "us-east-1"
}

variable "allowed_account_ids" {
  description = "AWS account ids Terraform may act on (guards against applying to the wrong account). Empty: any."
  type        = list(string)
  default     = []
}

variable "name_prefix" {
  description = "Prefix of resource names (buckets, KMS aliases, IAM roles and policies, ECR repositories, Batch queues and job definitions, the vLLM cluster and load balancer, Lambda functions, the state machine). At most 22 characters (load balancer names)."
  type        = string
  default     = "ftm"

  # Checked here once for every module (they take it as given): the strictest rule among the names it goes into,
  # <name_prefix>-vllm for the vLLM load balancer and target group (at most 32 characters), S3 bucket names.
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-22 characters of a-z, 0-9 and '-', start with a letter and not end with '-' (load balancer and target group names <name_prefix>-vllm may have at most 32)."
  }
}

variable "lake_bucket" {
  description = "S3 bucket of the lake, created by modules/storage (an existing bucket: `terraform import module.storage.module.bucket.aws_s3_bucket.this NAME` first)."
  type        = string
}

variable "lake_prefix" {
  description = "Key prefix of the lake in lake_bucket: the warehouse is s3://<lake_bucket>/<lake_prefix>, the value of `ftm run --lake`."
  type        = string
  default     = "lake"
}

variable "database_name" {
  description = "Glue database = Iceberg namespace (ftm's catalog.namespace)."
  type        = string
  default     = "ftm"
}

variable "workgroup_name" {
  description = "Athena workgroup (ftm's athena.workgroup)."
  type        = string
  default     = "ftm"
}

variable "bytes_scanned_cutoff_per_query" {
  description = "Athena cancels a query that scans more than this many bytes. Default 10 GiB."
  type        = number
  default     = 10737418240
}

variable "results_expiration_days" {
  description = "Days after which Athena query results are deleted."
  type        = number
  default     = 30
}

variable "create_kms_key" {
  description = "Encrypt query results with a KMS key created for them (SSE_KMS); false: SSE_S3."
  type        = bool
  default     = true
}

variable "create_query_policy" {
  description = "Create the IAM policy for principals that query the lake through Athena (attach it yourself)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

# --- the lake bucket (modules/storage) -------------------------------------------------------------------------

variable "lake_staging_expiration_days" {
  description = "Staged data of runs (<lake_prefix>/_staging/) is deleted this many days after it was written (per object: a run unpublished for longer must be restarted)."
  type        = number
  default     = 30
}

variable "lake_noncurrent_version_expiration_days" {
  description = "Overwritten or deleted lake objects stay recoverable this many days."
  type        = number
  default     = 30
}

variable "lake_create_kms_key" {
  description = "Encrypt the lake bucket with a KMS key created for it (SSE-KMS); false: SSE-S3."
  type        = bool
  default     = true
}

variable "lake_bucket_force_destroy" {
  description = "Let `terraform destroy` delete the lake bucket with everything in it."
  type        = bool
  default     = false
}

# --- container images (modules/ecr) ----------------------------------------------------------------------------

variable "ecr_keep_images" {
  description = "Each image repository keeps its last this many images."
  type        = number
  default     = 30
}

variable "ecr_force_delete" {
  description = "Let `terraform destroy` delete image repositories that still hold images."
  type        = bool
  default     = false
}

variable "worker_image_tag" {
  description = "Tag of the worker image (in the ftm-worker repository) the Batch jobs run. Tags are immutable: push a new tag and apply to move the jobs to a new image."
  type        = string
}

# --- AWS Batch (modules/batch) ---------------------------------------------------------------------------------

variable "vpc_id" {
  description = "VPC the Batch instances run in."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the Batch instances: public subnets that auto-assign public IPv4 (no NAT gateway needed), or private ones with subnets_are_public = false."
  type        = list(string)
}

variable "security_group_ids" {
  description = "Security groups of the Batch instances: no inbound, all outbound is enough. They are also the ones the vLLM load balancer admits (the reduce jobs name themes through it)."
  type        = list(string)
}

variable "subnets_are_public" {
  description = "true: subnet_ids must auto-assign public IPv4 (checked); false: private subnets with a NAT gateway or VPC endpoints."
  type        = bool
  default     = true
}

variable "map_on_gpu" {
  description = "Run the map step on the GPU Spot environment (CUDA); false: on the CPU one (no GPU environment is created)."
  type        = bool
  default     = true
}

variable "batch_gpu_instance_types" {
  description = "Instance types of the GPU Spot environment."
  type        = list(string)
  default     = ["g4dn.xlarge", "g5.xlarge"]
}

variable "batch_cpu_instance_types" {
  description = "Instance types or families of the CPU Spot environment."
  type        = list(string)
  default     = ["c6i", "m6i", "r6i"]
}

variable "batch_gpu_max_vcpus" {
  description = "Most vCPUs the GPU environment scales to (4 per instance)."
  type        = number
  default     = 64
}

variable "batch_cpu_max_vcpus" {
  description = "Most vCPUs the CPU environment scales to."
  type        = number
  default     = 64
}

variable "batch_map_memory_mib" {
  description = "Memory of one map job (MiB)."
  type        = number
  default     = 15000
}

variable "batch_reduce_memory_mib" {
  description = "Memory of the reduce job (MiB); 7.3 GiB peak was measured at 5,000 firms."
  type        = number
  default     = 30000
}

variable "batch_map_timeout_seconds" {
  description = "A map job attempt is stopped after this long."
  type        = number
  default     = 7200
}

variable "batch_reduce_timeout_seconds" {
  description = "The reduce job attempt is stopped after this long."
  type        = number
  default     = 14400
}

variable "batch_log_retention_days" {
  description = "Days the jobs' logs are kept."
  type        = number
  default     = 30
}

variable "llm_base_url" {
  description = "OpenAI-compatible endpoint the jobs name topics with (LLM_BASE_URL); null: the vLLM service's internal load balancer (http://<alb>/v1). The state machine also passes its execution's URL to each reduce job."
  type        = string
  default     = null
}

variable "llm_model" {
  description = "Model at llm_base_url (LLM_MODEL); null: llm_served_model_name, the model the vLLM service serves."
  type        = string
  default     = null
}

variable "llm_api_key_secret_arn" {
  description = "Secrets Manager secret holding the LLM API key (the jobs' LLM_API_KEY); null: none."
  type        = string
  default     = null
}

variable "batch_extra_environment" {
  description = "More ftm settings for the jobs as FTM_<SECTION>__<FIELD> variables, e.g. { FTM_NAMING__METHOD = \"llm\" }."
  type        = map(string)
  default     = {}
}

variable "batch_service_role_policy_arn" {
  description = "Policy of the Batch service role; null: AWS's managed AWSBatchServiceRole."
  type        = string
  default     = null
}

variable "batch_instance_role_policy_arn" {
  description = "Policy of the ECS container instance roles (the Batch instances' and the vLLM GPU instances'); null: AWS's managed AmazonEC2ContainerServiceforEC2Role."
  type        = string
  default     = null
}

# --- the vLLM service (modules/ecs_vllm) -----------------------------------------------------------------------

variable "vllm_image_tag" {
  description = "Tag of the vLLM image (in the ftm-vllm repository) the service runs; `make images` pushes it under the same TAG as the worker."
  type        = string
}

variable "llm_model_s3_uri" {
  description = "s3:// folder of Qwen3-8B (config.json, tokenizer files, *.safetensors) at a pinned revision, e.g. s3://<lake_bucket>/models/Qwen/Qwen3-8B/<commit>/ (containers/README.md: how to put it there). The vLLM task copies it at start and may read only this folder."
  type        = string
}

variable "llm_model_kms_key_arns" {
  description = "KMS key(s) the model's objects are encrypted with, if not the lake bucket's (which is added when the model sits in lake_bucket)."
  type        = list(string)
  default     = []
}

variable "llm_served_model_name" {
  description = "Name vLLM serves the model under (what ftm sends as LLM_MODEL)."
  type        = string
  default     = "Qwen/Qwen3-8B"
}

variable "llm_subnet_ids" {
  description = "Subnets of the vLLM load balancer, its GPU instances and the health-check Lambda: at least two Availability Zones (an ALB needs two). null: subnet_ids."
  type        = list(string)
  default     = null
}

variable "llm_instance_types" {
  description = "GPU instance types of the vLLM service (1 GPU with 24 GB or more each)."
  type        = list(string)
  default     = ["g5.xlarge"]
}

variable "llm_on_demand_percentage" {
  description = "Share of On-Demand instances of the vLLM service, in percent; the rest are Spot (20: 80% Spot / 20% On-Demand)."
  type        = number
  default     = 20
}

variable "llm_on_demand_base_capacity" {
  description = "vLLM instances that are always On-Demand before the percentage applies."
  type        = number
  default     = 0
}

variable "llm_max_instances" {
  description = "Most vLLM GPU instances at once (an execution's llm_tasks above it cannot be placed)."
  type        = number
  default     = 4
}

variable "llm_alb_deletion_protection" {
  description = "Deletion protection of the vLLM load balancer (set false before `terraform destroy`)."
  type        = bool
  default     = true
}

variable "llm_log_retention_days" {
  description = "Days vLLM's logs are kept."
  type        = number
  default     = 30
}

# --- the state machine and its Lambda functions (modules/lambdas, modules/step_functions) ---------------------

variable "lambda_image_tag" {
  description = "Tag of the Lambda image in the ftm-worker repository; null: <worker_image_tag>-lambda, as `make images` pushes it."
  type        = string
  default     = null
}

variable "lambda_partition_memory_mb" {
  description = "Memory of the partition_firms function (MB), which plans a whole quarter."
  type        = number
  default     = 4096
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency of the five functions (-1: unreserved); null: 5 for generate_quarters and llm_health, 10 for the others (needs the account's Lambda concurrency to be at least 140)."
  type = object({
    generate_quarters = number
    check_prefetch    = number
    partition_firms   = number
    llm_health        = number
    record_quarter    = number
  })
  default = null
}

variable "cloud_source" {
  description = "ftm source of the executions' quarters (FTM_SOURCE of the functions): prefetch reads what `ftm prefetch` published."
  type        = string
  default     = "prefetch"
}

variable "cloud_max_concurrency" {
  description = "Default quarters in flight per execution (FTM_CLOUD__MAX_CONCURRENCY); an execution's input may override it."
  type        = number
  default     = 2
}

variable "cloud_llm_tasks" {
  description = "Default vLLM tasks per execution (FTM_CLOUD__LLM_TASKS); 0: no vLLM (keyword naming). At most llm_max_instances (one task per g5.xlarge), which the functions get as FTM_CLOUD__LLM_MAX_TASKS: an execution asking for more is refused."
  type        = number
  default     = 1

  validation {
    condition     = var.cloud_llm_tasks >= 0 && var.cloud_llm_tasks <= var.llm_max_instances
    error_message = "cloud_llm_tasks must be between 0 and llm_max_instances (one vLLM task per GPU instance: the tasks above it would never be placed); raise llm_max_instances too."
  }
}

variable "cloud_health_wait_s" {
  description = "Default seconds between vLLM health checks (FTM_CLOUD__HEALTH_WAIT_S)."
  type        = number
  default     = 30
}

variable "cloud_health_max_checks" {
  description = "Default number of unhealthy checks after which an execution gives up (FTM_CLOUD__HEALTH_MAX_CHECKS)."
  type        = number
  default     = 40
}

variable "create_cloud_operator_policy" {
  description = "Create the IAM policy <name_prefix>-cloud-operator (output cloud_operator_policy_arn) for whoever runs `ftm cloud run|status|stop|record`; attach it yourself."
  type        = bool
  default     = true
}

variable "cloud_log_retention_days" {
  description = "Days the Lambda functions' and the state machine's logs are kept."
  type        = number
  default     = 30
}
