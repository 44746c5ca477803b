"""`runs/explore.ipynb`, the exploration notebook, on a small sample lake (15 firms, 2016Q1 and 2016Q2):

- papermill runs it end to end (with plots), and on a quarter without themes it says so instead of failing;
- the way a person uses it: JupyterLab (headless, this venv's kernel) opened in a headless Chromium, *Run > Run
  All Cells* clicked, and the test waits until the kernel is idle and a plot is rendered. The screenshot is kept
  in `tests/out/explore.png`. Needs Debian's `chromium` and `chromium-driver` and the `selenium` package
  (skipped with a message otherwise); nothing is downloaded.

Building the lake is mostly sentence embedding. The embeddings of the sample sentences are kept between test runs
in `tests/out/embedding-cache` (git-ignored; keyed by content, so a stale entry is only a miss): a fresh machine
embeds once (about a minute), later runs reuse them."""
import hashlib, json, os, secrets, shutil, signal, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NB = ROOT/'runs'/'explore.ipynb'
OUT = ROOT/'tests'/'out'
CACHE = OUT/'embedding-cache'
QUARTERS = ('2016Q1', '2016Q2')
# Debian's packages; TEST_CHROMIUM / TEST_CHROMEDRIVER name others
CHROMIUM = os.environ.get('TEST_CHROMIUM') or shutil.which('chromium') or '/usr/bin/chromium'
CHROMEDRIVER = os.environ.get('TEST_CHROMEDRIVER') or shutil.which('chromedriver') or '/usr/bin/chromedriver'
ENV = {**os.environ, 'HF_HUB_OFFLINE': '1', 'FTM_SAMPLE__N_FIRMS': '15', 'PYTHONWARNINGS': 'ignore'}

def _cache_stamp() -> str:
    "Cached embeddings are reused only with the same embedding code."
    return hashlib.sha1((ROOT/'ftm'/'embed.py').read_bytes()).hexdigest()[:12]

# what `ftm run --quarter Q --source sample --workers 1` does, for both quarters in one process (one start-up)
BUILD = """import sys
from ftm.config import load_config
from ftm.pipeline import run_quarter
for q in sys.argv[2:]:
    print(run_quarter(load_config(quarter=q, source='sample', lake=sys.argv[1], **{'executor.workers': 1}), progress=False).summary())
"""

@pytest.fixture(scope='module')
def lake(tmp_path_factory):
    "Two sample quarters run through the whole pipeline."
    root = tmp_path_factory.mktemp('explore')/'lake'
    emb, stamp = root/'_cache'/'embeddings', _cache_stamp()
    if (CACHE/'stamp').is_file() and (CACHE/'stamp').read_text() == stamp and (CACHE/'embeddings').is_dir():
        shutil.copytree(CACHE/'embeddings', emb)
    p = subprocess.run([sys.executable, '-c', BUILD, str(root), *QUARTERS], env=ENV, capture_output=True, text=True,
                       timeout=300, stdin=subprocess.DEVNULL)
    assert p.returncode == 0, f"building the sample lake failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
    if emb.is_dir():                       # keep the embeddings for the next run of this file
        shutil.rmtree(CACHE, ignore_errors=True)
        shutil.copytree(emb, CACHE/'embeddings')
        (CACHE/'stamp').write_text(stamp)
    return root

def _pngs(nb) -> int:
    return sum('image/png' in o.get('data', {}) for c in nb.cells if c.cell_type == 'code' for o in c.outputs)

def _papermill(tmp_path, lake, quarter):
    import papermill as pm
    return pm.execute_notebook(str(NB), str(tmp_path/f'explore-{quarter}.ipynb'), cwd=str(ROOT), kernel_name='python3',
                               parameters=dict(lake=str(lake), quarter=quarter), progress_bar=False,
                               execution_timeout=120, start_timeout=60)

@pytest.mark.timeout(420)                # a bound; includes building the lake (cold: 1.5-3.5 min on 2 busy cores)
def test_papermill(lake, tmp_path):
    nb = _papermill(tmp_path, lake, '2016Q2')
    assert _pngs(nb) >= 4, f"expected the notebook's plots, got {_pngs(nb)} images"
    outputs = json.dumps([o for c in nb.cells if c.cell_type == 'code' for o in c.outputs])
    assert 'No themes in' not in outputs and 'Traceback' not in outputs, outputs[:2000]

