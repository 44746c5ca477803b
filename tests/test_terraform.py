"""The Terraform of infra/ (lake bucket, Athena side, ECR, AWS Batch): init/validate/fmt, an apply against moto's AWS,
and HCL guards.

Terraform runs offline: providers come from the /opt/tf-plugins mirror (infra/terraformrc), nothing downloads. infra/
is copied to a temporary folder first, so `.terraform/` and state never land in the repository. The apply is
tests/tf_stack.py's `apply_stack` (the same one the emulated Batch run uses): the root module with
infra/terraform.tfvars.example plus a test deployment's variables (lake bucket ftm-lake-test, a VPC, subnet and
security group created in moto first), the provider pointed at a moto server by an override file written only into
the copy; boto3 then reads back what moto holds. One apply serves every check here (it takes about 80 s, most of it
the AWS provider's own waits for lifecycle rules and job queues)."""
import json, shutil, time
from pathlib import Path
import pytest
import tf_stack

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT/'infra'
MODULE = INFRA/'modules'/'athena'
REGION = 'us-east-1'
ACCOUNT = tf_stack.ACCOUNT
ENGINE_V3 = 'Athena engine version 3'

# What the apply sets: infra/terraform.tfvars.example, with tf_stack.STACK_VARS on top.
DATABASE, WORKGROUP = 'ftm', 'ftm'
LAKE_BUCKET, LAKE_PREFIX = tf_stack.STACK_VARS['lake_bucket'], tf_stack.STACK_VARS['lake_prefix']
WAREHOUSE = f's3://{LAKE_BUCKET}/{LAKE_PREFIX}'
IMAGE_TAG = tf_stack.STACK_VARS['worker_image_tag']
CUTOFF, EXPIRE_DAYS = 10 * 2**30, 30
STAGING_DAYS, NONCURRENT_DAYS = 30, 30
TAGS = {'ftm:project': 'ftm', 'ftm:managed-by': 'terraform', 'ftm:owner': 'research'}


def _terraform() -> str:
    if (why := tf_stack.terraform_available()) is not None: pytest.skip(why)
    return 'terraform'


class TF:
    "Runs terraform in one folder; a failing command fails the test with its output."
    def __init__(self, cwd: Path, env: dict): self.cwd, self.env = cwd, env

    def __call__(self, *args, ok=(0,), timeout=240, cwd=None):
        try: return tf_stack.run_terraform(list(args), cwd or self.cwd, self.env, timeout=timeout, ok=ok)
        except RuntimeError as e: pytest.fail(str(e))


@pytest.fixture(scope='module')
def tf(tmp_path_factory):
    "An initialised copy of infra/ (no backend, no AWS): for validate and fmt."
    _terraform()
    tmp = tmp_path_factory.mktemp('tf')
    t = TF(tf_stack.copy_infra(tmp), tf_stack.tf_env(tmp, REGION))
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
# Apply against moto (conftest's `endpoint`: a ThreadedMotoServer)

@pytest.fixture(scope='module')
def stack(tmp_path_factory, endpoint):
    "The root module applied to moto by tf_stack.apply_stack: (outputs, TF runner in the applied copy)."
    _terraform()
    work = tmp_path_factory.mktemp('stack')
    t0 = time.time()
    try: out = tf_stack.apply_stack(work, endpoint, REGION)
    except RuntimeError as e: pytest.fail(str(e))
    print(f"apply_stack: {time.time() - t0:.0f}s")
    return out, TF(work/'infra', tf_stack.tf_env(work, REGION))


@pytest.fixture(scope='module')
def applied(stack): return stack[0]


@pytest.fixture(scope='module')
def aws(endpoint):
    import boto3
    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id='testing', aws_secret_access_key='testing')
    return lambda service: boto3.client(service, **kw)


def _tags(tagset) -> dict: return {t['Key']: t['Value'] for t in tagset}


