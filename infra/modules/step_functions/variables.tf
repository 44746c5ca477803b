variable "name_prefix" {
  description = "Prefix of the names: state machine <name_prefix>-multi-quarter, its role <name_prefix>-multi-quarter-states, log group /aws/vendedlogs/states/<name_prefix>-multi-quarter."
  type        = string
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

variable "lake" {
  description = "The lake (modules/storage lake): the operator policy may list, read and write <prefix>/_records/ in the bucket (the driver's .cloud.json / .cloud.ipynb records), and decrypt and generate data keys with its KMS key(s) (empty with SSE-S3)."
  type = object({
    bucket_arn   = string
    prefix       = string
    kms_key_arns = list(string)
  })
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
