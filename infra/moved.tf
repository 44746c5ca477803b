# State written before roles moved into the shared modules (modules/ecs_instance_role, modules/service_role):
# moved, not replaced. One list for the whole stack, each entry from the old address in its module to the new.

moved {
  from = module.batch.aws_iam_role.instance
  to   = module.batch.module.instance_role.aws_iam_role.this
}

moved {
  from = module.batch.aws_iam_role_policy_attachment.instance
  to   = module.batch.module.instance_role.aws_iam_role_policy_attachment.this
}

moved {
  from = module.batch.aws_iam_instance_profile.instance
  to   = module.batch.module.instance_role.aws_iam_instance_profile.this
}

moved {
  from = module.ecs_vllm.aws_iam_role.instance
  to   = module.ecs_vllm.module.instance_role.aws_iam_role.this
}

moved {
  from = module.ecs_vllm.aws_iam_role_policy_attachment.instance
  to   = module.ecs_vllm.module.instance_role.aws_iam_role_policy_attachment.this
}

moved {
  from = module.ecs_vllm.aws_iam_instance_profile.instance
  to   = module.ecs_vllm.module.instance_role.aws_iam_instance_profile.this
}

moved {
  from = module.batch.aws_iam_role.execution
  to   = module.batch.module.execution_role.module.role.aws_iam_role.this
}

moved {
  from = module.batch.aws_iam_role_policy.execution
  to   = module.batch.module.execution_role.module.role.aws_iam_role_policy.this
}

moved {
  from = module.batch.aws_iam_role.job
  to   = module.batch.module.job_role.aws_iam_role.this
}

moved {
  from = module.batch.aws_iam_role_policy.job
  to   = module.batch.module.job_role.aws_iam_role_policy.this
}

moved {
  from = module.ecs_vllm.aws_iam_role.execution
  to   = module.ecs_vllm.module.execution_role.module.role.aws_iam_role.this
}

moved {
  from = module.ecs_vllm.aws_iam_role_policy.execution
  to   = module.ecs_vllm.module.execution_role.module.role.aws_iam_role_policy.this
}

moved {
  from = module.ecs_vllm.aws_iam_role.task
  to   = module.ecs_vllm.module.task_role.aws_iam_role.this
}

moved {
  from = module.ecs_vllm.aws_iam_role_policy.task
  to   = module.ecs_vllm.module.task_role.aws_iam_role_policy.this
}

moved {
  from = module.lambdas.aws_iam_role.lake
  to   = module.lambdas.module.role["lake"].aws_iam_role.this
}

moved {
  from = module.lambdas.aws_iam_role_policy.lake
  to   = module.lambdas.module.role["lake"].aws_iam_role_policy.this
}

moved {
  from = module.lambdas.aws_iam_role.health
  to   = module.lambdas.module.role["health"].aws_iam_role.this
}

moved {
  from = module.lambdas.aws_iam_role_policy.health
  to   = module.lambdas.module.role["health"].aws_iam_role_policy.this
}

moved {
  from = module.step_functions.aws_iam_role.this
  to   = module.step_functions.module.role.aws_iam_role.this
}

moved {
  from = module.step_functions.aws_iam_role_policy.this
  to   = module.step_functions.module.role.aws_iam_role_policy.this
}
