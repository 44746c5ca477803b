"""The Terraform of the lake's Athena side (infra/): init/validate/fmt, an apply against moto's AWS, and HCL guards.

Terraform runs offline: providers come from the /opt/tf-plugins mirror (infra/terraformrc), nothing downloads. infra/
is copied to a temporary folder first, so `.terraform/` and state never land in the repository. The apply goes
through the root module with infra/terraform.tfvars.example, the provider pointed at a moto server by an override
file (moto_override.tf) written only into the copy; boto3 then reads back what moto holds."""
import json, os, shutil, subprocess, time
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT/'infra'
MODULE = INFRA/'modules'/'athena'
PLUGINS = Path('/opt/tf-plugins')
REGION = 'us-east-1'
ENGINE_V3 = 'Athena engine version 3'

# What infra/terraform.tfvars.example sets (the apply uses that file as is).
DATABASE, WORKGROUP, WAREHOUSE = 'ftm', 'ftm', 's3://my-ftm-lake/lake'
CUTOFF, EXPIRE_DAYS = 10 * 2**30, 30



def _terraform() -> str:
    tf = shutil.which('terraform')
    if tf is None: pytest.skip("terraform not on PATH: install Terraform >= 1.11 to run the infra/ checks")
    if not PLUGINS.is_dir():
        pytest.skip(f"terraform not on PATH: not usable here without its offline provider mirror {PLUGINS} "
                    "(hashicorp/aws 5.100.0), which is missing, and nothing may download")
    return tf


def _env(home: Path) -> dict:
    "Terraform's environment: offline CLI config, no telemetry, moto's credentials, no AWS config of this machine."
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(('TF_', 'AWS_')) and k not in ('CHECKPOINT_DISABLE',)}
    env.update(CHECKPOINT_DISABLE='1', TF_CLI_CONFIG_FILE=str(INFRA/'terraformrc'), TF_IN_AUTOMATION='1', TF_INPUT='0',
               AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_REGION=REGION,
               AWS_DEFAULT_REGION=REGION, AWS_EC2_METADATA_DISABLED='true',
               AWS_CONFIG_FILE=str(home/'aws-config'), AWS_SHARED_CREDENTIALS_FILE=str(home/'aws-credentials'))
    if 'AWS_CA_BUNDLE' in os.environ: env['AWS_CA_BUNDLE'] = os.environ['AWS_CA_BUNDLE']
    return env


class TF:
    "Runs terraform in one folder; a failing command fails the test with its output."
    def __init__(self, exe: str, cwd: Path, env: dict): self.exe, self.cwd, self.env = exe, cwd, env

    def __call__(self, *args, ok=(0,), timeout=240, cwd=None):
        t0 = time.time()
        try:
            p = subprocess.run([self.exe, *args], cwd=cwd or self.cwd, env=self.env, capture_output=True, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"terraform {' '.join(args)} took over {timeout}s\n{e.stdout or ''}\n{e.stderr or ''}")
        if p.returncode not in ok:
            pytest.fail(f"terraform {' '.join(args)} exited {p.returncode} after {time.time() - t0:.0f}s\n"
                        f"{p.stdout[-6000:]}\n{p.stderr[-6000:]}")
        return p


@pytest.fixture(scope='module')
def tf(tmp_path_factory):
    "An initialised copy of infra/ (no backend: state stays in the copy)."
    exe = _terraform()
    tmp = tmp_path_factory.mktemp('tf')
    work = tmp/'infra'
    shutil.copytree(INFRA, work, ignore=shutil.ignore_patterns('.terraform', '*.tfstate*', 'terraform.tfvars',
                                                                '*.auto.tfvars', '.terraform.lock.hcl'))
    t = TF(exe, work, _env(tmp))
    t('init', '-backend=false', '-input=false', '-no-color', timeout=120)
    return t


def test_validate(tf):
    res = json.loads(tf('validate', '-json', '-no-color').stdout)
    assert res['valid'], res['diagnostics']
    assert not [d for d in res['diagnostics'] if d['severity'] == 'warning'], res['diagnostics']


