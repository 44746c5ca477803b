"""A local OpenAI-compatible chat server for load benches: valid JSON names after a seeded, drawn latency.

    python bench/llm_stub.py [--port 0] [--latency 0.5:3] [--seed 0] [--burst START:SECONDS] [--retry-after 2]

Not a model and not a test fixture (tests/test_llm_namer.py has its own). One asyncio process, HTTP/1.1 with
keep-alive, written on the bare event loop (no framework) so that the server costs little CPU next to the client
it loads. Routes:

* `POST /v1/chat/completions`: a vLLM-shaped `chat.completion` whose content is `{"label": ..., "summary": ...}`,
  sent after a latency drawn per request, uniform in `--latency LO:HI` seconds, from `random.Random(--seed)` in
  arrival order. `usage` estimates tokens at 4 characters each. The drawn latency is echoed in the
  `x-stub-latency` header so a client can tell its own overhead from the server's.
* `--burst START:SECONDS`: from START seconds after the first chat request, for SECONDS, every chat request is
  answered at once with 429 and `Retry-After: --retry-after` (what a gateway or a rate-limited endpoint does).
* `GET /health` (200), `GET /v1/models` (the served model), `GET /stats` (counters, below), anything else 404.

It prints `PORT <n>` on stdout once listening. Counters: connections opened, chat requests, 200s, 429s, the most
requests in flight, distinct items (the user message's hash) and the most attempts one item took.
"""
from __future__ import annotations
import argparse, asyncio, hashlib, json, random, time

REASONS = {200: 'OK', 404: 'Not Found', 400: 'Bad Request', 429: 'Too Many Requests'}
LABELS = ['Supply Chain Cost Pressure', 'Pricing and Margin Outlook', 'Capital Return Plans', 'Digital Sales Growth',
          'Regional Demand Softness', 'Inventory Reduction Progress', 'Regulatory Approval Timeline',
          'Freight and Labor Costs', 'New Product Launch Momentum', 'Debt Refinancing and Leverage']
SUMMARY = ("Management discussed how {l} shaped results in the quarter and what they expect next year. "
           "They cited input costs, customer demand and spending plans as the main drivers.")


class Stub:
    def __init__(self, latency=(0.5, 3.0), seed=0, burst=None, retry_after=2.0, model='Qwen/Qwen3-8B'):
        self.lo, self.hi = latency
        self.rng = random.Random(seed)
        self.burst, self.retry_after, self.model = burst, retry_after, model
        self.t_first: float | None = None
        self.stats = dict(connections=0, chat=0, ok=0, status_429=0, bad=0, inflight=0, max_inflight=0,
                          items=0, max_attempts=0)
        self.attempts: dict[str, int] = {}

    def in_burst(self, now: float) -> bool:
        if not self.burst or self.t_first is None: return False
        start, dur = self.burst
        return start <= now - self.t_first < start + dur

    async def chat(self, body: bytes) -> tuple[int, dict, bytes]:
        now = time.monotonic()
        if self.t_first is None: self.t_first = now
        s = self.stats; s['chat'] += 1
        try:
            req = json.loads(body)
            user = req['messages'][-1]['content'] if len(req['messages']) < 3 else req['messages'][1]['content']
            prompt_chars = sum(len(m.get('content') or '') for m in req['messages'])
        except (ValueError, KeyError, IndexError, TypeError):
            s['bad'] += 1
            return 400, {}, json.dumps({'error': {'message': 'bad request body', 'type': 'BadRequestError'}}).encode()
        h = hashlib.blake2b(user.encode(), digest_size=8).hexdigest()
        n = self.attempts.get(h, 0) + 1; self.attempts[h] = n
        s['items'] = len(self.attempts); s['max_attempts'] = max(s['max_attempts'], n)
        if self.in_burst(now):
            s['status_429'] += 1
            err = {'error': {'message': 'rate limited (stub burst)', 'type': 'RateLimitError', 'code': 429}}
            return 429, {'Retry-After': f'{self.retry_after:g}'}, json.dumps(err).encode()
        lat = self.rng.uniform(self.lo, self.hi)
        s['inflight'] += 1; s['max_inflight'] = max(s['max_inflight'], s['inflight'])
        try: await asyncio.sleep(lat)
        finally: s['inflight'] -= 1
        label = LABELS[int(h, 16) % len(LABELS)]
        content = json.dumps({'label': label, 'summary': SUMMARY.format(l=label.lower())})
        pt, ct = prompt_chars // 4, len(content) // 4
        out = {'id': f'chatcmpl-{h}-{n}', 'object': 'chat.completion', 'created': int(time.time()),
               'model': req.get('model', self.model),
               'choices': [{'index': 0, 'message': {'role': 'assistant', 'content': content, 'reasoning_content': None,
                                                    'tool_calls': []},
                            'logprobs': None, 'finish_reason': 'stop', 'stop_reason': None}],
               'usage': {'prompt_tokens': pt, 'completion_tokens': ct, 'total_tokens': pt + ct,
                         'prompt_tokens_details': None},
               'prompt_logprobs': None}
        s['ok'] += 1
        return 200, {'x-stub-latency': f'{lat:.6f}'}, json.dumps(out).encode()

    async def route(self, method: str, path: str, body: bytes) -> tuple[int, dict, bytes]:
        path = path.split('?', 1)[0]
        if method == 'POST' and path == '/v1/chat/completions': return await self.chat(body)
        if method == 'GET' and path == '/health': return 200, {}, b''
        if method == 'GET' and path == '/v1/models':
            return 200, {}, json.dumps({'object': 'list', 'data': [{'id': self.model, 'object': 'model',
                                                                      'owned_by': 'stub'}]}).encode()
        if method == 'GET' and path == '/stats': return 200, {}, json.dumps(self.stats).encode()
        return 404, {}, json.dumps({'error': {'message': f'no route {method} {path}'}}).encode()


