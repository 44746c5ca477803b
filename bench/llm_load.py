"""LLM naming throughput: the production naming client under load, against a local stub or a real endpoint.

    .venv/bin/python bench/llm_load.py                 # full run (~4-5 min): sweep 16..256 + a 429 burst
    .venv/bin/python bench/llm_load.py --quick         # ~1 min: shorter windows
    .venv/bin/python bench/llm_load.py --levels 64,128 --duration 20 --latency 0.5:3 --seed 0
    .venv/bin/python bench/llm_load.py --base-url http://HOST:8000/v1 --model Qwen/Qwen3-8B [--api-key KEY] \\
                                       [--levels 32,64,128,256] [--requests 2000]       # a real endpoint
    .venv/bin/python bench/llm_load.py --profile 128   # cProfile of the client at one level (stub), top functions

Not a test. The client is ftm's own: `get_namer(NamingConfig(method='llm', ...), cache_uri=<temp dir>)`, i.e. the
`LLMNamer` the map and reduce steps use, with its defaults (timeout, retries, back-off, Retry-After handling) and
its reply cache on local disk; only `concurrency` changes between levels. Each level runs in a fresh Python
process so its peak RSS is its own. Requests are realistic: topic requests as the map step builds them (10
keywords, the 3 representative sentences, the firm's ticker to avoid) and, at the measured 0.077 themes per topic,
theme requests as the reduce builds them (15 sentences from 5 firms, the quarter context), made from real MAEC
sentences (`../shared/data/maec/transcripts.parquet`; synthetic text when it is missing). Every prompt is distinct,
so the cache never answers.

The stub (`bench/llm_stub.py`, its own process on 127.0.0.1) answers each chat request after a latency drawn
uniform in `--latency` (seeded). Measured per level, client side, by timing every HTTP request the client sends
(a wrapper on `httpx2.AsyncClient.send`, the transport the openai client uses):

* sustained requests/min: successful replies ending in the steady window, from the moment every first-wave
  request has come back (ramp-up) to the start of the last request (after which in-flight drains), per minute;
  and overall: items / wall time of `name()`, ramp and tail included;
* latency p50/p95/p99 of successful requests, and the client's own share of it (client latency minus the stub's
  drawn latency, echoed in a header): where the client's event loop or CPU is short, this grows;
* peak RSS of the client process (sampled every 50 ms, and ru_maxrss), its RSS before naming, its CPU time;
* errors (non-2xx other than 429, transport errors, keyword fallbacks) and 429s retried.

The 429 scenario: the stub answers every chat request with 429 and `Retry-After: --retry-after` for
`--burst SECONDS` from `--burst-at` seconds after the first request; reported: completions per second around the
burst, time to recover, and that every item still got an LLM name (none lost, none fell back, all in the cache).

The default concurrency is chosen as the smallest level that sustains `--target` requests/min (3,000) with no
errors and, against the stub, at least 90% of concurrency / mean latency (Little's law: what a client that costs
nothing would sustain), so that the client is not what limits it. The choice is tied to the latency model
(0.5–3 s, mean 1.75 s): the concurrency a rate needs is rate x latency.

Real endpoint (`--base-url`): no stub and no 429 scenario; each level sends `--requests` (default 10 x the level)
requests. Run it from a host near the server (the same VPC), against a server no one else uses, and read the
latency columns: with vLLM they rise with the load, which is the point.

Output: the table on stdout, `bench/out/llm_load.json` (every level's summary, settings, machine) and
`bench/out/llm_load.md` (the table for the README); `--quick` writes `llm_load_quick.*` and a real endpoint
`llm_load_endpoint.*` (`_quick_endpoint` both), so neither overwrites the record.
"""
from __future__ import annotations
import argparse, datetime as dt, json, math, os, platform, random, resource, shutil, statistics, subprocess, sys
import tempfile
import threading, time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / 'bench' / 'out'
DATA = ROOT.parent / 'shared' / 'data' / 'maec' / 'transcripts.parquet'
STUB = ROOT / 'bench' / 'llm_stub.py'
THEMES_PER_TOPIC = 0.077      # measured, MAEC 2016Q2 (README "Measured": 176 themes / 2,289 topics)
TARGET = 3000                 # requests/min (the plan's target)
CLIENT_BOUND = 0.9            # a level counts only if it sustains this share of Little's law's concurrency/latency


