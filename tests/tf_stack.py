"""Apply infra/ (lake bucket, Athena side, ECR, AWS Batch, the vLLM service, the Lambda functions, the state machine's
role) to a moto server, for tests: everything moto can create.

`apply_stack(workdir, endpoint)` copies infra/ into `workdir`, points the AWS provider at `endpoint` (a moto server)
with an override file written only into the copy, creates the network the Batch module takes as input (a VPC, a
public subnet, a security group) and stand-ins for AWS's managed IAM policies, applies the root module and returns
its outputs as {name: value}. It uses no pytest fixtures: a failure raises RuntimeError with Terraform's output, and
skipping is the caller's business (`terraform_available()` says why it cannot run here).

Terraform runs offline: providers come from the /opt/tf-plugins mirror (infra/terraformrc), nothing downloads.

moto specifics handled here:
- moto keeps its state per *process*, shared by every moto server a process starts, so an earlier apply (another
  test module) would collide with this one (roles, repositories, the bucket exist already). `apply_stack` therefore
  resets the server first (`reset=False` keeps what is there).
- moto's Batch would start Docker containers for jobs; `apply_stack` switches that off
  (POST {"batch": {"use_docker": false}} to <endpoint>/moto-api/config).
- moto knows AWS's managed IAM policies only when started with MOTO_IAM_LOAD_MANAGED_POLICIES=true, which an HTTP
  client cannot switch on; the Batch service and instance roles therefore get customer-managed stand-ins (created
  here with boto3) through batch_service_role_policy_arn / batch_instance_role_policy_arn. A real deployment
  attaches AWS's AWSBatchServiceRole and AmazonEC2ContainerServiceforEC2Role.
- Two resource types cannot be created against moto 5.2.5 with the AWS provider 5.100.0 (UNSUPPORTED): the apply
  targets everything else (`-target`; nothing test-only enters infra/) and leaves them to be created. A plan after
  the apply shows the ECS service fully known; the state machine cannot even be planned once its definition is known
  (the provider validates it with moto), so tests read its rendered definition with `terraform console`.
"""
from __future__ import annotations
import json, os, shutil, subprocess, time, urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT/'infra'
PLUGINS = Path('/opt/tf-plugins')
ACCOUNT = '123456789012'  # moto's default account (infra/terraform.tfvars.example allows only this one)

# What the test deployment sets on top of infra/terraform.tfvars.example (extra_vars override these).
STACK_VARS = {
    'lake_bucket': 'ftm-lake-test',
    'lake_prefix': 'lake',
    'worker_image_tag': 'test',
    'vllm_image_tag': 'test',
    'llm_model_s3_uri': 's3://ftm-lake-test/models/Qwen/Qwen3-8B/0123abc/',
}
STACK_VARS_FILE = 'stack.auto.tfvars.json'  # written into the copy; *.auto.tfvars win over terraform.tfvars

# Resource types the emulated apply leaves out, and why (checked: each fails the apply when included).
UNSUPPORTED = {
    'aws_ecs_service': "the AWS provider panics reading moto's DescribeServices answer (nil pointer in "
                       "flattenNetworkConfiguration) and the crash aborts the whole apply",
    'aws_sfn_state_machine': "the AWS provider validates the definition with ValidateStateMachineDefinition (before "
                             "creating it, and in every plan once the definition is known), which moto does not "
                             "implement (HTTP 500)",
}
# What Terraform says whenever -target is used: expected here, any other warning is not.
TARGET_WARNINGS = ('Warning: Resource targeting is in effect', 'Warning: Applied changes may be incomplete')
TARGETS_FILE = 'emulated_targets.json'  # written into the copy by apply_stack: what was applied, what left out