def test_fmt(tf, tmp_path):
    # On the repository's own infra/ (fmt -check writes nothing), and on the example variables file.
    p = tf('fmt', '-check', '-recursive', '-diff', '-no-color', str(INFRA), ok=(0, 3), timeout=60)
    assert p.returncode == 0, f"run `terraform fmt -recursive infra`:\n{p.stdout}"
    shutil.copy(INFRA/'terraform.tfvars.example', tmp_path/'example.tfvars')
    p = tf('fmt', '-check', '-diff', '-no-color', 'example.tfvars', ok=(0, 3), timeout=60, cwd=tmp_path)
    assert p.returncode == 0, f"terraform.tfvars.example is not formatted:\n{p.stdout}"


# ---------------------------------------------------------------------------------------------------------------
# Apply against moto



OVERRIDE = '''# Written by tests/test_terraform.py into its copy of infra/ only: the AWS provider talks to moto.
provider "aws" {{
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  # false on purpose: the provider then asks (moto's) STS for the account id, so the ARNs it builds carry moto's
  # account; with true they have an empty account and moto's Athena ListTagsForResource finds no workgroup.
  skip_requesting_account_id = false
  skip_metadata_api_check    = true
  s3_use_path_style          = true
  max_retries                = 1

  endpoints {{
    s3     = "{e}"
    glue   = "{e}"
    athena = "{e}"
    kms    = "{e}"
    iam    = "{e}"
    sts    = "{e}"
  }}
}}
'''


@pytest.fixture(scope='module')
def applied(tf, endpoint):
    "The root module applied to moto with terraform.tfvars.example; returns the outputs."
    (tf.cwd/'moto_override.tf').write_text(OVERRIDE.format(e=endpoint))
    t0 = time.time()
    p = tf('apply', '-input=false', '-auto-approve', '-no-color', '-parallelism=4',
           '-var-file=terraform.tfvars.example', timeout=240)
    print(f"apply: {time.time() - t0:.0f}s")
    assert 'Warning:' not in p.stdout + p.stderr, f"apply warns (deprecated argument?):\n{p.stdout[-6000:]}\n{p.stderr}"
    return {k: v['value'] for k, v in json.loads(tf('output', '-json', '-no-color').stdout).items()}


@pytest.fixture(scope='module')
def aws(endpoint):
    import boto3
    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id='testing', aws_secret_access_key='testing')
    return lambda service: boto3.client(service, **kw)


def test_apply_outputs(applied):
    assert applied['glue_database_name'] == DATABASE
    assert applied['athena_workgroup'] == WORKGROUP
    assert applied['warehouse_uri'] == WAREHOUSE
    bucket = applied['athena_results_bucket']
    assert bucket == 'ftm-athena-results-123456789012-us-east-1'
    assert applied['athena_results_location'] == f's3://{bucket}/results/'
    assert applied['athena_kms_key_arn'].startswith('arn:aws:kms:us-east-1:123456789012:key/')
    assert applied['athena_query_policy_arn'] == 'arn:aws:iam::123456789012:policy/ftm-athena-query'


def test_glue_database(applied, aws):
    db = aws('glue').get_database(Name=DATABASE)['Database']
    # pyiceberg puts tables created without a location at <LocationUri>/<table>: <warehouse>/<namespace>/<table>
    assert db['LocationUri'] == f'{WAREHOUSE}/{DATABASE}'
    assert 'Iceberg' in db['Description'] and 'Athena' in db['Description']
    arn = f'arn:aws:glue:{REGION}:123456789012:database/{DATABASE}'
    assert aws('glue').get_tags(ResourceArn=arn)['Tags']['ftm:component'] == 'athena'