# ------------------------------------------------------------------------------------------------------------------
# Requests
# ------------------------------------------------------------------------------------------------------------------

def _sentences(seed: int) -> list[tuple[str, str, str]]:
    "(call_id, ticker, text) of MAEC sentences of 8+ words, calls shuffled (seeded); synthetic text without the data."
    if DATA.exists():
        import pyarrow.parquet as pq
        t = pq.read_table(DATA, columns=['call_id', 'ticker', 'text'])
        rows = [(c, tk, s) for c, tk, s in zip(*(t[k].to_pylist() for k in ('call_id', 'ticker', 'text')))
                if len(s.split()) >= 8]
    else:
        rng = random.Random(seed)
        words = ('revenue margin freight costs demand pricing inventory guidance capital growth customers quarter '
                 'supply chain labor backlog orders dividend buyback leverage digital stores outlook').split()
        rows = [(f'c{i // 80}', f'T{i // 80}', ' '.join(rng.choice(words) for _ in range(rng.randint(10, 30))) + '.')
                for i in range(40_000)]
    calls: dict[str, list] = {}
    for c, tk, s in rows: calls.setdefault(c, []).append((c, tk, s))
    order = sorted(calls); random.Random(seed).shuffle(order)
    return [x for c in order for x in calls[c]]


def _keywords(texts: list[str], k: int = 10) -> list[str]:
    "Top-k words and adjacent-word pairs by frequency, as ftm's keywords look (a bench stand-in, not c-TF-IDF)."
    from collections import Counter
    from ftm.text import content_words
    cnt = Counter()
    for t in texts:
        w = content_words(t)
        cnt.update(w); cnt.update(f'{a} {b}' for a, b in zip(w, w[1:]))
    return [w for w, _ in cnt.most_common(k)]


def build_requests(n: int, seed: int = 0) -> list[dict]:
    "`n` distinct naming requests (as dicts for NamingRequest), topics and themes mixed at the measured ratio."
    sents = _sentences(seed)
    rng = random.Random(seed)
    out, pos, win = [], 0, 14                       # ~14 kept sentences per topic at MAEC's density
    every = round(1 / THEMES_PER_TOPIC)             # one theme request per 13
    while len(out) < n:
        if pos + 5 * win >= len(sents): pos = rng.randrange(win)      # wrap, shifted: new windows
        if len(out) % every == every - 1:           # a theme: the best sentence of 5 firms' topics, interleaved
            groups = [sents[pos + j * win: pos + (j + 1) * win] for j in range(5)]
            reps = [sorted(g, key=lambda x: -len(x[2]))[:3] for g in groups]
            texts = [r[d][2] for d in range(3) for r in reps if d < len(r)]
            out.append(dict(key=f'2016Q2_T{len(out):05d}', kind='theme',
                            keywords=_keywords([x[2] for g in groups for x in g]), sentences=texts,
                            context=f'quarter 2016Q2; discussed by {rng.randint(5, 60)} companies',
                            avoid=sorted({x[1] for g in groups for x in g})))
            pos += 5 * win
        else:                                       # a topic: 3 representative sentences of one call
            g = sents[pos:pos + win]
            reps = sorted(g, key=lambda x: -len(x[2]))[:3]
            out.append(dict(key=f'2016Q2_{g[0][1]}_{len(out):05d}', kind='topic', keywords=_keywords([x[2] for x in g]),
                            sentences=[x[2] for x in reps], context=None, avoid=[g[0][1]]))
            pos += win
    return out


