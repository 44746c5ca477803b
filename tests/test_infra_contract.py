"""The contract between infra/modules/batch and ftm's Python side, checked across the two layers without Terraform.

The job definitions' container properties are built from plain locals in infra/modules/batch/jobs.tf (the commands,
the environments, the image); python-hcl2 reads them here, and ftm itself is asked whether it agrees:
- each command is a real `ftm worker` subcommand, and takes the options the command passes;
- every environment variable the job definitions set is an ftm config field (or an alias ftm accepts), and
  `load_config` turns plausible values into exactly those settings;
- the image is the worker repository of infra/modules/ecr, at the root's worker_image_tag;
- every `Ref::` placeholder of the commands has a default in the job definition or is passed by ftm's submitter.
"""
import json, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT/'infra'
BATCH = INFRA/'modules'/'batch'
FTM = Path(sys.executable).parent/'ftm'
STEPS = ('map', 'reduce')

# Plausible values for the batch module's inputs that have no default (what the root passes in a deployment).
PLAUSIBLE = {'glue_database': 'ftm', 'region': 'eu-central-1'}


def _unq(v):
    "python-hcl2 >= 7 keeps the quotes of string literals and block labels; older versions did not."
    return v[1:-1] if isinstance(v, str) and len(v) >= 2 and v[0] == v[-1] == '"' else v


def _load(path: Path) -> dict:
    import hcl2
    with open(path) as f: return hcl2.load(f)


def _locals(path: Path) -> dict:
    return {k: v for block in _load(path).get('locals', []) for k, v in block.items()}


def _blocks(path: Path, kind: str) -> dict:
    "{(type, name): body} of the resource (or output: {name: body}) blocks of one file."
    out = {}
    for block in _load(path).get(kind, []):
        for typ, named in block.items():
            if kind == 'output': out[_unq(typ)] = named
            else:
                for name, body in named.items(): out[(_unq(typ), _unq(name))] = body
    return out


def _variables(path: Path) -> dict:
    return {_unq(k): v for block in _load(path).get('variable', []) for k, v in block.items()}


@pytest.fixture(scope='module')
def jobs() -> dict: return _locals(BATCH/'jobs.tf')


def _value(expr: str, variables: dict) -> list[str]:
    """The values an HCL expression of the environment can take: a literal; `${var.X}` (PLAUSIBLE, else the
    variable's default); `${var.X ? "a" : "b"}` (both)."""
    if not (isinstance(expr, str) and expr.startswith('${')): return [str(_unq(expr))]
    if m := re.fullmatch(r'\$\{var\.(\w+) \? "([^"]*)" : "([^"]*)"\}', expr): return [m.group(2), m.group(3)]
    if m := re.fullmatch(r'\$\{var\.(\w+)\}', expr):
        name = m.group(1)
        if name in PLAUSIBLE: return [PLAUSIBLE[name]]
        default = variables[name].get('default')
        assert isinstance(default, (str, int, float)), f"give var.{name} a plausible value in PLAUSIBLE"
        return [str(_unq(default))]
    raise AssertionError(f"tests/test_infra_contract.py cannot evaluate {expr!r}: keep the job environments plain "
                         "(literals, var.X, var.X ? \"a\" : \"b\") or teach _value")


def _variants(env: dict, variables: dict) -> list[dict]:
    "Every combination of the values the environment's entries can take (e.g. map on GPU and on CPU)."
    out = [{}]
    for name, expr in env.items(): out = [{**o, name: v} for o in out for v in _value(expr, variables)]
    return out


# ---------------------------------------------------------------------------------------------------------------

