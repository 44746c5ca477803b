"""The multi-quarter state machine under moto: the real ASL file, rendered as Terraform's `templatefile` renders it,
run by moto's Step Functions interpreter against moto's Lambda, Batch and ECS.

What moto 5.2.5 lacks, patched here (test side only, each patch small and explained):
- `batch:submitJob.sync` fails with States.Runtime 'JobName': moto hands an ASL task's PascalCase parameters
  (JobName, ArrayProperties.Size, ContainerOverrides.Environment[].Name) to boto3 unchanged and returns boto3's
  camelCase output (jobId) where ASL reads JobId. Step Functions maps both ways with the service's API model;
  `patch_batch_integration` does the same with botocore's operation model.
- moto's Lambda (use_docker False) answers every invoke from one FIFO of canned results, shared by all functions;
  with quarters running in parallel their order is not fixed. `Responder` answers by function name instead, with a
  Python callable per function (the handlers' own behaviour is tested on the handlers, tests/test_lambdas.py).
- moto's Batch (use_docker False) finishes each job at submission; MOTO_SIMPLE_BATCH_FAIL_AFTER fails all of them.
  `fail_jobs` fails only the jobs whose name contains one of the given strings (one quarter's map job).
"""
from __future__ import annotations
import io, json, re, threading, time, zipfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ASL = ROOT / 'infra' / 'state_machines' / 'multi_quarter.asl.json'
REGION, ACCOUNT = 'us-east-1', '123456789012'
MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "batch": {"use_docker": False},
               "lambda": {"use_docker": False}}
FUNCTIONS = ('generate_quarters', 'check_prefetch', 'partition_firms', 'llm_health', 'record_quarter')


def template_vars(text: str) -> set[str]:
    return set(re.findall(r'\$\{([A-Za-z0-9_]+)\}', text))


def render(text: str, values: dict) -> str:
    """Terraform's templatefile on a file whose only template syntax is `${name}` in JSON strings (checked):
    a missing value is an error, as in Terraform. Values are JSON-escaped into the strings they replace."""
    if '%{' in text: raise ValueError("the ASL uses template directives (%{...}); render it with terraform")
    missing = template_vars(text) - set(values)
    if missing: raise KeyError(f"no value for template variable(s) {sorted(missing)}")
    return re.sub(r'\$\{([A-Za-z0-9_]+)\}', lambda m: json.dumps(str(values[m[1]]))[1:-1], text)


# --- patches -----------------------------------------------------------------------------------------------------

def patch_integrations():
    """Map the parameters of `batch:*` and `aws-sdk:*` tasks to boto3's names, and the answers back to ASL's, by
    botocore's API model (as Step Functions does). moto's aws-sdk integration passes parameters through unchanged,
    which only works for services whose boto3 names are PascalCase (S3); ECS's are camelCase (cluster, desiredCount)."""
    from botocore.session import get_session
    from botocore import xform_name
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
        state_task_service_aws_sdk as sdk, state_task_service_batch as batch)
    def op(self, action):
        model = get_session().get_service_model(self._get_boto_service_name())
        return model.operation_model({xform_name(n): n for n in model.operation_names}[xform_name(action or self.resource.api_action)])
    for cls in (batch.StateTaskServiceBatch, sdk.StateTaskServiceAwsSdk):
        cls._normalise_parameters = lambda self, parameters, boto_service_name=None, service_action_name=None: \
            self._to_boto_request(parameters, op(self, service_action_name).input_shape)
        cls._normalise_response = lambda self, response, boto_service_name=None, service_action_name=None: \
            self._from_boto_response(response, op(self, service_action_name).output_shape)


class Responder:
    """moto's Lambda answers by function: `handlers[name](payload) -> result` (a dict; an exception becomes the
    function error Step Functions sees, named by its class, as a real Lambda reports it). Records every call."""
    def __init__(self, handlers: dict):
        self.handlers, self.calls, self.lock = dict(handlers), [], threading.Lock()

    def __call__(self, function_name: str, body) -> bytes:
        name = function_name.rsplit(':', 1)[-1].removeprefix('ftm-')
        payload = json.loads(body) if body else {}
        with self.lock: self.calls.append((name, payload))
        try: out = self.handlers[name](payload)
        except Exception as e: out = {'errorType': type(e).__name__, 'errorMessage': str(e)}, True
        else: out = (out, False)
        return out

    def names(self) -> list[str]: return [n for n, _ in self.calls]


def patch_lambda(responder: Responder):
    "Route moto's simple Lambda backend to `responder`; a raised exception becomes a function error."
    from moto.awslambda_simple.models import LambdaSimpleBackend
    def invoke(self, function_name, qualifier, body, headers, response_headers):
        result, failed = responder(function_name, body)
        if failed: response_headers['x-amz-function-error'] = 'Unhandled'
        return json.dumps(result).encode()
    LambdaSimpleBackend.invoke = invoke