def prompt_sizes(reqs: list[dict], context_tokens=4096, max_tokens=200) -> dict:
    "Characters of the messages ftm sends, by kind; tokens estimated at 4 characters each (English, Qwen3's BPE)."
    from ftm.naming import NamingRequest, build_messages
    by: dict[str, list[int]] = {}
    for r in reqs:
        m = build_messages(NamingRequest(**{**r, 'avoid': tuple(r['avoid'])}), context_tokens, max_tokens)
        by.setdefault(r['kind'], []).append(sum(len(x['content']) for x in m))
    q = lambda v, p: sorted(v)[min(len(v) - 1, int(p * len(v)))]
    return {k: dict(n=len(v), chars_mean=round(statistics.mean(v)), chars_p95=q(v, 0.95),
                    tokens_est_mean=round(statistics.mean(v) / 4), tokens_est_p95=round(q(v, 0.95) / 4))
            for k, v in sorted(by.items())}


# ------------------------------------------------------------------------------------------------------------------
# The client process (one per level): ftm's namer, timed at the transport
# ------------------------------------------------------------------------------------------------------------------

def _vm_hwm_mib() -> float | None:
    "This process's peak RSS (VmHWM; unlike ru_maxrss it does not carry the forking parent's peak over exec)."
    try: return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM:')) / 1024
    except (OSError, StopIteration, ValueError): return None


def client_main(spec_file: str):
    spec = json.loads(Path(spec_file).read_text())
    import psutil
    proc = psutil.Process()
    samples, stop = [], threading.Event()
    def sample():
        while not stop.is_set():
            samples.append((time.perf_counter(), proc.memory_info().rss)); stop.wait(0.05)
    threading.Thread(target=sample, daemon=True).start()

    import httpx2
    from ftm.config import NamingConfig
    from ftm.naming import NamingRequest, ReplyCache, get_namer
    recs: list[tuple] = []
    orig = httpx2.AsyncClient.send
    async def send(self, request, **kw):
        t0 = time.perf_counter()
        try: r = await orig(self, request, **kw)
        except BaseException as e:
            recs.append((t0, time.perf_counter(), -1, request.url.path, None, type(e).__name__)); raise
        recs.append((t0, time.perf_counter(), r.status_code, request.url.path, r.headers.get('x-stub-latency'), None))
        return r
    httpx2.AsyncClient.send = send

    reqs = [NamingRequest(**{**r, 'avoid': tuple(r['avoid'])}) for r in json.loads(Path(spec['requests']).read_text())]
    cache_dir = tempfile.mkdtemp(prefix='ftm-llm-load-cache-')
    cfg = NamingConfig(method='llm', base_url=spec['base_url'], model=spec['model'], api_key=spec.get('api_key'),
                       concurrency=spec['concurrency'])
    namer = get_namer(cfg, cache_uri=cache_dir)
    rss0 = proc.memory_info().rss
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    prof = None
    if spec.get('profile'):
        import cProfile; prof = cProfile.Profile(); prof.enable()
    t0 = time.perf_counter()
    names = namer.name(reqs)
    t1 = time.perf_counter()
    if prof is not None:
        prof.disable()
        import io, pstats
        for key in ('tottime', 'cumulative'):
            s = io.StringIO(); pstats.Stats(prof, stream=s).sort_stats(key).print_stats(30)
            Path(spec['profile']).with_suffix(f'.{key}.txt').write_text(s.getvalue())
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    stop.set()
    cached = ReplyCache(cache_dir).refresh()
    shutil.rmtree(cache_dir, ignore_errors=True)
    keys_ok = len(names) == len(reqs)
    res = dict(
        t0=t0, wall_s=t1 - t0, items=len(reqs), names=len(names), keys_ok=keys_ok,
        llm=sum(n.method == 'llm' and not n.fallback for n in names), fallbacks=sum(n.fallback for n in names),
        cache_entries=cached, stats=namer.stats,
        cpu_s=(ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime),
        rss_before_mib=rss0 / 2**20, rss_peak_sampled_mib=max(r for _, r in samples) / 2**20,
        vm_hwm_mib=_vm_hwm_mib(),
        records=[(a - t0, b - t0, st, p, float(sl) if sl else None, err) for a, b, st, p, sl, err in recs])
    Path(spec['out']).write_text(json.dumps(res))


