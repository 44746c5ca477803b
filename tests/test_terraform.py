"""The Terraform of infra/ (lake bucket, Athena side, ECR, AWS Batch, the vLLM service, the state machine's Lambda
functions and its role): init/validate/fmt, an apply against moto's AWS, and HCL guards.

Terraform runs offline: providers come from the /opt/tf-plugins mirror (infra/terraformrc), nothing downloads. infra/
is copied to a temporary folder first, so `.terraform/` and state never land in the repository. The apply is
tests/tf_stack.py's `apply_stack` (the same one the emulated Batch run uses): the root module with
infra/terraform.tfvars.example plus a test deployment's variables (lake bucket ftm-lake-test, a VPC, subnet and
security group created in moto first), the provider pointed at a moto server by an override file written only into
the copy; boto3 then reads back what moto holds. One apply serves every check here (it takes about 100 s, most of it
the AWS provider's own waits for the load balancer, lifecycle rules and job queues). moto cannot take the ECS service
and the state machine (tf_stack.UNSUPPORTED): the apply leaves them out, a plan after it must create exactly the ECS
service (checked here attribute by attribute), and the state machine's rendered definition is read with
`terraform console` and checked against what was applied and what its role may do."""
import base64, json, re, shutil, time
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
STATE_MACHINE_ARN = f'arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:ftm-multi-quarter'
MODEL_S3_URI = tf_stack.STACK_VARS['llm_model_s3_uri']
# The state machine's functions and their handlers (ftm/cloud/lambdas.py)
LAMBDAS = ('generate_quarters', 'check_prefetch', 'partition_firms', 'llm_health', 'record_quarter')
STAGING_DAYS, NONCURRENT_DAYS = 30, 30
TAGS = {'ftm:project': 'ftm', 'ftm:managed-by': 'terraform', 'ftm:owner': 'research'}


def _terraform() -> str:
    if (why := tf_stack.terraform_available()) is not None: pytest.skip(why)
    return 'terraform'


class TF:
    "Runs terraform in one folder; a failing command fails the test with its output."
    def __init__(self, cwd: Path, env: dict): self.cwd, self.env = cwd, env

    def __call__(self, *args, ok=(0,), timeout=240, cwd=None, input=None):
        try: return tf_stack.run_terraform(list(args), cwd or self.cwd, self.env, timeout=timeout, ok=ok, input=input)
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


def _targets(tf: TF, with_left_out=()) -> list[str]:
    "-target arguments: what the emulated apply applied, plus the left-out resources named (to plan them)."
    t = tf_stack.emulated_targets(tf.cwd)
    assert set(with_left_out) <= set(t['left_out']), (with_left_out, t['left_out'])
    return [f'-target={a}' for a in [*t['applied'], *with_left_out]]


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
        'FTM_BATCH__REGION': REGION, 'FTM_BATCH__LOG_GROUP': '/aws/batch/ftm',
        'FTM_CLOUD__STATE_MACHINE_ARN': STATE_MACHINE_ARN, 'FTM_CLOUD__REGION': REGION,
        'FTM_CLOUD__LLM_CLUSTER': 'ftm-vllm', 'FTM_CLOUD__LLM_SERVICE': 'ftm-vllm'}
    # the vLLM service, the functions, the state machine
    assert applied['state_machine_arn'] == STATE_MACHINE_ARN
    assert applied['state_machine_log_group'] == '/aws/vendedlogs/states/ftm-multi-quarter'
    assert (applied['llm_cluster'], applied['llm_service'], applied['llm_log_group']) == ('ftm-vllm', 'ftm-vllm', '/ecs/ftm-vllm')
    assert re.fullmatch(r'http://[a-z0-9.-]+\.elb\.amazonaws\.com/v1', applied['llm_base_url']), applied['llm_base_url']
    assert applied['llm_health_url'] == applied['llm_base_url'].removesuffix('/v1') + '/health'
    assert applied['lambda_function_names'] == {k: f"ftm-{k.replace('_', '-')}" for k in LAMBDAS}
    assert applied['lambda_image'] == f'{ecr}/ftm-worker:{IMAGE_TAG}-lambda'
    assert applied['cloud_operator_policy_arn'] == f'arn:aws:iam::{ACCOUNT}:policy/ftm-cloud-operator'


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
    assert (cfg.cloud.state_machine_arn, cfg.cloud.region) == (STATE_MACHINE_ARN, REGION)
    assert (cfg.cloud.llm_cluster, cfg.cloud.llm_service) == ('ftm-vllm', 'ftm-vllm')


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
        # LLM_BASE_URL: the vLLM service's internal load balancer by default; LLM_MODEL: the model it serves
        assert {e['name']: e['value'] for e in c['environment']} == {
            'FTM_CATALOG__KIND': 'glue', 'FTM_CATALOG__NAMESPACE': DATABASE, 'FTM_CATALOG__REGION': REGION,
            'FTM_EMBED__DEVICE': device, 'FTM_EXECUTOR__WORKERS': '1', 'LLM_BASE_URL': applied['llm_base_url'],
            'LLM_MODEL': 'Qwen/Qwen3-8B'}
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


# ---------------------------------------------------------------------------------------------------------------
# The vLLM service (modules/ecs_vllm): everything but the ECS service itself is applied

def _groups(aws) -> dict:
    "{group name: id} of the VPC's security groups."
    return {g['GroupName']: g['GroupId'] for g in aws('ec2').describe_security_groups()['SecurityGroups']}


def _rules(aws, group_id: str) -> set:
    "The rules of one security group as (direction, protocol, from, to, peer): peer is a group id or a CIDR."
    out = set()
    for r in aws('ec2').describe_security_group_rules(Filters=[{'Name': 'group-id', 'Values': [group_id]}])['SecurityGroupRules']:
        peer = (r.get('ReferencedGroupInfo') or {}).get('GroupId') or r.get('CidrIpv4') or r.get('CidrIpv6')
        out.add(('egress' if r['IsEgress'] else 'ingress', r['IpProtocol'], r['FromPort'], r['ToPort'], peer))
    return out