def test_apply_outputs(applied):
    assert applied['glue_database_name'] == DATABASE
    assert applied['athena_workgroup'] == WORKGROUP
    assert applied['warehouse_uri'] == applied['lake_uri'] == WAREHOUSE
    assert applied['lake_bucket'] == LAKE_BUCKET
    bucket = applied['athena_results_bucket']
    assert bucket == f'ftm-athena-results-{ACCOUNT}-{REGION}'
    assert applied['athena_results_location'] == f's3://{bucket}/results/'
    assert applied['athena_kms_key_arn'].startswith(f'arn:aws:kms:{REGION}:{ACCOUNT}:key/')
    assert applied['lake_kms_key_arn'].startswith(f'arn:aws:kms:{REGION}:{ACCOUNT}:key/')
    assert applied['lake_kms_key_arn'] != applied['athena_kms_key_arn']
    assert applied['athena_query_policy_arn'] == f'arn:aws:iam::{ACCOUNT}:policy/ftm-athena-query'
    ecr = f'{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com'
    assert applied['ecr_worker_repository_url'] == f'{ecr}/ftm-worker'
    assert applied['ecr_vllm_repository_url'] == f'{ecr}/ftm-vllm'
    assert applied['batch_image'] == f'{ecr}/ftm-worker:{IMAGE_TAG}'
    # names, not ARNs: what ftm's batch.* settings take
    assert (applied['batch_map_job_queue'], applied['batch_reduce_job_queue']) == ('ftm-map', 'ftm-reduce')
    assert (applied['batch_map_job_definition'], applied['batch_reduce_job_definition']) == ('ftm-map', 'ftm-reduce')
    assert applied['batch_log_group'] == '/aws/batch/ftm'
    assert applied['ftm_env'] == {
        'FTM_LAKE': WAREHOUSE, 'FTM_CATALOG__KIND': 'glue', 'FTM_CATALOG__NAMESPACE': DATABASE,
        'FTM_CATALOG__REGION': REGION, 'FTM_BATCH__JOB_QUEUE': 'ftm-map', 'FTM_BATCH__REDUCE_JOB_QUEUE': 'ftm-reduce',
        'FTM_BATCH__MAP_JOB_DEFINITION': 'ftm-map', 'FTM_BATCH__REDUCE_JOB_DEFINITION': 'ftm-reduce',
        'FTM_BATCH__REGION': REGION, 'FTM_BATCH__LOG_GROUP': '/aws/batch/ftm'}


def test_ftm_env_is_ftm_config(applied):
    "The laptop settings Terraform prints are ftm's: load_config takes them, and each lands on its field."
    from ftm.config import load_config
    env = applied['ftm_env']
    cfg = load_config(env=env)
    assert cfg.lake == WAREHOUSE
    assert (cfg.catalog.kind, cfg.catalog.namespace, cfg.catalog.region) == ('glue', DATABASE, REGION)
    assert (cfg.batch.job_queue, cfg.batch.reduce_job_queue) == ('ftm-map', 'ftm-reduce')
    assert (cfg.batch.map_job_definition, cfg.batch.reduce_job_definition) == ('ftm-map', 'ftm-reduce')
    assert (cfg.batch.region, cfg.batch.log_group) == (REGION, '/aws/batch/ftm')


def test_glue_database(applied, aws):
    db = aws('glue').get_database(Name=DATABASE)['Database']
    # pyiceberg puts tables created without a location at <LocationUri>/<table>: <warehouse>/<namespace>/<table>
    assert db['LocationUri'] == f'{WAREHOUSE}/{DATABASE}'
    assert 'Iceberg' in db['Description'] and 'Athena' in db['Description']
    arn = f'arn:aws:glue:{REGION}:{ACCOUNT}:database/{DATABASE}'
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
    assert rc['ExpectedBucketOwner'] == ACCOUNT
    tags = _tags(athena.list_tags_for_resource(
        ResourceARN=f'arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{WORKGROUP}')['Tags'])
    assert tags == {'ftm:component': 'athena', **TAGS}


def _check_private_bucket(s3, b: str, kms_key: str):
    "Encryption with the key, all public access blocked, versioning, ACLs off, TLS-only policy."
    sse = s3.get_bucket_encryption(Bucket=b)['ServerSideEncryptionConfiguration']['Rules'][0]
    assert sse['ApplyServerSideEncryptionByDefault'] == {'SSEAlgorithm': 'aws:kms', 'KMSMasterKeyID': kms_key}
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


