"""The LLM namer against a real OpenAI-compatible HTTP server on 127.0.0.1 with scriptable failures.

Each test scripts the server with `fake.behave(item, n, body) -> Reply`, where `item` is the request's item number
(from the `item-N` marker in its first sentence) and `n` counts that item's earlier chat requests."""
from __future__ import annotations
import asyncio, json, re, threading, time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from ftm.config import NamingConfig
from ftm.naming import NamingError, NamingRequest, get_namer
from ftm.text import keyword_label

pytestmark = pytest.mark.timeout(60)

FAST = dict(backoff_base_s=0.02, backoff_max_s=0.1, max_outage_s=5.0)   # short back-off: the file runs in seconds


@dataclass
class Reply:
    status: int = 200
    content: str | None = None             # the assistant message (status 200)
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    message: str | None = None             # the error message (status != 200)


def ok(item, **kw) -> Reply:
    return Reply(content=json.dumps({'label': f'Topic Number {item}', 'summary': 'Costs rose in the quarter.'}), **kw)


class FakeLLM:
    "A threaded HTTP server: POST /v1/chat/completions and GET /health, counting what it sees."
    def __init__(self):
        self.lock = threading.Lock()
        self.attempts, self.bodies = Counter(), []
        self.chat_hits = self.health_hits = 0
        self.inflight = self.max_inflight = self.health_inflight = self.max_health_inflight = 0
        self.health_status = 200
        self.behave = lambda item, n, body: ok(item)
        self.port, self.server, self.serving = 0, None, False

    def start(self): return self.bind().listen()

    def listen(self):
        "Accept connections on the bound socket (until now a connection is refused) and serve them."
        self.server.server_activate(); self.serving = True
        threading.Thread(target=self.server.serve_forever, kwargs={'poll_interval': 0.02}, daemon=True).start()
        return self

    def bind(self):
        "Bind the port without listening: a client's connection is refused, as when no server runs there."
        fake = self
        class H(BaseHTTPRequestHandler):
            def log_message(self, *a): pass
            def _send(self, status, obj, headers={}):
                out = json.dumps(obj).encode()
                try:
                    self.send_response(status)
                    for k, v in {'Content-Type': 'application/json', **headers}.items(): self.send_header(k, v)
                    self.send_header('Content-Length', str(len(out))); self.end_headers(); self.wfile.write(out)
                except (BrokenPipeError, ConnectionResetError): pass     # the client gave up (a timeout test)
            def do_GET(self):
                if self.path != '/health': return self._send(404, {'error': 'not found'})
                with fake.lock:
                    fake.health_hits += 1; fake.health_inflight += 1
                    fake.max_health_inflight = max(fake.max_health_inflight, fake.health_inflight)
                time.sleep(0.01)
                with fake.lock: fake.health_inflight -= 1
                self._send(fake.health_status, {})
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers['Content-Length'])))
                item = int(re.search(r'item-(\d+)', body['messages'][1]['content'])[1])
                with fake.lock:
                    n = fake.attempts[item]; fake.attempts[item] += 1
                    fake.chat_hits += 1; fake.bodies.append(body)
                    fake.inflight += 1; fake.max_inflight = max(fake.max_inflight, fake.inflight)
                try:
                    r = fake.behave(item, n, body)
                    time.sleep(r.delay)
                finally:
                    # Leave the count before answering: once the reply is written the client may send its next
                    # request, and counting this one until after the write would over-count by one (flaky in CI).
                    with fake.lock: fake.inflight -= 1
                if r.status != 200:
                    return self._send(r.status, {'error': {'message': r.message or f'scripted {r.status}', 'type': 'x'}},
                                      r.headers)
                self._send(200, {'id': f'c{item}-{n}', 'object': 'chat.completion', 'created': 0,
                                 'model': body['model'], 'usage': {'prompt_tokens': 10, 'completion_tokens': 5,
                                                                   'total_tokens': 15},
                                 'choices': [{'index': 0, 'finish_reason': 'stop',
                                              'message': {'role': 'assistant', 'content': r.content}}]}, r.headers)
        self.server = ThreadingHTTPServer(('127.0.0.1', self.port), H, bind_and_activate=False)
        self.server.handle_error = lambda *a: None
        self.server.server_bind()
        self.port = self.server.server_port
        return self

    def stop(self):
        if self.server is None: return
        if self.serving: self.server.shutdown()               # shutdown() waits for serve_forever: only if it runs
        self.server.server_close(); self.server = None


@pytest.fixture
def fake():
    f = FakeLLM().start()
    yield f
    f.stop()


def config(fake, **kw) -> NamingConfig:
    base = dict(method='llm', base_url=f'http://127.0.0.1:{fake.port}/v1', model='Qwen/Qwen3-8B', timeout_s=2.0,
                max_retries=4, concurrency=8)
    return NamingConfig(**{**base, **kw})


def reqs(n, **kw) -> list[NamingRequest]:
    return [NamingRequest(f'2016Q2_F{i}_000', 'topic', ['supply', 'chain', 'supply chain', 'freight'],
                          [f'Freight and supply chain costs rose for item-{i}.', 'We expect relief next year.'], **kw)
            for i in range(n)]


