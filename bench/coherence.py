"""Topic coherence of one published quarter, ours against the naive per-firm BERTopic baseline, the published way.

    python bench/coherence.py --lake LAKE --quarter 2016Q2 --data ../shared/data/maec/transcripts.parquet \
        [--baseline-firms 40] [--seed 0] [--out bench/out/coherence_2016Q2.json]

Reads our published topics and the quarter's kept sentences (`transcripts`) from the lake, runs the baseline of
bench/quarter.py (`stage_baseline`: per firm, a fresh BERTopic over the same kept sentences) on its seeded sample
of firms, and scores both on the same corpus, the sampled firms' calls:

- **c_npmi** (`ftm.evaluate.c_npmi`): gensim's `CoherenceModel(coherence='c_npmi')` as OCTIS and BERTopic's paper
  use it (top 10 keywords, one document per call, boolean sliding window of 10 words, epsilon 1e-12), counted as
  gensim 4 counts; and the same with the definition's window counting (`as_gensim=False`);
- **npmi** (`ftm.evaluate.npmi`): our sentence-level NPMI (one sentence = one document), as `ftm run` reports it.

A 2-word keyword counts where its words stood next to each other in the sentence as said (`raw_text`); the baseline
picked many bigrams from clean text ("cost engines" from "the cost of these other engines"), which that rule never
finds, so they are dropped (as gensim drops words outside its dictionary). Both are therefore also scored over the
same calls' clean text, where those bigrams exist.

Ours is also scored over the whole quarter (all its calls). The corpus is the sentences `ftm run` modelled and
scores its own quality on (`ftm.text.modelled`: kept sentences less procedural ones, by default); the baseline
fits on what bench/quarter.py gives it. `--data` is the source the lake was built from; it is only recorded (the
sentences are read from the lake). Writes one JSON (date, git commit, machine, command, results) and prints a
Markdown table.
"""
from __future__ import annotations
import argparse, datetime as dt, json, math, os, shlex, subprocess, sys, tempfile, time
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import quarter as bq   # noqa: E402  (bench/quarter.py: the baseline and the machine description)


