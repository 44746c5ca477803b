"""The real multi-quarter ASL (infra/state_machines/multi_quarter.asl.json), linted by asl-validator and executed by
moto's Step Functions interpreter against moto's Lambda, Batch and ECS (tests/sfn_moto.py: the patches, and why).

Lambda answers come from a `Responder` per function (the functions themselves: nbs/42_lambdas and
tests/test_lambdas.py). Three paths of the issue: the happy path for 3 quarters (MaxConcurrency respected, StopLLM
reached), one quarter's map job failing (recorded as failed, the others finish, StopLLM still runs), and vLLM never
becoming healthy (no Batch job, StopLLM still runs); plus keyword naming (no vLLM) and bad input (nothing started)."""
from __future__ import annotations
import json, os, shutil, subprocess, threading, time
from pathlib import Path

import boto3
import pytest

import sfn_moto as S
from ftm.cloud.lambdas import TransientError, failure_line

pytestmark = pytest.mark.timeout(180)
VALIDATOR = S.ROOT / 'tests' / 'asl' / 'node_modules' / '.bin' / 'asl-validator'
Q3 = ['2016Q1', '2016Q2', '2016Q3']


# --- lint ------------------------------------------------------------------------------------------------------

def validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(VALIDATOR), '--json-path', str(path)], capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(not VALIDATOR.exists(), reason="asl-validator missing: `make test` installs it (cd tests/asl && npm ci)")
def test_asl_validator(tmp_path):
    r = validate(S.ASL)
    assert r.returncode == 0, r.stdout + r.stderr
    # the validator does catch what it is here for: a Next that goes nowhere, an unreachable state
    d = json.loads(S.ASL.read_text())
    d['States']['StopLLM']['Next'] = 'Summry'
    d['States']['Orphan'] = {'Type': 'Pass', 'End': True}
    (bad := tmp_path / 'bad.asl.json').write_text(json.dumps(d))
    r = validate(bad)
    assert r.returncode != 0 and 'Summry' in r.stdout + r.stderr, r.stdout + r.stderr


def test_template_variables():
    "Only `${name}` in JSON strings: the raw file is JSON (linted as is) and renders like Terraform's templatefile."
    text = S.ASL.read_text()
    json.loads(text)
    assert S.template_vars(text) == {*S.FUNCTIONS, 'ecs_cluster', 'ecs_service', 'map_job_queue', 'reduce_job_queue',
                                     'map_job_definition', 'reduce_job_definition'}
    with pytest.raises(KeyError, match='ecs_service'):
        S.render(text, {k: 'x' for k in S.template_vars(text) - {'ecs_service'}})


# --- execution under moto --------------------------------------------------------------------------------------

@pytest.fixture
def aws(monkeypatch):
    "moto in process (Step Functions executes the ASL), the integration patches, and the deployment."
    for k, v in dict(AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_DEFAULT_REGION=S.REGION,
                     AWS_REGION=S.REGION).items(): monkeypatch.setenv(k, v)
    monkeypatch.delenv('MOTO_SIMPLE_BATCH_FAIL_AFTER', raising=False)
    from moto import mock_aws
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.batch_simple.models import BatchSimpleBackend
    saved = LambdaSimpleBackend.invoke, BatchSimpleBackend._mark_job_as_finished
    S.patch_integrations()
    with mock_aws(config=S.MOTO_CONFIG):
        session = boto3.Session(region_name=S.REGION)
        yield session, S.deploy(session)
    LambdaSimpleBackend.invoke, BatchSimpleBackend._mark_job_as_finished = saved


