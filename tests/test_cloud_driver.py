"""The researcher's side of the multi-quarter state machine against a moto server: runs/cloud.ipynb executed by
papermill (its kernel reaches moto through `-p endpoint_url`), and `ftm cloud run|status|stop|record`.

The server runs in this process (moto.server.ThreadedMotoServer on 127.0.0.1, a free port; MOTO_PORT tells moto's
Step Functions interpreter where to send its Lambda, Batch and ECS calls), so tests/sfn_moto.py's patches apply to
it. The real ASL is deployed by `sfn_moto.deploy`; GenerateQuarters is the real function (nbs/42_lambdas) with the
environment Terraform gives it; the other four Lambdas are played by a `Responder` in the shape the real ones answer,
and record_quarter writes its record to the test's lake as the real one does."""
from __future__ import annotations
import copy, json, os, socket, subprocess, sys, threading, time, urllib.request
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from typer.testing import CliRunner

import sfn_moto as S
from ftm.cli import app
from ftm.cloud import lambdas as fns
from ftm.lake import Lake

pytestmark = pytest.mark.timeout(120)
Q3 = ['2016Q1', '2016Q2', '2016Q3']
CREDS = dict(AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_SESSION_TOKEN='testing',
             AWS_DEFAULT_REGION=S.REGION)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def post(url: str, data: dict):
    req = urllib.request.Request(url, data=json.dumps(data).encode(), method='POST', headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(req, timeout=10) as r: return r.read()


class Endpoint:
    "A boto3 session look-alike for `sfn_moto.deploy`: its clients talk to the moto server."
    def __init__(self, url): self.url = url
    def client(self, service, region_name=S.REGION):
        return boto3.client(service, region_name=region_name, endpoint_url=self.url)


@pytest.fixture(scope='module')
def server():
    "The moto server, configured to execute state machines, with sfn_moto's patches; all undone at the end."
    from moto.server import ThreadedMotoServer
    from moto.core.config import default_user_config
    from moto.awslambda_simple.models import LambdaSimpleBackend
    from moto.batch_simple.models import BatchSimpleBackend
    saved_env = {k: os.environ.get(k) for k in ('MOTO_PORT', *CREDS)}
    saved = LambdaSimpleBackend.invoke, BatchSimpleBackend._mark_job_as_finished, copy.deepcopy(default_user_config)
    port = free_port()
    os.environ.update(MOTO_PORT=str(port), **CREDS)
    srv = ThreadedMotoServer(ip_address='127.0.0.1', port=port, verbose=False)
    srv.start()
    S.patch_integrations()
    try: yield f'http://127.0.0.1:{port}'
    finally:
        srv.stop()
        LambdaSimpleBackend.invoke, BatchSimpleBackend._mark_job_as_finished = saved[:2]
        default_user_config.clear(); default_user_config.update(saved[2])
        for k, v in saved_env.items():
            if v is None: os.environ.pop(k, None)
            else: os.environ[k] = v


@pytest.fixture
def world(server, tmp_path):
    "A fresh deployment in the server: the state machine, its functions, Batch queues and the vLLM service; a lake."
    post(f'{server}/moto-api/reset', {})
    post(f'{server}/moto-api/config', S.MOTO_CONFIG)
    aws = Endpoint(server)
    d = S.deploy(aws)
    w = SimpleNamespace(url=server, arns=d, lake=tmp_path / 'lake', sfn=aws.client('stepfunctions'), ecs=aws.client('ecs'))
    w.env = {'FTM_CLOUD__STATE_MACHINE_ARN': d['state_machine'], 'FTM_CLOUD__ENDPOINT_URL': server,
             'FTM_CLOUD__ECS_ENDPOINT_URL': server, 'FTM_BATCH__ENDPOINT_URL': server, 'FTM_CLOUD__POLL_S': '0.1'}
    yield w
    for e in w.sfn.list_executions(stateMachineArn=d['state_machine'], statusFilter='RUNNING')['executions']:
        S.wait_execution(w.sfn, e['executionArn'], timeout=30)      # no execution thread outlives its test


def lambdas(lake: Path, health=None) -> S.Responder:
    "The real GenerateQuarters (LLM naming: vLLM is started and checked) and the other four played; 2016Q2 is one batch."
    env = {'FTM_LAKE': str(lake), 'FTM_NAMING__METHOD': 'llm', 'FTM_CLOUD__LLM_BASE_URL': 'http://vllm.internal/v1',
           'FTM_CLOUD__LLM_HEALTH_URL': 'http://vllm.internal/health', 'FTM_CLOUD__HEALTH_WAIT_S': '1',
           'FTM_CLOUD__HEALTH_MAX_CHECKS': '5'}
    def record_quarter(p):
        ok = p['status'] == 'succeeded'
        rec = dict(quarter=p['quarter'], run_id=p['run_id'], execution=p['execution'], status=p['status'], ok=ok,
                   reduce_run=f"{p['run_id']}-reduce" if ok else None, counts={'firms': 40, 'topics': 300, 'themes': 25} if ok else {},
                   error=None if ok else fns.failure_line(p['error']),
                   jobs={k: p[f'{k}_job']['job_id'] for k in ('map', 'reduce') if f'{k}_job' in p})
        rec['record'] = Lake(p['lake']).put_record(p['quarter'], p['run_id'], json.dumps(rec).encode(), suffix=fns.RECORD_SUFFIX)
        return rec
    return S.Responder({
        'generate_quarters': lambda p: fns.generate_quarters(p, env),
        'llm_health': health or (lambda p: dict(healthy=True, status=200, detail='HTTP 200')),
        'check_prefetch': lambda p: dict(quarter=p['quarter'], prefetch_run='prefetch-1', calls=40),
        'partition_firms': lambda p: dict(quarter=p['quarter'], run_id=p['run_id'], size=1 if p['quarter'] == '2016Q2' else 3,
                                          firms=40, published=False),
        'record_quarter': record_quarter})


def cli(w, *args):
    return CliRunner().invoke(app, ['cloud', *args], env=w.env)


def desired(w) -> int:
    return w.ecs.describe_services(cluster='ftm-llm', services=['ftm-vllm'])['services'][0]['desiredCount']


def outputs(nb: dict) -> str:
    "The text of every output of an executed notebook."
    out = []
    for c in nb['cells']:
        for o in c.get('outputs', []):
            out += o.get('text', []) if isinstance(o.get('text'), list) else [o.get('text', '')]
            for k in ('text/plain', 'text/html', 'text/markdown'):
                v = (o.get('data') or {}).get(k)
                out += v if isinstance(v, list) else [v or '']
    return ''.join(out)


def test_cloud_notebook(world, tmp_path):
    "runs/cloud.ipynb: three quarters, 2016Q2's map job fails; the executed notebook and the lake records tell it."
    checks = []
    def health(p):                                     # healthy on the second check: the notebook waits for vLLM once
        checks.append(desired(world))
        return dict(healthy=len(checks) > 1, status=200 if len(checks) > 1 else 503, detail=f"HTTP {200 if len(checks) > 1 else 503}")
    S.patch_lambda(lambdas(world.lake, health)); S.fail_jobs('ftm-map-2016Q2-')
    out = tmp_path / 'cloud-2016Q1-2016Q3.ipynb'
    env = {k: v for k, v in os.environ.items() if not k.startswith(('FTM_', 'AWS_'))} | CREDS | {'HF_HUB_OFFLINE': '1'}
    r = subprocess.run([str(Path(sys.executable).parent / 'papermill'), 'runs/cloud.ipynb', str(out),
                        '-p', 'quarters', '2016Q1..2016Q3', '-p', 'lake', str(world.lake),
                        '-p', 'state_machine_arn', world.arns['state_machine'], '-p', 'region', S.REGION,
                        '-p', 'endpoint_url', world.url, '-p', 'poll_s', '0.2'],
                       cwd=S.ROOT, env=env, capture_output=True, text=True, timeout=110)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-5000:]
    nb = json.loads(out.read_text())
    text = outputs(nb)
    ex = world.sfn.list_executions(stateMachineArn=world.arns['state_machine'])['executions']
    assert len(ex) == 1 and ex[0]['status'] == 'FAILED'
    name, arn = ex[0]['name'], ex[0]['executionArn']
    assert world.sfn.describe_execution(executionArn=arn)['error'] == 'QuartersFailed'
    # what the notebook shows: the final phase, each quarter's outcome, the failed step and how to rerun it
    assert f"Execution **{name}**" in text and '**FAILED**: done: some quarters failed; 3/3 quarters finished' in text
    assert f"2016Q2 failed: MapJob: ftm-map-2016Q2-{name} (" in text and f"ftm cloud run --quarters 2016Q2 --run-id {name}" in text
    assert text.count('RecordQuarter') >= 2 and 'RecordFailedQuarter' in text
    assert any('image/png' in (o.get('data') or {}) for c in nb['cells'] for o in c.get('outputs', []))     # the timeline
    # vLLM: started before the health checks, stopped at the end
    assert checks == [1, 1] and desired(world) == 0
    # the lake: record_quarter's record and the notebook's summary beside each quarter's run
    db = Lake(str(world.lake))
    for q, want in zip(Q3, ['succeeded', 'failed', 'succeeded']):
        s = db.get_json(f"{world.lake}/_records/quarter={q}/{name}.cloud.json")
        assert s['status'] == want and s['run_id'] == name and s['execution']['arn'] == arn, s
        assert s['execution']['console'].endswith(f"#/v2/executions/details/{arn}") and s['jobs']['map']['id']
        assert db.get_json(s['quarter_record'])['ok'] == (want == 'succeeded')
        if want == 'succeeded': assert s['counts']['themes'] == 25 and 'console' in s['jobs']['reduce']
        else: assert s['error'].startswith(f"MapJob: ftm-map-{q}-{name} (") and 'reduce' not in s['jobs']
    # `ftm cloud record` keeps the executed notebook beside each run (make cloud-run does this after papermill)
    rec = CliRunner().invoke(app, ['cloud', 'record', str(out)])
    assert rec.exit_code == 1 and rec.output.count('recorded ') == 3 and '2016Q2 failed: MapJob' in rec.output, rec.output
    assert all((world.lake / '_records' / f"quarter={q}" / f"{name}.cloud.ipynb").read_bytes() == out.read_bytes() for q in Q3)
    # `ftm cloud status` of the ended execution: its table, exit 1 (a quarter failed)
    st = cli(world, 'status', '--no-follow')
    assert st.exit_code == 1 and 'RecordFailedQuarter' in st.output and '1 failed' in st.output, st.output