def test_vllm_security_groups(applied, aws):
    """Only the Batch instances' group and the health check's may call the load balancer, only the load balancer
    may reach the GPU instances, the health check may reach nothing but the load balancer."""
    g = _groups(aws)
    alb, inst, health, batch = g['ftm-vllm-alb'], g['ftm-vllm-instances'], g['ftm-llm-health'], g['ftm-batch-test']
    assert _rules(aws, alb) == {('ingress', 'tcp', 80, 80, batch), ('ingress', 'tcp', 80, 80, health),
                                ('egress', 'tcp', 8000, 8000, inst)}
    assert _rules(aws, inst) == {('ingress', 'tcp', 8000, 8000, alb), ('egress', 'tcp', 443, 443, '0.0.0.0/0')}
    assert _rules(aws, health) == {('egress', 'tcp', 80, 80, alb)}


def test_vllm_load_balancer(applied, aws):
    elb = aws('elbv2')
    [lb] = elb.describe_load_balancers(Names=['ftm-vllm'])['LoadBalancers']
    assert lb['Scheme'] == 'internal' and lb['Type'] == 'application'
    subnets, _ = _network(aws)
    assert {z['SubnetId'] for z in lb['AvailabilityZones']} == subnets and len({z['ZoneName'] for z in lb['AvailabilityZones']}) == 2
    assert lb['SecurityGroups'] == [_groups(aws)['ftm-vllm-alb']]
    assert applied['llm_base_url'] == f"http://{lb['DNSName']}/v1"
    attrs = {a['Key']: a['Value'] for a in elb.describe_load_balancer_attributes(LoadBalancerArn=lb['LoadBalancerArn'])['Attributes']}
    assert attrs['routing.http.drop_invalid_header_fields.enabled'] == 'true'
    assert attrs['deletion_protection.enabled'] == 'true' and attrs['idle_timeout.timeout_seconds'] == '120'
    [tg] = elb.describe_target_groups(Names=['ftm-vllm'])['TargetGroups']
    assert (tg['Protocol'], tg['Port'], tg['TargetType']) == ('HTTP', 8000, 'instance')
    assert (tg['HealthCheckPath'], tg['HealthCheckPort'], tg['Matcher']) == ('/health', 'traffic-port', {'HttpCode': '200'})
    assert (tg['HealthCheckIntervalSeconds'], tg['HealthCheckTimeoutSeconds']) == (15, 5)
    assert (tg['HealthyThresholdCount'], tg['UnhealthyThresholdCount']) == (2, 3)
    tga = {a['Key']: a['Value'] for a in elb.describe_target_group_attributes(TargetGroupArn=tg['TargetGroupArn'])['Attributes']}
    assert tga['deregistration_delay.timeout_seconds'] == '30'
    assert tga['load_balancing.algorithm.type'] == 'least_outstanding_requests'
    [ls] = elb.describe_listeners(LoadBalancerArn=lb['LoadBalancerArn'])['Listeners']
    assert (ls['Port'], ls['Protocol']) == (80, 'HTTP')
    assert [(a['Type'], a['TargetGroupArn']) for a in ls['DefaultActions']] == [('forward', tg['TargetGroupArn'])]


def test_vllm_gpu_capacity(applied, aws):
    """Cluster with Container Insights whose only capacity is the GPU capacity provider (managed scaling, termination
    protection, draining); the Auto Scaling group 80% Spot / 20% On-Demand on g5.xlarge from 0; the launch template
    with the ECS GPU AMI from SSM, IMDSv2, an encrypted root volume and the cluster's ecs.config."""
    ecs = aws('ecs')
    [cl] = ecs.describe_clusters(clusters=['ftm-vllm'], include=['SETTINGS'])['clusters']
    assert cl['settings'] == [{'name': 'containerInsights', 'value': 'enabled'}]
    assert cl['capacityProviders'] == ['ftm-vllm-gpu']
    assert [(s['capacityProvider'], s['weight']) for s in cl['defaultCapacityProviderStrategy']] == [('ftm-vllm-gpu', 1)]
    [cp] = ecs.describe_capacity_providers(capacityProviders=['ftm-vllm-gpu'])['capacityProviders']
    asgp = cp['autoScalingGroupProvider']
    assert asgp['managedTerminationProtection'] == 'ENABLED' and asgp['managedDraining'] == 'ENABLED'
    ms = asgp['managedScaling']
    assert (ms['status'], ms['targetCapacity'], ms['minimumScalingStepSize'], ms['maximumScalingStepSize']) == ('ENABLED', 100, 1, 4)

    [g] = [g for g in aws('autoscaling').describe_auto_scaling_groups()['AutoScalingGroups']
           if g['AutoScalingGroupARN'] == asgp['autoScalingGroupArn']]
    assert (g['MinSize'], g['MaxSize'], g['DesiredCapacity']) == (0, 4, 0)
    assert g['NewInstancesProtectedFromScaleIn'] is True and g['CapacityRebalance'] is True
    subnets, _ = _network(aws)
    assert set(g['VPCZoneIdentifier'].split(',')) == subnets
    dist = g['MixedInstancesPolicy']['InstancesDistribution']
    assert (dist['OnDemandBaseCapacity'], dist['OnDemandPercentageAboveBaseCapacity']) == (0, 20)
    assert dist['SpotAllocationStrategy'] == 'price-capacity-optimized'
    mlt = g['MixedInstancesPolicy']['LaunchTemplate']
    assert [o['InstanceType'] for o in mlt['Overrides']] == ['g5.xlarge']
    assert {t['Key']: (t['Value'], t['PropagateAtLaunch']) for t in g['Tags']}['AmazonECSManaged'] == ('true', True)

    lt_id = mlt['LaunchTemplateSpecification']['LaunchTemplateId']
    [lt] = aws('ec2').describe_launch_template_versions(LaunchTemplateId=lt_id, Versions=['$Latest'])['LaunchTemplateVersions']
    d = lt['LaunchTemplateData']
    ami = aws('ssm').get_parameter(Name='/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id')['Parameter']['Value']
    assert d['ImageId'] == ami
    assert d['MetadataOptions']['HttpTokens'] == 'required' and d['MetadataOptions']['HttpPutResponseHopLimit'] == 1
    [bdm] = d['BlockDeviceMappings']
    assert bdm['DeviceName'] == '/dev/xvda' and bdm['Ebs']['Encrypted'] is True and bdm['Ebs']['VolumeSize'] == 150
    assert d['SecurityGroupIds'] == [_groups(aws)['ftm-vllm-instances']]
    assert d['IamInstanceProfile']['Arn'] == f'arn:aws:iam::{ACCOUNT}:instance-profile/ftm-vllm-instance'
    config = base64.b64decode(d['UserData']).decode()
    for line in ['ECS_CLUSTER=ftm-vllm', 'ECS_ENABLE_GPU_SUPPORT=true', 'ECS_ENABLE_SPOT_INSTANCE_DRAINING=true']:
        assert f'\n{line}\n' in config, config


