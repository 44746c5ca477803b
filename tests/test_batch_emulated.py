"""The AWS Batch path end to end, emulated: Terraform creates the lake bucket, the Batch queues and the job definitions
in a moto server; `ftm run --executor batch --detach` plans the quarter in the S3 lake and submits to the queue
Terraform made; then this test plays AWS Batch, which moto cannot (without Docker its jobs succeed at once and run
nothing): for each array child it runs the command of the job definition, `Ref::` parameters filled in, as a
subprocess with the environment Batch would give the container. One child is SIGKILLed in the middle of its second
chunk and run again as attempt 2 (a Spot reclaim and Batch's retry). The reduce job runs last, `ftm batch status`
reattaches and reports the published run, and every published table must equal `ftm run --executor local` of the
same quarter, row for row."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import boto3, pyarrow as pa, pytest
from conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
Q, RUN = '2016Q2', 'b1'
# six firms, two per array child, one per chunk: three children of two chunks each
SETTINGS = {'FTM_SAMPLE__N_FIRMS': '6', 'FTM_EXECUTOR__FIRMS_PER_BATCH': '2', 'FTM_FIRMS_PER_CHECKPOINT': '1', 'FTM_EXECUTOR__WORKERS': '1'}


@pytest.fixture(scope='module')
def aws(tmp_path_factory):
    "A moto server with the stack Terraform applies (storage, ECR, Batch), and the environment that reaches it."
    tf_stack = pytest.importorskip('tf_stack')
    if (why := tf_stack.terraform_available()) is not None: pytest.skip(why)
    from moto.server import ThreadedMotoServer
    port = free_port()
    srv = ThreadedMotoServer(ip_address='127.0.0.1', port=port, verbose=False)
    srv.start()
    endpoint = f'http://127.0.0.1:{port}'
    # the deployment's AWS: every client of ftm, boto3 and pyiceberg finds moto through AWS_ENDPOINT_URL
    env = {k: v for k, v in os.environ.items() if not k.startswith(('AWS_', 'FTM_', 'LLM_'))}
    env.update(AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_DEFAULT_REGION='us-east-1',
               AWS_REGION='us-east-1', AWS_ENDPOINT_URL=endpoint, AWS_EC2_METADATA_DISABLED='true', HF_HUB_OFFLINE='1')
    mp = pytest.MonkeyPatch()
    for k in [k for k in os.environ if k.startswith(('AWS_', 'FTM_', 'LLM_'))]: mp.delenv(k)
    for k, v in env.items():
        if k.startswith('AWS_'): mp.setenv(k, v)            # this process reads the S3 lake too
    try:
        out = tf_stack.apply_stack(tmp_path_factory.mktemp('tf'), endpoint, extra_vars={'map_on_gpu': False})
        # moto enforces the lake bucket's TLS-only policy, and its endpoint here is plain http: lift the policy after
        # checking that Terraform put it there (on AWS every client of ftm uses https)
        s3 = boto3.client('s3', endpoint_url=endpoint, region_name='us-east-1', aws_access_key_id='testing',
                          aws_secret_access_key='testing')
        assert 'aws:SecureTransport' in s3.get_bucket_policy(Bucket=out['lake_bucket'])['Policy']
        s3.delete_bucket_policy(Bucket=out['lake_bucket'])
        yield endpoint, env, out
    finally:
        srv.stop()
        mp.undo()


def ftm(*args, env, timeout=600, check=True):
    p = subprocess.run([str(BIN/'ftm'), *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    if check and p.returncode != 0: pytest.fail(f"ftm {' '.join(args)} exited {p.returncode}\n{p.stdout[-4000:]}\n{p.stderr[-4000:]}")
    return p


class PlayBatch:
    "Plays the AWS Batch service for jobs moto accepted: what it would run for a job, and in which environment."
    def __init__(self, env: dict):
        self.env, self.batch = env, boto3.client('batch', endpoint_url=env['AWS_ENDPOINT_URL'], region_name='us-east-1')

    def job(self, job_id: str) -> dict: return self.batch.describe_jobs(jobs=[job_id])['jobs'][0]

    def container(self, job_id: str, index: int | None, attempt: int) -> tuple[list[str], dict]:
        "The command (Ref:: filled from the job's parameters) and environment of one attempt of a job or array child."
        j = self.job(job_id)
        jd = self.batch.describe_job_definitions(jobDefinitions=[j['jobDefinition']])['jobDefinitions'][0]
        params = {**jd.get('parameters', {}), **j.get('parameters', {})}
        cmd = []
        for a in jd['containerProperties']['command']:
            for k, v in params.items(): a = a.replace(f'Ref::{k}', v)
            cmd.append(a)
        assert not [a for a in cmd if 'Ref::' in a], f"a Ref:: parameter has no value: {cmd}"
        env = {**self.env, **{e['name']: e['value'] for e in jd['containerProperties'].get('environment', [])}}
        env.update(AWS_BATCH_JOB_ID=f"{job_id}:{index}" if index is not None else job_id, AWS_BATCH_JOB_ATTEMPT=str(attempt),
                   AWS_BATCH_CE_NAME='emulated', AWS_BATCH_JQ_NAME=j['jobQueue'].rsplit('/', 1)[-1])
        if index is not None: env['AWS_BATCH_JOB_ARRAY_INDEX'] = str(index)
        assert cmd[0] == 'ftm', cmd            # the image has ftm on its PATH; here, the venv's
        return [str(BIN/'ftm'), *cmd[1:]], env

    def start(self, job_id, index, attempt):
        cmd, env = self.container(job_id, index, attempt)
        return subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def events(stdout: str) -> list[dict]:
    return [json.loads(l) for l in stdout.splitlines() if l.startswith('{')]


def comparable(t: pa.Table) -> list[dict]:
    "Every row, every column, in a fixed order (both runs have the same run ids, so nothing differs by construction)."
    return sorted(t.to_pylist(), key=lambda r: json.dumps(r, sort_keys=True, default=str))


def test_batch_run_equals_local(aws, tmp_path):
    endpoint, env, out = aws
    lake_uri = out['lake_uri']
    sub_env = {**env, **SETTINGS, **{k: str(v) for k, v in out['ftm_env'].items()}}   # what `terraform output ftm_env` says to export
    assert sub_env['FTM_LAKE'] == lake_uri and sub_env['FTM_BATCH__JOB_QUEUE'] == out['batch_map_job_queue']

    # 1. submit: plans the quarter in the S3 lake (sample ingest, manifest, settings), submits map array + reduce
    p = ftm('run', '--quarter', Q, '--source', 'sample', '--executor', 'batch', '--detach', '--run-id', RUN, '--quiet', env=sub_env)
    assert f'ftm batch status {RUN}' in p.stdout, p.stdout
    from ftm.lake import Lake
    from ftm.config import load_config
    lake = Lake.from_config(load_config(env=sub_env))
    sub, manifest = lake.checkpoint(Q, RUN, 'batch'), lake.checkpoint(Q, RUN, 'manifest')
    assert sub['size'] == len(manifest['batches']) == 3 and [len(b) for b in manifest['batches']] == [2, 2, 2]
    batch = PlayBatch(env)
    mj, rj = batch.job(sub['jobs']['map']), batch.job(sub['jobs']['reduce'])
    assert mj['jobQueue'].endswith('/' + out['batch_map_job_queue']) and mj['arrayProperties']['size'] == 3
    assert rj['jobQueue'].endswith('/' + out['batch_reduce_job_queue']) and rj['dependsOn'] == [{'jobId': mj['jobId']}]
    assert f"/{out['batch_map_job_definition']}:" in mj['jobDefinition'] and f"/{out['batch_reduce_job_definition']}:" in rj['jobDefinition']

    # 2. the array children; child 1 loses its host in the middle of chunk 1, after chunk 0's checkpoint
    from ftm.mapstep import chunk_key
    ck = lambda b, c: lake.checkpoint_path(Q, RUN, chunk_key(b, c))
    for i in (0, 2):
        c = batch.start(mj['jobId'], i, 1)
        so, se = c.communicate(timeout=600)
        assert c.returncode == 0, (so, se)
        ev = events(so)
        assert ev[0]['event'] == 'start' and ev[0]['index'] == i and ev[-1]['event'] == 'done' and ev[-1]['firms'] == 2
    c = batch.start(mj['jobId'], 1, 1)
    t0 = time.time()
    while not lake.exists(ck(1, 0)):
        assert c.poll() is None, f"child 1 ended before its first checkpoint: {c.communicate()}"
        assert time.time() - t0 < 300, "child 1 wrote no checkpoint in 5 minutes"
        time.sleep(0.05)
    c.send_signal(signal.SIGKILL)                  # a Spot reclaim gives no time to clean up
    so, _ = c.communicate(timeout=60)
    assert c.returncode == -signal.SIGKILL and not lake.exists(ck(1, 1)), "the kill did not land mid-chunk"
    assert [e['event'] for e in events(so)][-1] == 'chunk'    # chunk 0 was logged, chunk 1 never finished
    c = batch.start(mj['jobId'], 1, 2)             # Batch's retry: attempt 2 on another host
    so, se = c.communicate(timeout=600)
    assert c.returncode == 0, (so, se)
    ev = events(so)
    assert ev[0]['attempt'] == 2 and ev[0]['resumed'] and ev[1]['chunks_done'] == 1
    assert [e['chunk'] for e in ev if e['event'] == 'chunk'] == [1] and ev[-1]['chunks_skipped'] == 1

    # 3. the reduce job, then reattach from the submitting side
    c = batch.start(rj['jobId'], None, 1)
    so, se = c.communicate(timeout=600)
    assert c.returncode == 0, (so, se)
    assert events(so)[-1]['event'] == 'done' and events(so)[-1]['reduce_run'] == f'{RUN}-reduce'
    st = ftm('batch', 'status', RUN, '--quarter', Q, '--quiet', env=sub_env)
    assert f'{RUN}-reduce' in st.stdout and '6 firms' in st.stdout, st.stdout

    # no firm twice, despite the killed child
    s3lake = Lake.from_config(load_config(env=sub_env))
    topics = s3lake.read('topics', Q)
    sentences = s3lake.read('sentences', Q)
    assert len(set(topics['firm_id'].to_pylist())) == 6
    assert sentences.num_rows == len(set(sentences['sentence_id'].to_pylist()))
    assert topics.num_rows == len(set(topics['topic_id'].to_pylist()))

    # 4. the same quarter with the local executor, into a local lake: the same tables, row for row
    loc_env = {**{k: v for k, v in env.items() if k != 'AWS_ENDPOINT_URL'}, **SETTINGS}
    ftm('run', '--quarter', Q, '--source', 'sample', '--executor', 'local', '--run-id', RUN, '--quiet',
        '--lake', str(tmp_path/'lake'), env=loc_env)
    local = Lake(str(tmp_path/'lake'))
    info_b, info_l = s3lake.run(f'{RUN}-reduce', Q), local.run(f'{RUN}-reduce', Q)
    assert set(info_b.tables) == set(info_l.tables) and len(info_b.tables) >= 9
    for t in sorted(info_b.tables):
        a, b = s3lake.read(t, Q), local.read(t, Q)
        assert a.num_rows == b.num_rows > 0 or t == 'theme_links', (t, a.num_rows, b.num_rows)
        ra, rb = comparable(a), comparable(b)
        diff = sorted({r.get('firm_id') for r in ra if r not in rb} | {r.get('firm_id') for r in rb if r not in ra}, key=str)
        assert ra == rb, f"table {t} differs between the Batch run and the local run (firms {diff})"