class Fleet:
    """Lambda answers for a run of `quarters`, keeping what a test asserts: quarters in flight at once, the vLLM
    service's desired count while health was checked."""
    def __init__(self, session, quarters, healthy_after=2, llm_tasks=1, size=lambda q: 3, delay=0.3, published=()):
        self.session, self.quarters, self.healthy_after, self.llm_tasks, self.size, self.delay, self.published = \
            session, quarters, healthy_after, llm_tasks, size, delay, set(published)
        self.lock, self.active, self.max_active, self.health_checks, self.desired_seen = threading.Lock(), set(), 0, 0, []

    def generate_quarters(self, p):
        run_id = p['input'].get('run_id') or p['execution']
        return dict(quarters=[dict(quarter=q, run_id=run_id) for q in self.quarters], lake='s3://ftm-lake/lake',
                    settings=dict(max_concurrency=p['input'].get('max_concurrency', 2), llm_tasks=self.llm_tasks,
                                  llm_base_url='http://internal-ftm-vllm.elb.amazonaws.com/v1',
                                  llm_health_url='http://internal-ftm-vllm.elb.amazonaws.com/health',
                                  health_wait_s=1, health_max_checks=3))

    def llm_health(self, p):
        self.health_checks += 1
        svc = self.session.client('ecs').describe_services(cluster='ftm-llm', services=['ftm-vllm'])['services'][0]
        self.desired_seen.append(svc['desiredCount'])
        ok = self.healthy_after is not None and self.health_checks >= self.healthy_after
        return dict(healthy=ok, status=200 if ok else 503, detail='HTTP 200' if ok else 'HTTP 503 Service Unavailable')

    def check_prefetch(self, p):
        with self.lock:
            self.active.add(p['quarter']); self.max_active = max(self.max_active, len(self.active))
        return dict(quarter=p['quarter'], prefetch_run='prefetch-1', calls=40)

    def partition_firms(self, p):
        time.sleep(self.delay)                              # long enough for the quarters in flight to overlap
        if p['quarter'] in self.published: return dict(quarter=p['quarter'], run_id=p['run_id'], size=0, firms=0, published=True)
        return dict(quarter=p['quarter'], run_id=p['run_id'], size=self.size(p['quarter']), firms=40, published=False)

    def record_quarter(self, p):
        with self.lock: self.active.discard(p['quarter'])
        ok = p['status'] == 'succeeded'
        return dict(quarter=p['quarter'], run_id=p['run_id'], status=p['status'], ok=ok,
                    error=None if ok else failure_line(p.get('error')),
                    jobs={k: p[f'{k}_job']['job_id'] for k in ('map', 'reduce') if f'{k}_job' in p})

    def responder(self) -> S.Responder:
        return S.Responder({f: getattr(self, f) for f in S.FUNCTIONS})


def run(session, arns, inp: dict, name='e1') -> tuple[dict, list]:
    sfn = session.client('stepfunctions')
    ex = sfn.start_execution(stateMachineArn=arns['state_machine'], name=name, input=json.dumps(inp))['executionArn']
    d = S.wait_execution(sfn, ex, timeout=120)
    return d, S.history(sfn, ex)


def jobs(session) -> list[dict]:
    b = session.client('batch')
    ids = [j['jobId'] for q in ('ftm-map', 'ftm-reduce') for s in ('SUCCEEDED', 'FAILED')
           for j in b.list_jobs(jobQueue=q, jobStatus=s)['jobSummaryList']]
    js = b.describe_jobs(jobs=ids)['jobs'] if ids else []
    return [j for j in js if ':' not in j['jobId']]       # jobs, not array children (moto lists those too)


def desired_count(session) -> int:
    return session.client('ecs').describe_services(cluster='ftm-llm', services=['ftm-vllm'])['services'][0]['desiredCount']


def ecs_updates(events) -> list[int]:
    "DesiredCount of each ECS UpdateService the execution made, in order."
    return [json.loads(e['taskScheduledEventDetails']['parameters'])['DesiredCount'] for e in events
            if e['type'] == 'TaskScheduled' and e['taskScheduledEventDetails']['resourceType'] == 'aws-sdk:ecs'
            and e['taskScheduledEventDetails']['resource'] == 'updateService']