def test_cloud_run_refused_while_running_and_stop(world):
    "A second `ftm cloud run` is refused while one runs; `ftm cloud stop` stops it and scales vLLM to 0."
    gate, called = threading.Event(), threading.Event()
    def stuck(p):                                     # vLLM loading: the first health check answers when the test says
        called.set(); gate.wait(30)
        return dict(healthy=False, status=503, detail='HTTP 503')
    S.patch_lambda(lambdas(world.lake, stuck)); S.fail_jobs()
    try:
        r = cli(world, 'run', '--quarters', '2016Q1..2016Q2', '--detach')
        assert r.exit_code == 0, r.output
        name = r.output.split('started execution ', 1)[1].split()[0]
        assert called.wait(20) and desired(world) == 1
        second = cli(world, 'run', '--quarters', '2016Q3', '--detach')
        assert second.exit_code == 2, second.output
        assert f"execution {name} of ftm-multi-quarter is RUNNING" in second.output and f"ftm cloud stop {name}" in second.output
        assert len(world.sfn.list_executions(stateMachineArn=world.arns['state_machine'])['executions']) == 1
        st = cli(world, 'status', name, '--no-follow')
        assert st.exit_code == 0 and 'waiting for vLLM to be healthy (check 1 of 5)' in st.output, st.output
        stop = cli(world, 'stop', name)
        assert stop.exit_code == 0, stop.output
        assert f"stopped execution {name}" in stop.output and 'scaled to 0 tasks (desired count was 1)' in stop.output
        assert desired(world) == 0
    finally: gate.set()
    arn = world.sfn.list_executions(stateMachineArn=world.arns['state_machine'])['executions'][0]['executionArn']
    assert S.wait_execution(world.sfn, arn)['status'] == 'ABORTED'
    # with nothing running, a run starts, follows to the end and exits 0: every quarter succeeded
    S.patch_lambda(lambdas(world.lake))
    r = cli(world, 'run', '--quarters', '2016Q3', '--quiet')
    assert r.exit_code == 0 and 'done: every quarter succeeded; 1/1 quarters finished (1 succeeded)' in r.output, r.output