def test_vllm_task_definition(applied, aws):
    td = aws('ecs').describe_task_definition(taskDefinition='ftm-vllm')['taskDefinition']
    assert td['requiresCompatibilities'] == ['EC2'] and td['networkMode'] == 'bridge'
    assert (td['cpu'], td['memory']) == ('4096', '15000')
    assert td['taskRoleArn'] == f'arn:aws:iam::{ACCOUNT}:role/ftm-vllm-task'
    assert td['executionRoleArn'] == f'arn:aws:iam::{ACCOUNT}:role/ftm-vllm-execution'
    [c] = td['containerDefinitions']
    assert c['name'] == 'vllm' and c['image'] == f"{applied['ecr_vllm_repository_url']}:{IMAGE_TAG}"
    assert c['portMappings'] == [{'containerPort': 8000, 'hostPort': 8000, 'protocol': 'tcp'}]
    assert {r['type']: r['value'] for r in c['resourceRequirements']} == {'GPU': '1'}
    # what containers/vllm/start.sh reads
    assert {e['name']: e['value'] for e in c['environment']} == {
        'MODEL_S3_URI': MODEL_S3_URI, 'SERVED_MODEL_NAME': 'Qwen/Qwen3-8B', 'MAX_MODEL_LEN': '4096', 'PORT': '8000',
        # the throughput bench's settings for g5.xlarge (README "LLM naming throughput")
        'GPU_MEMORY_UTILIZATION': '0.92', 'MAX_NUM_SEQS': '64', 'MAX_NUM_BATCHED_TOKENS': '2048',
        'ENABLE_CHUNKED_PREFILL': 'true'}
    hc = c['healthCheck']
    assert hc['startPeriod'] == 300, "ECS's maximum startPeriod; the model load takes minutes"
    assert hc['command'][:2] == ['CMD', 'python3'] and 'http://127.0.0.1:8000/health' in hc['command'][-1]
    assert hc['retries'] * hc['interval'] >= 300
    assert c['linuxParameters']['initProcessEnabled'] is True and c['user'] == '10001:10001'
    assert c['readonlyRootFilesystem'] is True
    assert {m['containerPath'] for m in c['mountPoints']} == {'/models', '/home/vllm', '/tmp'}
    vols = {v['name']: v['dockerVolumeConfiguration'] for v in td['volumes']}
    assert vols['models']['scope'] == 'shared' and vols['models']['autoprovision'] is True
    assert c['logConfiguration'] == {'logDriver': 'awslogs', 'options': {
        'awslogs-group': '/ecs/ftm-vllm', 'awslogs-region': REGION, 'awslogs-stream-prefix': 'vllm'}}
    [lg] = aws('logs').describe_log_groups(logGroupNamePrefix='/ecs/ftm-vllm')['logGroups']
    assert lg['retentionInDays'] == 30


def test_vllm_iam(applied, aws):
    iam = aws('iam')
    # the task reads the model's folder and nothing else (the model sits in the lake bucket here: its key too)
    task = _inline_policy(iam, 'ftm-vllm-task')
    assert set(task) == {'ListModelFolder', 'ModelBucketLocation', 'ReadModel', 'DecryptModel'}
    bucket, prefix = MODEL_S3_URI.removeprefix('s3://').split('/', 1)
    prefix = prefix.strip('/')
    assert task['ReadModel']['Resource'] == f'arn:aws:s3:::{bucket}/{prefix}/*' and task['ReadModel']['Action'] in ('s3:GetObject', ['s3:GetObject'])
    assert sorted(task['ListModelFolder']['Condition']['StringLike']['s3:prefix']) == [prefix, f'{prefix}/*']
    assert task['DecryptModel']['Resource'] == applied['lake_kms_key_arn']
    ex = _inline_policy(iam, 'ftm-vllm-execution')
    assert ex['PullVllmImage']['Resource'] == f'arn:aws:ecr:{REGION}:{ACCOUNT}:repository/ftm-vllm'
    assert ex['WriteLogs']['Resource'] == f'arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/ecs/ftm-vllm:*'
    attached = iam.list_attached_role_policies(RoleName='ftm-vllm-instance')['AttachedPolicies']
    assert [p['PolicyName'] for p in attached] == ['ftm-test-AmazonEC2ContainerServiceforEC2Role']


# ---------------------------------------------------------------------------------------------------------------
# The state machine's Lambda functions (modules/lambdas)

def test_lambda_functions(applied, aws):
    "One image, one handler per function, the sizes, tracing; llm_health alone in the VPC with its own group."
    lam = aws('lambda')
    g = _groups(aws)
    subnets, _ = _network(aws)
    sizes = {'generate_quarters': (120, 1024, 5), 'check_prefetch': (300, 2048, 10), 'partition_firms': (900, 4096, 10),
             'llm_health': (30, 1024, 5), 'record_quarter': (120, 1024, 10)}
    for name in LAMBDAS:
        f = lam.get_function(FunctionName=applied['lambda_function_names'][name])
        c = f['Configuration']
        assert c['PackageType'] == 'Image' and f['Code']['ImageUri'] == applied['lambda_image']
        assert c['ImageConfigResponse']['ImageConfig']['Command'] == [f'ftm.cloud.lambdas.{name}_handler']
        assert (c['Timeout'], c['MemorySize'], f['Concurrency']['ReservedConcurrentExecutions']) == sizes[name], name
        assert c['TracingConfig'] == {'Mode': 'Active'} and c['Architectures'] == ['x86_64']
        if name == 'llm_health':
            assert c['Role'] == f'arn:aws:iam::{ACCOUNT}:role/ftm-lambda-health'
            assert set(c['VpcConfig']['SubnetIds']) == subnets and c['VpcConfig']['SecurityGroupIds'] == [g['ftm-llm-health']]
        else:
            assert c['Role'] == f'arn:aws:iam::{ACCOUNT}:role/ftm-lambda-lake'
            assert not (c.get('VpcConfig') or {}).get('SubnetIds'), name
        [lg] = aws('logs').describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{c['FunctionName']}")['logGroups']
        assert lg['retentionInDays'] == 30
    # Lambda may pull the image for this account's ftm functions only
    doc = json.loads(aws('ecr').get_repository_policy(repositoryName='ftm-worker')['policyText'])
    [st] = doc['Statement']
    assert st['Principal'] == {'Service': 'lambda.amazonaws.com'} and sorted(st['Action']) == ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer']
    assert st['Condition'] == {'StringLike': {'aws:sourceArn': f'arn:aws:lambda:{REGION}:{ACCOUNT}:function:ftm-*'}}


