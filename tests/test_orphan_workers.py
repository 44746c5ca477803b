"""`ftm run` killed alone (SIGKILL to the main process only, not its group): its worker processes and the
multiprocessing resource tracker exit within seconds, and nothing more is written to the abandoned run."""
import os, signal, subprocess, sys, time
from pathlib import Path
import pytest

psutil = pytest.importorskip('psutil')
FTM = str(Path(sys.executable).parent/'ftm')
ENV = {**os.environ, 'FTM_SAMPLE__N_FIRMS': '12', 'FTM_FIRMS_PER_CHECKPOINT': '3', 'HF_HUB_OFFLINE': '1'}

def listing(d: Path) -> dict:
    "Every file under `d` with its size and modification time."
    out = {}
    for p in d.rglob('*'):
        try:
            if p.is_file(): st = p.stat(); out[str(p.relative_to(d))] = (st.st_size, st.st_mtime_ns)
        except FileNotFoundError: pass
    return out

def alive(procs) -> list:
    out = []
    for c in procs:
        try:
            if c.is_running() and c.status() != psutil.STATUS_ZOMBIE: out.append(c)
        except psutil.NoSuchProcess: pass
    return out

@pytest.mark.timeout(180)
def test_workers_exit_when_main_process_is_killed(tmp_path):
    args = [FTM, 'run', '--quarter', '2016Q2', '--source', 'sample', '--lake', str(tmp_path), '--run-id', 'r1',
            '--workers', '2', '--quiet']
    p = subprocess.Popen(args, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         stdin=subprocess.DEVNULL, start_new_session=True)
    main = psutil.Process(p.pid)
    try:
        deadline, workers = time.time() + 120, []
        while time.time() < deadline and p.poll() is None:
            kids = main.children(recursive=True)
            workers = [c for c in kids if 'spawn_main' in ' '.join(c.cmdline())]
            if len(workers) >= 2: break
            time.sleep(0.1)
        assert len(workers) >= 2, "no worker processes seen"
        time.sleep(3)                                   # the workers are loading the model or embedding
        assert p.poll() is None, "the run finished before it could be killed"
        kids = main.children(recursive=True)            # the workers and the resource tracker
        assert any('resource_tracker' in ' '.join(c.cmdline()) for c in kids), [c.cmdline() for c in kids]
        os.kill(p.pid, signal.SIGKILL)                  # the main process only: the workers are not signalled
        p.wait()
        t_kill = time.time()
        staging = tmp_path/'_staging'
        time.sleep(1)
        before = listing(staging)
        while time.time() < t_kill + 10 and alive(kids): time.sleep(0.2)
        left = alive(kids)
        assert not left, f"still running {time.time() - t_kill:.0f}s after the main process died: {[c.cmdline() for c in left]}"
        time.sleep(max(0, t_kill + 10 - time.time()))
        assert listing(staging) == before, "the abandoned run was written to after its main process died"
    finally:
        for c in [main] + (kids if 'kids' in locals() else []):
            try: c.kill()
            except psutil.Error: pass