def test_cloud_bad_input(world):
    "Bad input exits 2 with what to fix, and starts nothing."
    S.patch_lambda(lambdas(world.lake))
    for args, want in ((['run', '--quarters', '2016Q5'], 'YYYYQn'),
                       (['run', '--quarters', '2016Q1,2016Q1'], 'named twice'),
                       (['run', '--quarters', '2016Q1', '--max-concurrency', '41'], 'less than or equal to 40'),
                       (['run', '--start', '2016-01-01'], 'both a start and an end'),
                       (['status'], 'has no execution yet'),
                       (['stop', 'no-such-execution'], 'ExecutionDoesNotExist'),
                       (['run', '--quarters', '2016Q1', '--state-machine', world.arns['state_machine'] + 'x'], 'StateMachineDoesNotExist')):
        r = cli(world, *args)
        assert r.exit_code == 2 and want in r.output, (args, r.exit_code, r.output)
        assert 'Traceback' not in r.output
    assert world.sfn.list_executions(stateMachineArn=world.arns['state_machine'])['executions'] == []


def test_make_cloud_run():
    "`make cloud-run` runs this notebook with papermill, then `ftm cloud record`; without a state machine it says what to set."
    r = subprocess.run(['make', '-n', 'cloud-run', 'QUARTERS=2016Q1,2016Q3', 'STATE_MACHINE=arn:aws:states:us-east-1:123456789012:stateMachine:m',
                        'LAKE=s3://b/lake'], cwd=S.ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    nb = 'runs/outputs/cloud-2016Q1_2016Q3.ipynb'
    assert f"papermill runs/cloud.ipynb {nb} -p quarters '2016Q1,2016Q3' -p state_machine_arn 'arn:aws:states:us-east-1:123456789012:stateMachine:m'" in r.stdout
    assert "-p lake 's3://b/lake'" in r.stdout and f"ftm cloud record {nb}" in r.stdout and '-p region' not in r.stdout
    env = {k: v for k, v in os.environ.items() if not k.startswith('FTM_CLOUD__')} | {'FTM_CLOUD__REGION': 'eu-west-1'}
    r = subprocess.run(['make', '-n', 'cloud-run'], cwd=S.ROOT, env=env | {'FTM_CLOUD__STATE_MACHINE_ARN': 'arn:x'}, capture_output=True, text=True)
    assert "-p state_machine_arn 'arn:x'" in r.stdout and "-p region 'eu-west-1'" in r.stdout and '-p lake' not in r.stdout, r.stdout
    r = subprocess.run(['make', 'cloud-run'], cwd=S.ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and 'FTM_CLOUD__STATE_MACHINE_ARN' in r.stderr, r.stderr