def test_lambda_environment_is_ftm_config(applied, aws):
    """Every function gets ftm's settings for planning a quarter like its jobs run it, and the defaults of an
    execution; load_config takes them and each lands on its field."""
    from ftm.config import load_config
    envs = [aws('lambda').get_function_configuration(FunctionName=applied['lambda_function_names'][n])['Environment']['Variables']
            for n in LAMBDAS]
    assert all(e == envs[0] for e in envs)
    env = envs[0]
    assert env['HF_HUB_OFFLINE'] == '1'
    assert set(env) - {'HF_HUB_OFFLINE', 'LLM_BASE_URL', 'LLM_MODEL'} == {k for k in env if k.startswith('FTM_')}
    cfg = load_config(env=env)
    assert cfg.lake == WAREHOUSE and (cfg.catalog.kind, cfg.catalog.namespace, cfg.catalog.region) == ('glue', DATABASE, REGION)
    assert cfg.source == 'prefetch' and cfg.executor.kind == 'batch'
    assert (cfg.batch.job_queue, cfg.batch.reduce_job_queue, cfg.batch.region) == ('ftm-map', 'ftm-reduce', REGION)
    c = cfg.cloud
    assert (c.region, c.max_concurrency, c.llm_tasks, c.health_wait_s, c.health_max_checks) == (REGION, 2, 1, 30, 40)
    # one vLLM task per GPU instance: generate_quarters refuses an execution asking for more than llm_max_instances
    assert c.llm_max_tasks == 4 and env['FTM_CLOUD__LLM_MAX_TASKS'] == '4'
    assert (c.llm_base_url, c.llm_health_url) == (applied['llm_base_url'], applied['llm_health_url'])
    assert (c.llm_cluster, c.llm_service) == ('ftm-vllm', 'ftm-vllm')
    # the jobs' shared settings: the same naming endpoint and model as the reduce job
    assert (cfg.naming.base_url, cfg.naming.model) == (applied['llm_base_url'], 'Qwen/Qwen3-8B')