@pytest.mark.timeout(120)
def test_papermill_quarter_without_themes(lake, tmp_path):
    nb = _papermill(tmp_path, lake, '2017Q1')
    text = json.dumps([o for c in nb.cells if c.cell_type == 'code' for o in c.outputs])
    assert 'No themes in 2017Q1' in text and '2016Q1, 2016Q2' in text, text[:2000]
    assert _pngs(nb) == 0

# --- JupyterLab in a headless browser ---

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def _get(url, timeout=5):
    with urllib.request.urlopen(url, timeout=timeout) as r: return json.loads(r.read() or b'null')

@pytest.fixture
def jupyterlab(lake, tmp_path):
    "JupyterLab on a copy of runs/ whose explore.ipynb points at the test lake; yields (base url, token); stops it."
    nbdir = tmp_path/'runs'; nbdir.mkdir()
    nb = json.loads(NB.read_text())
    cell = next(c for c in nb['cells'] if 'parameters' in c['metadata'].get('tags', []))
    cell['source'] = ''.join(cell['source']) + f"\nlake = {str(lake)!r}\nquarter = '2016Q2'"
    (nbdir/'explore.ipynb').write_text(json.dumps(nb, indent=1))
    settings = tmp_path/'lab-settings'/'@jupyterlab'/'apputils-extension'
    settings.mkdir(parents=True)    # no "receive Jupyter news?" toast over the notebook
    (settings/'notification.jupyterlab-settings').write_text(json.dumps({'fetchNews': 'false', 'checkForUpdates': False}))
    port, token = _free_port(), secrets.token_hex(16)
    env = {**ENV, 'JUPYTER_RUNTIME_DIR': str(tmp_path/'jupyter-runtime'), 'JUPYTER_CONFIG_DIR': str(tmp_path/'jupyter-config')}
    log = open(tmp_path/'jupyterlab.log', 'w')
    srv = subprocess.Popen(
        [str(BIN/'jupyter'), 'lab', '--no-browser', '--allow-root', f'--IdentityProvider.token={token}',
         f'--ServerApp.port={port}', '--ServerApp.port_retries=0', '--ServerApp.ip=127.0.0.1',
         f'--ServerApp.root_dir={nbdir}', '--LabApp.news_url=None', '--LabApp.extension_manager=readonly',
         '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate',
         f'--LabApp.user_settings_dir={tmp_path/"lab-settings"}', f'--LabApp.workspaces_dir={tmp_path/"lab-workspaces"}'],
        cwd=nbdir, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    base = f'http://127.0.0.1:{port}'
    try:
        deadline = time.time() + 60
        while True:
            try: _get(f'{base}/api/status?token={token}'); break
            except Exception:
                if srv.poll() is not None or time.time() > deadline:
                    pytest.fail(f"JupyterLab did not start:\n{(tmp_path/'jupyterlab.log').read_text()[-3000:]}")
                time.sleep(0.3)
        yield base, token, tmp_path/'jupyterlab.log'
    finally:
        try:   # a clean stop shuts the kernels down too
            urllib.request.urlopen(urllib.request.Request(f'{base}/api/shutdown?token={token}', method='POST'), timeout=5)
            srv.wait(15)
        except Exception: pass
        if srv.poll() is None:
            os.killpg(srv.pid, signal.SIGKILL); srv.wait(5)
        log.close()

@pytest.fixture
def browser(tmp_path):
    "Headless Chromium driven by selenium; quits even when the test fails."
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu', '--window-size=1400,1000',
              f'--user-data-dir={tmp_path/"chromium"}', '--no-first-run', '--disable-background-networking',
              '--disable-component-update', '--disable-sync', '--disable-extensions'):
        o.add_argument(a)
    # a driver path given: selenium's own manager (which would download a driver) is not used
    drv = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=o)
    drv.set_page_load_timeout(60)
    try: yield drv
    finally: drv.quit()

