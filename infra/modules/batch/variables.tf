variable "name_prefix" {
  description = "Prefix of every name: queues <name_prefix>-map / -reduce, job definitions <name_prefix>-map / -reduce, log group /aws/batch/<name_prefix>, roles, compute environments."
  type        = string
}

variable "region" {
  description = "AWS region of the jobs, the Glue catalog and the lake bucket (set as the jobs' FTM_CATALOG__REGION and the log driver's region)."
  type        = string
}

# --- network (an input: this module creates no VPC) ---------------------------------------------------------------

variable "network" {
  description = "Where the instances start (the root's modules/network checked.batch, checked there at plan time: all in one VPC): subnet_ids (several AZs widen the Spot pools; public subnets that auto-assign public IPv4 avoid a NAT gateway, private ones need a NAT gateway or VPC endpoints for ECR api+dkr, S3, Glue, Logs, Batch/ECS); security_group_ids (recommended: one that allows no inbound and all outbound traffic: jobs only call AWS APIs)."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
}

# --- the lake the jobs read and write --------------------------------------------------------------------------

variable "lake_uri" {
  description = "The lake, s3://<bucket>/<prefix> (modules/storage lake.uri): the job definitions' default `lake` parameter."
  type        = string
}

variable "lake_policy" {
  description = "The job role's policy (JSON): the lake's statements with Glue writes, as the root's modules/lake_access writes them (the lake prefix, the Glue database's tables, the lake's KMS key)."
  type        = string
}

variable "glue_database" {
  description = "Glue database = Iceberg namespace of the lake (the jobs' FTM_CATALOG__NAMESPACE). The job role may change tables in this database only."
  type        = string
}

# --- image -----------------------------------------------------------------------------------------------------

variable "image" {
  description = "The worker image the jobs run, <repository url>:<tag> (modules/ecr images.worker; tags are immutable: a new image means a new tag and a new job definition revision)."
  type        = string
}

variable "worker_repository_arn" {
  description = "ARN of that repository: the execution role may pull from it only."
  type        = string
}

# --- compute ---------------------------------------------------------------------------------------------------

variable "map_on_gpu" {
  description = "true: the map queue runs on the GPU Spot compute environment (embeddings on CUDA). false: on the CPU one, and no GPU environment is created."
  type        = bool
  default     = true
}

variable "gpu_instance_types" {
  description = "Instance types of the GPU Spot compute environment (1 NVIDIA GPU, 4 vCPUs, 16 GiB each by default)."
  type        = list(string)
  default     = ["g4dn.xlarge", "g5.xlarge"]
}

variable "cpu_instance_types" {
  description = "Instance types or families of the CPU Spot compute environment (reduce, and map when map_on_gpu = false)."
  type        = list(string)
  default     = ["c6i", "m6i", "r6i"]
}

variable "gpu_max_vcpus" {
  description = "Upper bound of the GPU environment's vCPUs (4 per g4dn/g5.xlarge: 64 = at most 16 instances at once)."
  type        = number
  default     = 64
}

variable "cpu_max_vcpus" {
  description = "Upper bound of the CPU environment's vCPUs."
  type        = number
  default     = 64
}

variable "gpu_image_type" {
  description = "AMI family of the GPU environment (ec2_configuration image_type). ECS_AL2023_NVIDIA: Batch blocks new environments on its Amazon Linux 2 AMIs (ECS_AL2_NVIDIA) since 2026-06-30."
  type        = string
  default     = "ECS_AL2023_NVIDIA"
}

variable "cpu_image_type" {
  description = "AMI family of the CPU environment."
  type        = string
  default     = "ECS_AL2023"
}

variable "root_volume_size_gib" {
  description = "Root EBS volume of each instance (gp3, encrypted): holds the Docker images (the CUDA worker image is large) and the jobs' scratch."
  type        = number
  default     = 100
}

# --- jobs ------------------------------------------------------------------------------------------------------

variable "map_vcpus" {
  description = "vCPUs of one map job."
  type        = number
  default     = 4
}

variable "map_memory_mib" {
  description = "Memory (MiB) of one map job. Must fit what ECS registers on the instance types (a 16 GiB instance registers somewhat less than 16384), or the job stays RUNNABLE."
  type        = number
  default     = 15000
}

variable "map_gpus" {
  description = "GPUs of one map job when map_on_gpu."
  type        = number
  default     = 1
}

variable "reduce_vcpus" {
  description = "vCPUs of the reduce job."
  type        = number
  default     = 4
}

variable "reduce_memory_mib" {
  description = "Memory (MiB) of the reduce job. Measured: 7.3 GiB peak at 5,000 firms (bench, issue 10); 30000 leaves room for larger quarters."
  type        = number
  default     = 30000
}

variable "map_timeout_seconds" {
  description = "A map job attempt is stopped after this long (attempt_duration_seconds)."
  type        = number
  default     = 7200

  validation {
    condition     = var.map_timeout_seconds >= 60
    error_message = "map_timeout_seconds must be at least 60 (the Batch minimum)."
  }
}

variable "reduce_timeout_seconds" {
  description = "The reduce job attempt is stopped after this long."
  type        = number
  default     = 14400

  validation {
    condition     = var.reduce_timeout_seconds >= 60
    error_message = "reduce_timeout_seconds must be at least 60 (the Batch minimum)."
  }
}

variable "retry_attempts" {
  description = "Attempts per job. Only a host termination (Spot reclaim: status reason 'Host EC2 ...') is retried; any other failure exits."
  type        = number
  default     = 3

  validation {
    condition     = var.retry_attempts >= 1 && var.retry_attempts <= 10
    error_message = "retry_attempts must be 1-10."
  }
}

variable "log_retention_days" {
  description = "Days the jobs' CloudWatch logs are kept."
  type        = number
  default     = 30
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the log group; null: CloudWatch Logs' own encryption."
  type        = string
  default     = null
}

# --- LLM naming (optional) -------------------------------------------------------------------------------------

variable "llm_base_url" {
  description = "OpenAI-compatible endpoint for LLM topic naming (the jobs' LLM_BASE_URL); null: not set."
  type        = string
  default     = null
}

variable "llm_model" {
  description = "Model name at llm_base_url (LLM_MODEL); null: not set."
  type        = string
  default     = null
}

variable "llm_api_key_secret_arn" {
  description = "Secrets Manager secret whose value becomes the jobs' LLM_API_KEY (injected by ECS, never in the job definition); null: none."
  type        = string
  default     = null
}

variable "extra_environment" {
  description = "More ftm settings for both job definitions, as FTM_<SECTION>__<FIELD> variables (e.g. FTM_NAMING__METHOD = \"llm\"). Only ftm config names: FTM_* or LLM_BASE_URL / LLM_MODEL."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.extra_environment) : can(regex("^FTM_[A-Z0-9_]+$", k)) || contains(["LLM_BASE_URL", "LLM_MODEL"], k)])
    error_message = "extra_environment takes ftm config variables only: FTM_<SECTION>__<FIELD> (upper case) or LLM_BASE_URL / LLM_MODEL. Secrets go through llm_api_key_secret_arn."
  }
}

# --- IAM -------------------------------------------------------------------------------------------------------

variable "service_role_policy_arn" {
  description = "Policy of the Batch service role; null: AWS's managed AWSBatchServiceRole."
  type        = string
  default     = null
}

variable "instance_role_policy_arn" {
  description = "Policy of the ECS container instance role; null: AWS's managed AmazonEC2ContainerServiceforEC2Role."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags put on every taggable resource of the module (and propagated to the instances and the jobs' ECS tasks)."
  type        = map(string)
  default     = {}
}
