"""The event study on the real price file and the MAEC calls: coverage and one CAR checked by hand (its speed is
measured in bench/, not asserted here).

Tone here is random (the real tone comes from `ftm run`): these tests check the mechanics, not a finding."""
from pathlib import Path
import numpy as np, pandas as pd, pytest
from ftm.research.events import EventsConfig, load_prices, returns_for, run_events
from ftm.config import shared_data
from ftm.quarters import Quarter

from shared_data import MAEC, PRICES
pytestmark = pytest.mark.skipif(PRICES is None or MAEC is None, reason='real data (../shared/data) not available')

@pytest.fixture(scope='module')
def returns(): return load_prices(PRICES)

@pytest.fixture(scope='module')
def panel():
    "One whole-call row per firm and quarter (the latest call, as the connector picks it), 2015Q2..2017Q4."
    t = pd.read_parquet(MAEC, columns=['call_id', 'ticker', 'call_date']).drop_duplicates('call_id')
    t['quarter'] = [str(Quarter.of(d)) for d in t['call_date']]
    t = t.sort_values(['ticker', 'quarter', 'call_date', 'call_id']).drop_duplicates(['ticker', 'quarter'], keep='last')
    t = t[(t['quarter'] >= '2015Q2') & (t['quarter'] <= '2017Q4')]
    rng = np.random.default_rng(0)
    return pd.DataFrame(dict(firm_id=t['ticker'], ticker=t['ticker'], transcript_id=t['call_id'], call_date=t['call_date'],
                             quarter=t['quarter'], scorer='lm', level='call', theme_id=None, section='all', speaker_type='all',
                             tone=rng.normal(0, 0.3, len(t))))

def test_real_prices_load_clean(returns):
    r = returns
    assert r.ret.shape == (1259, 482)
    m = r.market.dropna()
    assert len(m) == 1258 and m.abs().max() < 0.1            # the screens keep data errors out of the EW market
    assert pd.Timestamp('2016-11-24') not in r.calendar       # Thanksgiving: not a trading day

def test_maec_coverage(returns, panel):
    res = run_events(panel, returns, sample='2015Q2..2017Q4')
    c = res.counts
    assert c['events'] == len(panel) and 900 <= c['with_prices'] <= 1100, c      # "about 1,000 calls have prices"
    # prices start 2015-01-12: every 2015Q2 call lacks 100 estimation returns, and is counted as such
    ex = res.events[res.events['quarter'] == '2015Q2']
    assert (ex['excluded'].isin(['too few estimation returns', 'no price data for the firm'])).all()
    assert c['excluded']['too few estimation returns'] >= (ex['excluded'] == 'too few estimation returns').sum() > 50
    assert c['analysed'] == c['with_prices'] - c['excluded']['too few estimation returns']
    r = res.regressions.set_index(['spec', 'outcome', 'term'])
    assert r.loc[('call tone', 'car_0_1', 'tone'), 'n'] == c['with_car']['car_0_1']
    assert 0.8 < res.events['beta'].median() < 1.2
    print(res.summary())

def test_one_car_by_hand(returns, panel):
    "Re-derive one firm's CAR[0,+1] from the raw prices with numpy's least squares."
    res = run_events(panel, returns)
    e = res.events[res.events['excluded'].isna() & (res.events['ticker'] == 'AAPL')].iloc[0]
    p = pd.read_parquet(PRICES, columns=['date', 'ticker', 'adj_close', 'volume'])
    p = p[p['volume'] > 0].sort_values('volume', ascending=False).drop_duplicates(['ticker', 'date'])
    p['date'] = pd.to_datetime(p['date'])
    wide = p.pivot(index='date', columns='ticker', values='adj_close').sort_index()
    # the returns as load_prices defines them: per ticker, from its previous price; above +100% or below -50% is screened
    rets = {t: s.dropna().pct_change() for t, s in wide.items()}
    R = pd.DataFrame(rets).reindex(wide.index)
    R = R.where(~((R > 1.0) | (R < -0.5)))
    m = R.mean(axis=1)
    d0 = wide.index.get_loc(pd.Timestamp(e['day0']))
    est = slice(max(0, d0 - 250), d0 - 30 + 1)
    y, x = R['AAPL'].iloc[est], m.iloc[est]
    ok = y.notna() & x.notna()
    b, a = np.polyfit(x[ok], y[ok], 1)
    car = sum(R['AAPL'].iloc[d0 + k] - a - b * m.iloc[d0 + k] for k in (0, 1))
    assert ok.sum() == e['n_est'] and abs(b - e['beta']) < 1e-9 and abs(car - e['car_0_1']) < 1e-9

BROAD = shared_data('prices/us_daily_2013_2019.parquet')

@pytest.mark.skipif(BROAD is None, reason='us_daily_2013_2019.parquet not available')
def test_broad_file_with_spy(panel):
    "The broad file covers ~99% of the calls; SPY as the market; the screens count what they set missing."
    spy = returns_for(BROAD, EventsConfig(market='spy'))
    assert spy.market_kind == 'spy' and spy.market.iloc[1:].notna().mean() > 0.99
    res = run_events(panel, spy, EventsConfig(market='spy'), sample='2015Q2..2017Q4')
    c = res.counts
    assert c['with_prices'] >= 0.97 * c['events'] and c['analysed'] >= 0.95 * c['events'], c
    assert c['market'] == 'spy' and c['screened'] == sum(c['screened_by_ticker'].values()) > 0
    assert 0.8 < res.events['beta'].median() < 1.3
    ew = run_events(panel, returns_for(BROAD, EventsConfig()), sample='2015Q2..2017Q4')
    assert ew.counts['analysed'] == c['analysed'] and ew.counts['market'] == 'ew'
    print(res.summary())
