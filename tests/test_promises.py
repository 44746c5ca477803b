"""What ftm promises (README, "What ftm promises"), each tried the way a user would break it (issue #12 items 4 and 6):
readers see one run across tables while a publish is cut short or two runs race, a resume with other settings is
refused, and no secret reaches an output or a file of a run."""
import json, os, socket, subprocess, sys
from pathlib import Path
import pyarrow as pa
import pytest
from ftm.lake import Lake
import ftm.lake.lake as lakemod

FTM = str(Path(sys.executable).parent / 'ftm')

def env(**kw):
    base = {k: v for k, v in os.environ.items() if not k.startswith(('FTM_', 'LLM_'))}
    return base | {'HF_HUB_OFFLINE': '1', 'FTM_SAMPLE__N_FIRMS': '4'} | kw

def ftm(*args, cwd, **kw):
    return subprocess.run([FTM, *args], cwd=cwd, env=env(**kw), capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)

def run_args(lake, run_id): return ['run', '--quarter', '2016Q2', '--lake', str(lake), '--workers', '1', '--run-id', run_id]

def consistent(lake: Lake, q='2016Q2'):
    "The tables readers see come from the visible run alone, and reference each other."
    vis = lake.visible_run(q)
    for t in ('topics', 'themes', 'sentences', 'transcripts', 'theme_contributions'):
        assert lake.read(t, q).equals(lake.read(t, q, run_id=vis.run_id)), f"{t} is not the visible run's"
    topics, themes = lake.read('topics', q), lake.read('themes', q)
    assert set(x for x in topics['theme_id'].to_pylist() if x) <= set(themes['theme_id'].to_pylist())
    assert set(lake.read('sentences', q)['topic_id'].to_pylist()) <= set(topics['topic_id'].to_pylist()) | {None}
    assert set(lake.read('sentences', q)['transcript_id'].to_pylist()) <= set(lake.read('transcripts', q)['transcript_id'].to_pylist())
    return vis

def themes_rows(tag, k):
    return [dict(theme_id=f"th{j}", quarter='2016Q2', name=tag, description=None, keywords=['x'], n_topics=1, n_firms=1,
                 n_sentences=1, naming_method='keywords', naming_model=None, prompt_version=None) for j in range(k)]

def contrib_rows(tag, k):
    return [dict(theme_id=f"th{j}", topic_id=f"tp{j}", firm_id=tag, quarter='2016Q2', similarity=1.0, n_sentences=1) for j in range(k)]

def test_publish_cut_short_shows_the_old_run(tmp_path, monkeypatch):
    "A publish that dies after committing some of its tables (a kill during reduce) leaves readers on the previous run."
    lake = Lake(str(tmp_path / 'lake'))
    w = lake.start_run('2016Q2', kind='reduce', run_id='old')
    w.write('themes', themes_rows('old', 3)); w.write('theme_contributions', contrib_rows('old', 3))
    w.publish()
    new = lake.start_run('2016Q2', kind='reduce', run_id='new')
    new.write('themes', themes_rows('new', 5)); new.write('theme_contributions', contrib_rows('new', 5))
    real, done = lakemod._overwrite, []
    def dies_after_one(lake_, name, *a, **kw):
        if done: raise KeyboardInterrupt("killed")       # the process dies between two table commits
        done.append(name); return real(lake_, name, *a, **kw)
    monkeypatch.setattr(lakemod, '_overwrite', dies_after_one)
    with pytest.raises(KeyboardInterrupt): new.publish()
    monkeypatch.setattr(lakemod, '_overwrite', real)
    assert len(done) == 1                                  # one table of the new run is committed in Iceberg ...
    fresh = Lake(str(tmp_path / 'lake'))
    assert fresh.visible_run('2016Q2').run_id == 'old'     # ... but no reader sees it
    assert set(fresh.read('themes', '2016Q2')['name'].to_pylist()) == {'old'} == set(fresh.read('theme_contributions', '2016Q2')['firm_id'].to_pylist())
    con = fresh.connect()
    assert con.sql('select distinct name from themes').fetchall() == [('old',)]
    assert con.sql('select distinct firm_id from theme_contributions').fetchall() == [('old',)]