# ------------------------------------------------------------------------------------------------------------------
# Running levels
# ------------------------------------------------------------------------------------------------------------------

class StubProc:
    def __init__(self, latency: str, seed: int, burst: str | None = None, retry_after: float = 2.0):
        cmd = [sys.executable, str(STUB), '--latency', latency, '--seed', str(seed), '--retry-after', str(retry_after)]
        if burst: cmd += ['--burst', burst]
        self.p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        if not line.startswith('PORT '): raise RuntimeError(f'the stub did not start: {line!r}')
        self.port = int(line.split()[1])
        self.url = f'http://127.0.0.1:{self.port}/v1'
        import psutil; self.ps = psutil.Process(self.p.pid)

    def stats(self) -> dict:
        import urllib.request
        with urllib.request.urlopen(f'http://127.0.0.1:{self.port}/stats', timeout=5) as r: s = json.load(r)
        t = self.ps.cpu_times(); s['cpu_s'] = t.user + t.system
        return s

    def close(self):
        self.p.terminate()
        try: self.p.wait(5)
        except subprocess.TimeoutExpired: self.p.kill()


def run_client(reqs_file: Path, base_url: str, model: str, api_key: str | None, concurrency: int,
               profile: str | None = None) -> dict:
    with tempfile.TemporaryDirectory() as d:
        spec = dict(requests=str(reqs_file), base_url=base_url, model=model, api_key=api_key,
                    concurrency=concurrency, out=f'{d}/res.json', profile=profile)
        Path(f'{d}/spec.json').write_text(json.dumps(spec))
        env = {**os.environ, 'TQDM_DISABLE': '1', 'HF_HUB_OFFLINE': '1'}
        subprocess.run([sys.executable, __file__, '--_client', f'{d}/spec.json'], check=True, env=env)
        return json.loads(Path(f'{d}/res.json').read_text())


def q(v: list[float], p: float) -> float | None:
    if not v: return None
    v = sorted(v); i = p * (len(v) - 1); lo = math.floor(i)
    return v[lo] + (v[min(lo + 1, len(v) - 1)] - v[lo]) * (i - lo)


def analyse(res: dict, concurrency: int) -> dict:
    chat = [r for r in res['records'] if r[3].endswith('/chat/completions')]
    ok = [r for r in chat if r[2] == 200]
    n429 = sum(r[2] == 429 for r in chat)
    errors = sum(r[2] not in (200, 429) for r in chat)
    starts = sorted(r[0] for r in chat)
    first_wave = sorted(chat, key=lambda r: r[0])[:concurrency]
    w0 = max((r[1] for r in first_wave), default=0.0)          # every first-wave request is back: ramp done
    w1 = starts[-1] if starts else 0.0                          # the last request starts: drain begins
    steady = w1 - w0 >= 3.0
    if not steady: w0, w1 = 0.0, res['wall_s']
    in_win = sum(w0 <= r[1] < w1 for r in ok)
    # Latency over the requests started in the steady window; the first wave (every request queued at once, the
    # loop busy building all prompts before it reads a reply) is reported apart.
    sw = [r for r in ok if w0 <= r[0] < w1] if steady else ok
    lat = [r[1] - r[0] for r in sw]
    over = [(r[1] - r[0] - r[4]) * 1000 for r in sw if r[4] is not None]
    fw_over = [(r[1] - r[0] - r[4]) * 1000 for r in first_wave if r[2] == 200 and r[4] is not None]
    all_lat = [r[1] - r[0] for r in ok]
    # the most requests in flight, client side
    ev = sorted([(r[0], 1) for r in chat] + [(r[1], -1) for r in chat])
    cur = peak = 0
    for _, d in ev: cur += d; peak = max(peak, cur)
    return dict(
        concurrency=concurrency, items=res['items'], chat_requests=len(chat), ok=len(ok),
        window_s=round(w1 - w0, 2), window=[round(w0, 2), round(w1, 2)], steady_window=steady,
        sustained_rpm=round(in_win / (w1 - w0) * 60) if steady else None,
        overall_rpm=round(res['items'] / res['wall_s'] * 60), wall_s=round(res['wall_s'], 2),
        lat_p50_s=q(lat, .5), lat_p95_s=q(lat, .95), lat_p99_s=q(lat, .99), lat_mean_s=statistics.mean(lat) if lat else None,
        overhead_p50_ms=q(over, .5), overhead_p95_ms=q(over, .95), overhead_p99_ms=q(over, .99),
        latency_over='requests started in the steady window' if steady else 'all requests',
        all_lat_p50_s=q(all_lat, .5), all_lat_p95_s=q(all_lat, .95), all_lat_p99_s=q(all_lat, .99),
        first_wave_overhead_p50_ms=q(fw_over, .5),
        max_inflight_client=peak, status_429=n429, retries=res['stats']['retries'], errors=errors,
        fallbacks=res['fallbacks'], llm_names=res['llm'], cache_entries=res['cache_entries'], keys_ok=res['keys_ok'],
        lost=res['items'] - res['llm'],
        client_cpu_s=round(res['cpu_s'], 2), client_cpu_pct=round(100 * res['cpu_s'] / res['wall_s'], 1),
        cpu_ms_per_request=round(1000 * res['cpu_s'] / max(1, len(chat)), 3),
        rss_before_mib=round(res['rss_before_mib'], 1),
        rss_peak_mib=round(max(res['rss_peak_sampled_mib'], res['vm_hwm_mib'] or 0), 1),
        namer_stats=res['stats'])


