"""Run every notebook (nbdev-test) and the service tests (pytest); end with one `N passed, N failed` line.

Each notebook counts as one test. Notebooks run two at a time (this machine has 2 cores), the infra tests beside them."""
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

# Tests that mostly wait (terraform applies poll moto; checkov and hadolint are short) run beside the notebooks,
# which keep both cores busy; everything else runs after them.
BESIDE = ['tests/test_terraform.py', 'tests/test_infra_checkov.py', 'tests/test_infra_contract.py', 'tests/test_containers.py']

def run_pytest(args: list[str]) -> tuple[int, int]:
    "Run pytest on `args`; print its output; return (passed, failed)."
    t0 = time.time()
    p = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '--durations=5', *args], cwd=root,
                       capture_output=True, text=True)
    print(p.stdout[-20000:], p.stderr[-4000:], f"(pytest {' '.join(args)}: {time.time() - t0:.0f}s)", sep='\n', flush=True)
    last = (p.stdout.strip().splitlines() or [''])[-1]
    count = lambda w: sum(int(n) for n in re.findall(rf'(\d+) {w}', last))
    passed, failed = count('passed'), count('failed') + count('error')
    if p.returncode not in (0, 5) and failed == 0: failed = 1  # pytest itself broke (collection, usage)
    return passed, failed

def main():
    nbs = sorted(p for p in (root/'nbs').glob('*.ipynb') if not p.name.startswith(('_', '.')))
    beside = [t for t in BESIDE if (root/t).exists()]
    with ThreadPoolExecutor(1) as bg:
        side = bg.submit(run_pytest, beside) if beside else None
        with ThreadPoolExecutor(int(os.environ.get('TEST_WORKERS', 2))) as ex: res = list(ex.map(run_nb, nbs))
        side_pass, side_fail = side.result() if side else (0, 0)
    nb_pass, nb_fail = sum(res), len(res) - sum(res)
    rest_pass, rest_fail = run_pytest(['tests', *[f'--ignore={t}' for t in beside]])
    py_pass, py_fail = side_pass + rest_pass, side_fail + rest_fail
    print(f"notebooks: {nb_pass} passed, {nb_fail} failed; pytest: {py_pass} passed, {py_fail} failed")
    print(f"{nb_pass + py_pass} passed, {nb_fail + py_fail} failed")
    sys.exit(1 if nb_fail + py_fail else 0)

if __name__ == '__main__': main()