def test_lambda_iam(applied, aws):
    "The lake role: the lake prefix, Glue reads, the lake key, its logs. The health role: its logs and network only."
    iam = aws('iam')
    for role in ('ftm-lambda-lake', 'ftm-lambda-health'):
        trust = iam.get_role(RoleName=role)['Role']['AssumeRolePolicyDocument']
        [st] = (json.loads(trust) if isinstance(trust, str) else trust)['Statement']
        assert st['Principal'] == {'Service': 'lambda.amazonaws.com'}
        assert st['Condition'] == {'StringEquals': {'aws:SourceAccount': ACCOUNT}}
    lake = _inline_policy(iam, 'ftm-lambda-lake')
    assert set(lake) == {'WriteLogs', 'XRay', 'ListLakePrefix', 'LakeBucketLocation', 'ReadWriteLake', 'GlueReadLakeTables', 'UseLakeKey'}
    assert lake['ReadWriteLake']['Resource'] == f'arn:aws:s3:::{LAKE_BUCKET}/{LAKE_PREFIX}/*'
    assert sorted(_as_list(lake['GlueReadLakeTables']['Action'])) == ['glue:GetDatabase', 'glue:GetTable', 'glue:GetTables']
    assert lake['UseLakeKey']['Resource'] == applied['lake_kms_key_arn']
    assert sorted(_as_list(lake['WriteLogs']['Resource'])) == sorted(
        f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{applied['lambda_function_names'][n]}:*" for n in LAMBDAS if n != 'llm_health')
    # the lake statements are the Batch job role's (modules/lake_access), but for the Glue writes
    job = _inline_policy(iam, 'ftm-batch-job')
    for sid in ('ListLakePrefix', 'LakeBucketLocation', 'ReadWriteLake', 'UseLakeKey'): assert lake[sid] == job[sid], sid
    assert lake['GlueReadLakeTables']['Resource'] == job['GlueLakeTables']['Resource']
    assert set(_as_list(job['GlueLakeTables']['Action'])) - set(_as_list(lake['GlueReadLakeTables']['Action'])) == {
        'glue:CreateTable', 'glue:UpdateTable', 'glue:DeleteTable'}
    health = _inline_policy(iam, 'ftm-lambda-health')
    assert set(health) == {'WriteLogs', 'XRay', 'DescribeNetwork', 'ManageFunctionEnis'}
    assert not [a for st in health.values() for a in _as_list(st['Action']) if a.split(':')[0] in ('s3', 'glue', 'kms')]
    assert all(r.startswith(f'arn:aws:ec2:{REGION}:{ACCOUNT}:') for r in _as_list(health['ManageFunctionEnis']['Resource']))
    for st in [*lake.values(), *health.values()]:
        if _as_list(st['Resource']) == ['*']:   # only the calls that have no resource to scope to
            assert set(_as_list(st['Action'])) <= {'xray:PutTraceSegments', 'xray:PutTelemetryRecords',
                                                   'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'}, st


# ---------------------------------------------------------------------------------------------------------------
# The state machine (modules/step_functions): its role is applied, the state machine itself only rendered

@pytest.fixture(scope='module')
def definition(stack) -> dict:
    """The state machine's definition as the module renders it from the applied stack (terraform console: moto
    cannot validate a definition, so the resource can be neither created nor planned here)."""
    _, tf = stack
    p = tf('console', '-no-color', timeout=120, input='base64encode(module.step_functions.definition)\n')
    text = base64.b64decode(p.stdout.strip().strip('"')).decode()
    assert '${' not in text and '%{' not in text, "a template variable was left unfilled"
    return json.loads(text)


def _tasks(states: dict):
    "Every Task state, in Map item processors too."
    for name, st in states.items():
        if st['Type'] == 'Task': yield name, st
        if st['Type'] == 'Map': yield from _tasks((st.get('ItemProcessor') or st['Iterator'])['States'])


def test_state_machine_definition(definition, applied, aws):
    """The rendered ASL names what was applied: the five functions, the ECS cluster and service, the Batch queues
    and job definitions (the revisions this apply registered)."""
    lam, batch = aws('lambda'), aws('batch')
    fn_arns = {lam.get_function(FunctionName=n)['Configuration']['FunctionArn'] for n in applied['lambda_function_names'].values()}
    queues = {q['jobQueueArn'] for q in batch.describe_job_queues(jobQueues=['ftm-map', 'ftm-reduce'])['jobQueues']}
    jds = {_job_definition(batch, n)['jobDefinitionArn'] for n in ('ftm-map', 'ftm-reduce')}
    used = {'lambda': set(), 'queue': set(), 'jd': set(), 'ecs': set()}
    for name, st in _tasks(definition['States']):
        r, prm = st['Resource'], st['Parameters']
        if r == 'arn:aws:states:::lambda:invoke': used['lambda'].add(prm['FunctionName'])
        elif r == 'arn:aws:states:::batch:submitJob.sync': used['queue'].add(prm['JobQueue']); used['jd'].add(prm['JobDefinition'])
        elif r == 'arn:aws:states:::aws-sdk:ecs:updateService': used['ecs'].add((prm['Cluster'], prm['Service']))
        else: raise AssertionError(f"{name}: an integration the role does not cover: {r}")
    assert used['lambda'] == fn_arns and used['queue'] == queues and used['jd'] == jds
    assert used['ecs'] == {(f'arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/ftm-vllm', 'ftm-vllm')}


def test_state_machine_role_allows_exactly_the_definition(definition, applied, aws):
    """Least privilege, checked against the rendered definition: every function, queue, job definition and the ECS
    service the states name is allowed, nothing else is (no wildcard but where AWS offers no resource)."""
    import fnmatch
    iam = aws('iam')
    role = iam.get_role(RoleName='ftm-multi-quarter-states')['Role']
    trust = role['AssumeRolePolicyDocument']
    [st] = (json.loads(trust) if isinstance(trust, str) else trust)['Statement']
    assert st['Principal'] == {'Service': 'states.amazonaws.com'}
    assert st['Condition'] == {'StringEquals': {'aws:SourceAccount': ACCOUNT}}
    pol = _inline_policy(iam, 'ftm-multi-quarter-states')
    allowed = lambda action, arn: any(action in _as_list(s['Action']) and any(fnmatch.fnmatchcase(arn, r) for r in _as_list(s['Resource']))
                                      for s in pol.values())
    for name, st in _tasks(definition['States']):
        prm = st['Parameters']
        if 'FunctionName' in prm: assert allowed('lambda:InvokeFunction', prm['FunctionName']), name
        if 'JobQueue' in prm:
            assert allowed('batch:SubmitJob', prm['JobQueue']) and allowed('batch:SubmitJob', prm['JobDefinition']), name
            if 'Tags' in prm: assert allowed('batch:TagResource', f'arn:aws:batch:{REGION}:{ACCOUNT}:job/0123-abcd'), name
        if 'Service' in prm:
            cluster = prm['Cluster'].rsplit('/', 1)[-1]
            assert allowed('ecs:UpdateService', f"arn:aws:ecs:{REGION}:{ACCOUNT}:service/{cluster}/{prm['Service']}"), name
    # .sync: the managed rule and the job status
    assert allowed('events:PutRule', f'arn:aws:events:{REGION}:{ACCOUNT}:rule/StepFunctionsGetEventsForBatchJobsRule')
    assert allowed('batch:DescribeJobs', 'anything') and allowed('batch:TerminateJob', f'arn:aws:batch:{REGION}:{ACCOUNT}:job/x')
    # and nothing more: another function, queue, job definition or service is refused
    assert not allowed('lambda:InvokeFunction', f'arn:aws:lambda:{REGION}:{ACCOUNT}:function:other')
    assert not allowed('batch:SubmitJob', f'arn:aws:batch:{REGION}:{ACCOUNT}:job-queue/other')
    assert not allowed('batch:SubmitJob', f'arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/other:1')
    assert not allowed('ecs:UpdateService', f'arn:aws:ecs:{REGION}:{ACCOUNT}:service/ftm-vllm/other')
    assert allowed('batch:SubmitJob', f'arn:aws:batch:{REGION}:{ACCOUNT}:job-definition/ftm-map')   # by name = latest
    for s in pol.values():
        if '*' in _as_list(s['Resource']):
            assert s['Sid'] in ('DescribeJobs', 'DeliverLogs', 'XRay'), s
    [lg] = aws('logs').describe_log_groups(logGroupNamePrefix=applied['state_machine_log_group'])['logGroups']
    assert lg['retentionInDays'] == 30


def test_cloud_operator_policy(applied, aws):
    """The policy for whoever runs `ftm cloud`: every call ftm.cloud.stepfunctions.PERMISSIONS lists is allowed on this
    deployment's state machine, its executions, the vLLM service and its Batch jobs, and on nothing else; the lake's
    records (and only they) may be read and written with the lake key; the executions' and jobs' logs read."""
    import fnmatch
    from ftm.cloud.stepfunctions import PERMISSIONS
    iam, arn = aws('iam'), applied['cloud_operator_policy_arn']
    pol = iam.get_policy(PolicyArn=arn)['Policy']
    assert pol['AttachmentCount'] == 0   # created, not attached
    doc = iam.get_policy_version(PolicyArn=arn, VersionId=pol['DefaultVersionId'])['PolicyVersion']['Document']
    doc = json.loads(doc) if isinstance(doc, str) else doc
    sts = doc['Statement']
    assert all(st['Effect'] == 'Allow' for st in sts)
    allowed = lambda action, res: any(action in _as_list(s['Action']) and any(fnmatch.fnmatchcase(res, r) for r in _as_list(s['Resource']))
                                      for s in sts)
    execution = f'arn:aws:states:{REGION}:{ACCOUNT}:execution:ftm-multi-quarter:20260101T000000Z-0a1b'
    service = f'arn:aws:ecs:{REGION}:{ACCOUNT}:service/ftm-vllm/ftm-vllm'
    job = f'arn:aws:batch:{REGION}:{ACCOUNT}:job/0123-abcd'
    where = {'states:StartExecution': STATE_MACHINE_ARN, 'states:ListExecutions': STATE_MACHINE_ARN,
             'states:DescribeStateMachine': STATE_MACHINE_ARN, 'states:DescribeExecution': execution,
             'states:GetExecutionHistory': execution, 'states:StopExecution': execution,
             'ecs:DescribeServices': service, 'ecs:UpdateService': service, 'batch:DescribeJobs': '*',
             'batch:TerminateJob': job}
    assert set(PERMISSIONS) <= set(where), f"ftm cloud calls {sorted(set(PERMISSIONS) - set(where))}: say on what here"
    for action in PERMISSIONS: assert allowed(action, where[action]), action
    # nothing else: another state machine, its executions, another service
    other_sm = f'arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:other'
    assert not allowed('states:StartExecution', other_sm) and not allowed('states:ListExecutions', other_sm)
    assert not allowed('states:StopExecution', f'arn:aws:states:{REGION}:{ACCOUNT}:execution:other:20260101T000000Z-0a1b')
    assert not allowed('ecs:UpdateService', f'arn:aws:ecs:{REGION}:{ACCOUNT}:service/ftm-vllm/other')
    assert not allowed('states:DeleteStateMachine', STATE_MACHINE_ARN) and not allowed('states:StartExecution', execution)
    # the records, nothing else of the lake
    lake = f'arn:aws:s3:::{LAKE_BUCKET}/{LAKE_PREFIX}'
    for suffix in ('.cloud.json', '.cloud.ipynb', '.sfn.json'):
        rec = f'{lake}/_records/quarter=2016Q2/20260101T000000Z-0a1b{suffix}'
        assert allowed('s3:PutObject', rec) and allowed('s3:GetObject', rec), suffix
    for other in (f'{lake}/ftm/themes/data/x.parquet', f'{lake}/_staging/quarter=2016Q2/r/x.parquet', f'{lake}_records/x'):
        assert not allowed('s3:PutObject', other) and not allowed('s3:GetObject', other), other
    assert not any(a in _as_list(st['Action']) for st in sts for a in ('s3:DeleteObject', 'glue:GetTable'))
    [ls] = [st for st in sts if 's3:ListBucket' in _as_list(st['Action'])]
    assert ls['Resource'] == f'arn:aws:s3:::{LAKE_BUCKET}'
    assert sorted(ls['Condition']['StringLike']['s3:prefix']) == [f'{LAKE_PREFIX}/_records', f'{LAKE_PREFIX}/_records/*']
    assert allowed('kms:Decrypt', applied['lake_kms_key_arn']) and allowed('kms:GenerateDataKey', applied['lake_kms_key_arn'])
    assert not allowed('kms:Decrypt', applied['athena_kms_key_arn'])
    for group in (applied['state_machine_log_group'], applied['batch_log_group']):
        lg = f'arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}'
        assert allowed('logs:FilterLogEvents', lg) and allowed('logs:GetLogEvents', f'{lg}:log-stream:ftm/default/abc'), group
    assert not allowed('logs:GetLogEvents', f'arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/other:log-stream:x')
    for st in sts:
        if '*' in _as_list(st['Resource']): assert _as_list(st['Action']) == ['batch:DescribeJobs'], st


# moto drops the description of a security group rule that references another group (it keeps descriptions only
# on CIDR rules: moto/ec2/models/security_groups.py reads the description from the rule's IP range), so the plan
# wants to set it again. Tolerated for these resources and this attribute only.
_MOTO_DROPS_DESCRIPTION = ('aws_vpc_security_group_ingress_rule', 'aws_vpc_security_group_egress_rule')


def test_replan_creates_only_the_ecs_service(stack):
    """What moto gave back reads as what was asked for (no perpetual diff), and what the apply left out is complete and
    known: a plan of everything but the state machine creates exactly the vLLM service, which moto cannot take."""
    out, tf = stack
    tf('plan', '-input=false', '-no-color', '-parallelism=10', '-out=re.tfplan',
       *_targets(tf, ['module.ecs_vllm.aws_ecs_service.vllm']), timeout=240)
    plan = json.loads(tf('show', '-json', '-no-color', 're.tfplan').stdout)
    changes = {c['address']: c for c in plan['resource_changes'] if c['change']['actions'] != ['no-op']}
    assert [a for a, c in changes.items() if c['change']['actions'] == ['create']] == ['module.ecs_vllm.aws_ecs_service.vllm']
    for a, c in changes.items():
        if c['change']['actions'] == ['create']: continue
        before, after = dict(c['change']['before']), dict(c['change']['after'])
        assert c['type'] in _MOTO_DROPS_DESCRIPTION and c['change']['actions'] == ['update'], (a, c['change']['actions'])
        assert before.pop('description') is None and after.pop('description').startswith('ftm: '), a
        assert before == after, f"{a} changes more than the description moto dropped"

    svc = changes['module.ecs_vllm.aws_ecs_service.vllm']['change']['after']
    assert svc['name'] == 'ftm-vllm' and svc['desired_count'] == 0
    assert svc['cluster'] == f'arn:aws:ecs:{REGION}:{ACCOUNT}:cluster/ftm-vllm'
    assert svc['task_definition'] == f'arn:aws:ecs:{REGION}:{ACCOUNT}:task-definition/ftm-vllm:1'
    assert svc['capacity_provider_strategy'] == [{'capacity_provider': 'ftm-vllm-gpu', 'weight': 1, 'base': 0}]
    [lb] = svc['load_balancer']
    assert (lb['container_name'], lb['container_port'], lb['elb_name']) == ('vllm', 8000, '')
    assert lb['target_group_arn'].startswith(f'arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:targetgroup/ftm-vllm/')
    assert svc['health_check_grace_period_seconds'] == 600
    assert (svc['deployment_minimum_healthy_percent'], svc['deployment_maximum_percent']) == (100, 200)
    assert svc['deployment_circuit_breaker'] == [{'enable': True, 'rollback': True}]
    assert svc['propagate_tags'] == 'SERVICE' and svc['enable_ecs_managed_tags'] is True
    # the ARN the state machine's role may update is the one this service gets
    assert out['ftm_env']['FTM_CLOUD__LLM_SERVICE'] == svc['name']


def test_plan_cpu_map_and_sse_s3(stack):
    """The variants not applied, planned against the applied stack: map_on_gpu = false (the GPU environment goes, the
    map queue moves to the CPU one, the map job asks for no GPU), SSE-S3 for both buckets (the keys go, and so do
    the KMS statements of the job role, the query policy and the operator policy) and llm_max_instances = 6 (the
    GPU group's maximum and the functions' FTM_CLOUD__LLM_MAX_TASKS)."""
    _, tf = stack
    tf('plan', '-input=false', '-no-color', '-refresh=false', '-parallelism=10', '-var', 'map_on_gpu=false',
       '-var', 'lake_create_kms_key=false', '-var', 'create_kms_key=false', '-var', 'llm_max_instances=6',
       '-out=variant.tfplan', *_targets(tf), timeout=180)
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
    job = json.loads(changes['module.batch.module.job_role.aws_iam_role_policy.this']['after']['policy'])
    assert 'UseLakeKey' not in {st['Sid'] for st in job['Statement']}
    query = json.loads(changes['module.athena.aws_iam_policy.query[0]']['after']['policy'])
    assert not {'DecryptLake', 'UseResultsKey'} & {st['Sid'] for st in query['Statement']}
    operator = json.loads(changes['module.step_functions.aws_iam_policy.operator[0]']['after']['policy'])
    assert 'UseLakeKey' not in {st['Sid'] for st in operator['Statement']}
    assert plan['output_changes']['lake_kms_key_arn']['after'] is None
    # llm_max_instances = 6: six GPU instances at most, and the functions refuse an execution asking for more
    assert changes['module.ecs_vllm.aws_autoscaling_group.gpu']['after']['max_size'] == 6
    for name in LAMBDAS:
        fn = changes[f'module.lambdas.aws_lambda_function.this["{name}"]']['after']
        assert fn['environment'][0]['variables']['FTM_CLOUD__LLM_MAX_TASKS'] == '6', name


# What moved into the shared role modules, (old address, new address): infra/moved.tf carries state written before
# the ECS instance roles moved into modules/ecs_instance_role and the task, job, Lambda and state machine roles into
# modules/service_role (the ECS execution roles through modules/ecs_execution_role).
_MOVED = [(f'module.{m}.{t}.instance', f'module.{m}.module.instance_role.{t}.this')
          for m in ('batch', 'ecs_vllm') for t in ('aws_iam_role', 'aws_iam_role_policy_attachment', 'aws_iam_instance_profile')] + [
    (f'module.{m}.{t}.{old}', f'module.{m}.{new}.{t}.this')
    for m, old, new in [('batch', 'execution', 'module.execution_role.module.role'), ('batch', 'job', 'module.job_role'),
                        ('ecs_vllm', 'execution', 'module.execution_role.module.role'), ('ecs_vllm', 'task', 'module.task_role'),
                        ('lambdas', 'lake', 'module.role["lake"]'), ('lambdas', 'health', 'module.role["health"]'),
                        ('step_functions', 'this', 'module.role')]
    for t in ('aws_iam_role', 'aws_iam_role_policy')]

def test_state_from_before_the_shared_modules_is_moved_not_replaced(stack):
    """A deployment applied before the ECS instance roles moved into modules/ecs_instance_role holds them at the old
    addresses: planned on such a state (the applied one with those addresses moved back), each is moved and left
    unchanged, and nothing is destroyed."""
    _, tf = stack
    old = tf.cwd/'old-addresses.tfstate'
    shutil.copy(tf.cwd/'terraform.tfstate', old)
    for frm, to in _MOVED: tf('state', 'mv', f'-state={old}', to, frm, timeout=60)
    tf('plan', '-input=false', '-no-color', '-refresh=false', '-parallelism=10', f'-state={old}', '-out=moved.tfplan',
       *_targets(tf), *[f'-target={frm}' for frm, _ in _MOVED], timeout=240)
    plan = json.loads(tf('show', '-json', '-no-color', 'moved.tfplan').stdout)
    by = {c['address']: c for c in plan['resource_changes']}
    for frm, to in _MOVED:
        assert by[to].get('previous_address') == frm and by[to]['change']['actions'] == ['no-op'], (to, by[to])
    assert not [a for a, c in by.items() if 'delete' in c['change']['actions']]


def test_plan_refuses_more_llm_tasks_than_instances(stack):
    "cloud_llm_tasks above llm_max_instances could never be placed: the plan stops at the variable's validation."
    _, tf = stack
    p = tf('plan', '-input=false', '-no-color', '-refresh=false', '-parallelism=10', '-var', 'cloud_llm_tasks=5',
           *_targets(tf), ok=(1,), timeout=180)
    assert 'cloud_llm_tasks must be between 0 and llm_max_instances' in ' '.join(p.stderr.split()), p.stderr[-3000:]


def test_plan_refuses_one_az_for_the_load_balancer(stack, aws):
    "An ALB needs two Availability Zones: the plan stops with what to change instead of failing at AWS."
    _, tf = stack
    one = sorted(_network(aws)[0])[0]
    p = tf('plan', '-input=false', '-no-color', '-refresh=false', '-parallelism=10', '-var', f'llm_subnet_ids=["{one}"]',
           *_targets(tf), ok=(1,), timeout=180)
    assert 'needs subnets in at least two Availability Zones' in ' '.join(p.stderr.split()), p.stderr[-3000:]


def test_plan_refuses_a_network_that_does_not_fit(stack, aws):
    "modules/network: a security group of another VPC, or a private subnet while subnets_are_public, stops the plan "
    "with the resource named, before anything is created in it."
    _, tf = stack
    ec2 = aws('ec2')
    other = ec2.create_vpc(CidrBlock='10.99.0.0/16')['Vpc']['VpcId']     # a second VPC: the stack's own stays as it is
    sg = ec2.create_security_group(GroupName='ftm-other-vpc', Description='test', VpcId=other)['GroupId']
    private = [ec2.create_subnet(VpcId=other, CidrBlock=f'10.99.{i}.0/24', AvailabilityZone=f'{REGION}{z}')['Subnet']['SubnetId']
               for i, z in enumerate('ab')]                                # MapPublicIpOnLaunch off
    plan = lambda *v: tf('plan', '-input=false', '-no-color', '-refresh=false', '-parallelism=10', *v, *_targets(tf),
                         ok=(1,), timeout=180)
    p = plan('-var', f'security_group_ids=["{sg}"]')
    assert f'security group {sg} is in {other}, not vpc_id' in ' '.join(p.stderr.split()), p.stderr[-3000:]
    sub = ', '.join(f'"{s}"' for s in private)
    p = plan('-var', f'vpc_id={other}', '-var', f'subnet_ids=[{sub}]', '-var', f'security_group_ids=["{sg}"]')
    err = ' '.join(p.stderr.split())
    assert f'subnet {private[0]} does not auto-assign public IPv4 addresses' in err and 'subnets_are_public = false' in err, p.stderr[-3000:]


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
    for module in ('storage', 'private_bucket', 'ecr', 'batch', 'ecs_vllm', 'lambdas', 'step_functions'):
        for name, v in _variables(INFRA/'modules'/module/'variables.tf').items():
            assert 'description' in v and 'type' in v, (module, name)
    for name, v in _variables(INFRA/'variables.tf').items():
        assert 'description' in v and 'type' in v, ('root', name)


def _module_calls(path: Path) -> dict:
    "{name: body} of the module blocks of one .tf file."
    return {_unq(name): body for block in _load(path).get('module', []) for name, body in block.items()}


def test_hcl_shared_iam_modules():
    """The lake's statements are written once (modules/lake_access) for the Batch job role (with Glue writes) and the
    Lambda lake role (reads); the ECS container instance role once (modules/ecs_instance_role) for the Batch and
    vLLM instances; the moved blocks (infra/moved.tf) leave addresses no resource still declares."""
    mods = INFRA/'modules'
    root = _module_calls(INFRA/'main.tf')
    access = root['lake_access']
    assert _unq(access['source']) == './modules/lake_access' and access['glue_write'] == '${each.value}'
    assert access['for_each'] == {'publish': True, 'read': False}, access['for_each']
    assert root['batch']['lake_policy'] == '${module.lake_access["publish"].json}'
    assert root['lambdas']['lake_policy'] == '${module.lake_access["read"].json}'
    assert _module_calls(mods/'batch'/'iam.tf')['job_role']['policy'] == '${var.lake_policy}'
    [doc] = [b for block in _load(mods/'lambdas'/'iam.tf')['data'] for t, named in block.items()
             for n, b in named.items() if _unq(t) == 'aws_iam_policy_document' and _unq(n) == 'lake']
    assert '${var.lake_policy}' in doc['source_policy_documents']
    for module in ('batch', 'lambdas', 'ecs_vllm'):   # no lake statement written again by hand
        assert '"s3:PutObject"' not in (mods/module/'iam.tf').read_text() and 'glue:' not in (mods/module/'iam.tf').read_text(), module
    for module in ('batch', 'ecs_vllm'):
        call = _module_calls(mods/module/'iam.tf')['instance_role']
        assert _unq(call['source']) == '../ecs_instance_role' and call['policy_arn'] == '${var.instance_role_policy_arn}'
    addr = lambda v: _unq(v).removeprefix('${').removesuffix('}')   # python-hcl2 reads a bare address as ${...}
    moved = [(addr(m['from']), addr(m['to'])) for m in _load(INFRA/'moved.tf')['moved']]
    assert moved == _MOVED
    for module in ('batch', 'ecs_vllm', 'lambdas', 'step_functions'):   # the old addresses: no resource declares them
        declared = {f'module.{module}.{t}.{n}' for f in (mods/module).glob('*.tf') for t, n in _resources(f)}
        assert not declared & {f for f, _ in moved}, module
        assert not [m for f in (mods/module).glob('*.tf') for m in _load(f).get('moved', [])], module
    role = _resources(mods/'ecs_instance_role'/'main.tf')
    assert _unq(role[('aws_iam_role_policy_attachment', 'this')]['policy_arn']).endswith(
        ':iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role")}')


def _locals(path: Path) -> dict:
    return {k: v for block in _load(path).get('locals', []) for k, v in block.items()}


def test_hcl_orchestration_guards():
    """The settings of the vLLM service, the functions and the state machine that matter: the service starts at 0 and
    Terraform never moves its desired count again (the state machine owns it); the Spot mix; the state machine is
    STANDARD, logs everything and is traced; the functions are traced."""
    svc = _resources(INFRA/'modules'/'ecs_vllm'/'service.tf')[('aws_ecs_service', 'vllm')]
    assert svc['desired_count'] == 0
    [lc] = svc['lifecycle']
    assert lc['ignore_changes'] in (['${desired_count}'], ['desired_count']), lc
    assert 'launch_type' not in svc and svc['capacity_provider_strategy']
    asg = _resources(INFRA/'modules'/'ecs_vllm'/'compute.tf')[('aws_autoscaling_group', 'gpu')]
    [mip] = asg['mixed_instances_policy']
    [dist] = mip['instances_distribution']
    assert dist['on_demand_percentage_above_base_capacity'] == '${var.on_demand_percentage_above_base_capacity}'
    assert _unq(dist['spot_allocation_strategy']) == 'price-capacity-optimized'
    v = _variables(INFRA/'modules'/'ecs_vllm'/'variables.tf')
    assert v['on_demand_percentage_above_base_capacity']['default'] == 20 and v['on_demand_base_capacity']['default'] == 0
    assert [_unq(t) for t in v['instance_types']['default']] == ['g5.xlarge']
    root = _variables(INFRA/'variables.tf')
    assert root['llm_on_demand_percentage']['default'] == 20 and [_unq(t) for t in root['llm_instance_types']['default']] == ['g5.xlarge']
    lb = _resources(INFRA/'modules'/'ecs_vllm'/'network.tf')[('aws_lb', 'this')]
    assert lb['internal'] is True and lb['drop_invalid_header_fields'] is True

    sfn = _resources(INFRA/'modules'/'step_functions'/'main.tf')[('aws_sfn_state_machine', 'this')]
    assert _unq(sfn['type']) == 'STANDARD'
    [log] = sfn['logging_configuration']
    assert _unq(log['level']) == 'ALL' and log['include_execution_data'] is True
    assert sfn['tracing_configuration'] == [{'enabled': True}] or sfn['tracing_configuration'][0]['enabled'] is True
    fn = _resources(INFRA/'modules'/'lambdas'/'functions.tf')[('aws_lambda_function', 'this')]
    assert _unq(fn['package_type']) == 'Image' and _unq(fn['tracing_config'][0]['mode']) == 'Active'
