"""`ftm run` killed with SIGKILL mid-map and resumed with the same run id publishes exactly what an
uninterrupted run publishes (and topics are deterministic across processes). The kill point is fixed, not raced:
the map step's test hook (`FTMTEST_CRASH_AFTER_CHUNKS`, nbs/16_mapstep) kills the process right after its k-th
chunk checkpoint."""
import os, signal, subprocess, sys
from pathlib import Path
import pyarrow as pa
import pytest
from ftm.lake import Lake
from ftm.mapstep import CRASH_VAR

FTM = str(Path(sys.executable).parent/'ftm')
ENV = {**os.environ, 'FTM_SAMPLE__N_FIRMS': '12', 'FTM_FIRMS_PER_CHECKPOINT': '3', 'HF_HUB_OFFLINE': '1'}
TABLES = {'sentences': 'sentence_id', 'topics': 'topic_id', 'themes': 'theme_id', 'theme_contributions': 'topic_id'}

def ftm_run(lake, run_id, env=None, **kw):
    args = [FTM, 'run', '--quarter', '2016Q2', '--source', 'sample', '--lake', str(lake), '--run-id', run_id,
            '--workers', '1', '--quiet']
    return subprocess.Popen(args, env={**ENV, **(env or {})}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            stdin=subprocess.DEVNULL, start_new_session=True, **kw)

def published(lake):
    db = Lake(str(lake))
    return {t: db.read(t, '2016Q2').sort_by(k) for t, k in TABLES.items()}

@pytest.mark.timeout(900)
def test_kill9_then_resume_matches_uninterrupted(tmp_path):
    full = ftm_run(tmp_path/'a', 'full')
    out, _ = full.communicate(timeout=600)
    assert full.returncode == 0, out
    ref = published(tmp_path/'a')
    assert ref['topics'].num_rows > 12 and ref['themes'].num_rows > 0

    # 12 firms in chunks of 3, one worker: one batch of four chunks; the process kills itself after the second
    p = ftm_run(tmp_path/'b', 'r1', env={CRASH_VAR: '2'})
    try: out, _ = p.communicate(timeout=600)
    finally:
        try: os.killpg(p.pid, signal.SIGKILL)                        # anything it left behind
        except ProcessLookupError: pass
    assert p.returncode == -signal.SIGKILL, (p.returncode, out)
    cps = tmp_path/'b'/'_staging'/'quarter=2016Q2'/'r1'/'checkpoints'
    done = sorted(x.name for x in cps.glob('map-*.json'))
    assert done == ['map-b0000-c0000.json', 'map-b0000-c0001.json'], done   # killed mid-map, after chunk 2 of 4
    assert Lake(str(tmp_path/'b')).latest_run('2016Q2', 'topics') is None   # nothing of the run is visible

    r = ftm_run(tmp_path/'b', 'r1')
    out, _ = r.communicate(timeout=600)
    assert r.returncode == 0, out
    got = published(tmp_path/'b')
    for t in TABLES:
        assert got[t].equals(ref[t]), f"{t} differs after resume"
    # running a completed run id again is refused, not silently redone
    again = ftm_run(tmp_path/'b', 'r1')
    out, _ = again.communicate(timeout=300)
    assert again.returncode == 2 and 'already complete' in out