def test_results_bucket(applied, aws):
    s3, b = aws('s3'), applied['athena_results_bucket']
    _check_private_bucket(s3, b, applied['athena_kms_key_arn'])
    [rule] = s3.get_bucket_lifecycle_configuration(Bucket=b)['Rules']
    assert rule['Status'] == 'Enabled' and rule['Expiration'] == {'Days': EXPIRE_DAYS}
    assert rule['NoncurrentVersionExpiration']['NoncurrentDays'] == EXPIRE_DAYS
    assert rule['AbortIncompleteMultipartUpload'] == {'DaysAfterInitiation': 1}
    assert _tags(s3.get_bucket_tagging(Bucket=b)['TagSet'])['ftm:component'] == 'athena'


def test_lake_bucket(applied, aws):
    s3, b = aws('s3'), applied['lake_bucket']
    _check_private_bucket(s3, b, applied['lake_kms_key_arn'])
    rules = {r['ID']: r for r in s3.get_bucket_lifecycle_configuration(Bucket=b)['Rules']}
    assert set(rules) == {'expire-staging', 'noncurrent-versions'}
    staging = rules['expire-staging']
    # ftm stages a run under <lake>/_staging/quarter=<q>/<run_id>/ (Lake.staging_dir): only that expires
    assert staging['Status'] == 'Enabled' and staging['Filter'] == {'Prefix': f'{LAKE_PREFIX}/_staging/'}
    assert staging['Expiration'] == {'Days': STAGING_DAYS}
    assert staging['NoncurrentVersionExpiration']['NoncurrentDays'] == 1
    assert staging['AbortIncompleteMultipartUpload'] == {'DaysAfterInitiation': 1}
    every = rules['noncurrent-versions']
    assert every['Status'] == 'Enabled' and every['Filter'].get('Prefix', '') == ''
    assert every['NoncurrentVersionExpiration']['NoncurrentDays'] == NONCURRENT_DAYS
    assert every['Expiration'] == {'ExpiredObjectDeleteMarker': True}
    assert every['AbortIncompleteMultipartUpload'] == {'DaysAfterInitiation': 1}
    assert _tags(s3.get_bucket_tagging(Bucket=b)['TagSet']) == {'ftm:component': 'storage', **TAGS}


def test_kms_keys_and_query_policy(applied, aws):
    kms = aws('kms')
    for key, alias in [(applied['athena_kms_key_arn'], 'alias/ftm-athena-results'),
                       (applied['lake_kms_key_arn'], 'alias/ftm-lake')]:
        meta = kms.describe_key(KeyId=key)['KeyMetadata']
        assert meta['Enabled'] and meta['KeyUsage'] == 'ENCRYPT_DECRYPT'
        assert kms.get_key_rotation_status(KeyId=key)['KeyRotationEnabled'] is True
        assert alias in [a['AliasName'] for a in kms.list_aliases(KeyId=key)['Aliases']]

    iam, arn = aws('iam'), applied['athena_query_policy_arn']
    pol = iam.get_policy(PolicyArn=arn)['Policy']
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=pol['DefaultVersionId'])['PolicyVersion']['Document']
    doc = json.loads(doc) if isinstance(doc, str) else doc
    by_sid = {s['Sid']: s for s in doc['Statement']}
    assert by_sid['AthenaWorkgroup']['Resource'] == f'arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{WORKGROUP}'
    assert by_sid['ReadLake']['Resource'] == f'arn:aws:s3:::{LAKE_BUCKET}/{LAKE_PREFIX}/*'
    assert by_sid['UseResultsKey']['Resource'] == applied['athena_kms_key_arn']
    # the lake is encrypted with its own key: querying it needs kms:Decrypt on that key too
    assert by_sid['DecryptLake']['Resource'] == applied['lake_kms_key_arn']
    assert 'kms:Decrypt' in by_sid['DecryptLake']['Action']


