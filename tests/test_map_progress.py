"""Progress of `ftm run` in a log (stderr not a terminal): the map step reports over firms with a rate; `--quiet`
prints nothing on stderr at all (the workers' model loading and naming included)."""
import os, re, subprocess, sys
from pathlib import Path
import pytest

FTM = str(Path(sys.executable).parent/'ftm')
ENV = {**os.environ, 'FTM_SAMPLE__N_FIRMS': '6', 'FTM_FIRMS_PER_CHECKPOINT': '3', 'HF_HUB_OFFLINE': '1'}

def ftm_run(lake, workers: int, quiet: bool) -> str:
    args = [FTM, 'run', '--quarter', '2016Q2', '--source', 'sample', '--lake', str(lake), '--run-id', 'r1',
            '--workers', str(workers)] + (['--quiet'] if quiet else [])
    p = subprocess.run(args, env=ENV, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr
    return p.stderr

@pytest.mark.timeout(300)
@pytest.mark.parametrize('workers', [1, 2])
def test_map_progress_in_a_log(tmp_path, workers):
    err = ftm_run(tmp_path, workers, quiet=False)
    assert '\r' not in err and '%|' not in err, err                      # no bars in a log
    assert re.search(r'^map: 6/6 firm \(100%\), [\d.]+ firm/s, (\d+h\d+m|(\d+m)?\d+s) elapsed', err, re.M), err

@pytest.mark.timeout(300)
def test_quiet_prints_nothing_on_stderr(tmp_path):
    err = ftm_run(tmp_path, 2, quiet=True)
    assert [l for l in err.splitlines() if 'warn' not in l.lower()] == [], err
