variable "region" {
  description = "AWS region of the whole deployment (lake bucket, Glue catalog, Athena, ECR, Batch)."
  type        = string
  default     = "us-east-1"
}

variable "allowed_account_ids" {
  description = "AWS account ids Terraform may act on (guards against applying to the wrong account). Empty: any."
  type        = list(string)
  default     = []
}

variable "name_prefix" {
  description = "Prefix of resource names (buckets, KMS aliases, IAM roles and policies, ECR repositories, Batch queues and job definitions)."
  type        = string
  default     = "ftm"
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
  description = "Security groups of the Batch instances: no inbound, all outbound is enough."
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
  description = "OpenAI-compatible endpoint the jobs name topics with (LLM_BASE_URL); null: unset."
  type        = string
  default     = null
}

variable "llm_model" {
  description = "Model at llm_base_url (LLM_MODEL); null: unset."
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
  description = "Policy of the ECS instance role; null: AWS's managed AmazonEC2ContainerServiceforEC2Role."
  type        = string
  default     = null
}
