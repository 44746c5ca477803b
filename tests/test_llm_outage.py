"""The LLM namer when the server is absent or stays down: the outage budget is per run, shared by every namer of the run
through `outage_path`; a closed port is found in seconds; progress follows `ftm.progress` (`progress=False`: silent).

Uses the real HTTP server of tests/test_llm_namer.py, or a closed port (bound, then closed: nothing listens)."""
from __future__ import annotations
import json, logging, socket, threading, time

import pytest
from ftm.config import NamingConfig
from ftm.naming import KeywordNamer, NamingError, get_namer
from test_llm_namer import FakeLLM, Reply, assert_llm, fake, ok, reqs   # noqa: F401  (fake: the fixture)

pytestmark = pytest.mark.timeout(60)


def closed_port() -> int:
    s = socket.socket(); s.bind(('127.0.0.1', 0)); port = s.getsockname()[1]; s.close()
    return port


def cfg(port, **kw) -> NamingConfig:
    return NamingConfig(**{**dict(method='llm', base_url=f'http://127.0.0.1:{port}/v1', model='Qwen/Qwen3-8B',
                                  timeout_s=2.0), **kw})


def test_closed_port_found_in_seconds(caplog):
    # the defaults: max_outage_s=600, backoff from 1 s; before the fix this waited the whole 600 s
    nm = get_namer(cfg(closed_port()), progress=False)
    with caplog.at_level(logging.INFO, logger='ftm.naming'):
        t0 = time.perf_counter(); names = nm.name(reqs(20)); dt = time.perf_counter() - t0
    assert dt < 30 and all(x.fallback and x.method == 'keywords' for x in names)        # seconds, not the 600 s budget
    assert nm.stats['fallbacks'] == 20 and nm.stats['health_checks'] <= 5
    assert nm.stats['calls'] == 20 and nm.stats['outage_wait_s'] < 30          # each name asked once, then the gate
    assert 'connection refused' in nm.stats['outage'] and 'rest of the run' in nm.stats['outage']
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and 'no server there' in warnings[0].getMessage()      # one line, not one per name
    before = dict(nm.stats)
    again = nm.name(reqs(5))                                                          # the namer remembers
    assert all(x.fallback for x in again) and nm.stats['fallbacks'] == 25
    assert (nm.stats['calls'], nm.stats['health_checks']) == (before['calls'], before['health_checks'])   # nothing sent


def test_503_budget_is_per_run(fake, tmp_path):
    fake.health_status = 503                                  # a load balancer in front of a vLLM that never comes up
    fake.behave = lambda i, n, b: Reply(503)
    path = str(tmp_path / 'run' / 'naming-outage.json')
    fast = dict(max_outage_s=2.0, backoff_base_s=0.05, backoff_max_s=0.2)
    first = get_namer(cfg(fake.port), progress=False, outage_path=path, **fast)
    t0 = time.perf_counter(); names = first.name(reqs(20)); dt1 = time.perf_counter() - t0
    assert all(x.fallback for x in names) and dt1 >= 1.9                # patient: the whole (small) budget
    assert first.stats['outage'].startswith(f'the LLM server at http://127.0.0.1:{fake.port}/v1 has been down for')
    state = json.loads(open(path).read())
    assert state['gave_up'] and state['spent_s'] >= 2.0 and state['started']
    hits = fake.chat_hits + fake.health_hits
    second = get_namer(cfg(fake.port), progress=False, outage_path=path, **fast)   # e.g. the next chunk, another process
    names = second.name(reqs(20))
    assert all(x.fallback and x.method == 'keywords' for x in names)
    assert second.stats['calls'] == second.stats['health_checks'] == 0       # it read the marker and asked nothing
    assert fake.chat_hits + fake.health_hits == hits                   # the server was not asked again
    assert second.stats['fallbacks'] == 20 and second.stats['outage'] == first.stats['outage']


def test_budget_carries_over_between_namers(fake, tmp_path):
    # an outage that ends, then another: the second namer gets what the first left of the budget, not a new one
    down = threading.Event(); down.set()
    fake.behave = lambda i, n, b: Reply(503) if down.is_set() else ok(i)
    fake.health_status = 503
    def up(): fake.health_status = 200; down.clear()
    threading.Timer(1.2, up).start()
    path, fast = str(tmp_path / 'outage.json'), dict(max_outage_s=2.0, backoff_base_s=0.05, backoff_max_s=0.1)
    first = get_namer(cfg(fake.port), progress=False, outage_path=path, **fast)
    assert_llm(first.name(reqs(5)), 5)
    spent = json.loads(open(path).read())['spent_s']
    assert 1.0 <= spent < 2.0 and first.stats['outage'] is None
    down.set(); fake.health_status = 503
    second = get_namer(cfg(fake.port), progress=False, outage_path=path, **fast)
    names = second.name(reqs(5))
    # only the rest of the budget (2.0 - spent, at most 1.0 s), not a fresh 2.0 s: the margin is `spent` (>= 1.0 s)
    assert all(x.fallback for x in names) and second.stats['outage_wait_s'] < fast['max_outage_s']
    assert json.loads(open(path).read())['spent_s'] >= 2.0


def test_fail_says_what_to_do(tmp_path):
    port, path = closed_port(), str(tmp_path / 'outage.json')
    t0 = time.perf_counter()
    with pytest.raises(NamingError, match=r"connection refused at .*no server there.*Start the LLM server.*"
                                          r"on_failure='keywords'"):
        get_namer(cfg(port, on_failure='fail'), progress=False, outage_path=path).name(reqs(20))
    assert time.perf_counter() - t0 < 30                      # seconds, not the 600 s outage budget
    later = get_namer(cfg(port, on_failure='fail'), progress=False, outage_path=path)   # a later namer of the run
    with pytest.raises(NamingError, match='no server there'): later.name(reqs(3))
    assert later.stats['calls'] == later.stats['health_checks'] == 0       # fails at once: nothing sent


def test_progress_false_is_silent(fake, capfd):
    assert_llm(get_namer(cfg(fake.port), progress=False).name(reqs(5)), 5)
    assert capfd.readouterr().err == ''
    assert_llm(get_namer(cfg(fake.port), progress=True).name(reqs(5)), 5)   # the same call with a bar
    assert 'naming' in capfd.readouterr().err


def test_keyword_namer_stats():
    nm = get_namer(NamingConfig(), progress=False, outage_path='/nonexistent/never/written.json')
    assert isinstance(nm, KeywordNamer)
    nm.name(reqs(2))
    assert nm.stats['fallbacks'] == 0 and nm.stats['outage'] is None and nm.stats['items'] == 2