def per_second(res: dict, t_end: float) -> dict:
    "Successful replies and 429s per whole second of the run."
    n = int(math.ceil(t_end)) + 1
    ok, r429 = [0] * n, [0] * n
    for a, b, st, p, _, _ in res['records']:
        if not p.endswith('/chat/completions'): continue
        if st == 200: ok[min(n - 1, int(b))] += 1
        elif st == 429: r429[min(n - 1, int(b))] += 1
    return dict(ok=ok, status_429=r429)


def machine() -> dict:
    cpu = ''
    try: cpu = next(l.split(':', 1)[1].strip() for l in open('/proc/cpuinfo') if l.startswith('model name'))
    except (OSError, StopIteration): pass
    import openai, httpx2
    return dict(cpu=cpu, cpus=os.cpu_count(), python=platform.python_version(), openai=openai.__version__,
                httpx2=httpx2.__version__, load_avg_start=[round(x, 2) for x in os.getloadavg()])


# ------------------------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------------------------

def fmt(x, nd=0):
    if x is None: return '–'
    return f'{x:,.{nd}f}'


def table(rows: list[dict], latency_label: str) -> str:
    head = ('| concurrency | latency model | requests | sustained req/min | overall req/min | p50 / p95 latency s '
            '| client share p50 / p95 ms | client CPU | peak RSS MiB | errors | 429s retried |\n'
            '|---:|---|---:|---:|---:|---|---|---:|---:|---:|---:|')
    lines = [head]
    for r in rows:
        lines.append(f"| {r['concurrency']} | {r.get('latency_label', latency_label)} | {r['items']:,} | "
                     f"{fmt(r['sustained_rpm'])} | {fmt(r['overall_rpm'])} | "
                     f"{fmt(r['lat_p50_s'], 2)} / {fmt(r['lat_p95_s'], 2)} | "
                     f"{fmt(r['overhead_p50_ms'], 1)} / {fmt(r['overhead_p95_ms'], 1)} | {r['client_cpu_pct']:.0f}% | "
                     f"{r['rss_peak_mib']:.0f} | {r['errors'] + r['fallbacks']} | {r['status_429']:,} |")
    return '\n'.join(lines)


