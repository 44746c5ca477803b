"Bad inputs to the CLI (issue #12, items 2-3): one message, exit status 2, nothing written."
import os, subprocess, sys
from pathlib import Path
import pytest

FTM = str(Path(sys.executable).parent / 'ftm')

def ftm(tmp_path, *args):
    env = {k: v for k, v in os.environ.items() if not k.startswith('FTM_')} | {'HF_HUB_OFFLINE': '1'}
    return subprocess.run([FTM, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)

@pytest.mark.parametrize('args, says', [
    (['--lake', ''], 'the lake is empty'),
    (['--lake', '   '], 'the lake is empty'),
    (['--run-id', 'abc\n'], "invalid run id 'abc\\n'"),
    (['--run-id', 'r' * 122], 'use 1-121 letters'),
    (['--quarter', '9999Q4'], 'use 0001Q1 to 9999Q3'),
    (['--quarter', '0000Q1'], 'out of range'),
])
def test_refused_up_front(tmp_path, args, says):
    kw = dict(zip(args[::2], args[1::2]))
    argv = ['ingest', '--quarter', kw.pop('--quarter', '2016Q2'), '--lake', kw.pop('--lake', str(tmp_path / 'lake'))]
    for k, v in kw.items(): argv += [k, v]
    r = ftm(tmp_path, *argv)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert says in r.stderr + r.stdout and 'Traceback' not in r.stderr
    assert list(tmp_path.iterdir()) == [], list(tmp_path.rglob('*'))      # nothing written, not even the lake

def test_blank_text_publishes_nothing(tmp_path):
    "Every sentence blank: one message that no call kept a sentence, and no lake (once an empty ingest run was published)."
    (tmp_path / 'calls.csv').write_text('transcript_id,firm_id,call_date,text\nT1,F1,2016-04-28,"   "\nT2,F2,2016-05-02,"\t "\n')
    r = ftm(tmp_path, 'ingest', '--quarter', '2016Q2', '--source', 'csv:calls.csv', '--lake', 'lake')
    assert r.returncode == 2 and 'no call of 2016Q2' in r.stderr and 'allow_empty' not in r.stderr + r.stdout, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ['calls.csv']

@pytest.mark.parametrize('make, says', [
    (lambda d: (d / 'conf').mkdir() or d / 'conf', 'is a folder'),
    (lambda d: (d / 'c.yaml').write_text('- naming\n') and d / 'c.yaml', 'holds a list'),
    (lambda d: (d / 'c.yaml').write_text('wrds:\n  password: "pw-Zk81\n') and d / 'c.yaml', 'not valid YAML'),
])
def test_bad_config_file(tmp_path, make, says):
    "A config that is a folder, a list, or broken YAML: one line (the broken line is not quoted: it may hold a secret)."
    (work := tmp_path / 'w').mkdir()
    conf = make(tmp_path)
    r = ftm(work, 'ingest', '--quarter', '2016Q2', '--config', str(conf), '--lake', 'lake')
    assert r.returncode == 2 and says in r.stderr and 'Traceback' not in r.stderr, (r.returncode, r.stderr)
    assert 'pw-Zk81' not in r.stderr + r.stdout and list(work.iterdir()) == []

def test_lake_is_a_file(tmp_path):
    (tmp_path / 'afile').write_text('not a lake')
    r = ftm(tmp_path, 'ingest', '--quarter', '2016Q2', '--lake', 'afile', '--quiet')
    assert r.returncode == 2 and 'is a file, not a folder' in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert (tmp_path / 'afile').read_text() == 'not a lake' and [p.name for p in tmp_path.iterdir()] == ['afile']

def _closed_port() -> int:
    import socket
    s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()
    return port

@pytest.mark.parametrize('creds, endpoint, says', [
    (False, None, 'no AWS credentials'),
    (True, 'closed', 'cannot reach the S3 endpoint'),
])
def test_unreachable_s3_lake_says_why_in_seconds(tmp_path, creds, endpoint, says):
    "An s3:// lake without credentials, or behind an endpoint nobody answers: which of the two, within seconds (was an OSError after 12 s)."
    import time
    env = {k: v for k, v in os.environ.items() if not k.startswith(('FTM_', 'AWS_'))} | {'HF_HUB_OFFLINE': '1', 'AWS_EC2_METADATA_DISABLED': 'true',
           'AWS_CONFIG_FILE': str(tmp_path / 'none'), 'AWS_SHARED_CREDENTIALS_FILE': str(tmp_path / 'none')}
    if creds: env |= {'AWS_ACCESS_KEY_ID': 'AKIAEXAMPLE', 'AWS_SECRET_ACCESS_KEY': 'x' * 20}
    if endpoint: env['FTM_LAKE_ENDPOINT_URL'] = f"http://127.0.0.1:{_closed_port()}"
    for args in (['lake', 'ls'], ['ingest', '--quarter', '2016Q2', '--quiet']):
        t0 = time.monotonic()
        r = subprocess.run([FTM, *args, '--lake', 's3://ftm-test-bucket/lake'], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 2 and says in r.stderr and 'Traceback' not in r.stderr, (args, r.stderr)
        assert time.monotonic() - t0 < 30, time.monotonic() - t0