def test_ecr_repositories(applied, aws):
    ecr = aws('ecr')
    repos = {r['repositoryName']: r for r in ecr.describe_repositories(repositoryNames=['ftm-worker', 'ftm-vllm'])['repositories']}
    assert repos['ftm-worker']['repositoryUri'] == applied['ecr_worker_repository_url']
    assert repos['ftm-vllm']['repositoryUri'] == applied['ecr_vllm_repository_url']
    for name, r in repos.items():
        assert r['imageTagMutability'] == 'IMMUTABLE', name
        assert r['imageScanningConfiguration'] == {'scanOnPush': True}, name
        assert r['encryptionConfiguration']['encryptionType'] == 'KMS', name
        rules = json.loads(ecr.get_lifecycle_policy(repositoryName=name)['lifecyclePolicyText'])['rules']
        by_status = {rule['selection']['tagStatus']: rule for rule in rules}
        keep = by_status['any']
        assert keep['selection']['countType'] == 'imageCountMoreThan' and keep['selection']['countNumber'] == 30
        assert keep['action'] == {'type': 'expire'} and keep['rulePriority'] == max(r['rulePriority'] for r in rules)
        assert by_status['untagged']['selection']['countType'] == 'sinceImagePushed'
        tags = _tags(ecr.list_tags_for_resource(resourceArn=r['repositoryArn'])['tags'])
        assert tags['ftm:component'] == 'ecr' and tags['ftm:project'] == 'ftm'


def _network(aws) -> tuple[set, set]:
    "The subnets and security groups tf_stack created (the only ones of their VPC)."
    ec2 = aws('ec2')
    [sg] = ec2.describe_security_groups(Filters=[{'Name': 'group-name', 'Values': ['ftm-batch-test']}])['SecurityGroups']
    subnets = {s['SubnetId'] for s in ec2.describe_subnets(Filters=[{'Name': 'vpc-id', 'Values': [sg['VpcId']]}])['Subnets']}
    return subnets, {sg['GroupId']}


def test_batch_compute_environments(applied, aws):
    batch, iam = aws('batch'), aws('iam')
    ces = {ce['computeEnvironmentName']: ce for ce in batch.describe_compute_environments()['computeEnvironments']}
    gpu = [ce for n, ce in ces.items() if n.startswith('ftm-gpu-spot-')]
    cpu = [ce for n, ce in ces.items() if n.startswith('ftm-cpu-spot-')]
    assert len(gpu) == len(cpu) == 1, sorted(ces)
    subnets, sgs = _network(aws)
    profile = iam.get_instance_profile(InstanceProfileName='ftm-batch-instance')['InstanceProfile']
    assert [r['RoleName'] for r in profile['Roles']] == ['ftm-batch-instance']
    for ce, types, image_type in [(gpu[0], ['g4dn.xlarge', 'g5.xlarge'], 'ECS_AL2023_NVIDIA'),
                                  (cpu[0], ['c6i', 'm6i', 'r6i'], 'ECS_AL2023')]:
        assert ce['type'] == 'MANAGED' and ce['state'] == 'ENABLED'
        assert ce['serviceRole'] == f'arn:aws:iam::{ACCOUNT}:role/ftm-batch-service'
        cr = ce['computeResources']
        assert cr['type'] == 'SPOT' and cr['allocationStrategy'] == 'SPOT_PRICE_CAPACITY_OPTIMIZED'
        assert sorted(cr['instanceTypes']) == types
        assert cr['minvCpus'] == 0 and cr['maxvCpus'] == 64
        assert cr['ec2Configuration'] == [{'imageType': image_type}]
        assert set(cr['subnets']) == subnets and set(cr['securityGroupIds']) == sgs
        assert cr['instanceRole'] == profile['Arn']
        assert 'spotIamFleetRole' not in cr  # not needed by SPOT_PRICE_CAPACITY_OPTIMIZED
        assert cr['launchTemplate']['launchTemplateId'].startswith('lt-')
        assert cr['tags']['ftm:component'] == 'batch' and cr['tags']['Name'].startswith('ftm-batch-')
    [lt] = aws('ec2').describe_launch_template_versions(LaunchTemplateId=gpu[0]['computeResources']['launchTemplate']['launchTemplateId'])['LaunchTemplateVersions']
    data = lt['LaunchTemplateData']
    assert data['MetadataOptions']['HttpTokens'] == 'required' and data['MetadataOptions']['HttpPutResponseHopLimit'] == 1
    [bdm] = data['BlockDeviceMappings']
    assert bdm['Ebs']['Encrypted'] is True and bdm['Ebs']['VolumeType'] == 'gp3' and bdm['Ebs']['VolumeSize'] == 100