def test_happy_path_three_quarters(aws):
    session, arns = aws
    f = Fleet(session, Q3, size=lambda q: 1 if q == '2016Q2' else 3)
    S.patch_lambda(resp := f.responder())
    d, ev = run(session, arns, {'quarters': '2016Q1..2016Q3'})
    assert d['status'] == 'SUCCEEDED', (d.get('error'), d.get('cause'))
    out = json.loads(d['output'])
    assert [r['quarter'] for r in out['quarters']] == Q3 and all(r['ok'] for r in out['quarters']) and not out['any_failed']
    # vLLM: started with 1 task before any health check, healthy on the 2nd check, stopped at the end
    names = S.entered(ev)
    assert names.index('StartLLM') < names.index('WaitLLMHealthy') < names.index('Quarters') < names.index('StopLLM')
    assert f.health_checks == 2 and f.desired_seen == [1, 1]
    assert ecs_updates(ev) == [1, 0] and desired_count(session) == 0
    assert 'StopLLMAfterError' not in names
    # MaxConcurrency 2: two quarters in flight, never three; every quarter ran its five steps once
    assert f.max_active == 2
    for state in ('CheckPrefetch', 'PartitionFirms', 'ReduceJob', 'RecordQuarter'): assert names.count(state) == 3, state
    assert (names.count('MapArrayJob'), names.count('MapJob')) == (2, 1)   # 2016Q2 is one batch: a plain job
    # the Batch jobs: array size from PartitionFirms, the run's parameters, LLM_BASE_URL on the reduce job
    js = jobs(session)
    maps = {j['parameters']['quarter']: j for j in js if j['jobName'].startswith('ftm-map-')}
    reduces = {j['parameters']['quarter']: j for j in js if j['jobName'].startswith('ftm-reduce-')}
    assert sorted(maps) == sorted(reduces) == Q3
    assert maps['2016Q1']['arrayProperties']['size'] == 3 and 'size' not in (maps['2016Q2'].get('arrayProperties') or {})
    assert maps['2016Q1']['parameters'] == {'lake': 's3://ftm-lake/lake', 'quarter': '2016Q1', 'run_id': 'e1'}
    env = {e['name']: e['value'] for e in reduces['2016Q3']['container']['environment']}
    assert env['LLM_BASE_URL'] == 'http://internal-ftm-vllm.elb.amazonaws.com/v1'
    assert maps['2016Q1']['tags'] == {'ftm:quarter': '2016Q1', 'ftm:run': 'e1', 'ftm:execution': 'e1'}
    # RecordQuarter got the job ids
    rec = {p['quarter']: p for n, p in resp.calls if n == 'record_quarter'}
    assert rec['2016Q1']['map_job']['job_id'] == maps['2016Q1']['jobId'] and rec['2016Q1']['size'] == 3


def test_one_map_job_fails(aws):
    session, arns = aws
    f = Fleet(session, Q3)
    S.patch_lambda(resp := f.responder())
    S.fail_jobs('ftm-map-2016Q2-')
    d, ev = run(session, arns, {'quarters': '2016Q1..2016Q3'})
    assert d['status'] == 'FAILED' and d['error'] == 'QuartersFailed', (d.get('error'), d.get('cause'))
    assert '["2016Q2"]' in d['cause']
    names = S.entered(ev)
    assert 'StopLLM' in names and ecs_updates(ev) == [1, 0] and desired_count(session) == 0
    summary = json.loads(next(e['stateEnteredEventDetails']['input'] for e in ev
                              if e.get('stateEnteredEventDetails', {}).get('name') == 'SomeQuartersFailed'))
    by_q = {r['quarter']: r for r in summary['quarters']}
    assert [by_q[q]['ok'] for q in Q3] == [True, False, True]
    assert by_q['2016Q2']['error'].startswith('ftm-map-2016Q2-e1 (') and 'FAILED' in by_q['2016Q2']['error']
    # the failed quarter's reduce was never submitted; the others' were
    reduces = sorted(j['parameters']['quarter'] for j in jobs(session) if j['jobName'].startswith('ftm-reduce-'))
    assert reduces == ['2016Q1', '2016Q3']
    assert [p['quarter'] for n, p in resp.calls if n == 'record_quarter' and p['status'] == 'failed'] == ['2016Q2']