def test_job_definitions_are_built_from_the_locals(jobs):
    "What the rest of this file reads is what the job definitions use."
    res = _blocks(BATCH/'jobs.tf', 'resource')
    jd = res[('aws_batch_job_definition', 'this')]
    assert jd['for_each'] == '${local.container_properties}' and jd['container_properties'] == '${jsonencode(each.value)}'
    assert jd['parameters'] == '${local.job_parameters}' and _unq(jd['name']) == '${var.name_prefix}-${each.key}'
    steps = jobs['steps']
    assert set(steps) == set(STEPS)
    for step in STEPS:
        assert steps[step]['command'] == f'${{local.{step}_command}}', steps[step]
        assert steps[step]['environment'] == f'${{merge(local.{step}_environment, local.shared_environment)}}', steps[step]
    # one container definition for every step, from its entry in local.steps
    expr = jobs['container_properties']
    assert expr.startswith('${{for step, s in local.steps : step => merge({'), expr
    for part in ('image = var.image', 'command = s.command', 'resourceRequirements = s.resources',
                 'environment = [for k in sort(keys(s.environment)) : {name = k, value = s.environment[k]}]',
                 'logConfiguration = local.log_configuration', '}, local.secrets)'):
        assert part in expr, (part, expr)
    assert jobs['shared_environment'] == (
        '${merge({for k, v in local.optional_environment : k => v if v != null}, var.extra_environment)}')


@pytest.mark.parametrize('step', STEPS)
def test_command_is_an_ftm_worker_subcommand(jobs, step):
    cmd = [_unq(c) for c in jobs[f'{step}_command']]
    assert cmd[:3] == ['ftm', 'worker', step], cmd
    p = subprocess.run([str(FTM), 'worker', step, '--help'], capture_output=True, text=True, timeout=120,
                       env={'PATH': str(FTM.parent) + ':/usr/bin:/bin', 'HF_HUB_OFFLINE': '1', 'COLUMNS': '200'})
    assert p.returncode == 0, f"`ftm worker {step} --help` exited {p.returncode}:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    for opt in [c for c in cmd[3:] if c.startswith('--')]:
        assert re.search(rf'(^|\s){re.escape(opt)}\b', p.stdout), f"`ftm worker {step}` has no option {opt}:\n{p.stdout}"


def _field(cfg, dotted: str):
    "The config value at a dotted path; AssertionError if the path is not a field of ftm's Config."
    obj = cfg
    for part in dotted.split('.'):
        assert part in type(obj).model_fields, f"{dotted}: {part!r} is not a field of {type(obj).__name__}"
        obj = getattr(obj, part)
    return obj


def test_environment_is_ftm_config(jobs):
    "Every variable the job definitions set is an ftm config field (or an LLM_* alias), and round-trips."
    from ftm.config import load_config, _ENV_ALIASES
    variables = _variables(BATCH/'variables.tf')
    assert variables['extra_environment']['default'] == {}  # nothing more by default; its validation admits FTM_* only
    optional = {k: v for k, v in jobs['optional_environment'].items()}
    plausible_optional = {'LLM_BASE_URL': 'http://vllm.internal:8000/v1', 'LLM_MODEL': 'Qwen/Qwen3-8B'}
    assert set(optional) == set(plausible_optional), "a new optional variable: give it a plausible value here"
    for step in STEPS:
        variants = _variants(jobs[f'{step}_environment'], variables)
        if step == 'map':  # map_on_gpu: cuda or cpu
            assert sorted(v['FTM_EMBED__DEVICE'] for v in variants) == ['cpu', 'cuda']
        for env in variants:
            env = {**env, **plausible_optional}
            for name in env:
                assert name.startswith('FTM_') or name in _ENV_ALIASES, f"{name} is not an ftm setting"
                assert name in _ENV_ALIASES or re.fullmatch(r'FTM_[A-Z0-9_]+', name), name
            cfg = load_config(env=env)  # must not raise
            for name, value in env.items():
                dotted = _ENV_ALIASES.get(name) or name[4:].lower().replace('__', '.')
                got = _field(cfg, dotted)
                assert str(got) == value, f"{name}={value!r} became {dotted}={got!r}"
            assert (cfg.catalog.kind, cfg.catalog.namespace) == ('glue', PLAUSIBLE['glue_database'])
            assert cfg.catalog.region == PLAUSIBLE['region']
    # the LLM key reaches the jobs as a secret named like ftm's alias, which ftm reads into naming.api_key
    assert 'name = "LLM_API_KEY"' in jobs['secrets'] and 'valueFrom = var.llm_api_key_secret_arn' in jobs['secrets']
    assert load_config(env={'LLM_API_KEY': 'sk-test'}).naming.api_key.get_secret_value() == 'sk-test'