def test_batch_job_queues(applied, aws):
    batch = aws('batch')
    ces = {ce['computeEnvironmentArn']: ce['computeEnvironmentName']
           for ce in batch.describe_compute_environments()['computeEnvironments']}
    queues = {q['jobQueueName']: q for q in batch.describe_job_queues(
        jobQueues=[applied['batch_map_job_queue'], applied['batch_reduce_job_queue']])['jobQueues']}
    for name, kind in [('ftm-map', 'gpu'), ('ftm-reduce', 'cpu')]:
        q = queues[name]
        assert q['state'] == 'ENABLED'
        [order] = q['computeEnvironmentOrder']
        assert ces[order['computeEnvironment']].startswith(f'ftm-{kind}-spot-'), (name, order)


def _job_definition(batch, name: str) -> dict:
    [jd] = [d for d in batch.describe_job_definitions(jobDefinitionName=name)['jobDefinitions'] if d['status'] == 'ACTIVE']
    return jd


def test_batch_job_definitions(applied, aws):
    batch, image = aws('batch'), f"{applied['ecr_worker_repository_url']}:{IMAGE_TAG}"
    expected = {
        'map': ({'VCPU': '4', 'MEMORY': '15000', 'GPU': '1'}, 'cuda', 7200),
        'reduce': ({'VCPU': '4', 'MEMORY': '30000'}, 'cpu', 14400),
    }
    for step, (resources, device, timeout) in expected.items():
        jd = _job_definition(batch, applied[f'batch_{step}_job_definition'])
        assert jd['type'] == 'container' and jd['platformCapabilities'] == ['EC2'] and jd['propagateTags'] is True
        assert jd['parameters'] == {'lake': WAREHOUSE}
        assert jd['timeout'] == {'attemptDurationSeconds': timeout}
        rs = jd['retryStrategy']
        assert rs['attempts'] == 3
        # moto lower-cases the action; AWS treats it case-insensitively
        assert [{k: (v.upper() if k == 'action' else v) for k, v in e.items()} for e in rs['evaluateOnExit']] == [
            {'onStatusReason': 'Host EC2*', 'action': 'RETRY'}, {'onReason': '*', 'action': 'EXIT'}]
        c = jd['containerProperties']
        assert c['image'] == image
        assert c['command'] == ['ftm', 'worker', step, '--lake', 'Ref::lake', '--quarter', 'Ref::quarter',
                                '--run-id', 'Ref::run_id']
        assert {r['type']: r['value'] for r in c['resourceRequirements']} == resources
        assert {e['name']: e['value'] for e in c['environment']} == {
            'FTM_CATALOG__KIND': 'glue', 'FTM_CATALOG__NAMESPACE': DATABASE, 'FTM_CATALOG__REGION': REGION,
            'FTM_EMBED__DEVICE': device, 'FTM_EXECUTOR__WORKERS': '1'}
        assert c.get('secrets', []) == []  # no llm_api_key_secret_arn here (moto fills in an empty list)
        assert c['jobRoleArn'] == f'arn:aws:iam::{ACCOUNT}:role/ftm-batch-job'
        assert c['executionRoleArn'] == f'arn:aws:iam::{ACCOUNT}:role/ftm-batch-execution'
        assert c['logConfiguration'] == {'logDriver': 'awslogs', 'options': {
            'awslogs-group': '/aws/batch/ftm', 'awslogs-region': REGION, 'awslogs-stream-prefix': 'ftm'}}