OVERRIDE = '''# Written by tests/tf_stack.py into its copy of infra/ only: the AWS provider talks to moto.
provider "aws" {{
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  # false on purpose: the provider then asks (moto's) STS for the account id, so the ARNs it builds carry moto's
  # account; with true they have an empty account and moto's Athena ListTagsForResource finds no workgroup.
  skip_requesting_account_id = false
  skip_metadata_api_check    = true
  s3_use_path_style          = true
  # moto's threaded server now and then closes a connection mid-answer under load ("use of closed network
  # connection" on DescribeTags, seen in CI): the SDK retries such network errors, not moto's refusals
  max_retries = 4

  endpoints {{
    s3             = "{e}"
    glue           = "{e}"
    athena         = "{e}"
    kms            = "{e}"
    iam            = "{e}"
    sts            = "{e}"
    ec2            = "{e}"
    ecr            = "{e}"
    batch          = "{e}"
    cloudwatchlogs = "{e}"
    secretsmanager = "{e}"
    ecs            = "{e}"
    elbv2          = "{e}"
    autoscaling    = "{e}"
    ssm            = "{e}"
    lambda         = "{e}"
    sfn            = "{e}"
  }}
}}
'''


def terraform_available() -> str | None:
    "None when Terraform can run here; otherwise why not (for the caller's pytest.skip)."
    if shutil.which('terraform') is None:
        return "terraform not on PATH: install Terraform >= 1.11 to run the infra/ checks"
    if not PLUGINS.is_dir():
        return (f"terraform is not usable here without its offline provider mirror {PLUGINS} (hashicorp/aws 5.100.0), "
                "which is missing, and nothing may download")
    return None


def tf_env(home: Path, region: str = 'us-east-1') -> dict:
    "Terraform's environment: offline CLI config, no telemetry, moto's credentials, no AWS config of this machine."
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('TF_', 'AWS_')) and k not in ('CHECKPOINT_DISABLE',)}
    env.update(CHECKPOINT_DISABLE='1', TF_CLI_CONFIG_FILE=str(INFRA/'terraformrc'), TF_IN_AUTOMATION='1', TF_INPUT='0',
               AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_REGION=region,
               AWS_DEFAULT_REGION=region, AWS_EC2_METADATA_DISABLED='true',
               AWS_CONFIG_FILE=str(home/'aws-config'), AWS_SHARED_CREDENTIALS_FILE=str(home/'aws-credentials'))
    if 'AWS_CA_BUNDLE' in os.environ: env['AWS_CA_BUNDLE'] = os.environ['AWS_CA_BUNDLE']
    return env


def run_terraform(args, cwd: Path, env: dict, timeout: float = 300, ok=(0,), input: str | None = None) -> subprocess.CompletedProcess:
    "Run `terraform *args` in `cwd` (`input` on stdin); RuntimeError (with its output) on an exit code not in `ok` or a timeout."
    t0 = time.time()
    try:
        p = subprocess.run(['terraform', *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                           input=input)
    except subprocess.TimeoutExpired as e:
        raise RuntimeError(f"terraform {' '.join(args)} took over {timeout}s\n{e.stdout or ''}\n{e.stderr or ''}") from None
    if p.returncode not in ok:
        raise RuntimeError(f"terraform {' '.join(args)} exited {p.returncode} after {time.time() - t0:.0f}s\n"
                           f"{p.stdout[-8000:]}\n{p.stderr[-8000:]}")
    return p


def copy_infra(workdir: Path) -> Path:
    "infra/ copied to <workdir>/infra, without local state, lock file or filled-in variables."
    work = Path(workdir)/'infra'
    shutil.copytree(INFRA, work, ignore=shutil.ignore_patterns('.terraform', '*.tfstate*', 'terraform.tfvars',
                                                                '*.auto.tfvars*', '.terraform.lock.hcl'))
    return work


def _client(service: str, endpoint: str, region: str):
    import boto3
    return boto3.client(service, endpoint_url=endpoint, region_name=region, aws_access_key_id='testing',
                        aws_secret_access_key='testing')


def _post(url: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else b''
    req = urllib.request.Request(url, data=data, method='POST', headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=30) as r: return r.read()


def configure_moto(endpoint: str, reset: bool = True):
    "Optionally wipe moto's state, then keep moto's Batch from starting Docker containers."
    if reset: _post(f'{endpoint}/moto-api/reset')
    _post(f'{endpoint}/moto-api/config', {'batch': {'use_docker': False}})


def create_network(endpoint: str, region: str = 'us-east-1') -> dict:
    """The network the Batch and vLLM modules take as input, as recommended in infra/README.md: a VPC with an
    internet gateway, two public subnets (two AZs, as the vLLM load balancer needs) that auto-assign public IPv4, and
    a security group with no inbound rule and all outbound traffic allowed. Returns the tfvars {vpc_id, subnet_ids,
    security_group_ids}."""
    ec2 = _client('ec2', endpoint, region)
    vpc = ec2.create_vpc(CidrBlock='10.42.0.0/16')['Vpc']['VpcId']
    igw = ec2.create_internet_gateway()['InternetGateway']['InternetGatewayId']
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
    rt = ec2.create_route_table(VpcId=vpc)['RouteTable']['RouteTableId']
    ec2.create_route(RouteTableId=rt, DestinationCidrBlock='0.0.0.0/0', GatewayId=igw)
    subnets = []
    for az, cidr in [('a', '10.42.0.0/20'), ('b', '10.42.16.0/20')]:  # two AZs: the vLLM load balancer needs them
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f'{region}{az}')['Subnet']['SubnetId']
        ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={'Value': True})
        ec2.associate_route_table(RouteTableId=rt, SubnetId=subnet)
        subnets.append(subnet)
    sg = ec2.create_security_group(GroupName='ftm-batch-test', Description='ftm batch: no inbound, all outbound',
                                   VpcId=vpc)['GroupId']  # a new group allows all outbound and no inbound
    return {'vpc_id': vpc, 'subnet_ids': subnets, 'security_group_ids': [sg]}