STATE_JS = """
const cells = Array.from(document.querySelectorAll('.jp-NotebookPanel .jp-CodeCell'));
const ind = document.querySelector('.jp-NotebookPanel .jp-Notebook-ExecutionIndicator');
return {status: ind ? ind.getAttribute('data-status') : null,
        prompts: cells.map(c => ((c.querySelector('.jp-InputPrompt') || {}).textContent || '').trim()),
        imgs: document.querySelectorAll('.jp-OutputArea-output img').length,
        errors: Array.from(document.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]'))
                     .map(e => e.textContent).filter(t => t.includes('Error') || t.includes('Traceback'))};"""

def _no_browser() -> str:
    "Why the browser test cannot run here ('' when it can)."
    if not (Path(CHROMIUM).is_file() and Path(CHROMEDRIVER).is_file()):
        return "Chromium is not installed: apt-get install -y --no-install-recommends chromium chromium-driver"
    try: import selenium  # noqa: F401
    except ImportError: return "selenium is not installed: pip install selenium"
    return ''

@pytest.mark.skipif(bool(_no_browser()), reason=_no_browser() or 'n/a')   # before the lake is built for it
@pytest.mark.timeout(420)                # a bound; includes building the lake when this test runs alone
def test_jupyterlab_run_all(browser, jupyterlab):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    from selenium.common.exceptions import TimeoutException
    base, token, log = jupyterlab
    drv, shot = browser, OUT/'explore.png'
    OUT.mkdir(exist_ok=True); shot.unlink(missing_ok=True)
    state = lambda: drv.execute_script(STATE_JS)
    def kernels_idle():
        ks = _get(f'{base}/api/kernels?token={token}')
        return bool(ks) and all(k['execution_state'] == 'idle' for k in ks)
    step = 'open the notebook'
    try:
        drv.get(f'{base}/lab/tree/explore.ipynb?reset&token={token}')
        step = 'wait for the kernel'
        WebDriverWait(drv, 90, 0.5).until(lambda d: state()['status'] == 'idle' and kernels_idle())
        n_code = len(state()['prompts'])
        assert n_code >= 8, f"the notebook shows {n_code} code cells"
        step = 'click Run > Run All Cells'
        drv.find_element(By.XPATH, "//div[contains(@class, 'lm-MenuBar-itemLabel') and text()='Run']").click()
        WebDriverWait(drv, 10).until(lambda d: d.find_elements(By.CSS_SELECTOR, 'li[data-command="runmenu:run-all"]'))[0].click()
        step = 'wait for every cell to run'
        def done(d):
            s = state()
            if s['errors']: raise AssertionError(f"a cell failed in JupyterLab:\n{s['errors'][0][-2000:]}")
            return (s['status'] == 'idle' and kernels_idle() and s['imgs'] > 0
                    and all(p.startswith('[') and p not in ('[ ]:', '[*]:') for p in s['prompts']))
        WebDriverWait(drv, 150, 0.5).until(done)
        s = state()
        assert s['imgs'] >= 4, s
        step = 'take the screenshot'
        tab = drv.find_elements(By.CSS_SELECTOR, '.jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current')
        if tab: tab[0].click(); time.sleep(1)            # fold the file browser away: a wider notebook
        img = drv.find_elements(By.CSS_SELECTOR, '.jp-OutputArea-output img')[0]   # the themes bar chart
        scroll = "arguments[0].scrollIntoView({block: 'center'})"
        in_view = ("const r = arguments[0].getBoundingClientRect();"
                   "return arguments[0].naturalWidth > 0 && r.height > 100 && r.top >= 0 && r.bottom <= innerHeight")
        for _ in range(20):            # the notebook re-measures its cells for a moment after a resize: settle first
            drv.execute_script(scroll, img); time.sleep(0.7)
            if drv.execute_script(in_view, img):
                drv.save_screenshot(str(shot))
                if drv.execute_script(in_view, img): break
        else: raise AssertionError("the plot could not be scrolled into view")
        print(f"screenshot: {shot}")
    except (TimeoutException, AssertionError) as e:
        drv.save_screenshot(str(OUT/'explore-failed.png'))
        pytest.fail(f"JupyterLab: could not {step} ({type(e).__name__}: {e}); state {state()}; screenshot "
                    f"{OUT/'explore-failed.png'}; server log:\n{log.read_text()[-3000:]}")
    assert shot.stat().st_size > 10_000
