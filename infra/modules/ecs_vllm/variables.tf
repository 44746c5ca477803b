variable "name_prefix" {
  description = "Prefix of every name: cluster, service, task family and log group <name_prefix>-vllm (/ecs/<name_prefix>-vllm), load balancer and target group <name_prefix>-vllm, roles, security groups."
  type        = string
}

variable "region" {
  description = "AWS region of the service (the log driver's region)."
  type        = string
}

# --- network ---------------------------------------------------------------------------------------------------

variable "network" {
  description = "Where the load balancer and the GPU instances run (the root's modules/network checked.llm, checked there at plan time): vpc_id, and subnet_ids in at least two Availability Zones (an ALB needs two). Public subnets with auto-assigned public IPv4 let the instances reach ECR and S3 without a NAT gateway; private ones need a NAT gateway or VPC endpoints (ECR api+dkr, S3, ECS, CloudWatch Logs)."
  type = object({
    vpc_id     = string
    subnet_ids = list(string)
  })
}

variable "client_security_group_ids" {
  description = "Security groups allowed to call the load balancer, by a name for the rule (keys must be known at plan time): the Batch compute environments' groups and the health-check Lambda's. Nothing else may connect."
  type        = map(string)

  validation {
    condition     = length(var.client_security_group_ids) > 0
    error_message = "client_security_group_ids needs at least one security group (the Batch jobs')."
  }
}

variable "listener_port" {
  description = "Port of the load balancer's HTTP listener (base_url and health_url carry it when it is not 80)."
  type        = number
  default     = 80
}

variable "container_port" {
  description = "Port vLLM listens on in the container and on the instance (start.sh's PORT)."
  type        = number
  default     = 8000
}

variable "alb_idle_timeout_s" {
  description = "Seconds a connection may stay idle at the load balancer (a naming request is idle while vLLM generates). Above ftm's naming.timeout_s (60)."
  type        = number
  default     = 120
}

variable "alb_deletion_protection" {
  description = "Deletion protection of the load balancer (set false before `terraform destroy`)."
  type        = bool
  default     = true
}

# --- GPU capacity ----------------------------------------------------------------------------------------------

variable "instance_types" {
  description = "Instance types of the Auto Scaling group, in On-Demand priority order. Each needs 1 NVIDIA GPU with at least 24 GB (Qwen3-8B in bf16 is ~16.4 GB; a T4's 16 GB is too small) and the task's CPU and memory: g5.xlarge (A10G); g5.2xlarge widens the Spot pools at a higher price."
  type        = list(string)
  default     = ["g5.xlarge"]

  validation {
    condition     = length(var.instance_types) > 0
    error_message = "instance_types needs at least one instance type."
  }
}

variable "on_demand_base_capacity" {
  description = "Instances that are always On-Demand before the percentage applies (0: the split below decides from the first instance)."
  type        = number
  default     = 0
}

variable "on_demand_percentage_above_base_capacity" {
  description = "Share of On-Demand instances above on_demand_base_capacity, in percent; the rest are Spot (20: 80% Spot / 20% On-Demand)."
  type        = number
  default     = 20

  validation {
    condition     = var.on_demand_percentage_above_base_capacity >= 0 && var.on_demand_percentage_above_base_capacity <= 100
    error_message = "on_demand_percentage_above_base_capacity must be 0-100."
  }
}

variable "max_instances" {
  description = "Most GPU instances (= vLLM tasks) at once: the upper bound of an execution's llm_tasks, and of the cost."
  type        = number
  default     = 4

  validation {
    condition     = var.max_instances >= 1 && var.max_instances <= 16
    error_message = "max_instances must be 1-16 (ftm's cloud.llm_tasks allows at most 16)."
  }
}

variable "ami_id" {
  description = "AMI of the GPU instances; null: the current ECS-optimised Amazon Linux 2023 GPU AMI from ami_ssm_parameter."
  type        = string
  default     = null
}

variable "ami_ssm_parameter" {
  description = "AWS's public SSM parameter with the recommended ECS GPU AMI id (used when ami_id is null)."
  type        = string
  default     = "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"
}

variable "root_volume_size_gib" {
  description = "Root EBS volume of each GPU instance (gp3, encrypted): the vLLM image (~29 GB unpacked), its layers while pulling, the model (16.4 GB) and room for a second image during an update."
  type        = number
  default     = 150

  validation {
    condition     = var.root_volume_size_gib >= 80
    error_message = "root_volume_size_gib must be at least 80 (image and model alone take ~50 GB)."
  }
}

# --- the task --------------------------------------------------------------------------------------------------

