"""Reduce at scale: time and peak memory of `ftm.themes.reduce_quarter` on synthetic quarters of N firms.

    python bench/reduce_scale.py [--firms 1000,2000,5000] [--timeout 720] [--max-rss-gb 16] [--seed 0]
                                 [--no-parts] [--out bench/out/reduce_scale.json]

Not a test; run by hand. For each N a synthetic topics table (schema.TOPICS, ~6 topics per firm, 384-d unit
centroids) is built with planted cross-firm themes: a topic belongs to a planted theme (a random unit direction)
with probability 0.7, else it is firm-specific; its centroid is a shared direction (every sentence centroid of a
quarter leans the same way, which `themes.center` removes) + the theme direction + firm-specific noise, and its
keywords come from the theme's vocabulary plus a general one.

Each size runs in a fresh Python process (two, with parts on):
* **full**: `reduce_quarter(topics, cfg.themes, get_namer(cfg.naming))` with defaults (keyword namer) and
  `themes.max_topics` raised to allow the table: wall seconds, peak RSS (ru_maxrss of the child), themes, and the
  ARI of found themes against the planted ones over all topics (topics in no theme / firm-specific topics count as
  singletons).
* **parts**: the two O(n^2) pieces alone, as reduce_quarter does them: `condensed_distances` (centroids and
  keyword vectors built first), then `cluster_topics` (scipy linkage + fcluster), each with its seconds and the
  peak RSS after it.
The parent kills a child that runs past --timeout seconds or whose RSS passes --max-rss-gb (sampled every 0.2 s;
the child also has an address-space limit a few GB above), and records it as over the limit with the last stage
it reached. Results: JSON at --out and a Markdown table on stdout.
"""
from __future__ import annotations
import argparse, datetime as dt, json, os, platform, resource, subprocess, sys, tempfile, time
from pathlib import Path

DIM, TOPICS_PER_FIRM, THEME_SHARE, QUARTER = 384, 6, 0.7, '2016Q2'


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2        # Linux: KiB


def _progress(path, **kw):
    with open(path, 'a') as f: f.write(json.dumps(dict(kw, peak_rss_gb=round(_rss_gb(), 3))) + '\n')


# ----------------------------------------------------------------------------------------------------------------
# synthetic quarter

