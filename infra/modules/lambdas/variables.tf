variable "name_prefix" {
  description = "Prefix of every name: functions <name_prefix>-generate-quarters etc., their log groups /aws/lambda/<function>, roles <name_prefix>-lambda-lake / -lambda-health, security group <name_prefix>-llm-health."
  type        = string
}

variable "region" {
  description = "AWS region of the functions and the lake's Glue catalog (the ARNs in the roles' and the image repository's policies)."
  type        = string
}

# --- image -----------------------------------------------------------------------------------------------------

variable "image_uri" {
  description = "The Lambda image, <worker repository url>:<tag> (modules/ecr images.lambda: the worker image's `lambda` target, <worker_image_tag>-lambda as `make images` pushes it)."
  type        = string
}

variable "repository_name" {
  description = "Name of the worker repository: its policy lets Lambda pull for this account's <name_prefix>-* functions."
  type        = string
}

# --- the lake --------------------------------------------------------------------------------------------------

variable "lake_policy" {
  description = "The lake's statements for the lake role (JSON), as the root's modules/lake_access writes them without Glue writes: read and write only <lake_prefix>/* in the lake bucket, read the Glue database's tables, use the lake's KMS key."
  type        = string
}

variable "source_name" {
  description = "ftm's source for the executions' quarters (FTM_SOURCE): prefetch reads the transcripts `ftm prefetch` published to the lake."
  type        = string
  default     = "prefetch"
}

# --- the deployment's and the jobs' settings -------------------------------------------------------------------

variable "ftm_env" {
  description = "The deployment's ftm settings, as FTM_<SECTION>__<FIELD> variables (the root's local.ftm_env, which its ftm_env output shows too): FTM_LAKE, FTM_CATALOG__* (the Glue catalog), FTM_BATCH__* (queues, job definitions, region, log group), FTM_CLOUD__REGION and FTM_CLOUD__LLM_CLUSTER / _SERVICE (the vLLM service). The functions' environment adds their source, executor and an execution's defaults."
  type        = map(string)

  validation {
    condition     = alltrue([for k in keys(var.ftm_env) : can(regex("^FTM_[A-Z0-9_]+$", k))])
    error_message = "ftm_env takes ftm config variables only: FTM_<SECTION>__<FIELD> (upper case)."
  }
}

variable "job_environment" {
  description = "The environment the Batch job definitions share (modules/batch shared_environment: LLM_BASE_URL, LLM_MODEL, extra FTM_* settings), added to the functions' so that a quarter is planned with its jobs' settings."
  type        = map(string)
  default     = {}
}

# --- defaults of an execution (ftm's cloud.* settings) ---------------------------------------------------------

variable "max_concurrency" {
  description = "Quarters in flight at once (FTM_CLOUD__MAX_CONCURRENCY): 2 lets quarter N+1's map overlap quarter N's reduce."
  type        = number
  default     = 2
}

variable "llm_tasks" {
  description = "vLLM tasks kept warm during an execution (FTM_CLOUD__LLM_TASKS); 0: no vLLM (keyword naming). At most llm_max_tasks."
  type        = number
  default     = 1

  validation {
    condition     = var.llm_tasks <= var.llm_max_tasks
    error_message = "llm_tasks must not exceed llm_max_tasks: the tasks above it would never be placed."
  }
}

variable "llm_max_tasks" {
  description = "Most vLLM tasks the deployment can run at once, one per GPU instance (FTM_CLOUD__LLM_MAX_TASKS; the root passes llm_max_instances): generate_quarters refuses an execution asking for more, which could never turn healthy."
  type        = number

  validation {
    condition     = var.llm_max_tasks >= 1 && floor(var.llm_max_tasks) == var.llm_max_tasks
    error_message = "llm_max_tasks must be a whole number of at least 1."
  }
}

variable "llm_base_url" {
  description = "vLLM's OpenAI-compatible URL for the reduce jobs (FTM_CLOUD__LLM_BASE_URL)."
  type        = string
}

variable "llm_health_url" {
  description = "vLLM's /health, checked by llm_health before the first quarter (FTM_CLOUD__LLM_HEALTH_URL)."
  type        = string
}

variable "health_wait_s" {
  description = "Seconds between vLLM health checks (FTM_CLOUD__HEALTH_WAIT_S)."
  type        = number
  default     = 30
}

variable "health_max_checks" {
  description = "Unhealthy checks after which an execution gives up before any quarter starts (FTM_CLOUD__HEALTH_MAX_CHECKS): 40 x 30 s = 20 minutes for a GPU instance to start, pull the image and load the model."
  type        = number
  default     = 40
}

# --- functions -------------------------------------------------------------------------------------------------

variable "partition_memory_mb" {
  description = "Memory of partition_firms (MB; Lambda's CPU share grows with it): it plans a whole quarter."
  type        = number
  default     = 4096

  validation {
    condition     = var.partition_memory_mb >= 1024 && var.partition_memory_mb <= 10240
    error_message = "partition_memory_mb must be 1024-10240."
  }
}

variable "reserved_concurrency" {
  description = "Reserved concurrency of each function (-1: unreserved). Reserving needs the account's Lambda concurrency to exceed the sum by AWS's unreserved minimum of 100; in an account with a low quota, ask for more or set -1."
  type = object({
    generate_quarters = number
    check_prefetch    = number
    partition_firms   = number
    llm_health        = number
    record_quarter    = number
  })
  nullable = false # null (the root's default) means these defaults
  default = {
    generate_quarters = 5
    check_prefetch    = 10
    partition_firms   = 10
    llm_health        = 5
    record_quarter    = 10
  }

  validation {
    condition     = alltrue([for v in values(var.reserved_concurrency) : v == -1 || v >= 1])
    error_message = "reserved_concurrency values must be -1 (unreserved) or at least 1 (0 would disable the function)."
  }
}

variable "log_retention_days" {
  description = "Days the functions' CloudWatch logs are kept."
  type        = number
  default     = 30
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the functions' log groups; null: CloudWatch Logs' own encryption."
  type        = string
  default     = null
}

# --- network of llm_health -------------------------------------------------------------------------------------

variable "network" {
  description = "The vLLM load balancer's network (the root's modules/network checked.llm): llm_health runs in its VPC, with network interfaces in subnet_ids (it needs no internet access)."
  type = object({
    vpc_id     = string
    subnet_ids = list(string)
  })
}

variable "alb_security_group_id" {
  description = "Security group of the vLLM load balancer: llm_health's only egress."
  type        = string
}

variable "alb_listener_port" {
  description = "Port of the load balancer's listener."
  type        = number
  default     = 80
}

variable "tags" {
  description = "Tags put on every taggable resource of the module."
  type        = map(string)
  default     = {}
}