def finish_jobs(outcome):
    """moto's simple Batch ends each job at submission; `outcome(backend, job) -> bool` decides success (it may run
    the job first). Replaces moto's rule (all succeed, or all fail with MOTO_SIMPLE_BATCH_FAIL_AFTER)."""
    import datetime
    from moto.batch_simple.models import BatchSimpleBackend
    def finish(self, include_start_attempt, job):
        self.backend._jobs[job.job_id] = job
        job.job_started_at = datetime.datetime.now()
        job.log_stream_name = job._stream_name
        if include_start_attempt: job._start_attempt()
        job._mark_stopped(success=outcome(self.backend, job))
    BatchSimpleBackend._mark_job_as_finished = finish


def fail_jobs(*needles: str):
    "moto's simple Batch fails the jobs whose name contains one of `needles` (and their array children)."
    finish_jobs(lambda backend, job: not any(n in job.job_name for n in needles))


# --- the deployment ----------------------------------------------------------------------------------------------

def _zip() -> bytes:
    b = io.BytesIO()
    with zipfile.ZipFile(b, 'w') as z: z.writestr('handler.py', 'def handler(event, context): return event\n')
    return b.getvalue()


def deploy(session, name: str = 'ftm-multi-quarter', asl: Path = ASL) -> dict:
    """What infra/ creates, in moto: the five functions, Batch queues and job definitions, the vLLM ECS service,
    and the state machine from the rendered ASL. Returns the ARNs by template variable (+ `state_machine`)."""
    iam, lam, batch, ecs, sfn = (session.client(s, region_name=REGION) for s in ('iam', 'lambda', 'batch', 'ecs', 'stepfunctions'))
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                                 "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]}}]})
    role = iam.create_role(RoleName=f'{name}-role', AssumeRolePolicyDocument=trust)['Role']['Arn']
    out = {}
    for f in FUNCTIONS:
        out[f] = lam.create_function(FunctionName=f'ftm-{f}', Runtime='python3.11', Role=role, Handler='handler.handler',
                                     Code={'ZipFile': _zip()})['FunctionArn']
    ce = batch.create_compute_environment(computeEnvironmentName='ftm-ce', type='UNMANAGED', state='ENABLED',
                                          serviceRole=role)['computeEnvironmentArn']
    for step in ('map', 'reduce'):
        out[f'{step}_job_queue'] = batch.create_job_queue(
            jobQueueName=f'ftm-{step}', state='ENABLED', priority=1,
            computeEnvironmentOrder=[{'order': 1, 'computeEnvironment': ce}])['jobQueueArn']
        out[f'{step}_job_definition'] = batch.register_job_definition(
            jobDefinitionName=f'ftm-{step}', type='container',
            containerProperties={'image': 'ftm-worker:test', 'vcpus': 1, 'memory': 512,
                                 'command': ['ftm', 'worker', step, '--lake', 'Ref::lake', '--quarter', 'Ref::quarter',
                                             '--run-id', 'Ref::run_id']})['jobDefinitionArn']
    out['ecs_cluster'] = ecs.create_cluster(clusterName='ftm-llm')['cluster']['clusterArn']
    td = ecs.register_task_definition(family='ftm-vllm', containerDefinitions=[{'name': 'vllm', 'image': 'vllm', 'memory': 512}])
    out['ecs_service'] = ecs.create_service(cluster='ftm-llm', serviceName='ftm-vllm', desiredCount=0,
                                            taskDefinition=td['taskDefinition']['taskDefinitionArn'])['service']['serviceName']
    out['state_machine'] = sfn.create_state_machine(name=name, roleArn=role,
                                                    definition=render(asl.read_text(), out))['stateMachineArn']
    return out


def wait_execution(sfn, arn: str, timeout: float = 60) -> dict:
    t0 = time.time()
    while True:
        d = sfn.describe_execution(executionArn=arn)
        if d['status'] != 'RUNNING': return d
        if time.time() - t0 > timeout: raise TimeoutError(f"execution {arn} still RUNNING after {timeout} s")
        time.sleep(0.1)


def history(sfn, arn: str) -> list[dict]:
    ev, tok = [], None
    while True:
        page = sfn.get_execution_history(executionArn=arn, maxResults=1000, **({'nextToken': tok} if tok else {}))
        ev += page['events']
        if not (tok := page.get('nextToken')): return ev


def entered(events: list[dict]) -> list[str]:
    "Names of the states entered, in order."
    return [e['stateEnteredEventDetails']['name'] for e in events if 'stateEnteredEventDetails' in e]