def test_extra_environment_admits_only_ftm_settings():
    "The validation of extra_environment matches what ftm reads (FTM_* and the LLM_* aliases, no secret)."
    from ftm.config import _ENV_ALIASES
    v = _variables(BATCH/'variables.tf')['extra_environment']
    [validation] = v['validation']
    cond = validation['condition']
    assert '^FTM_[A-Z0-9_]+$' in cond
    allowed = set(re.findall(r'"(LLM_[A-Z_]+)"', cond))
    assert allowed == set(_ENV_ALIASES) - {'LLM_API_KEY'}, allowed


def test_image_is_the_ecr_worker_repository():
    "The job definitions run modules/ecr's images.worker: the worker repository at the root's worker_image_tag."
    ecr_locals = _locals(INFRA/'modules'/'ecr'/'main.tf')
    assert _unq(ecr_locals['repositories']['worker']) == '${var.name_prefix}-worker'
    assert ecr_locals['image_repositories'] == {'worker': 'worker', 'lambda': 'worker', 'vllm': 'vllm'} or (
        {k: _unq(v) for k, v in ecr_locals['image_repositories'].items()} == {'worker': 'worker', 'lambda': 'worker', 'vllm': 'vllm'})
    images = _blocks(INFRA/'modules'/'ecr'/'outputs.tf', 'output')['images']['value']
    assert images == ('${{for k, tag in var.image_tags : k => "${aws_ecr_repository.this[local.image_repositories[k]]'
                      '.repository_url}:${tag}"}}'), images
    modules = {_unq(name): body for m in _load(INFRA/'main.tf')['module'] for name, body in m.items()}
    assert modules['ecr']['image_tags']['worker'] == '${var.worker_image_tag}'
    assert modules['batch']['image'] == '${module.ecr.images.worker}'
    assert modules['batch']['worker_repository_arn'] == '${module.ecr.worker_repository_arn}'


def test_ref_parameters_have_values(jobs, tmp_path):
    """Each Ref:: placeholder has a default in the job definition (lake: the warehouse) or is passed by ftm's
    submitter (BatchExecutor.submit, run here against a stand-in Batch client)."""
    refs = {c[len('Ref::'):] for step in STEPS for c in map(_unq, jobs[f'{step}_command']) if c.startswith('Ref::')}
    assert refs == {'lake', 'quarter', 'run_id'}
    defaults = jobs['job_parameters']
    assert defaults == {'lake': '${var.lake_uri}'}
    # the warehouse URI modules/storage derives for every module on the lake
    [batch] = [body for m in _load(INFRA/'main.tf')['module'] for name, body in m.items() if _unq(name) == 'batch']
    assert batch['lake_uri'] == '${local.lake.uri}' and _locals(INFRA/'main.tf')['lake'] == '${module.storage.lake}'
    storage = _locals(INFRA/'modules'/'storage'/'main.tf')
    assert storage['lake']['uri'] == '${local.lake_uri}'
    assert _unq(storage['lake_uri']) == 's3://${join("/", compact([var.bucket_name, local.lake_prefix]))}'

    from ftm.config import load_config
    from ftm.lake import Lake
    from ftm.cloud.batch import BatchExecutor

    class Client:
        def __init__(self): self.calls = []
        def submit_job(self, **kw): self.calls.append(kw); return {'jobId': f'job-{len(self.calls)}'}

    cfg = load_config(env={}, lake=str(tmp_path/'lake'))
    client = Client()
    BatchExecutor(cfg.batch, client=client).submit(cfg, Lake(cfg.lake), '2016Q2', 'r1', n_batches=3)
    assert [c['jobDefinition'] for c in client.calls] == [cfg.batch.map_job_definition, cfg.batch.reduce_job_definition]
    for call in client.calls:
        missing = refs - set(defaults) - set(call.get('parameters', {}))
        assert not missing, f"{call['jobDefinition']}: Ref::{missing} has no default and is not submitted"
        assert {'quarter', 'run_id'} <= set(call['parameters'])