def test_athena_workgroup(applied, aws):
    athena = aws('athena')
    wg = athena.get_work_group(WorkGroup=WORKGROUP)['WorkGroup']
    assert wg['State'] == 'ENABLED'
    c = wg['Configuration']
    assert c['EngineVersion']['SelectedEngineVersion'] == ENGINE_V3
    assert c['BytesScannedCutoffPerQuery'] == CUTOFF
    assert c['EnforceWorkGroupConfiguration'] is True and c['PublishCloudWatchMetricsEnabled'] is True
    rc = c['ResultConfiguration']
    assert rc['OutputLocation'] == applied['athena_results_location']
    assert rc['EncryptionConfiguration'] == {'EncryptionOption': 'SSE_KMS', 'KmsKey': applied['athena_kms_key_arn']}
    assert rc['ExpectedBucketOwner'] == '123456789012'
    tags = {t['Key']: t['Value'] for t in athena.list_tags_for_resource(
        ResourceARN=f'arn:aws:athena:{REGION}:123456789012:workgroup/{WORKGROUP}')['Tags']}
    assert tags == {'ftm:component': 'athena', 'ftm:project': 'ftm', 'ftm:managed-by': 'terraform',
                    'ftm:owner': 'research'}


def test_results_bucket(applied, aws):
    s3, b = aws('s3'), applied['athena_results_bucket']
    sse = s3.get_bucket_encryption(Bucket=b)['ServerSideEncryptionConfiguration']['Rules'][0]
    assert sse['ApplyServerSideEncryptionByDefault'] == {'SSEAlgorithm': 'aws:kms',
                                                        'KMSMasterKeyID': applied['athena_kms_key_arn']}
    assert sse['BucketKeyEnabled'] is True
    pab = s3.get_public_access_block(Bucket=b)['PublicAccessBlockConfiguration']
    assert pab == dict(BlockPublicAcls=True, IgnorePublicAcls=True, BlockPublicPolicy=True, RestrictPublicBuckets=True)
    assert s3.get_bucket_versioning(Bucket=b)['Status'] == 'Enabled'
    assert s3.get_bucket_ownership_controls(Bucket=b)['OwnershipControls']['Rules'] == [
        {'ObjectOwnership': 'BucketOwnerEnforced'}]
    [st] = json.loads(s3.get_bucket_policy(Bucket=b)['Policy'])['Statement']
    assert st['Effect'] == 'Deny' and st['Action'] == 's3:*' and st['Principal'] == '*'
    assert st['Condition'] == {'Bool': {'aws:SecureTransport': 'false'}}
    assert sorted(st['Resource']) == [f'arn:aws:s3:::{b}', f'arn:aws:s3:::{b}/*']
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=b)['Rules']
    assert rule['Status'] == 'Enabled' and rule['Expiration'] == {'Days': EXPIRE_DAYS}
    assert rule['NoncurrentVersionExpiration']['NoncurrentDays'] == EXPIRE_DAYS
    assert rule['AbortIncompleteMultipartUpload'] == {'DaysAfterInitiation': 1}
    tags = {t['Key']: t['Value'] for t in s3.get_bucket_tagging(Bucket=b)['TagSet']}
    assert tags['ftm:component'] == 'athena'


def test_kms_key_and_query_policy(applied, aws):
    kms, key = aws('kms'), applied['athena_kms_key_arn']
    meta = kms.describe_key(KeyId=key)['KeyMetadata']
    assert meta['Enabled'] and meta['KeyUsage'] == 'ENCRYPT_DECRYPT'
    assert kms.get_key_rotation_status(KeyId=key)['KeyRotationEnabled'] is True
    assert 'alias/ftm-athena-results' in [a['AliasName'] for a in kms.list_aliases(KeyId=key)['Aliases']]

    iam, arn = aws('iam'), applied['athena_query_policy_arn']
    pol = iam.get_policy(PolicyArn=arn)['Policy']
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=pol['DefaultVersionId'])['PolicyVersion']['Document']
    doc = json.loads(doc) if isinstance(doc, str) else doc
    by_sid = {s['Sid']: s for s in doc['Statement']}
    assert by_sid['AthenaWorkgroup']['Resource'] == f'arn:aws:athena:{REGION}:123456789012:workgroup/{WORKGROUP}'
    assert by_sid['ReadLake']['Resource'] == 'arn:aws:s3:::my-ftm-lake/lake/*'
    assert by_sid['UseResultsKey']['Resource'] == key