class Conn(asyncio.Protocol):
    "One keep-alive connection; requests on it are answered in order (HTTP/1.1 clients here do not pipeline)."
    def __init__(self, stub: Stub):
        self.stub, self.buf, self.tr, self.queue = stub, b'', None, None

    def connection_made(self, tr):
        self.tr = tr; self.stub.stats['connections'] += 1
        self.queue = asyncio.Queue(); self.worker = asyncio.ensure_future(self.serve())

    def connection_lost(self, exc): self.worker.cancel()

    def data_received(self, data: bytes):
        self.buf += data
        while True:
            i = self.buf.find(b'\r\n\r\n')
            if i < 0: return
            lines = self.buf[:i].decode('latin-1').split('\r\n')
            method, path, _ = lines[0].split(' ', 2)
            headers = {k.strip().lower(): v.strip() for k, v in (l.split(':', 1) for l in lines[1:] if ':' in l)}
            n = int(headers.get('content-length') or 0)
            if len(self.buf) < i + 4 + n: return
            body, self.buf = self.buf[i + 4:i + 4 + n], self.buf[i + 4 + n:]
            self.queue.put_nowait((method, path, headers.get('connection', '').lower() == 'close', body))

    async def serve(self):
        while True:
            method, path, close, body = await self.queue.get()
            status, headers, out = await self.stub.route(method, path, body)
            if self.tr.is_closing(): return
            head = [f'HTTP/1.1 {status} {REASONS.get(status, "")}', 'content-type: application/json',
                    f'content-length: {len(out)}', 'connection: ' + ('close' if close else 'keep-alive')]
            head += [f'{k}: {v}' for k, v in headers.items()]
            self.tr.write(('\r\n'.join(head) + '\r\n\r\n').encode() + out)
            if close: self.tr.close(); return


async def serve(port=0, **kw):
    stub = Stub(**kw)
    server = await asyncio.get_running_loop().create_server(lambda: Conn(stub), '127.0.0.1', port, backlog=2048)
    print(f"PORT {server.sockets[0].getsockname()[1]}", flush=True)
    async with server: await server.serve_forever()


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--port', type=int, default=0)
    p.add_argument('--latency', default='0.5:3', help='LO:HI seconds, uniform per request')
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--burst', default=None, help='START:SECONDS of 429s, from the first chat request')
    p.add_argument('--retry-after', type=float, default=2.0)
    p.add_argument('--model', default='Qwen/Qwen3-8B')
    a = p.parse_args(argv)
    lo, hi = map(float, a.latency.split(':'))
    burst = tuple(map(float, a.burst.split(':'))) if a.burst else None
    try: asyncio.run(serve(a.port, latency=(lo, hi), seed=a.seed, burst=burst, retry_after=a.retry_after,
                           model=a.model))
    except KeyboardInterrupt: pass


if __name__ == '__main__': main()