def test_batch_log_group(applied, aws):
    [lg] = aws('logs').describe_log_groups(logGroupNamePrefix=applied['batch_log_group'])['logGroups']
    assert lg['logGroupName'] == '/aws/batch/ftm' and lg['retentionInDays'] == 30


def _inline_policy(iam, role: str) -> dict:
    [name] = iam.list_role_policies(RoleName=role)['PolicyNames']
    doc = iam.get_role_policy(RoleName=role, PolicyName=name)['PolicyDocument']
    doc = json.loads(doc) if isinstance(doc, str) else doc
    return {s['Sid']: s for s in doc['Statement']}


def _as_list(v): return v if isinstance(v, list) else [v]


def test_batch_iam(applied, aws):
    iam = aws('iam')
    trust = {r: json.loads(d) if isinstance(d := iam.get_role(RoleName=f'ftm-batch-{r}')['Role']['AssumeRolePolicyDocument'], str) else d
             for r in ('service', 'instance', 'execution', 'job')}
    assert {r: d['Statement'][0]['Principal']['Service'] for r, d in trust.items()} == {
        'service': 'batch.amazonaws.com', 'instance': 'ec2.amazonaws.com', 'execution': 'ecs-tasks.amazonaws.com',
        'job': 'ecs-tasks.amazonaws.com'}

    # job role: the lake prefix, the Glue database, the lake key; nothing else
    job = _inline_policy(iam, 'ftm-batch-job')
    assert set(job) == {'ListLakePrefix', 'LakeBucketLocation', 'ReadWriteLake', 'GlueLakeTables', 'UseLakeKey'}
    assert job['ListLakePrefix']['Resource'] == f'arn:aws:s3:::{LAKE_BUCKET}'
    assert sorted(job['ListLakePrefix']['Condition']['StringLike']['s3:prefix']) == [LAKE_PREFIX, f'{LAKE_PREFIX}/*']
    assert job['ReadWriteLake']['Resource'] == f'arn:aws:s3:::{LAKE_BUCKET}/{LAKE_PREFIX}/*'
    assert {'s3:GetObject', 's3:PutObject', 's3:DeleteObject'} <= set(job['ReadWriteLake']['Action'])
    glue = f'arn:aws:glue:{REGION}:{ACCOUNT}'
    assert sorted(job['GlueLakeTables']['Resource']) == [f'{glue}:catalog', f'{glue}:database/{DATABASE}',
                                                         f'{glue}:table/{DATABASE}/*']
    assert {'glue:GetTable', 'glue:CreateTable', 'glue:UpdateTable', 'glue:DeleteTable', 'glue:GetDatabase'} <= set(
        job['GlueLakeTables']['Action'])
    assert job['UseLakeKey']['Resource'] == applied['lake_kms_key_arn']
    for st in job.values():
        assert '*' not in _as_list(st['Resource']) and not any(a.endswith(':*') for a in _as_list(st['Action'])), st

    # execution role: pull the worker image, write the log group; no secret in this deployment
    ex = _inline_policy(iam, 'ftm-batch-execution')
    assert set(ex) == {'EcrLogin', 'PullWorkerImage', 'WriteJobLogs'}
    assert ex['PullWorkerImage']['Resource'] == f'arn:aws:ecr:{REGION}:{ACCOUNT}:repository/ftm-worker'
    assert ex['WriteJobLogs']['Resource'] == f'arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/batch/ftm:*'
    assert _as_list(ex['EcrLogin']['Action']) == ['ecr:GetAuthorizationToken']

    # service and instance roles: AWS's managed policies in a real deployment, tf_stack's stand-ins here
    for role, policy in [('ftm-batch-service', 'ftm-test-AWSBatchServiceRole'),
                         ('ftm-batch-instance', 'ftm-test-AmazonEC2ContainerServiceforEC2Role')]:
        attached = iam.list_attached_role_policies(RoleName=role)['AttachedPolicies']
        assert [p['PolicyName'] for p in attached] == [policy], role