def namer(fake, cache_uri=None, settings=None, **kw):
    return get_namer(config(fake, **kw), cache_uri=cache_uri, **{**FAST, **(settings or {})})


def assert_llm(names, n):
    assert [x.label for x in names] == [f'Topic Number {i}' for i in range(n)]          # in request order
    assert all(x.method == 'llm' and not x.fallback and x.model == 'Qwen/Qwen3-8B' and x.prompt_version == 'topic-v1'
               for x in names)


def test_429_honours_retry_after(fake):
    fake.behave = lambda i, n, b: Reply(429, headers={'Retry-After': '1'}) if n == 0 else ok(i)
    nm = namer(fake)
    t0 = time.perf_counter(); names = nm.name(reqs(2)); dt = time.perf_counter() - t0
    assert_llm(names, 2)
    assert dt >= 0.95                                         # the server's 1 s, not the 0.02 s back-off
    assert nm.stats['retries'] == 2 and nm.stats['calls'] == 4 == fake.chat_hits


def test_500s_then_success(fake):
    fake.behave = lambda i, n, b: Reply(500) if n < 3 else ok(i)
    nm = namer(fake)
    assert_llm(nm.name(reqs(3)), 3)
    assert nm.stats['retries'] == 9 and fake.chat_hits == 12 and nm.stats['fallbacks'] == 0


def test_timeout_then_success(fake):
    fake.behave = lambda i, n, b: ok(i, delay=1.5) if n == 0 else ok(i)
    nm = namer(fake, timeout_s=0.3)
    names = nm.name(reqs(2))
    assert_llm(names, 2)
    # each name's first (1.5 s) reply was abandoned at the 0.3 s timeout and asked again: 2 + 2 requests
    assert nm.stats['retries'] == 2 and nm.stats['calls'] == fake.chat_hits == 4
    assert nm.stats['health_checks'] == 0                     # slow is not down


def test_malformed_replies_are_repaired(fake):
    replies = ['Sure! Here is a name: Supply Chain Costs',
               json.dumps({'label': 'A label with far too many words to be any use', 'summary': 'x.'})]
    fake.behave = lambda i, n, b: Reply(content=replies[n]) if n < 2 else ok(i)
    nm = namer(fake)
    assert_llm(nm.name(reqs(1)), 1)
    assert nm.stats['repairs'] == 2 and nm.stats['retries'] == 0
    last = fake.bodies[-1]['messages']                        # the re-ask carries the bad reply and the reason
    assert last[-2] == {'role': 'assistant', 'content': replies[1]} and 'words' in last[-1]['content']


def test_repairs_exhausted_falls_back(fake):
    fake.behave = lambda i, n, b: Reply(content='not json')
    nm = namer(fake, settings={'repair_attempts': 1})
    [x] = nm.name(reqs(1))
    assert x.fallback and x.method == 'keywords' and fake.chat_hits == 2


def test_think_blocks_and_thinking_off(fake):
    def behave(i, n, b):
        if i == 0: return Reply(content='<think>\nThe user wants a label.\n</think>\n\n' + ok(i).content)
        return Reply(content='<think>I keep thinking and get cut off by max_tokens') if n == 0 else ok(i)
    fake.behave = behave
    nm = namer(fake)
    assert_llm(nm.name(reqs(2)), 2)
    assert nm.stats['repairs'] == 1                           # only the unterminated one needed a re-ask
    assert all(b['chat_template_kwargs'] == {'enable_thinking': False} for b in fake.bodies)
    assert all(b['max_tokens'] == 200 and b['model'] == 'Qwen/Qwen3-8B' for b in fake.bodies)


def test_template_kwargs_dropped_when_server_rejects_them(fake):
    # A hosted API that does not know vLLM's chat_template_kwargs answers 400 naming the field.
    fake.behave = lambda i, n, b: Reply(400, message='Unrecognized request argument supplied: chat_template_kwargs') \
        if 'chat_template_kwargs' in b else ok(i)
    nm = namer(fake, on_failure='fail')
    assert_llm(nm.name(reqs(3)), 3)
    assert sum('chat_template_kwargs' in b for b in fake.bodies) <= 3 and 'chat_template_kwargs' not in fake.bodies[-1]


def test_firm_names_masked_and_rejected(fake):
    fake.behave = lambda i, n, b: Reply(content=json.dumps({'label': 'Acme Supply Chain', 'summary': 'x.'})) \
        if n == 0 else ok(i)
    rs = [NamingRequest('k0', 'topic', ['freight'], ['At Acme Corp freight rose for item-0, says ACME.'],
                        context='Acme Corp (ACME), 2016Q2', avoid=('Acme Corp', 'ACME'))]
    nm = namer(fake)
    assert nm.name(rs)[0].label == 'Topic Number 0'
    assert nm.stats['repairs'] == 1
    assert 'acme' not in json.dumps(fake.bodies[0]).lower()  # the model never saw the name