def synthetic_topics(n_firms: int, seed: int = 0):
    """(topics table, planted labels): planted theme 0..k-1, or -1 for a firm-specific topic."""
    import numpy as np, pyarrow as pa
    from ftm.lake import schema
    rng = np.random.default_rng(seed)
    n_themes = max(20, n_firms // 10)
    syll = ['ka', 'ro', 'mi', 'te', 'lu', 'sa', 'vo', 'ne', 'di', 'pa', 'gre', 'tor', 'bel', 'nix', 'quo', 'zan']
    def word(): return ''.join(rng.choice(syll, rng.integers(2, 4)))
    general = sorted({word() for _ in range(3000)})
    theme_vocab = [[f"{word()} {word()}" if rng.random() < 0.3 else word() for _ in range(25)] for _ in range(n_themes)]
    theme_dir = rng.standard_normal((n_themes, DIM)); theme_dir /= np.linalg.norm(theme_dir, axis=1, keepdims=True)
    common = rng.standard_normal(DIM); common /= np.linalg.norm(common)

    counts = np.clip(rng.poisson(TOPICS_PER_FIRM - 1, n_firms) + 1, 2, 15)      # mean ~6 topics per firm
    n = int(counts.sum())
    firm_of = np.repeat(np.arange(n_firms), counts)
    topic_num = np.concatenate([np.arange(c) for c in counts])
    planted = np.where(rng.random(n) < THEME_SHARE, rng.integers(0, n_themes, n), -1)
    noise = rng.standard_normal((n, DIM)); noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    firm_dir = rng.standard_normal((n_firms, DIM)); firm_dir /= np.linalg.norm(firm_dir, axis=1, keepdims=True)
    # centroid = shared lean + theme (strength varies by topic) + firm style + topic noise
    strength = np.where(planted >= 0, rng.uniform(0.25, 0.8, n), 0.0)
    C = 1.2*common + strength[:, None]*theme_dir[np.maximum(planted, 0)] + 0.4*firm_dir[firm_of] + 1.0*noise
    C /= np.linalg.norm(C, axis=1, keepdims=True)

    rows = []
    for i in range(n):
        f, t = int(firm_of[i]), int(topic_num[i])
        fid, tid = f"F{f:06d}", f"T{f:06d}_{QUARTER}"
        if planted[i] >= 0:
            kws = list(rng.choice(theme_vocab[planted[i]], 7, replace=False))
            kws += [w for w in rng.choice(general, 5, replace=False) if w not in kws][:3]
        else:
            kws = list(rng.choice(general, 10, replace=False))
        scores = np.sort(rng.uniform(0.2, 0.9, len(kws)))[::-1].astype(np.float32).tolist()
        ns = int(rng.integers(5, 60))
        sents = [f"We saw {' and '.join(kws[j:j + 2])} drive results this quarter." for j in range(0, 6, 2)]
        rows.append(dict(topic_id=f"{fid}_{tid}_t{t:02d}", firm_id=fid, transcript_id=tid, quarter=QUARTER,
                         topic_num=t, label=' / '.join(kws[:3]), summary=None, keywords=kws, keyword_scores=scores,
                         representative_ids=[f"{fid}_{tid}_{j:04d}" for j in range(3)],
                         representative_sentences=sents, n_sentences=ns, centroid=C[i].astype(np.float32).tolist(),
                         naming_method='keywords', naming_model=None, prompt_version=None, naming_fallback=False,
                         theme_id=None))
    return schema.validate('topics', rows), planted


# ----------------------------------------------------------------------------------------------------------------
# child processes

def child(mode: str, n_firms: int, seed: int, progress: str, result: str):
    import numpy as np
    from ftm.config import Config
    _progress(progress, stage='start')
    t0 = time.perf_counter()
    topics, planted = synthetic_topics(n_firms, seed)
    build_s = time.perf_counter() - t0
    n = topics.num_rows
    cfg = Config()
    themes_cfg = cfg.themes.model_copy(update=dict(max_topics=max(cfg.themes.max_topics, n + 1)))
    _progress(progress, stage='built', n_topics=n, seconds=round(build_s, 2))
    base_rss = _rss_gb()
    out = dict(mode=mode, n_firms=n_firms, n_topics=n, n_planted=int(planted.max()) + 1, build_s=build_s,
               rss_before_gb=base_rss)
    if mode == 'full':
        from ftm.themes import reduce_quarter
        from ftm.naming import get_namer
        from sklearn.metrics import adjusted_rand_score
        namer = get_namer(cfg.naming)
        t0 = time.perf_counter()
        res = reduce_quarter(topics, themes_cfg, namer, QUARTER)
        out['seconds'] = time.perf_counter() - t0
        out['peak_rss_gb'] = _rss_gb()
        by_topic = dict(zip(res.topics['topic_id'].to_pylist(), res.topics['theme_id'].to_pylist()))
        tids = topics['topic_id'].to_pylist()
        found = [by_topic[t] or f"none_{i}" for i, t in enumerate(tids)]
        truth = [f"p{p}" if p >= 0 else f"f{i}" for i, p in enumerate(planted.tolist())]
        out.update(n_themes=res.stats['n_themes'], n_clusters=res.stats['n_clusters'], coverage=res.stats['coverage'],
                   ari=adjusted_rand_score(truth, found),
                   ari_planted_only=adjusted_rand_score([truth[i] for i in np.flatnonzero(planted >= 0)],
                                                        [found[i] for i in np.flatnonzero(planted >= 0)]))
    else:
        from ftm.themes import topic_vectors, keyword_vectors, condensed_distances, cluster_topics
        p = themes_cfg
        t0 = time.perf_counter()
        X = topic_vectors(topics, p.center)
        K = keyword_vectors(topics) if p.keyword_weight else None
        out['vectors_s'] = time.perf_counter() - t0
        _progress(progress, stage='vectors', seconds=round(out['vectors_s'], 2))
        t0 = time.perf_counter()
        d = condensed_distances(X, K, p.keyword_weight)
        out['distances_s'] = time.perf_counter() - t0
        out['distances_gb'] = d.nbytes / 1e9
        out['rss_after_distances_gb'] = _rss_gb()
        _progress(progress, stage='distances', seconds=round(out['distances_s'], 2))
        t0 = time.perf_counter()
        labels = cluster_topics(d, n, p.distance_threshold, p.linkage)
        out['linkage_s'] = time.perf_counter() - t0
        out['rss_after_linkage_gb'] = _rss_gb()
        out['n_clusters'] = int(labels.max()) + 1
        _progress(progress, stage='linkage', seconds=round(out['linkage_s'], 2))
    out['peak_rss_gb'] = _rss_gb()
    Path(result).write_text(json.dumps(out))


def run_child(mode: str, n_firms: int, seed: int, timeout: float, max_rss_gb: float) -> dict:
    import psutil
    with tempfile.TemporaryDirectory() as tmp:
        prog, res = os.path.join(tmp, 'progress.jsonl'), os.path.join(tmp, 'result.json')
        as_limit = int((max_rss_gb + 6) * 1024**3)       # backstop; the RSS watchdog below is the real limit
        def limit(): resource.setrlimit(resource.RLIMIT_AS, (as_limit, as_limit))
        cmd = [sys.executable, __file__, '--child', mode, str(n_firms), str(seed), prog, res]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, preexec_fn=limit, stderr=subprocess.PIPE, text=True)
        ps, peak, why = psutil.Process(proc.pid), 0.0, None
        while proc.poll() is None:
            try: rss = ps.memory_info().rss / 1024**3
            except psutil.NoSuchProcess: break
            peak = max(peak, rss)
            el = time.perf_counter() - t0
            if rss > max_rss_gb: why = f"RSS {rss:.1f} GiB > {max_rss_gb} GiB after {el:.0f} s"
            elif el > timeout: why = f"ran past {timeout:.0f} s"
            if why: proc.kill(); proc.wait(); break
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        err = proc.stderr.read()
        stages = [json.loads(l) for l in open(prog)] if os.path.exists(prog) else []
        if why is None and proc.returncode == 0 and os.path.exists(res):
            out = json.loads(Path(res).read_text())
            out.update(status='ok', child_wall_s=wall, sampled_peak_rss_gb=peak)
            return out
        if why is None: why = f"exit {proc.returncode}: {err.strip().splitlines()[-1] if err.strip() else ''}"
        return dict(mode=mode, n_firms=n_firms, status='over the limit', why=why, child_wall_s=wall,
                    sampled_peak_rss_gb=peak, reached=stages[-1] if stages else None, stages=stages,
                    n_topics=next((s['n_topics'] for s in stages if 'n_topics' in s), None))