def choose(rows: list[dict], target: int) -> dict:
    "The smallest level that sustains the target with no errors, the client not being the limit."
    ok = [r for r in rows if r['sustained_rpm'] and r['sustained_rpm'] >= target and r['errors'] == 0
          and r['fallbacks'] == 0 and r['sustained_rpm'] >= CLIENT_BOUND * r.get('ideal_rpm', 0)]
    best = min(ok, key=lambda r: r['concurrency']) if ok else None
    return dict(target_rpm=target, chosen=best['concurrency'] if best else None,
                rule=f"smallest level sustaining >= {target:,} req/min with no errors, and (stub) at least "
                     f"{CLIENT_BOUND:.0%} of concurrency / mean latency, so that the client is not the limit",
                met_at=[r['concurrency'] for r in ok])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--_client', help=argparse.SUPPRESS)
    p.add_argument('--levels', default=None, help='concurrency levels [16,32,64,128,256; quick 64,128]')
    p.add_argument('--latency', default='0.5:3', help='stub latency LO:HI s, uniform per request')
    p.add_argument('--duration', type=float, default=None, help='steady seconds per level (stub) [22; quick 5]')
    p.add_argument('--requests', type=int, default=None, help='requests per level (default: from --duration, or '
                                                                  '10 x level on a real endpoint)')
    p.add_argument('--burst', type=float, default=None, help='seconds of 429s in the burst scenario [8; quick 3]')
    p.add_argument('--burst-at', type=float, default=None, help='burst start, s after the first request [10; quick 6]')
    p.add_argument('--retry-after', type=float, default=2.0)
    p.add_argument('--burst-level', type=int, default=None, help='concurrency of the burst scenario [the chosen one]')
    p.add_argument('--no-burst', action='store_true')
    p.add_argument('--chunk', type=int, default=300, help='items of the one-chunk scenario (0: skip) [300]')
    p.add_argument('--quick', action='store_true')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--target', type=int, default=TARGET, help='requests/min the default must sustain')
    p.add_argument('--base-url', default=None, help='a real OpenAI-compatible endpoint, e.g. http://HOST:8000/v1')
    p.add_argument('--model', default=os.environ.get('LLM_MODEL') or 'Qwen/Qwen3-8B', help='[$LLM_MODEL or Qwen/Qwen3-8B]')
    p.add_argument('--api-key', default=os.environ.get('LLM_API_KEY'), help='[$LLM_API_KEY; vLLM needs none]')
    p.add_argument('--profile', type=int, default=None, help='profile the client at this level (stub) and stop')
    p.add_argument('--out', default=str(OUT))
    a = p.parse_args(argv)
    if a._client: return client_main(a._client)

    quick = a.quick
    duration = a.duration or (5.0 if quick else 22.0)
    burst = a.burst or (3.0 if quick else 8.0)
    burst_at = a.burst_at or (6.0 if quick else 10.0)
    after = 6.0 if quick else 12.0                 # seconds of load after the burst
    levels = [int(x) for x in (a.levels or ('64,128' if quick else '16,32,64,128,256')).split(',')]
    if a.profile: levels = [a.profile]
    lo, hi = map(float, a.latency.split(':'))
    mean_lat = (lo + hi) / 2
    real = a.base_url is not None
    latency_label = f'endpoint' if real else f'uniform {lo:g}–{hi:g} s'
    out = Path(a.out); out.mkdir(parents=True, exist_ok=True)
    started = dt.datetime.now(dt.timezone.utc)
    mach = machine()

    def n_for(c: int, seconds: float) -> int:
        if a.requests: return a.requests
        if real: return 10 * c
        return int(math.ceil(c + (seconds + hi) * c / mean_lat))       # first wave + steady window

    n_max = max(n_for(c, duration) for c in levels)
    if not real and not a.no_burst: n_max = max(n_max, n_for(max(levels), burst_at + burst + after))
    t = time.perf_counter()
    reqs = build_requests(n_max, a.seed)
    sizes = prompt_sizes(reqs)
    print(f"built {len(reqs):,} requests in {time.perf_counter() - t:.1f}s; prompt sizes: {sizes}", flush=True)
    work = Path(tempfile.mkdtemp(prefix='ftm-llm-load-'))
    try: return _run(a, quick, duration, burst, burst_at, after, levels, lo, hi, mean_lat, real, latency_label, out,
                     started, mach, n_for, reqs, sizes, work)
    finally: shutil.rmtree(work, ignore_errors=True)


