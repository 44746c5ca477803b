"""Two real processes publish the same quarter at once, again and again, while a third reads: every published run is
consistent across tables, nothing is lost or mixed, and commit conflicts are refreshed and retried (bounded)."""
import os, subprocess, sys, textwrap
from pathlib import Path
import pytest
from ftm.lake import Lake

N = 6   # runs per writer

WRITER = textwrap.dedent('''
    import sys
    from ftm.lake import Lake
    root, tag, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lake = Lake(root)
    for i in range(n):
        t = f"{tag}{i}"
        w = lake.start_run('2016Q2', kind='reduce', run_id=f"run-{t}")
        k = 3 + i % 3   # the run's row counts say which run they came from
        w.write('themes', [dict(theme_id=f"th{j}", quarter='2016Q2', name=t, description=None, keywords=['x'], n_topics=1,
                                n_firms=1, n_sentences=1, naming_method='keywords', naming_model=None, prompt_version=None)
                           for j in range(k)])
        w.write('theme_contributions', [dict(theme_id='th0', topic_id=f"tp{j}", firm_id=t, quarter='2016Q2', similarity=1.0,
                                             n_sentences=1) for j in range(k)])
        w.publish()
    print('done', tag)
''')

READER = textwrap.dedent('''
    import sys, time
    from ftm.lake import Lake
    lake, seen, t0 = Lake(sys.argv[1]), set(), time.time()
    while time.time() - t0 < float(sys.argv[2]):
        with lake.frozen():
            names = set(lake.read('themes', '2016Q2')['name'].to_pylist())
            firms = set(lake.read('theme_contributions', '2016Q2')['firm_id'].to_pylist())
        assert names == firms and len(names) <= 1, (names, firms)   # both tables from one run, never a mix
        seen |= names
        time.sleep(0.05)
    print('seen', len(seen))
''')


@pytest.mark.timeout(600)
def test_two_publishers_one_quarter(tmp_path):
    root = str(tmp_path/'lake')
    Lake(root).start_run('2016Q2', kind='setup').publish(allow_empty=True)   # the catalog and runs table exist
    env = {**os.environ, 'PYTHONUNBUFFERED': '1'}
    writers = [subprocess.Popen([sys.executable, '-c', WRITER, root, tag, str(N)], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for tag in ('a', 'b')]
    reader = subprocess.Popen([sys.executable, '-c', READER, root, '60'], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    outs = [w.communicate(timeout=500)[0] for w in writers]
    assert all(w.returncode == 0 for w in writers), outs
    reader.kill(); rout = reader.communicate()[0]
    assert 'AssertionError' not in rout and 'Traceback' not in rout, rout

    lake = Lake(root)
    runs = [r for r in lake.runs('2016Q2') if r.kind == 'reduce']
    assert len(runs) == 2 * N                                       # every publish landed: none lost to a conflict
    for r in runs:                                                  # each run's pins show that run alone, in both tables
        tag = r.run_id.removeprefix('run-')
        th, tc = lake.read('themes', '2016Q2', run_id=r.run_id), lake.read('theme_contributions', '2016Q2', run_id=r.run_id)
        assert set(th['name'].to_pylist()) == {tag} == set(tc['firm_id'].to_pylist()) and th.num_rows == tc.num_rows == r.rows('themes')
    vis = lake.visible_run('2016Q2')
    assert vis.run_id == max(runs, key=lambda r: r.order).run_id
    assert set(lake.read('themes', '2016Q2')['name'].to_pylist()) == {vis.run_id.removeprefix('run-')}
    con = lake.connect()
    assert con.sql('select distinct name from themes').fetchall() == [(vis.run_id.removeprefix('run-'),)]
    assert con.sql('select distinct firm_id from theme_contributions').fetchall() == [(vis.run_id.removeprefix('run-'),)]