def create_policy_standins(endpoint: str, region: str = 'us-east-1') -> dict:
    "Customer-managed stand-ins for AWS's managed Batch policies (moto cannot load those over HTTP): tfvars."
    iam, out = _client('iam', endpoint, region), {}
    for var, name, actions in [
            ('batch_service_role_policy_arn', 'ftm-test-AWSBatchServiceRole', ['ec2:*', 'ecs:*', 'autoscaling:*']),
            ('batch_instance_role_policy_arn', 'ftm-test-AmazonEC2ContainerServiceforEC2Role', ['ecs:*', 'ecr:*'])]:
        doc = {'Version': '2012-10-17', 'Statement': [{'Effect': 'Allow', 'Action': actions, 'Resource': '*'}]}
        out[var] = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(doc),
                                     Description='test stand-in for the AWS managed policy of the same name')['Policy']['Arn']
    return out


def prepare_stack(workdir: Path, endpoint: str, region: str = 'us-east-1', extra_vars: dict | None = None,
                  reset: bool = True) -> tuple[Path, dict]:
    """Everything before `terraform apply`: moto configured, network and policy stand-ins created, infra/ copied with
    the moto override and the variables written, `terraform init` run. Returns (the copy of infra/, its env)."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    configure_moto(endpoint, reset=reset)
    stack_vars = {**STACK_VARS, 'region': region, 'allowed_account_ids': [ACCOUNT],
                  **create_network(endpoint, region), **create_policy_standins(endpoint, region), **(extra_vars or {})}
    work = copy_infra(workdir)
    (work/'moto_override.tf').write_text(OVERRIDE.format(e=endpoint))
    shutil.copy(work/'terraform.tfvars.example', work/'terraform.tfvars')  # the example, as a user would start
    (work/STACK_VARS_FILE).write_text(json.dumps(stack_vars, indent=2))
    env = tf_env(workdir, region)
    run_terraform(['init', '-backend=false', '-input=false', '-no-color'], work, env, timeout=180)
    return work, env


def outputs(work: Path, env: dict) -> dict:
    "`terraform output -json` flattened to {name: value}."
    p = run_terraform(['output', '-json', '-no-color'], work, env, timeout=60)
    return {k: v['value'] for k, v in json.loads(p.stdout).items()}


def apply_stack(workdir: Path, endpoint: str, region: str = 'us-east-1', extra_vars: dict | None = None, *,
                reset: bool = True) -> dict:
    """Apply infra/ (every module; all resources but the UNSUPPORTED types) to the moto server at `endpoint`; return
    the root module's outputs as {name: value} (lake_uri, lake_bucket, batch_map_job_queue, ..., ftm_env).

    `workdir` receives the copy of infra/ (state included: <workdir>/infra/terraform.tfstate). `extra_vars` override
    the test deployment's variables (STACK_VARS, the example file, the created network). `reset` wipes the moto
    server's state first (see the module docstring). Raises RuntimeError with Terraform's output on failure."""
    work, env = prepare_stack(workdir, endpoint, region, extra_vars, reset=reset)
    applied, left_out = split_resources(work, env)
    (work/TARGETS_FILE).write_text(json.dumps({'applied': applied, 'left_out': left_out}, indent=1))
    # -parallelism=10 (Terraform's default): a few resources wait long on moto (the provider's waits for the load
    # balancer, the buckets' lifecycle rules, the job queues) and must not hold up the many quick ones.
    p = run_terraform(['apply', '-input=false', '-auto-approve', '-no-color', '-parallelism=10',
                       *[f'-target={t}' for t in applied]], work, env, timeout=400)
    text = p.stdout + p.stderr
    for w in TARGET_WARNINGS: text = text.replace(w, '')
    if 'Warning:' in text:
        raise RuntimeError(f"terraform apply warns (deprecated argument?):\n{p.stdout[-8000:]}\n{p.stderr[-4000:]}")
    # A targeted apply leaves out the root outputs that depend on no targeted resource (lake_uri, llm_service: built
    # from variables only); a refresh-only apply records them all, changing no resource.
    run_terraform(['apply', '-refresh-only', '-input=false', '-auto-approve', '-no-color', '-parallelism=10'], work, env,
                  timeout=300)
    return outputs(work, env)


def split_resources(work: Path, env: dict | None = None) -> tuple[list[str], dict[str, str]]:
    """The -target addresses that cover everything in the configuration at `work` but the UNSUPPORTED types, and the
    left-out resources ({address: why}). Read from the .tf files with python-hcl2 (no plan, no AWS call): a module
    without an UNSUPPORTED resource anywhere below it is one target (module.x), any other module contributes its
    resource blocks (module.x.type.name) and its own module calls, recursively. `env` is unused (kept for callers
    that pass the Terraform environment)."""
    import hcl2

    def blocks(folder: Path) -> tuple[list[tuple[str, str]], dict[str, Path]]:
        resources, modules = [], {}
        for f in sorted(folder.glob('*.tf')):
            with open(f) as fh: doc = hcl2.load(fh)
            for block in doc.get('resource', []):
                for typ, named in block.items(): resources += [(_unq(typ), _unq(n)) for n in named]
            for block in doc.get('module', []):
                for name, body in block.items(): modules[_unq(name)] = (folder/_unq(body['source'])).resolve()
        return resources, modules

    def walk(folder: Path, prefix: str) -> tuple[list[str], dict[str, str], bool]:
        resources, modules = blocks(folder)
        targets = [f'{prefix}{t}.{n}' for t, n in resources if t not in UNSUPPORTED]
        left = {f'{prefix}{t}.{n}': UNSUPPORTED[t] for t, n in resources if t in UNSUPPORTED}
        for name, src in modules.items():
            sub_targets, sub_left, clean = walk(src, f'{prefix}module.{name}.')
            targets += [f'{prefix}module.{name}'] if clean else sub_targets
            left.update(sub_left)
        return targets, left, not left

    targets, left, _ = walk(Path(work), '')
    missing = set(UNSUPPORTED) - {a.split('.')[-2] for a in left}
    if missing: raise RuntimeError(f"UNSUPPORTED lists {sorted(missing)}, which infra/ no longer has: update tf_stack")
    return sorted(targets), left


def _unq(v):
    "python-hcl2 >= 7 keeps the quotes of string literals and block labels; older versions did not."
    return v[1:-1] if isinstance(v, str) and len(v) >= 2 and v[0] == v[-1] == '"' else v


def emulated_targets(work: Path) -> dict:
    "What apply_stack applied ('applied': addresses) and left out ('left_out': {address: why}) in `work`."
    return json.loads((Path(work)/TARGETS_FILE).read_text())
