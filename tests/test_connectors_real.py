"""The file connector on the real MAEC corpus, every quarter: one call per firm, the latest, as DuckDB counts it."""
from pathlib import Path
import duckdb, pytest
from ftm.sources.connectors import get_connector
from ftm.quarters import quarter_range

from shared_data import MAEC
pytestmark = pytest.mark.skipif(MAEC is None, reason='MAEC data (../shared/data/maec) not available')

def _expected():
    "Per quarter: the latest call_id of each ticker (latest date, then largest call_id), computed independently in SQL."
    rows = duckdb.sql(f"""
        with calls as (select distinct call_id, ticker, call_date from '{MAEC}'),
        ranked as (select *, year(call_date) || 'Q' || quarter(call_date) as q,
                   row_number() over (partition by ticker, year(call_date), quarter(call_date)
                                      order by call_date desc, call_id desc) as rk from calls)
        select q, call_id from ranked where rk = 1 order by q, ticker""").fetchall()
    out = {}
    for q, cid in rows: out.setdefault(q, []).append(cid)
    return out

def test_maec_every_quarter_one_latest_call_per_firm():
    conn = get_connector(f'parquet:{MAEC}')
    exp = _expected()
    assert len(exp['2016Q2']) == 392
    for q in quarter_range('2015Q1..2017Q4'):
        calls = list(conn.calls(q))
        assert [c.transcript_id for c in calls] == exp[str(q)], q     # ordered by firm_id = ticker
        assert conn.count(q) == len(calls)
        assert len({c.firm_id for c in calls}) == len(calls)

def test_maec_components_are_the_sentences():
    conn = get_connector(f'parquet:{MAEC}')
    calls = list(conn.calls('2016Q2'))
    n = duckdb.sql(f"select count(*) from '{MAEC}' where call_date between '2016-04-01' and '2016-06-30' "
                   f"and length(trim(text)) > 0").fetchone()[0]
    assert sum(c.components.num_rows for c in calls) == n
    for c in calls[:20]:
        order = c.components['component_order'].to_pylist()
        assert order == sorted(order) and len(set(order)) == len(order)
