variable "name_prefix" {
  description = "Prefix of the names: state machine <name_prefix>-multi-quarter, its role <name_prefix>-multi-quarter-states, log group /aws/vendedlogs/states/<name_prefix>-multi-quarter."
  type        = string
  default     = "ftm"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-32 characters of a-z, 0-9 and '-', start with a letter and not end with '-'."
  }
}

variable "region" {
  description = "AWS region of the state machine and everything it calls."
  type        = string
}

variable "lambda_arns" {
  description = "ARNs of the five functions (modules/lambdas function_arns)."
  type = object({
    generate_quarters = string
    check_prefetch    = string
    partition_firms   = string
    llm_health        = string
    record_quarter    = string
  })
}

variable "ecs_cluster_arn" {
  description = "ECS cluster of the vLLM service (the ASL's ecs_cluster)."
  type        = string
}

variable "ecs_service_name" {
  description = "ECS service of vLLM (the ASL's ecs_service)."
  type        = string
}

variable "ecs_service_arn" {
  description = "ARN of that service: the only service whose desired count the state machine may change."
  type        = string
}

variable "map_job_queue_arn" {
  description = "ARN of the map job queue (modules/batch map_job_queue_arn)."
  type        = string
}

variable "reduce_job_queue_arn" {
  description = "ARN of the reduce job queue."
  type        = string
}

variable "map_job_definition_arn" {
  description = "ARN with revision of the map job definition: the executions submit exactly the revision this apply registered."
  type        = string
}

variable "reduce_job_definition_arn" {
  description = "ARN with revision of the reduce job definition."
  type        = string
}

variable "create_operator_policy" {
  description = "Create the IAM policy <name_prefix>-cloud-operator for whoever runs `ftm cloud run|status|stop|record` (not attached: attach it to that role or user)."
  type        = bool
  default     = true
}

variable "lake_bucket" {
  description = "Lake bucket: the operator policy may list, read and write <lake_prefix>/_records/ in it (the driver's .cloud.json / .cloud.ipynb records)."
  type        = string
}

variable "lake_prefix" {
  description = "Key prefix of the lake in lake_bucket (empty for the bucket root)."
  type        = string
}

variable "lake_kms_key_arns" {
  description = "KMS key(s) of the lake bucket (empty with SSE-S3): the operator policy may decrypt and generate data keys with them."
  type        = list(string)
  default     = []
}

variable "batch_log_group_arn" {
  description = "ARN of the Batch jobs' log group (modules/batch log_group_arn): the operator policy may read it; null: only the executions' log group."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Days the execution logs are kept."
  type        = number
  default     = 30
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the execution log group; null: CloudWatch Logs' own encryption."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags put on every taggable resource of the module."
  type        = map(string)
  default     = {}
}
