"""The state machine's Lambdas (ftm/cloud/lambdas.py, nbs/42_lambdas) against a lake on S3 with the Glue catalog on a
moto server: called directly, then one quarter through the real ASL with the real functions as moto's Lambdas and
the real `ftm worker` as moto's Batch jobs (run in process when moto accepts a job).

The notebook covers each function on a local lake; this file covers S3 + Glue and the chain."""
from __future__ import annotations
import io, json, os

import boto3
import pytest

import sfn_moto as S
from conftest import free_port
from ftm.cloud import lambdas as L
from ftm.config import load_config
from ftm.sources.connectors import SourceError
from ftm.lake import Lake

pytestmark = pytest.mark.timeout(600)
BUCKET, Q = 'ftm-lambdas', '2016Q2'


@pytest.fixture(scope='module')
def server():
    "A moto server (S3, Glue, and Step Functions executing ASL) that every AWS client here reaches via AWS_ENDPOINT_URL."
    from moto.server import ThreadedMotoServer
    from moto.core.config import default_user_config
    port = free_port()
    mp = pytest.MonkeyPatch()
    for k in [k for k in os.environ if k.startswith(('AWS_', 'FTM_', 'LLM_'))]: mp.delenv(k)
    endpoint = f'http://127.0.0.1:{port}'
    for k, v in dict(AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_DEFAULT_REGION=S.REGION,
                     AWS_REGION=S.REGION, AWS_ENDPOINT_URL=endpoint, AWS_EC2_METADATA_DISABLED='true',
                     MOTO_PORT=str(port)).items(): mp.setenv(k, v)
    srv = ThreadedMotoServer(ip_address='127.0.0.1', port=port, verbose=False)
    srv.start()
    # moto's backends are global to the process: start from nothing (other test files deploy the same function
    # names), then set moto's config: execute ASL, run no Docker
    import requests
    requests.post(f'{endpoint}/moto-api/reset', timeout=10).raise_for_status()
    requests.post(f'{endpoint}/moto-api/config', json=S.MOTO_CONFIG, timeout=10).raise_for_status()
    boto3.client('s3').create_bucket(Bucket=BUCKET)
    try: yield endpoint
    finally:
        srv.stop(); mp.undo()


def env_for(name: str) -> dict:
    "The functions' environment, as Terraform sets it, for a lake of its own."
    return {'FTM_LAKE': f's3://{BUCKET}/{name}', 'FTM_CATALOG__KIND': 'glue', 'FTM_CATALOG__NAMESPACE': name,
            'FTM_SOURCE': 'prefetch', 'FTM_SAMPLE__N_FIRMS': '6', 'FTM_EXECUTOR__FIRMS_PER_BATCH': '2', 'FTM_FIRMS_PER_CHECKPOINT': '2',
            'FTM_EXECUTOR__WORKERS': '1', 'FTM_EXECUTOR__KIND': 'batch', **{k: v for k, v in os.environ.items() if k.startswith('AWS_')}}


def prefetch(env: dict):
    from ftm.sources.prefetch import prefetch_quarter
    cfg = load_config(env={k: v for k, v in env.items() if k != 'FTM_SOURCE'}, quarter=Q, source='sample')
    return prefetch_quarter(cfg, progress=False)


def test_functions_on_s3_and_glue(server):
    env = env_for('direct')
    ev = {'quarter': Q, 'lake': env['FTM_LAKE'], 'run_id': 'sfn-direct', 'execution': 'sfn-direct'}
    with pytest.raises(SourceError, match=f'ftm prefetch --quarter {Q}'): L.check_prefetch(ev, env)
    pre = prefetch(env)
    c = L.check_prefetch(ev, env)
    assert (c['prefetch_run'], c['calls']) == (pre.run_id, 6)
    p = L.partition_firms(ev, env)
    assert (p['size'], p['firms'], p['transcripts_run']) == (3, 6, pre.run_id)
    assert L.partition_firms(ev, env) == p                      # a retried PartitionFirms: the stored plan
    lake = Lake.from_config(load_config(env=env))
    assert type(lake.catalog).__name__ == 'GlueCatalog'
    assert lake.checkpoint(Q, 'sfn-direct', 'config')['executor']['kind'] == 'batch'      # the workers' settings
    assert sorted(f for b in lake.checkpoint(Q, 'sfn-direct', 'manifest')['batches'] for f in b) == sorted(
        lake.read('firms', Q, run_id=pre.run_id)['firm_id'].to_pylist())
    r = L.record_quarter({**ev, 'status': 'failed', 'error': {'Error': 'States.TaskFailed', 'Cause': 'boom'}}, env)
    assert r['record'].startswith(f"{env['FTM_LAKE']}/_records/quarter={Q}/sfn-direct") and r['error'] == 'States.TaskFailed: boom'
    assert json.loads(boto3.client('s3').get_object(Bucket=BUCKET, Key=f'direct/_records/quarter={Q}/sfn-direct.sfn.json')['Body'].read())['ok'] is False


