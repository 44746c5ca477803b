"""checkov's static analysis of infra/: no failed check, and every skipped one says why, inline in the .tf.

checkov lives in a venv of its own (`make .venv-checkov`, pinned in requirements/checkov.txt): it pins boto3 1.35,
which the project's .venv has moved past. It runs offline (--skip-download: no policy download, no platform)."""
import re, subprocess
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT/'infra'
CHECKOV = ROOT/'.venv-checkov'/'bin'/'checkov'
SKIP = re.compile(r'#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?')


def test_checkov_passes(tmp_path):
    if not CHECKOV.exists(): pytest.skip(f"checkov is not installed: run `make .venv-checkov` (expected {CHECKOV})")
    p = subprocess.run([str(CHECKOV), '-d', 'infra', '--framework', 'terraform', '--skip-download', '--quiet',
                        '--compact'], cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={'PATH': '/usr/bin:/bin', 'HOME': str(tmp_path), 'LANG': 'C.UTF-8'})  # no API key, no proxy: offline
    out = p.stdout + p.stderr
    m = re.search(r'Passed checks: (\d+), Failed checks: (\d+), Skipped checks: (\d+)', out)
    assert m, f"checkov printed no summary (exit {p.returncode}):\n{out[-6000:]}"
    passed, failed, skipped = map(int, m.groups())
    assert failed == 0 and p.returncode == 0, f"checkov flags infra/ (fix it, or skip inline with a reason):\n{out[-8000:]}"
    assert passed > 100, out[-3000:]  # it really looked at the modules
    assert skipped == len(_skips()), (skipped, _skips())


def _skips() -> list[tuple[str, str, str]]:
    "(file, check id, reason) of every inline checkov skip under infra/."
    return [(str(f.relative_to(INFRA)), m.group(1), (m.group(2) or '').strip())
            for f in sorted(INFRA.rglob('*.tf')) for line in f.read_text().splitlines()
            if (m := SKIP.search(line))]


def test_every_skip_is_justified():
    skips = _skips()
    assert skips, "no inline skips found: the pattern or the modules changed"
    for f, check, reason in skips:
        assert len(reason.split()) >= 8, f"{f}: checkov skip {check} needs a reason (#checkov:skip={check}:why)"