variable "image" {
  description = "The vLLM image, <repository url>:<tag> (modules/ecr images.vllm; tags are immutable: a new image means a new tag and a new task definition revision)."
  type        = string
}

variable "repository_arn" {
  description = "ARN of that repository: the execution role may pull from it only."
  type        = string
}

variable "model_s3_uri" {
  description = "s3:// folder of the model (config.json, tokenizer files, *.safetensors), at a pinned revision, e.g. s3://<bucket>/models/Qwen/Qwen3-8B/<commit>/: the task's MODEL_S3_URI. The task role may read this folder only."
  type        = string

  validation {
    condition     = can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", var.model_s3_uri))
    error_message = "model_s3_uri must be an s3://bucket/prefix/ URI."
  }
}

variable "model_kms_key_arns" {
  description = "KMS key(s) the model's objects are encrypted with (e.g. the lake key when the model sits in the lake bucket): the task role may decrypt with them. Empty: SSE-S3."
  type        = list(string)
  default     = []
}

variable "served_model_name" {
  description = "Name vLLM serves the model under (SERVED_MODEL_NAME): what clients send as `model` (ftm's LLM_MODEL)."
  type        = string
  default     = "Qwen/Qwen3-8B"
}

variable "max_model_len" {
  description = "Context length in tokens, prompt plus reply (MAX_MODEL_LEN; containers/README.md explains 4096)."
  type        = number
  default     = 4096
}

variable "gpu_memory_utilization" {
  description = "Share of the GPU's memory vLLM may take (GPU_MEMORY_UTILIZATION): 0.92 leaves ~4.2 GiB of KV cache for Qwen3-8B on an A10G."
  type        = number
  default     = 0.92

  validation {
    condition     = var.gpu_memory_utilization > 0 && var.gpu_memory_utilization <= 1
    error_message = "gpu_memory_utilization is a share: more than 0, at most 1."
  }
}

variable "max_num_seqs" {
  description = "Most requests vLLM decodes at once (MAX_NUM_SEQS): the KV cache holds ~85 of ftm's naming requests; vLLM's default 256 would admit more than fit and preempt them."
  type        = number
  default     = 64

  validation {
    condition     = var.max_num_seqs >= 1 && floor(var.max_num_seqs) == var.max_num_seqs
    error_message = "max_num_seqs must be a whole number of at least 1."
  }
}

variable "max_num_batched_tokens" {
  description = "Tokens per vLLM scheduler step, prefill chunks plus decodes (MAX_NUM_BATCHED_TOKENS)."
  type        = number
  default     = 2048

  validation {
    condition     = var.max_num_batched_tokens >= 1 && floor(var.max_num_batched_tokens) == var.max_num_batched_tokens
    error_message = "max_num_batched_tokens must be a whole number of at least 1."
  }
}

variable "enable_chunked_prefill" {
  description = "Chunked prefill (ENABLE_CHUNKED_PREFILL): new prompts enter in chunks without stalling the running decodes."
  type        = bool
  default     = true
}

variable "task_cpu" {
  description = "CPU units of the task (1024 per vCPU): 4096 is all of a g5.xlarge."
  type        = number
  default     = 4096
}

variable "task_memory_mib" {
  description = "Memory (MiB) of the task: must fit what ECS registers on the instance type (a 16 GiB g5.xlarge registers somewhat less than 16384), or the task is never placed."
  type        = number
  default     = 15000
}

variable "shared_memory_mib" {
  description = "Size of /dev/shm in the container (MiB): vLLM's processes exchange data through it; Docker's default is 64 MiB."
  type        = number
  default     = 2048
}

variable "readonly_root_filesystem" {
  description = "Run the container with a read-only root file system (vLLM writes to the /models, /home/vllm and /tmp volumes only). Set false if a vLLM version writes elsewhere."
  type        = bool
  default     = true
}

variable "health_check_grace_period_s" {
  description = "Seconds the service ignores the load balancer's health checks after a task starts: the S3 copy plus the model load plus CUDA graph capture (a few minutes; ECS's container startPeriod stops at 300 s)."
  type        = number
  default     = 600
}

variable "log_retention_days" {
  description = "Days vLLM's CloudWatch logs are kept."
  type        = number
  default     = 30
}

variable "log_kms_key_arn" {
  description = "KMS key that encrypts the log group; null: CloudWatch Logs' own encryption."
  type        = string
  default     = null
}

variable "instance_role_policy_arn" {
  description = "Policy of the ECS container instance role; null: AWS's managed AmazonEC2ContainerServiceforEC2Role."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags put on every taggable resource of the module (and on the instances, volumes and tasks)."
  type        = map(string)
  default     = {}
}