def test_replan_is_empty(applied, tf):
    "What moto gave back reads as what was asked for: a second plan has nothing to do (no perpetual diff)."
    p = tf('plan', '-input=false', '-no-color', '-detailed-exitcode', '-parallelism=4',
           '-var-file=terraform.tfvars.example', ok=(0, 2), timeout=180)
    assert p.returncode == 0, f"a plan right after apply wants changes:\n{p.stdout[-6000:]}"


# ---------------------------------------------------------------------------------------------------------------
# HCL guards: no terraform needed, so these run everywhere and catch a silent edit of the settings that matter.

def _unq(v):
    "python-hcl2 >= 7 keeps the quotes of string literals and block labels; older versions did not."
    return v[1:-1] if isinstance(v, str) and len(v) >= 2 and v[0] == v[-1] == '"' else v


def _load(path: Path) -> dict:
    import hcl2
    with open(path) as f: return hcl2.load(f)


def _resources(path: Path) -> dict:
    "{(type, name): body} of the resource blocks of one .tf file."
    out = {}
    for block in _load(path).get('resource', []):
        for typ, named in block.items():
            for name, body in named.items(): out[(_unq(typ), _unq(name))] = body
    return out


def _variables(path: Path) -> dict:
    return {_unq(k): v for block in _load(path).get('variable', []) for k, v in block.items()}


def test_hcl_workgroup_guards():
    res = _resources(MODULE/'main.tf')
    wg = res[('aws_athena_workgroup', 'lake')]
    [conf] = wg['configuration']
    assert conf['enforce_workgroup_configuration'] is True
    assert conf['publish_cloudwatch_metrics_enabled'] is True
    [engine] = conf['engine_version']
    assert _unq(engine['selected_engine_version']) == ENGINE_V3
    assert conf['bytes_scanned_cutoff_per_query'] == '${var.bytes_scanned_cutoff_per_query}'
    [rc] = conf['result_configuration']
    [enc] = rc['encryption_configuration']
    assert enc['encryption_option'] == '${local.encryption_option}'

    pab = res[('aws_s3_bucket_public_access_block', 'results')]
    assert all(pab[k] is True for k in ('block_public_acls', 'block_public_policy', 'ignore_public_acls',
                                        'restrict_public_buckets'))
    assert _unq(res[('aws_s3_bucket_versioning', 'results')]['versioning_configuration'][0]['status']) == 'Enabled'
    # every taggable resource carries the module's tags
    for key in [('aws_glue_catalog_database', 'lake'), ('aws_kms_key', 'results'), ('aws_s3_bucket', 'results'),
                ('aws_athena_workgroup', 'lake'), ('aws_iam_policy', 'query')]:
        assert res[key].get('tags') == '${local.tags}', key

    variables = _variables(MODULE/'variables.tf')
    assert _unq(variables['database_name']['default']) == 'ftm'
    assert variables['bytes_scanned_cutoff_per_query']['default'] == CUTOFF
    assert all('description' in v and 'type' in v for v in variables.values())


def test_hcl_root_pins_and_example():
    [tf_block] = _load(INFRA/'versions.tf')['terraform']
    assert _unq(tf_block['required_version']) == '>= 1.11'
    aws = tf_block['required_providers'][0]['aws']
    assert _unq(aws['source']) == 'hashicorp/aws' and _unq(aws['version']) == '5.100.0'
    # every variable the example sets is declared by the root module
    declared = set(_variables(INFRA/'variables.tf'))
    example = {_unq(k) for k in _load(INFRA/'terraform.tfvars.example') if not k.startswith('__')}
    assert example and example <= declared, example - declared