# ---------------------------------------------------------------------------------------------------------------
# The state machine: its ASL template, the Terraform that fills it in, the Lambda handlers it calls

ASL = INFRA/'state_machines'/'multi_quarter.asl.json'
SFN = INFRA/'modules'/'step_functions'
LAMBDAS = INFRA/'modules'/'lambdas'
TEMPLATE_VAR = re.compile(r'\$\{([^}]*)\}')


def test_asl_template_variables_are_exactly_the_ones_passed():
    """Every ${...} of the ASL is a plain name the module passes, and the module passes nothing else; no %{ } template
    directive (templatefile would read one). The module renders exactly this file."""
    text = ASL.read_text()
    used = set(TEMPLATE_VAR.findall(text))
    assert used and all(re.fullmatch(r'[a-z_]+', v) for v in used), used
    assert '%{' not in text
    passed = _locals(SFN/'main.tf')['definition_vars']
    assert set(passed) == used, f"the ASL uses {sorted(used - set(passed))} unpassed; the module passes {sorted(set(passed) - used)} unused"
    assert _locals(SFN/'main.tf')['definition'] == (
        '${templatefile("${path.module}/../../state_machines/multi_quarter.asl.json", local.definition_vars)}')
    # the ASL with the variables filled in is JSON (what Terraform renders; the values here are stand-ins)
    rendered = TEMPLATE_VAR.sub(lambda m: f'arn:aws:test:::{m.group(1)}', text)
    json.loads(rendered)


def test_asl_lambda_states_are_the_lambdas_module_functions():
    "The functions the ASL invokes (by template variable) are the module's functions, handler for handler."
    asl_functions = set(re.findall(r'"FunctionName":\s*"\$\{([a-z_]+)\}"', ASL.read_text()))
    handlers = {k: _unq(v) for k, v in _locals(LAMBDAS/'main.tf')['handlers'].items()}
    functions = set(_locals(LAMBDAS/'main.tf')['functions'])
    assert asl_functions == set(handlers) == functions, (asl_functions, set(handlers), functions)
    # the step_functions module takes exactly these ARNs and passes each to the variable of its name
    passed = _locals(SFN/'main.tf')['definition_vars']
    for name in handlers: assert passed[name] == f'${{var.lambda_arns.{name}}}', (name, passed[name])


def test_lambda_handlers_exist_in_ftm():
    "Each function's image command names a handler of ftm.cloud.lambdas: module.function, importable and callable."
    import importlib
    handlers = {k: _unq(v) for k, v in _locals(LAMBDAS/'main.tf')['handlers'].items()}
    assert handlers == {k: f'ftm.cloud.lambdas.{k}_handler' for k in handlers}
    for name, handler in handlers.items():
        module, fn = handler.rsplit('.', 1)                 # how awslambdaric splits the command
        assert callable(getattr(importlib.import_module(module), fn, None)), handler
    from ftm.cloud import lambdas
    assert set(lambdas.HANDLERS) == {h.rsplit('.', 1)[1] for h in handlers.values()}
    fn = _blocks(LAMBDAS/'functions.tf', 'resource')[('aws_lambda_function', 'this')]
    assert fn['image_config'][0]['command'] == ['${local.handlers[each.key]}']