# ----------------------------------------------------------------------------------------------------------------

def _f(x, fmt):
    return format(x, fmt) if isinstance(x, (int, float)) else '—'


def table(results: list[dict]) -> str:
    lines = ['| firms | topics | reduce s | peak RSS GiB | themes | ARI (all / planted) | distances s | '
             'condensed GiB | RSS after distances GiB | linkage s | RSS after linkage GiB |',
             '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|']
    for r in results:
        f, p = r.get('full', {}), r.get('parts', {})
        if f.get('status') == 'ok':
            red, rss, th = _f(f['seconds'], '.1f'), _f(f['peak_rss_gb'], '.2f'), str(f['n_themes'])
            ari = f"{f['ari']:.3f} / {f['ari_planted_only']:.3f}"
        else:
            red, rss, th, ari = f"over the limit ({f.get('why', '')}; reached {(f.get('reached') or {}).get('stage')})", \
                _f(f.get('sampled_peak_rss_gb'), '.2f'), '—', '—'
        ok = p.get('status') == 'ok'
        lines.append(f"| {r['n_firms']:,} | {_f(f.get('n_topics') or p.get('n_topics'), ',')} | {red} | {rss} | {th} | "
                     f"{ari} | {_f(p.get('distances_s'), '.1f') if ok else '—'} | "
                     f"{_f(p.get('distances_gb', 0)*1e9/1024**3, '.2f') if ok else '—'} | "
                     f"{_f(p.get('rss_after_distances_gb'), '.2f') if ok else '—'} | "
                     f"{_f(p.get('linkage_s'), '.1f') if ok else '—'} | "
                     f"{_f(p.get('rss_after_linkage_gb'), '.2f') if ok else '—'} |")
    return '\n'.join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--firms', default='1000,2000,5000')
    ap.add_argument('--timeout', type=float, default=720, help="seconds per child process")
    ap.add_argument("--max-rss-gb", type=float, default=16, help="GiB of RSS per child process")
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--no-parts', action='store_true', help="skip the distances/linkage breakdown")
    ap.add_argument('--out', default='bench/out/reduce_scale.json')
    ap.add_argument('--report', help="re-print a saved JSON result")
    a = ap.parse_args()
    if a.report:
        print(table(json.loads(Path(a.report).read_text())['results'])); return
    meta = dict(date=dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC'), cpus=os.cpu_count(),
                python=platform.python_version(), machine=platform.processor() or platform.machine(),
                timeout_s=a.timeout, max_rss_gb=a.max_rss_gb, seed=a.seed)
    try:
        import psutil; meta['mem_gb'] = round(psutil.virtual_memory().total / 1024**3, 1)
    except Exception: pass
    results = []
    out = Path(a.out); out.parent.mkdir(parents=True, exist_ok=True)
    for n_firms in [int(x) for x in a.firms.split(',')]:
        r = dict(n_firms=n_firms)
        for mode in ('full',) + (() if a.no_parts else ('parts',)):
            print(f"[{time.strftime('%H:%M:%S')}] {n_firms} firms, {mode} ...", file=sys.stderr, flush=True)
            r[mode] = run_child(mode, n_firms, a.seed, a.timeout, a.max_rss_gb)
            print(f"    {json.dumps({k: v for k, v in r[mode].items() if k != 'stages'}, default=str)}",
                  file=sys.stderr, flush=True)
            results.append(r) if mode == 'full' else None
            out.write_text(json.dumps(dict(meta=meta, results=results), indent=1))
    print(f"Reduce at scale — {meta['date']}, {meta['cpus']} CPUs, {meta.get('mem_gb')} GiB, Python {meta['python']}\n")
    print(table(results))
    print(f"\nJSON: {out}")


if __name__ == '__main__':
    if len(sys.argv) > 1 and sys.argv[1] == '--child':
        m, nf, sd, prog, res = sys.argv[2:7]
        child(m, int(nf), int(sd), prog, res)
    else:
        main()