def test_replan_is_empty(stack):
    "What moto gave back reads as what was asked for: a second plan has nothing to do (no perpetual diff)."
    _, tf = stack
    p = tf('plan', '-input=false', '-no-color', '-detailed-exitcode', '-parallelism=4', ok=(0, 2), timeout=180)
    assert p.returncode == 0, f"a plan right after apply wants changes:\n{p.stdout[-6000:]}"


def test_plan_cpu_map_and_sse_s3(stack):
    """The variants not applied, planned against the applied stack: map_on_gpu = false (the GPU environment goes, the
    map queue moves to the CPU one, the map job asks for no GPU) and SSE-S3 for both buckets (the keys go, and so do
    the KMS statements of the job role and the query policy)."""
    _, tf = stack
    tf('plan', '-input=false', '-no-color', '-refresh=false', '-parallelism=4', '-var', 'map_on_gpu=false',
       '-var', 'lake_create_kms_key=false', '-var', 'create_kms_key=false', '-out=variant.tfplan', timeout=180)
    plan = json.loads(tf('show', '-json', '-no-color', 'variant.tfplan').stdout)
    changes = {c['address']: c['change'] for c in plan['resource_changes']}
    ce = 'module.batch.aws_batch_compute_environment.this'
    assert changes[f'{ce}["gpu"]']['actions'] == ['delete'] and changes[f'{ce}["cpu"]']['actions'] == ['no-op']
    [order] = changes['module.batch.aws_batch_job_queue.map']['after']['compute_environment_order']
    assert order['compute_environment'] == changes[f'{ce}["cpu"]']['after']['arn']
    c = json.loads(changes['module.batch.aws_batch_job_definition.this["map"]']['after']['container_properties'])
    assert {r['type']: r['value'] for r in c['resourceRequirements']} == {'VCPU': '4', 'MEMORY': '15000'}
    assert {e['name']: e['value'] for e in c['environment']}['FTM_EMBED__DEVICE'] == 'cpu'
    assert changes['module.batch.aws_batch_job_definition.this["reduce"]']['actions'] == ['no-op']

    for key in ['module.storage.module.bucket.aws_kms_key.this[0]', 'module.athena.module.bucket.aws_kms_key.this[0]']:
        assert changes[key]['actions'] == ['delete'], key
    for sse in ['module.storage.module.bucket.aws_s3_bucket_server_side_encryption_configuration.this',
                'module.athena.module.bucket.aws_s3_bucket_server_side_encryption_configuration.this']:
        [rule] = changes[sse]['after']['rule']
        assert rule['apply_server_side_encryption_by_default'][0]['sse_algorithm'] == 'AES256', sse
    job = json.loads(changes['module.batch.aws_iam_role_policy.job']['after']['policy'])
    assert 'UseLakeKey' not in {st['Sid'] for st in job['Statement']}
    query = json.loads(changes['module.athena.aws_iam_policy.query[0]']['after']['policy'])
    assert not {'DecryptLake', 'UseResultsKey'} & {st['Sid'] for st in query['Statement']}
    assert plan['output_changes']['lake_kms_key_arn']['after'] is None


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

    # the results bucket (and its key) is a private_bucket: hardened there, checked in _check_private_bucket_hcl
    assert _private_bucket_call(MODULE/'main.tf')['tags'] == '${local.tags}'
    # every taggable resource carries the module's tags
    for key in [('aws_glue_catalog_database', 'lake'), ('aws_athena_workgroup', 'lake'), ('aws_iam_policy', 'query')]:
        assert res[key].get('tags') == '${local.tags}', key

    variables = _variables(MODULE/'variables.tf')
    assert _unq(variables['database_name']['default']) == 'ftm'
    assert variables['bytes_scanned_cutoff_per_query']['default'] == CUTOFF
    assert all('description' in v and 'type' in v for v in variables.values())


def _private_bucket_call(path: Path) -> dict:
    "The body of the module block named bucket in one .tf file, which must use modules/private_bucket."
    [body] = [b for block in _load(path).get('module', []) for name, b in block.items() if _unq(name) == 'bucket']
    assert _unq(body['source']) == '../private_bucket', path
    return body