def test_lambda_environment_is_ftm_config():
    """The functions' environment (modules/lambdas local.environment: the root's local.ftm_env, passed as var.ftm_env,
    and their own settings) and the laptop's `ftm_env` output (local.ftm_env and the state machine's ARN) consist of
    ftm settings: FTM_<SECTION>__<FIELD> paths of ftm's Config (or the LLM_* aliases of the jobs' environment), and
    HF_HUB_OFFLINE for the image."""
    from ftm.config import Config, _ENV_ALIASES
    shared = {k: _unq(v) for k, v in _locals(INFRA/'main.tf')['ftm_env'].items()}
    assert {'FTM_LAKE', 'FTM_CATALOG__KIND', 'FTM_CATALOG__NAMESPACE', 'FTM_CATALOG__REGION', 'FTM_BATCH__JOB_QUEUE',
            'FTM_BATCH__REDUCE_JOB_QUEUE', 'FTM_BATCH__MAP_JOB_DEFINITION', 'FTM_BATCH__REDUCE_JOB_DEFINITION',
            'FTM_BATCH__REGION', 'FTM_BATCH__LOG_GROUP', 'FTM_CLOUD__REGION', 'FTM_CLOUD__LLM_CLUSTER',
            'FTM_CLOUD__LLM_SERVICE'} <= set(shared), shared
    assert shared['FTM_CATALOG__KIND'] == 'glue'
    # the functions and the laptop get that one map: the functions' own settings and the jobs' shared ones on top
    [lam] = [body for m in _load(INFRA/'main.tf')['module'] for name, body in m.items() if _unq(name) == 'lambdas']
    assert lam['ftm_env'] == '${local.ftm_env}'
    expr = _locals(LAMBDAS/'main.tf')['environment']
    own = set(re.findall(r'\b((?:FTM_[A-Z0-9_]+)|HF_HUB_OFFLINE)\s*=', expr))
    assert {'FTM_SOURCE', 'FTM_EXECUTOR__KIND', 'FTM_CLOUD__LLM_BASE_URL', 'FTM_CLOUD__HEALTH_MAX_CHECKS',
            'FTM_CLOUD__LLM_TASKS', 'FTM_CLOUD__LLM_MAX_TASKS', 'HF_HUB_OFFLINE'} <= own, own
    out = _blocks(INFRA/'outputs.tf', 'output')['ftm_env']['value']
    assert out == '${merge(local.ftm_env, {FTM_CLOUD__STATE_MACHINE_ARN = module.step_functions.state_machine_arn})}', out
    # the module's input admits FTM_* names only
    cond = _variables(LAMBDAS/'variables.tf')['ftm_env']['validation'][0]['condition']
    assert '^FTM_[A-Z0-9_]+$' in cond, cond
    # the functions' cap on an execution's llm_tasks is the deployment's GPU instance count
    assert lam['llm_max_tasks'] == '${var.llm_max_instances}' and lam['llm_tasks'] == '${var.cloud_llm_tasks}'
    for name in (set(shared) | own | {'FTM_CLOUD__STATE_MACHINE_ARN'}) - {'HF_HUB_OFFLINE'}:
        assert name.startswith('FTM_') or name in _ENV_ALIASES, f"{name} is not an ftm setting"
        obj = Config
        for part in name[4:].lower().split('__'):
            assert part in obj.model_fields, f"{name}: {part!r} is not a field of {obj.__name__}"
            obj = obj.model_fields[part].annotation
    # the deployment's settings first, the jobs' shared environment last, so a quarter is planned with its jobs' settings
    assert expr.startswith('${merge(var.ftm_env, {') and expr.endswith('}, var.job_environment)}'), expr


# ---------------------------------------------------------------------------------------------------------------
# The operator policy (modules/step_functions operator.tf) and what `ftm cloud` calls

def _statements(path: Path, document: str) -> list[dict]:
    "The statement blocks of one aws_iam_policy_document data source (dynamic ones by their content)."
    [doc] = [body for block in _load(path).get('data', []) for typ, named in block.items() if _unq(typ) == 'aws_iam_policy_document'
             for name, body in named.items() if _unq(name) == document]
    out = list(doc.get('statement', []))
    for d in doc.get('dynamic', []):
        for label, body in d.items():
            if _unq(label) == 'statement': out += body['content']
    return out