@pytest.mark.timeout(900)
def test_two_runs_of_one_quarter_at_once(tmp_path):
    "Two `ftm run`s of one quarter started together: every table readers see is from the one that published last."
    procs = [subprocess.Popen([FTM, *run_args(tmp_path / 'lake', r), '--quiet'], cwd=tmp_path, env=env(), text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL) for r in ('a', 'b')]
    outs = [p.communicate(timeout=800)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    lake = Lake(str(tmp_path / 'lake'))
    assert {r.run_id for r in lake.runs('2016Q2')} >= {'a-reduce', 'b-reduce'}
    vis = consistent(lake)
    tr = vis.meta['transcripts_run']
    assert tr == vis.run_id.replace('-reduce', '-ingest')  # its own transcripts, not the other run's

@pytest.mark.timeout(900)
def test_resume_with_other_settings_is_refused(tmp_path):
    "A run planned with one min_cluster_size and resumed with another: refused, naming the setting; nothing written."
    from ftm.config import load_config
    from ftm.pipeline import plan_quarter
    cfg = load_config(env=env(), quarter='2016Q2', lake=str(tmp_path / 'lake'), run_id='r1')
    plan_quarter(cfg, Lake.from_config(cfg), 'r1', progress=False)        # what a run killed after planning leaves
    before = sorted((str(p), p.stat().st_mtime_ns) for p in (tmp_path / 'lake').rglob('*') if p.is_file())
    r = ftm(*run_args(tmp_path / 'lake', 'r1'), cwd=tmp_path, FTM_TOPICS__MIN_CLUSTER_SIZE='9')
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert 'topics.min_cluster_size: 6 -> 9' in r.stderr and 'Traceback' not in r.stderr, r.stderr
    after = sorted((str(p), p.stat().st_mtime_ns) for p in (tmp_path / 'lake').rglob('*') if p.is_file())
    assert after == before
    # settings that only change how it runs may differ
    r = ftm(*run_args(tmp_path / 'lake', 'r1'), '--quiet', cwd=tmp_path, FTM_EMBED__BATCH_SIZE='64')
    assert r.returncode == 0, r.stdout + r.stderr
    consistent(Lake(str(tmp_path / 'lake')))

SECRETS = {'wrds': 'pw-WRDS-7Qx9', 'key': 'sk-KEY-3Lm8', 'url': 'pw-URL-5Tz2', 'typo': 'pw-TYPO-1Hb4', 'cat': 'pw-CAT-9Kd6'}

def closed_port() -> int:
    s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()
    return port

@pytest.mark.timeout(900)
def test_no_secret_in_any_output_or_file(tmp_path):
    """Plant secrets everywhere a user puts them (WRDS password, API key, a password inside the LLM's URL, a misspelled
    password, a numeric one), run ftm with its LLM down, and grep every output and every file of the lake."""
    url = f"http://ftm:{SECRETS['url']}@127.0.0.1:{closed_port()}/v1"
    planted = dict(FTM_WRDS__PASSWORD=SECRETS['wrds'], LLM_API_KEY=SECRETS['key'], LLM_BASE_URL=url, LLM_MODEL='m',
                   FTM_NAMING__METHOD='llm')
    outputs = []
    r = ftm(*run_args(tmp_path / 'lake', 'sec'), cwd=tmp_path, **planted)
    outputs.append(r.stdout + r.stderr)
    assert r.returncode == 3, r.stdout + r.stderr             # published, but every name fell back: status 3 says so
    assert 'fell back to keywords' in r.stdout and 'connection refused' in r.stdout, r.stdout
    assert 'http://ftm:***@127.0.0.1' in r.stdout            # the config print-out masks the URL's password
    outputs.append((c := ftm('config', cwd=tmp_path, **planted)).stdout + c.stderr)
    assert c.returncode == 0
    for bad in [dict(FTM_WRDS__PASWORD=SECRETS['typo']), dict(FTM_PASWORD=SECRETS['typo'])]:
        outputs.append((b := ftm('config', cwd=tmp_path, **bad)).stdout + b.stderr)
        assert b.returncode == 2 and 'value not shown' in b.stderr, b.stderr
    (tmp_path / 'c.toml').write_text(f"[wrds]\npassword = 81818181\n[naming]\napi_key = ['{SECRETS['key']}']\n")
    outputs.append((t := ftm('config', '--config', 'c.toml', cwd=tmp_path)).stdout + t.stderr)
    assert t.returncode == 2 and 'wrds.password' in t.stderr and 'naming.api_key' in t.stderr
    (tmp_path / 'c.yaml').write_text(f"wrds:\n  password: \"{SECRETS['typo']}\n")
    outputs.append((y := ftm('config', '--config', 'c.yaml', cwd=tmp_path)).stdout + y.stderr)
    assert y.returncode == 2
    # a bug's traceback masks URL passwords too
    r = ftm('lake', 'ls', '--lake', str(tmp_path / 'lake'), cwd=tmp_path,
            FTM_CATALOG__URI=f"postgresql+psycopg2://ftm:{SECRETS['cat']}@127.0.0.1:{closed_port()}/cat", FTM_CATALOG__KIND='sql')
    outputs.append(r.stdout + r.stderr)
    assert r.returncode in (1, 2), r.stderr
    everything = '\n'.join(outputs)
    files = [p for p in (tmp_path / 'lake').rglob('*') if p.is_file()]
    assert len(files) > 20
    blob = b'\n'.join(p.read_bytes() for p in files)
    for name, s in SECRETS.items():
        assert s not in everything, f"secret {name} printed"
        assert s.encode() not in blob, f"secret {name} stored in the lake"
    assert '81818181' not in everything