def test_hcl_private_bucket_guards():
    "The hardening both buckets get from modules/private_bucket."
    res = _resources(INFRA/'modules'/'private_bucket'/'main.tf')
    pab = res[('aws_s3_bucket_public_access_block', 'this')]
    assert all(pab[k] is True for k in ('block_public_acls', 'block_public_policy', 'ignore_public_acls',
                                        'restrict_public_buckets'))
    assert _unq(res[('aws_s3_bucket_versioning', 'this')]['versioning_configuration'][0]['status']) == 'Enabled'
    [rule] = res[('aws_s3_bucket_ownership_controls', 'this')]['rule']
    assert _unq(rule['object_ownership']) == 'BucketOwnerEnforced'
    for key in [('aws_kms_key', 'this'), ('aws_s3_bucket', 'this')]:
        assert res[key].get('tags') == '${var.tags}', key


def test_hcl_root_pins_and_example():
    [tf_block] = _load(INFRA/'versions.tf')['terraform']
    assert _unq(tf_block['required_version']) == '>= 1.11'
    aws = tf_block['required_providers'][0]['aws']
    assert _unq(aws['source']) == 'hashicorp/aws' and _unq(aws['version']) == '5.100.0'
    # every variable the example sets is declared by the root module
    declared = set(_variables(INFRA/'variables.tf'))
    example = {_unq(k) for k in _load(INFRA/'terraform.tfvars.example') if not k.startswith('__')}
    assert example and example <= declared, example - declared


def test_hcl_storage_ecr_batch_guards():
    "The settings of the lake bucket, the repositories and the Batch environments that matter, without terraform."
    # the lake bucket is a private_bucket (test_hcl_private_bucket_guards); its lifecycle rules are storage's own
    rules = {_unq(r['id']): r for r in _private_bucket_call(INFRA/'modules'/'storage'/'main.tf')['lifecycle_rules']}
    assert rules['expire-staging']['prefix'] == '${local.staging_prefix}'
    assert _unq(_locals(INFRA/'modules'/'storage'/'main.tf')['staging_prefix']) == (
        '${join("/", compact([local.lake_prefix, "_staging"]))}/')

    ecr = _resources(INFRA/'modules'/'ecr'/'main.tf')[('aws_ecr_repository', 'this')]
    assert _unq(ecr['image_tag_mutability']) == 'IMMUTABLE'
    assert ecr['image_scanning_configuration'][0]['scan_on_push'] is True
    assert _unq(ecr['encryption_configuration'][0]['encryption_type']) == 'KMS'

    ce = _resources(INFRA/'modules'/'batch'/'compute.tf')[('aws_batch_compute_environment', 'this')]
    [cr] = ce['compute_resources']
    assert _unq(cr['type']) == 'SPOT' and _unq(cr['allocation_strategy']) == 'SPOT_PRICE_CAPACITY_OPTIMIZED'
    assert cr['min_vcpus'] == 0 and 'spot_iam_fleet_role' not in cr
    batch_vars = _variables(INFRA/'modules'/'batch'/'variables.tf')
    assert [_unq(t) for t in batch_vars['gpu_instance_types']['default']] == ['g4dn.xlarge', 'g5.xlarge']
    assert _unq(batch_vars['gpu_image_type']['default']) == 'ECS_AL2023_NVIDIA'
    assert batch_vars['retry_attempts']['default'] == 3
    jd = _resources(INFRA/'modules'/'batch'/'jobs.tf')[('aws_batch_job_definition', 'this')]
    [rs] = jd['retry_strategy']
    assert [{k: _unq(v) for k, v in e.items() if not k.startswith('__')} for e in rs['evaluate_on_exit']] == [
        {'on_status_reason': 'Host EC2*', 'action': 'RETRY'}, {'on_reason': '*', 'action': 'EXIT'}]
    for module in ('storage', 'private_bucket', 'ecr', 'batch'):
        for name, v in _variables(INFRA/'modules'/module/'variables.tf').items():
            assert 'description' in v and 'type' in v, (module, name)


def _locals(path: Path) -> dict:
    return {k: v for block in _load(path).get('locals', []) for k, v in block.items()}
