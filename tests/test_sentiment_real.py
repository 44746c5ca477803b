"""LM sentiment and the exposure panel on the real MAEC corpus: sanity at full scale (speed is measured in bench/,
not asserted here)."""
import zlib
from pathlib import Path
import numpy as np, pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq, pytest
from ftm.config import load_config
from ftm.sources.connectors import get_connector
from ftm.text import prepare_calls, modelled
from ftm.research.sentiment import get_scorer
from ftm.research.exposure import score_transcripts, theme_exposure
from ftm.lake import schema

from shared_data import MAEC
pytestmark = pytest.mark.skipif(MAEC is None, reason='MAEC data (../shared/data/maec) not available')

def test_lm_scores_all_maec_sentences():
    text = pq.read_table(MAEC, columns=['text'])['text']
    sc = get_scorer()
    r = sc.score(text)
    assert r.num_rows == len(text)
    n_words, pos, neg = (pc.sum(r[c]).as_py() for c in ('n_words', 'pos', 'neg'))
    # earnings calls are upbeat: more positive than negative words, each about 1-3% of words
    assert pos > neg and 0.005 < neg / n_words < pos / n_words < 0.05
    assert pc.sum(r['negated']).as_py() > 0 and pc.sum(r['unc']).as_py() > 0

def test_exposure_panel_on_maec_2016q2():
    cfg = load_config(env={}, quarter='2016Q2', source=f'parquet:{MAEC}')
    conn = get_connector(cfg.source, cfg)
    tr = modelled(prepare_calls(conn.calls("2016Q2"), cfg.text, progress=False).transcripts, cfg.text)   # what ftm run scores
    ss = score_transcripts(tr, get_scorer(), progress=False)
    # no topic model here: each call's sentences fall into 8 pseudo-topics (by a hash of the text), 5 of them themed
    k = np.array([zlib.crc32(s.encode()) % 8 for s in tr['raw_text'].to_pylist()])
    tids = [f"2016Q2_{f}_{i:03d}" for f, i in zip(tr['firm_id'].to_pylist(), k)]
    sent = schema.validate('sentences', pa.table({
        'sentence_id': tr['sentence_id'], 'firm_id': tr['firm_id'], 'transcript_id': tr['transcript_id'],
        'quarter': tr['quarter'], 'position': tr['position'], 'topic_id': pa.array(tids),
        'topic_prob': pa.nulls(tr.num_rows, pa.float32()), 'was_outlier': pa.array(np.zeros(tr.num_rows, bool))}))
    uniq = sorted(set(tids))
    topics = pa.table({'topic_id': uniq, 'theme_id': [f"theme_2016Q2_{int(t[-3:]):03d}" if int(t[-3:]) < 5 else None
                                                       for t in uniq]})
    te = theme_exposure(tr, sent, topics, ss, '2016Q2')
    df = te.to_pandas()
    calls = df[(df.level == 'call') & (df.section == 'all') & (df.speaker_type == 'all')]
    n_calls = len(pc.unique(tr['transcript_id']))
    assert len(calls) == n_calls > 380 and calls.n_sentences.sum() == tr.num_rows     # 392 calls, a few keep no sentence
    print(df.groupby(['level', 'section', 'speaker_type']).size())
    th = df[(df.level == 'theme') & (df.section == 'all') & (df.speaker_type == 'all')]
    assert np.isclose(th.groupby('transcript_id').exposure.sum(), 5 / 8, atol=0.15).mean() > 0.9