def _run(a, quick, duration, burst, burst_at, after, levels, lo, hi, mean_lat, real, latency_label, out, started,
         mach, n_for, reqs, sizes, work):

    def reqs_file(n: int) -> Path:
        f = work / f'reqs-{n}.json'
        if not f.exists(): f.write_text(json.dumps(reqs[:n]))
        return f

    if a.profile:
        stub = StubProc(a.latency, a.seed)
        try:
            prof = out / f'llm_load_profile_c{a.profile}'
            res = run_client(reqs_file(n_for(a.profile, duration)), stub.url, a.model, None, a.profile, str(prof))
        finally: stub.close()
        r = analyse(res, a.profile)
        print(table([r], latency_label)); print(f"profile: {prof}.tottime.txt, {prof}.cumulative.txt")
        return

    rows = []
    for c in levels:
        n = n_for(c, duration)
        stub = None if real else StubProc(a.latency, a.seed)
        try:
            res = run_client(reqs_file(n), a.base_url if real else stub.url, a.model, a.api_key, c)
            st = stub.stats() if stub else None
        finally:
            if stub: stub.close()
        r = analyse(res, c); r['latency_label'] = latency_label
        if st:
            r['stub'] = st
            r['ideal_rpm'] = round(c / mean_lat * 60)           # Little's law with the stub's mean latency
        rows.append(r)
        print(table([r], latency_label).split('\n')[-1] + f"  (wall {r['wall_s']}s, window {r['window_s']}s, "
              f"ideal {r.get('ideal_rpm', '–')}, stub conns {st['connections'] if st else '–'}, "
              f"cpu {r['cpu_ms_per_request']} ms/req)", flush=True)
    pick = choose(rows, a.target)

    burst_res = None
    if not real and not a.no_burst:
        c = a.burst_level or pick['chosen'] or max(levels)
        n = n_for(c, burst_at + burst + after)
        stub = StubProc(a.latency, a.seed, f'{burst_at:g}:{burst:g}', a.retry_after)
        try:
            res = run_client(reqs_file(n), stub.url, a.model, None, c)
            st = stub.stats()
        finally: stub.close()
        r = analyse(res, c); r['latency_label'] = latency_label + f'; 429 for {burst:g} s'; r['stub'] = st
        t_first = min(x[0] for x in res['records'] if x[3].endswith('/chat/completions'))
        ps = per_second(res, res['wall_s'])
        b0, b1 = t_first + burst_at, t_first + burst_at + burst
        p0 = max(t_first + hi, min(t_first + 2 * hi, b0 - 2))          # after the first wave, before the burst
        pre = [ps['ok'][i] for i in range(int(math.ceil(p0)), int(b0))]
        pre_rate = statistics.mean(pre) if pre else None
        rec = None                       # the end of the first whole second after the burst at 90% of pre_rate
        if pre_rate:
            for i in range(int(math.ceil(b1)), len(ps['ok']) - 1):
                if ps['ok'][i] >= 0.9 * pre_rate: rec = i + 1 - b1; break
        r.update(per_second=ps, burst_window=[round(b0, 2), round(b1, 2)], pre_burst_rps=pre_rate,
                 recovered_after_s=None if rec is None else round(rec, 2), retry_after_s=a.retry_after,
                 max_attempts_one_item=st['max_attempts'], stub_items=st['items'])
        burst_res = r
        print(table([r], r['latency_label']).split('\n')[-1] + f"  recovered {r['recovered_after_s']}s after the "
              f"burst; lost {r['lost']}; max attempts of one item {st['max_attempts']}", flush=True)

    # One map chunk: the map step names a chunk's topics with one name() call (50 firms x 5.9 topics at MAEC's
    # density), so each call pays a ramp and a tail that the sustained rate leaves out.
    chunk_res = None
    if a.chunk and (pick['chosen'] or real):
        c = pick['chosen'] or max(levels)
        stub = None if real else StubProc(a.latency, a.seed + 1)
        try:
            res = run_client(reqs_file(a.chunk), a.base_url if real else stub.url, a.model, a.api_key, c)
        finally:
            if stub: stub.close()
        chunk_res = analyse(res, c); chunk_res['latency_label'] = f'{latency_label}; one call of {a.chunk}'
        print(table([chunk_res], latency_label).split('\n')[-1], flush=True)

    mach['load_avg_end'] = [round(x, 2) for x in os.getloadavg()]
    doc = dict(bench='llm_load', started=started.isoformat(timespec='seconds'),
               finished=dt.datetime.now(dt.timezone.utc).isoformat(timespec='seconds'),
               argv=sys.argv[1:], machine=mach, endpoint=a.base_url or 'stub (bench/llm_stub.py, 127.0.0.1)',
               model=a.model, latency=None if real else dict(lo=lo, hi=hi, mean=mean_lat, seed=a.seed),
               duration_s=duration, prompt_sizes=sizes, levels=rows, choice=pick, burst=burst_res, chunk=chunk_res,
               client=dict(code='ftm.naming.get_namer -> LLMNamer (production path), reply cache on local disk',
                           config='NamingConfig defaults but concurrency'))
    name = 'llm_load' + ('_quick' if quick else '') + ('_endpoint' if real else '')   # a stub run's record stays
    (out / f'{name}.json').write_text(json.dumps(doc, indent=1))
    md = [f"LLM naming load, {started:%Y-%m-%d %H:%M} UTC, {mach['cpus']} CPUs ({mach['cpu']}), "
          f"load average {mach['load_avg_start'][0]} -> {mach['load_avg_end'][0]}; "
          f"endpoint: {doc['endpoint']}; openai {mach['openai']}; client = ftm's `LLMNamer` "
          f"(`get_namer`, reply cache on), defaults but `concurrency`.", '',
          table(rows + [r for r in (burst_res, chunk_res) if r], latency_label), '',
          f"Prompts (characters of the messages; tokens estimated at 4 characters): " +
          '; '.join(f"{k} n={v['n']:,} mean {v['chars_mean']:,} chars (~{v['tokens_est_mean']} tokens), p95 "
                    f"{v['chars_p95']:,} (~{v['tokens_est_p95']})" for k, v in sizes.items()) + '.',
          f"Sustained = successful replies per minute in the steady window (after the first wave is back, before "
          f"the last request starts); overall = items / wall time of `name()`. Latency: of the requests started in "
          f"the steady window, timed at the client's HTTP transport; client share = that latency minus the stub's "
          f"drawn latency. Client CPU = the client process's CPU time / wall time (100% = one core). Errors = "
          f"failed requests other than 429, plus keyword fallbacks.",
          f"Choice ({pick['rule']}): **{pick['chosen']}**; met at {pick['met_at']}."]
    if burst_res:
        b = burst_res
        md.append(f"429 burst: concurrency {b['concurrency']}, {b['items']:,} items, every chat request answered 429 "
                  f"(Retry-After {b['retry_after_s']:g} s) for {burst:g} s from {burst_at:g} s: {b['status_429']:,} "
                  f"429s retried, throughput back to 90% of the {fmt(b['pre_burst_rps'])}/s before the burst "
                  f"{b['recovered_after_s']} s after it ended; {b['llm_names']:,} of {b['items']:,} items named by the "
                  f"LLM, {b['fallbacks']} fallbacks, {b['cache_entries']:,} in the reply cache, most attempts for one "
                  f"item {b['max_attempts_one_item']}.")
    if chunk_res:
        k = chunk_res
        md.append(f"One map chunk: a single `name()` call of {k['items']} items at concurrency {k['concurrency']} "
                  f"took {k['wall_s']} s, {k['overall_rpm']:,} req/min overall (ramp and tail included).")
    (out / f'{name}.md').write_text('\n'.join(md) + '\n')
    print('\n'.join(md))
    print(f"\nwrote {out / (name + '.json')} and {out / (name + '.md')}")


if __name__ == '__main__': main()