def _git() -> dict:
    run = lambda *c: subprocess.run(['git', *c], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    return dict(commit=run('rev-parse', 'HEAD'), dirty=bool(run('status', '--porcelain', '--untracked-files=no')))


def score(topics, transcripts, text: str = 'raw_text') -> dict:
    """c_npmi (gensim's counting and the definition's) and sentence-level npmi of `topics` over the calls of
    `transcripts`, from column `text`: `raw_text` (a phrase where it was said) or `clean_text` (a phrase wherever
    its words are adjacent once stopwords are gone: the n-grams the baseline's CountVectorizer counted)."""
    import numpy as np
    from ftm.evaluate import c_npmi, npmi, call_texts
    from ftm.text import keyword_terms
    kws = topics['keywords'].to_pylist()
    docs = call_texts(transcripts.select(['transcript_id', 'position']).append_column('raw_text', transcripts[text]))
    sents = transcripts[text].to_pylist()
    stat = lambda v: dict(mean=float(np.nanmean(v)) if np.isfinite(v).any() else None,
                          median=float(np.nanmedian(v)) if np.isfinite(v).any() else None, undefined=int((~np.isfinite(v)).sum()))
    out, T = dict(topics=topics.num_rows, firms=len(set(topics['firm_id'].to_pylist())), calls=len(docs), sentences=len(sents)), {}
    t = time.perf_counter(); out['c_npmi'] = stat(c_npmi(kws, docs)); T['c_npmi'] = time.perf_counter() - t
    t = time.perf_counter(); out['c_npmi_definition'] = stat(c_npmi(kws, docs, as_gensim=False)); T['c_npmi_definition'] = time.perf_counter() - t
    t = time.perf_counter(); out['npmi'] = stat(npmi(kws, sents)); T['npmi'] = time.perf_counter() - t
    # keywords the corpus never contains (a phrase whose words were never said next to each other) are dropped
    seen = {w for s in sents for w in keyword_terms(s, 2)}
    top = [w for ks in kws for w in ks[:10] if w]
    out['keywords_not_in_corpus'] = sum(w not in seen for w in top) / len(top) if top else None
    out['seconds'] = T
    return out


def render(R: dict) -> str:
    f = lambda x, nd=4: '—' if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{nd}f}"
    b, o, q = R['baseline_sample'], R['ours_sample'], R['ours_quarter']
    n = R['baseline']['n_firms_sample']
    head = [f"# Coherence {R['quarter']} — {R['date']}", '',
            f"Lake `{R['lake']}`; git {R['git']['commit'][:12]}{' (dirty)' if R['git']['dirty'] else ''}; "
            f"{R['machine']['cpu']}, {R['machine']['cpus']} CPUs.", '',
            f"Sampled firms: {n} of {R['baseline']['n_firms_quarter']} (seed {R['seed']}), {b['calls']} calls, "
            f"{b['sentences']:,} kept sentences; baseline failures: {len(R['baseline']['failures'])}.", '',
            f"| | baseline ({n} firms) | ours ({n} firms) | ours (whole quarter) |", '|---|---|---|---|']
    row = lambda name, g: f"| {name} | {g(b)} | {g(o)} | {g(q)} |"
    rows = [row('topics', lambda r: str(r['topics'])),
            row('calls / sentences', lambda r: f"{r['calls']} / {r['sentences']:,}"),
            row('**c_npmi** (gensim/OCTIS, window 10, top 10), mean', lambda r: f(r['c_npmi']['mean'])),
            row('c_npmi, median', lambda r: f(r['c_npmi']['median'])),
            row('c_npmi, definition\'s window counting, mean', lambda r: f(r['c_npmi_definition']['mean'])),
            row('npmi, sentence-level (as `ftm run`), mean', lambda r: f(r['npmi']['mean'])),
            row('npmi, sentence-level, median', lambda r: f(r['npmi']['median'])),
            row('topics without a score (c_npmi / npmi)', lambda r: f"{r['c_npmi']['undefined']} / {r['npmi']['undefined']}"),
            row('top-10 keywords not in the corpus (dropped)', lambda r: f(r['keywords_not_in_corpus'], 3))]
    if 'baseline_sample_clean' in R:
        bc, oc = R['baseline_sample_clean'], R['ours_sample_clean']
        rows += [f"| *the same calls as clean text (phrases as the baseline's vectoriser counted them)* | | | |",
                 f"| c_npmi, mean | {f(bc['c_npmi']['mean'])} | {f(oc['c_npmi']['mean'])} | |",
                 f"| npmi, sentence-level, mean | {f(bc['npmi']['mean'])} | {f(oc['npmi']['mean'])} | |",
                 f"| top-10 keywords not in the corpus (dropped) | {f(bc['keywords_not_in_corpus'], 3)} | {f(oc['keywords_not_in_corpus'], 3)} | |"]
    return '\n'.join(head + rows) + '\n'


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--lake', required=True, help='the lake holding the published quarter')
    ap.add_argument('--quarter', required=True)
    ap.add_argument('--data', help='the source the lake was built from (recorded only)')
    ap.add_argument('--baseline-firms', type=int, default=40, help='firms in the baseline sample (>= 40 for a reported run)')
    ap.add_argument('--seed', type=int, default=0, help='seed of the baseline firm sample (as bench/quarter.py)')
    ap.add_argument('--out', help='the JSON to write (default bench/out/coherence_<quarter>.json)')
    a = ap.parse_args(argv)
    import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
    from ftm.lake import Lake
    from ftm.config import load_config
    from ftm.text import modelled
    started = dt.datetime.now(dt.timezone.utc)
    lake = Lake(a.lake)
    everything = lake.read('transcripts', a.quarter, columns=['firm_id', 'transcript_id', 'position', 'raw_text', 'clean_text', 'is_procedural'])
    # the corpus `ftm run` scores its quality on: the sentences it modelled (procedural ones out, by default)
    tr = modelled(everything, load_config(env={}).text)
    topics = lake.read('topics', a.quarter, columns=['firm_id', 'topic_id', 'keywords'])
    if not tr.num_rows or not topics.num_rows: ap.error(f"{a.lake} has no published {a.quarter} (transcripts or topics empty)")
    if a.baseline_firms < 40: print(f"note: --baseline-firms {a.baseline_firms} < 40: fine for development, too few for a reported result", file=sys.stderr)

    # the baseline exactly as bench/quarter.py runs it, reading this lake's kept sentences
    bq._lake_transcripts = lambda work, q, columns=None: lake.read('transcripts', q, columns=columns)
    with tempfile.TemporaryDirectory(prefix='ftm-coherence-') as work:
        t = time.perf_counter()
        base = bq.stage_baseline(argparse.Namespace(quarter=a.quarter, seed=a.seed, baseline_firms=a.baseline_firms), Path(work))
        base['seconds'] = time.perf_counter() - t
        btopics = pq.read_table(Path(work) / 'baseline_topics.parquet')
    firms = pa.array(base['firms_sample'], pa.string())
    in_sample = lambda t: t.filter(pc.is_in(t['firm_id'], firms))
    sample_tr = in_sample(tr)
    R = dict(quarter=a.quarter, lake=a.lake, data=a.data, seed=a.seed, date=started.isoformat(timespec='seconds'),
             git=_git(), machine=bq.machine(), command=' '.join(shlex.quote(x) for x in [sys.executable, *sys.argv]),
             baseline={k: base[k] for k in ('firms_sample', 'n_firms_sample', 'n_firms_quarter', 'n_sentences_sample',
                                            'n_sentences_quarter', 'failures', 'seconds')},
             procedural_sentences_excluded=everything.num_rows - tr.num_rows)
    if a.data and Path(a.data).exists(): R['data_bytes'] = Path(a.data).stat().st_size
    R['baseline_sample'] = score(btopics, sample_tr)
    R['ours_sample'] = score(in_sample(topics), sample_tr)
    R['ours_quarter'] = score(topics, tr)
    # the baseline chose bigrams from clean text, where words removed between them no longer separate them
    R['baseline_sample_clean'] = score(btopics, sample_tr, 'clean_text')
    R['ours_sample_clean'] = score(in_sample(topics), sample_tr, 'clean_text')
    R['baseline_topics'] = btopics.select([c for c in ('firm_id', 'topic_num', 'keywords') if c in btopics.column_names]).to_pylist()
    md = render(R)
    R['markdown'] = md
    out = Path(a.out) if a.out else ROOT / 'bench' / 'out' / f"coherence_{a.quarter}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(R, indent=2, default=lambda o: o.item() if hasattr(o, 'item') else str(o)) + '\n')
    print(md)
    print(f"wrote {out}", file=sys.stderr)


if __name__ == '__main__':
    main()
