"""Run every notebook (nbdev-test) and the service tests (pytest); end with one `N passed, N failed` line.

Each notebook counts as one test. Notebooks run two at a time (this machine has 2 cores)."""
import os, re, subprocess, sys, time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

root = Path(__file__).resolve().parent.parent
bin_ = Path(sys.executable).parent

def run_nb(nb: Path):
    t0 = time.time()
    p = subprocess.run([str(bin_/'nbdev-test'), str(nb), '--n-workers', '0'], cwd=root,
                       capture_output=True, text=True)
    ok = p.returncode == 0 and 'Success' in p.stdout + p.stderr
    print(f"{'PASS' if ok else 'FAIL'} {nb.relative_to(root)} ({time.time()-t0:.0f}s)", flush=True)
    if not ok: print(p.stdout[-6000:], p.stderr[-6000:], sep='\n', flush=True)
    return ok

def main():
    nbs = sorted(p for p in (root/'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))
    with ThreadPoolExecutor(int(os.environ.get('FTM_TEST_WORKERS', 2))) as ex: res = list(ex.map(run_nb, nbs))
    nb_pass, nb_fail = sum(res), len(res) - sum(res)
    p = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', 'tests'], cwd=root,
                       capture_output=True, text=True)
    print(p.stdout[-20000:], p.stderr[-4000:], sep='\n', flush=True)
    last = (p.stdout.strip().splitlines() or [''])[-1]
    count = lambda w: sum(int(n) for n in re.findall(rf'(\d+) {w}', last))
    py_pass, py_fail = count('passed'), count('failed') + count('error')
    if p.returncode not in (0, 5) and py_fail == 0: py_fail = 1  # pytest itself broke (collection, usage)
    print(f"notebooks: {nb_pass} passed, {nb_fail} failed; pytest: {py_pass} passed, {py_fail} failed")
    print(f"{nb_pass + py_pass} passed, {nb_fail + py_fail} failed")
    sys.exit(1 if nb_fail + py_fail else 0)

if __name__ == '__main__': main()