def test_llm_never_healthy(aws):
    session, arns = aws
    f = Fleet(session, Q3, healthy_after=None)
    S.patch_lambda(resp := f.responder())
    t0 = time.time()
    d, ev = run(session, arns, {'quarters': '2016Q1..2016Q3'})
    assert d['status'] == 'FAILED' and d['error'] == 'LLMUnhealthy', (d.get('error'), d.get('cause'))
    assert 'not healthy after 3 checks (1 s apart)' in d['cause'] and 'HTTP 503' in d['cause']
    assert f.health_checks == 3 and time.time() - t0 >= 2            # two waits between three checks
    names = S.entered(ev)
    assert 'Quarters' not in names and 'StopLLMAfterError' in names
    assert jobs(session) == [] and resp.names().count('check_prefetch') == 0     # no quarter was started
    assert ecs_updates(ev) == [1, 0] and desired_count(session) == 0


def test_keyword_naming_needs_no_llm(aws):
    session, arns = aws
    f = Fleet(session, ['2016Q1'], llm_tasks=0)
    S.patch_lambda(resp := f.responder())
    d, ev = run(session, arns, {'quarters': '2016Q1'})
    assert d['status'] == 'SUCCEEDED', d.get('cause')
    names = S.entered(ev)
    assert 'StartLLM' not in names and 'WaitLLMHealthy' not in names and f.health_checks == 0
    assert ecs_updates(ev) == [0]                          # StopLLM still runs: 0 stays 0


def test_transient_function_error_is_retried(aws):
    "A function's TransientError (throttling, a dropped connection) is retried; the quarter goes on."
    session, arns = aws
    f = Fleet(session, ['2016Q1'], llm_tasks=0)
    tries = []
    def flaky(p):
        tries.append(p['quarter'])
        if len(tries) == 1: raise TransientError('ClientError: SlowDown')
        return Fleet.partition_firms(f, p)
    resp = f.responder(); resp.handlers['partition_firms'] = flaky
    S.patch_lambda(resp)
    d, ev = run(session, arns, {'quarters': '2016Q1'})
    assert d['status'] == 'SUCCEEDED', d.get('cause')
    assert tries == ['2016Q1', '2016Q1'] and 'RecordFailedQuarter' not in S.entered(ev)


def test_rerun_redoes_only_unpublished_quarters(aws):
    "A range rerun with an earlier execution's run id: published quarters are recorded, not submitted again."
    session, arns = aws
    f = Fleet(session, Q3, llm_tasks=0, published={'2016Q1', '2016Q3'})
    S.patch_lambda(resp := f.responder())
    d, ev = run(session, arns, {'quarters': '2016Q1..2016Q3', 'run_id': 'e0'})
    assert d['status'] == 'SUCCEEDED', d.get('cause')
    assert S.entered(ev).count('RecordPublished') == 2 and S.entered(ev).count('ReduceJob') == 1
    assert sorted(j['jobName'] for j in jobs(session)) == ['ftm-map-2016Q2-e0', 'ftm-reduce-2016Q2-e0']
    assert all(r['ok'] for r in json.loads(d['output'])['quarters'])


def test_bad_input_starts_nothing(aws):
    session, arns = aws
    from ftm.cloud.lambdas import generate_quarters
    def gen(p): return generate_quarters(p, {'FTM_LAKE': 's3://ftm-lake/lake'})      # the real function
    S.patch_lambda(resp := S.Responder({'generate_quarters': gen}))
    d, ev = run(session, arns, {'quarters': '2016Q5'})
    assert d['status'] == 'FAILED' and d['error'] == 'BadEvent' and 'bad quarters' in d['cause'], (d.get('error'), d.get('cause'))
    assert S.entered(ev) == ['GenerateQuarters', 'InvalidInput'] and ecs_updates(ev) == [] and jobs(session) == []