def test_operator_policy_covers_what_ftm_cloud_calls():
    """The cloud operator policy allows every AWS action `ftm cloud run|status|stop` makes (ftm.cloud.stepfunctions
    .PERMISSIONS, which its AccessDenied hint names): a call added on one side without the other fails here."""
    from ftm.cloud.stepfunctions import PERMISSIONS
    statements = _statements(SFN/'operator.tf', 'operator')
    actions = {_unq(a) for st in statements for a in st['actions']}
    missing = set(PERMISSIONS) - actions
    assert not missing, f"ftm cloud needs {sorted(missing)}: add them to modules/step_functions/operator.tf"
    # the driver's records in the lake (Lake.put_record: <lake>/_records/quarter=Q/<run id>.cloud.json|.cloud.ipynb)
    assert {'s3:GetObject', 's3:PutObject', 's3:ListBucket'} <= actions
    by_sid = {_unq(st['sid']): st for st in statements}
    assert [_unq(r) for r in by_sid['ReadWriteRecords']['resources']] == ['${var.lake.bucket_arn}/${local.records_prefix}/*']
    assert _unq(_locals(SFN/'operator.tf')['records_prefix']) == '${join("/", compact([var.lake.prefix, "_records"]))}'
    # '*' only where AWS has no resource-level permission
    for st in statements:
        if [_unq(r) for r in st['resources']] == ['*']: assert [_unq(a) for a in st['actions']] == ['batch:DescribeJobs'], st
    policy = _blocks(SFN/'operator.tf', 'resource')[('aws_iam_policy', 'operator')]
    assert policy['count'] == '${var.create_operator_policy ? 1 : 0}'
    assert _unq(policy['name']) == '${var.name_prefix}-cloud-operator'
    assert policy['policy'] == '${data.aws_iam_policy_document.operator[0].json}'
    outputs = _blocks(INFRA/'outputs.tf', 'output')
    assert outputs['cloud_operator_policy_arn']['value'] == '${module.step_functions.operator_policy_arn}'


# ---------------------------------------------------------------------------------------------------------------
# The vLLM task definition (modules/ecs_vllm) and the image's entrypoint (containers/vllm/start.sh)

def _dockerfile_env(path: Path) -> dict:
    "ENV defaults of a one-stage Dockerfile, ENV X=${ARG} resolved with the ARG's default."
    import shlex
    text = re.sub(r'\\\n', ' ', path.read_text())
    args = dict(re.findall(r'^ARG (\w+)=(\S+)', text, re.M))
    env = {}
    for line in re.findall(r'^ENV (.*)$', text, re.M):
        for tok in shlex.split(line):
            k, _, v = tok.partition('=')
            env[k] = re.sub(r'\$\{(\w+)\}', lambda m: args[m.group(1)], v)
    return env


def test_vllm_task_environment_is_what_start_sh_reads():
    """Every variable the task definition sets is a setting containers/vllm/start.sh reads, and the module's default
    for it is the image's (the Dockerfile's ENV): a task defined without overrides serves like the image."""
    vllm = INFRA/'modules'/'ecs_vllm'
    env = _locals(vllm/'service.tf')['environment']
    start = (ROOT/'containers'/'vllm'/'start.sh').read_text()
    read = set(re.findall(r'\$\{([A-Z][A-Z0-9_]*)(?::[-?])', start))
    assert set(env) <= read, f"the task sets {sorted(set(env) - read)}, which start.sh does not read"
    assert {'GPU_MEMORY_UTILIZATION', 'MAX_NUM_SEQS', 'MAX_NUM_BATCHED_TOKENS', 'ENABLE_CHUNKED_PREFILL'} <= set(env)
    image = _dockerfile_env(ROOT/'containers'/'vllm'/'Dockerfile')
    variables = _variables(vllm/'variables.tf')
    for name, expr in env.items():
        m = re.fullmatch(r'\$\{(?:tostring\()?var\.(\w+)\)?\}', expr)
        assert m, f"{name} = {expr}: pass a module variable"
        default = variables[m.group(1)].get('default')
        if name == 'MODEL_S3_URI': assert default is None and name not in image; continue
        if isinstance(default, bool): default = str(default).lower()
        assert str(_unq(default)) == image[name], f"{name}: module default {default!r}, image {image[name]!r}"