def test_outage_connection_refused_one_poller():
    # vLLM still loading: the port is bound but nothing listens (connection refused) until the server calls listen()
    # on the same socket a second later; no other process can take the port in between
    late = FakeLLM().bind()
    timer = threading.Timer(1.0, late.listen); timer.start()
    try:
        nm = namer(late, concurrency=8, settings={'backoff_base_s': 0.05, 'backoff_max_s': 0.2})
        names = nm.name(reqs(20))
    finally: timer.cancel(); timer.join(); late.stop()
    assert_llm(names, 20)
    assert nm.stats['retries'] <= 8                           # only the requests in flight saw the error
    assert 1 <= nm.stats['health_checks'] <= 15               # one poller, not one per request (~8 probes)
    assert 1 <= late.health_hits <= 2 and late.chat_hits == 20


def test_outage_503_one_poller(fake):
    down = threading.Event(); down.set()
    fake.health_status = 503
    fake.behave = lambda i, n, b: Reply(503) if down.is_set() else ok(i)
    def up(): fake.health_status = 200; down.clear()
    threading.Timer(0.8, up).start()
    nm = namer(fake, concurrency=8, settings={'backoff_base_s': 0.05, 'backoff_max_s': 0.2})
    assert_llm(nm.name(reqs(20)), 20)
    assert fake.max_health_inflight == 1 and 2 <= fake.health_hits <= 12
    assert fake.chat_hits <= 20 + 8                           # at most one failed try per request in flight


def test_outage_past_deadline_falls_back(fake):
    fake.stop()
    nm = namer(fake, settings={'max_outage_s': 0.5, 'backoff_base_s': 0.05, 'backoff_max_s': 0.2})
    names = nm.name(reqs(12))
    assert all(x.fallback and x.method == 'keywords' for x in names)
    assert nm.stats['health_checks'] <= 10 and nm.stats['fallbacks'] == 12
    assert nm.stats['calls'] <= 8                             # the 8 in flight asked once; the rest never sent
    with pytest.raises(NamingError, match='down for'):
        namer(fake, on_failure='fail', settings={'max_outage_s': 0.3}).name(reqs(2))


def test_concurrency_bound(fake):
    fake.behave = lambda i, n, b: ok(i, delay=0.05)
    nm = namer(fake, concurrency=4)
    assert_llm(nm.name(reqs(40)), 40)
    assert 2 <= fake.max_inflight <= 4 and fake.chat_hits == 40


def test_cache_second_run_makes_no_calls(fake, tmp_path):
    uri = str(tmp_path / 'cache' / 'llm')
    first = namer(fake, cache_uri=uri).name(reqs(5))
    assert fake.chat_hits == 5 and list((tmp_path / 'cache' / 'llm').glob('*.jsonl'))
    again = namer(fake, cache_uri=uri)
    assert again.name(reqs(5)) == first and fake.chat_hits == 5
    assert again.stats['cache_hits'] == 5 and again.stats['calls'] == 0
    assert again.name(reqs(6))[5].label == 'Topic Number 5' and fake.chat_hits == 6   # only the new one is asked


def test_cache_keeps_replies_from_a_failed_batch(fake, tmp_path):
    fake.behave = lambda i, n, b: Reply(500) if i == 3 else ok(i)
    with pytest.raises(NamingError):
        namer(fake, cache_uri=str(tmp_path), on_failure='fail', max_retries=1).name(reqs(4))
    hits = fake.chat_hits
    fake.behave = lambda i, n, b: ok(i)
    nm = namer(fake, cache_uri=str(tmp_path))
    assert_llm(nm.name(reqs(4)), 4)
    assert nm.stats['cache_hits'] == 3 and fake.chat_hits == hits + 1


def test_on_failure_keywords_marks_fallback(fake):
    fake.behave = lambda i, n, b: Reply(500)
    nm = namer(fake, max_retries=2)
    names = nm.name(reqs(3))
    assert all(x.fallback and x.method == 'keywords' and x.model is None for x in names)
    assert names[0].label == keyword_label(['supply', 'chain', 'supply chain', 'freight']) == 'Supply Chain, Freight'
    assert nm.stats['fallbacks'] == 3 and fake.chat_hits == 9


def test_on_failure_fail_raises(fake):
    fake.behave = lambda i, n, b: Reply(500) if i == 1 else ok(i)
    with pytest.raises(NamingError, match=r"'2016Q2_F1_000'.*InternalServerError"):
        namer(fake, on_failure='fail', max_retries=1).name(reqs(3))


def test_bad_key_raises_even_with_fallback(fake):
    fake.behave = lambda i, n, b: Reply(401)
    with pytest.raises(NamingError, match='api_key'):
        namer(fake, on_failure='keywords').name(reqs(2))


def test_works_inside_a_running_event_loop(fake):
    async def notebook_cell(): return namer(fake).name(reqs(3))
    assert_llm(asyncio.run(notebook_cell()), 3)


def test_missing_endpoint_is_a_clear_error():
    with pytest.raises(NamingError, match='LLM_MODEL'):
        get_namer(NamingConfig(method='llm', base_url='http://127.0.0.1:9/v1'))