class Workers:
    """moto's Batch, when it accepts a job, runs it: `ftm worker map|reduce` in process with the job's parameters and
    the environment Batch gives a container (array index, attempt); the job succeeds if the worker exits 0."""
    def __init__(self, env: dict):
        self.env, self.runs = env, []

    def install(self):
        from ftm.cloud.worker import work
        def run(backend, job):
            ap = job.array_properties or {}
            if 'size' in ap:                                     # the array parent: its children ran already
                return all(c.status == 'SUCCEEDED' for c in backend._jobs.values() if c.job_id.startswith(job.job_id + ':'))
            step = 'map' if job.job_definition.name.endswith('map') else 'reduce'
            env = {**self.env, 'AWS_BATCH_JOB_ATTEMPT': '1', 'AWS_BATCH_JOB_ID': job.job_id}
            if 'index' in ap: env['AWS_BATCH_JOB_ARRAY_INDEX'] = str(ap['index'])
            p = job.parameters
            code = work(step, p['lake'], p['quarter'], p['run_id'], env=env, out=io.StringIO())
            self.runs.append((step, ap.get('index'), code))
            return code == 0
        S.finish_jobs(run)


def test_one_quarter_through_the_state_machine(server):
    "The real ASL, the real functions, the real workers: a prefetched quarter is published and recorded."
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.batch_simple.models import BatchSimpleBackend
    saved = LambdaSimpleBackend.invoke, BatchSimpleBackend._mark_job_as_finished
    env = env_for('chain')
    pre = prefetch(env)
    S.patch_integrations()
    S.patch_lambda(resp := S.Responder({f: (lambda fn: lambda p: fn(p, env))(getattr(L, f)) for f in S.FUNCTIONS}))
    (w := Workers(env)).install()
    try:
        session = boto3.Session(region_name=S.REGION)
        arns = S.deploy(session, name='ftm-chain')
        sfn = session.client('stepfunctions')
        ex = sfn.start_execution(stateMachineArn=arns['state_machine'], name='chain-1', input=json.dumps({'quarters': Q}))['executionArn']
        d = S.wait_execution(sfn, ex, timeout=500)
    finally: LambdaSimpleBackend.invoke, BatchSimpleBackend._mark_job_as_finished = saved
    assert d['status'] == 'SUCCEEDED', (d.get('error'), d.get('cause'), w.runs)
    assert sorted(w.runs, key=str) == sorted([('map', 0, 0), ('map', 1, 0), ('map', 2, 0), ('reduce', None, 0)], key=str)
    assert [n for n, _ in resp.calls] == ['generate_quarters', 'check_prefetch', 'partition_firms', 'record_quarter']
    out = json.loads(d['output'])
    (rec,) = out['quarters']
    lake = Lake.from_config(load_config(env=env))
    info = lake.run('chain-1-reduce', Q)
    assert info is not None and rec['ok'] and rec['reduce_run'] == 'chain-1-reduce'
    assert rec['counts']['firms'] == 6 and rec['counts']['themes'] == info.rows('themes') > 0
    assert lake.latest_run(Q, 'themes').run_id == 'chain-1-reduce'
    assert info.meta['transcripts_run'] == pre.run_id                     # the prefetch's transcripts, not a new ingest
    stored = json.loads(boto3.client('s3').get_object(Bucket=BUCKET, Key=f'chain/_records/quarter={Q}/chain-1.sfn.json')['Body'].read())
    assert stored['ok'] and set(stored['jobs']) == {'map', 'reduce'}
