"""Time and cost model of ftm on AWS Batch: wall time and dollars of a plan, from measured per-stage throughput.

    .venv/bin/python bench/cloud.py                       # default report: table, bench/out/cloud.json + cloud.md
    .venv/bin/python bench/cloud.py --instance g4dn.xlarge --jobs 50 --firms 5000 --quarters 1 [--spot|--on-demand]
                                    [--namer keywords|llm] [--llm-instance g5.xlarge] [--llm-servers 1]
                                    [--sentences-per-firm 350] [--max-vcpus 256] [--job-vcpus 2 --job-mem-gib 4]
                                    [--spot-fraction 0.45] [--interruptions-per-hour 0.05] [--deadline-h 4] [--json]
    .venv/bin/python bench/cloud.py --measure             # re-measure the figures measured here (~1.5 min, 2 cores)

Not a test. What it models, per plan (firms x quarters on N array jobs per quarter of one instance type):

* ingest on the submitter (text preparation, measured rate; the WRDS download is not modelled);
* the map array: Compute Environment scale-up (instance boot, image pull), per job a container start and the
  worker's start (imports, model load, lake I/O: measured), embedding (CPU: measured sentences/s per thread and
  thread scaling; GPU: an assumed forward rate plus the measured tokenisation on the host CPU), per-firm topic
  fitting (measured s/firm, scaled to the plan's sentences per firm by an exponent measured here), naming
  (keywords: measured, free; LLM: requests to a vLLM server at an assumed rate), waves when the Compute
  Environment's max vCPUs caps the array's parallelism, Spot interruptions (a rate per instance-hour) and the
  rework they cause (a retried job skips checkpointed chunks: it loses at most one chunk, plus a restart);
* the reduce job on the cheapest CPU instance whose memory holds it (time and peak memory interpolated in
  `bench/out/reduce_scale.json` at the quarter's topic count), theme naming, sentiment and publishing;
* S3 storage (bytes per sentence measured here), requests, Athena scans, ECR, EBS, CloudWatch Logs.

Every input is in `Inputs` (or the instance table) with where it comes from: `measured` (README.md "## Measured",
bench/README.md, bench/out/*.json: the figure and where), `measured here` (`--measure`, stored in
bench/out/cloud.json with how), `assumed` (not measured anywhere in this project: the figure and the reasoning),
`price` (public list prices, us-east-1, as written down on PRICES_AS_OF: verify before budgeting), or `config`
(ftm's own defaults). Nothing below the inputs is a result typed in: change an input and everything moves.
"""
from __future__ import annotations
import argparse, dataclasses, datetime as dt, json, math, os, platform, sys, tempfile, time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / 'bench' / 'out'
DATA = ROOT.parent / 'shared' / 'data' / 'maec' / 'transcripts.parquet'
REDUCE_SCALE = OUT / 'reduce_scale.json'
PRICES_AS_OF = '2026-11-29'
VERIFY = 'verify before budgeting'
INFRA_VARS = 'infra/modules/batch/variables.tf'

# ------------------------------------------------------------------------------------------------------------------
# Prices and instances (us-east-1, Linux, on-demand $/h)
# ------------------------------------------------------------------------------------------------------------------

EC2_SOURCE = (f"AWS EC2 On-Demand pricing page (aws.amazon.com/ec2/pricing/on-demand), us-east-1, Linux, list prices "
              f"as known to the author on {PRICES_AS_OF} (not read live: no browsing from here); g5.xlarge $1.006/h "
              f"also in factualminds.com 'Amazon EC2 On-Demand Pricing ... (2026)', 2026-06-17; {VERIFY}")


@dataclass(frozen=True)
class Instance:
    name: str
    vcpus: int
    mem_gib: float
    on_demand_hr: float
    gpu: str | None = None      # the accelerator, None for CPU instances
    cpu: str = ''               # the host CPU: decides the CPU embedding precision (bf16 only where native)
    cpu_precision: str = 'fp32'  # what ftm's precision='auto' picks on this CPU (nbs/13_embed: native bf16 only)


INSTANCES = {i.name: i for i in [
    # GPU map workers (one job per instance: the job asks for the one GPU)
    Instance('g4dn.xlarge', 4, 16, 0.526, 'T4', 'Intel Cascade Lake'),
    Instance('g5.xlarge', 4, 16, 1.006, 'A10G', 'AMD EPYC 7R32 (Zen 2)'),
    Instance('g6.xlarge', 4, 16, 0.8048, 'L4', 'AMD EPYC 7R13 (Zen 3)'),
    # CPU map workers and reduce hosts
    Instance('c6i.2xlarge', 8, 16, 0.34, None, 'Intel Ice Lake (AVX-512, no BF16)'),
    Instance('m6i.2xlarge', 8, 32, 0.384, None, 'Intel Ice Lake (AVX-512, no BF16)'),
    Instance('c7i.2xlarge', 8, 16, 0.357, None, 'Intel Sapphire Rapids (AMX-BF16)', 'bf16-amx'),
    Instance('c7a.2xlarge', 8, 16, 0.41056, None, 'AMD EPYC 9R14 (Zen 4, AVX512-BF16)', 'bf16-avx512'),
    Instance('m6i.xlarge', 4, 16, 0.192, None, 'Intel Ice Lake'),
    Instance('r6i.large', 2, 16, 0.126, None, 'Intel Ice Lake'),
    Instance('r6i.xlarge', 4, 32, 0.252, None, 'Intel Ice Lake'),
    Instance('r6i.2xlarge', 8, 64, 0.504, None, 'Intel Ice Lake'),
    Instance('r6i.4xlarge', 16, 128, 1.008, None, 'Intel Ice Lake'),
    Instance('r6i.8xlarge', 32, 256, 2.016, None, 'Intel Ice Lake'),
]}
# The reduce runs in the CPU environment (c6i/m6i/r6i families, infra/modules/batch): the cheapest that holds it.
REDUCE_CANDIDATES = ('r6i.large', 'm6i.xlarge', 'r6i.xlarge', 'm6i.2xlarge', 'r6i.2xlarge', 'r6i.4xlarge',
                     'r6i.8xlarge')
MAP_INSTANCES = ('g4dn.xlarge', 'g5.xlarge', 'm6i.xlarge', 'c6i.2xlarge', 'c7i.2xlarge')   # the default report's rows


# ------------------------------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------------------------------

@dataclass
class Inputs:
    "Everything the model uses besides the plan; SOURCES says where each figure comes from."
    # --- workload ---
    sentences_per_firm: float = 350.0        # kept sentences per call in production (Capital IQ full transcripts)
    maec_sentences_per_firm: float = 30_790 / 389
    maec_topics_per_firm: float = 2_289 / 389
    maec_themes_per_topic: float = 176 / 2_289
    raw_per_kept_sentence: float = 41_344 / 30_790
    # --- measured on the dev machines (README.md / bench/README.md) ---
    embed_bf16_per_thread: float = 30_790 / 149.0   # sentences/s of one one-thread map worker, bf16 (AVX512-BF16 CPU)
    embed_bf16_two_threads: float = 30_790 / 80.3   # sentences/s of one two-thread process, same machine and day
    fit_s_per_firm_maec: float = 40.7 / 389          # UMAP + HDBSCAN + c-TF-IDF, one thread, 79 sentences/firm
    worker_start_s: float = 4.8                      # imports, model load, lake I/O of a map worker
    keyword_naming_s_per_topic: float = 0.26 / 2_289
    ingest_raw_sentences_per_s: float = 41_344 / 2.4
    sentiment_s_per_sentence: float = 0.55 / 30_790
    publish_s: float = 2.03
    worker_peak_gib: float = 1_878 / 1024            # largest map worker process (RSS)
    # --- measured here (`--measure`; filled from bench/out/cloud.json) ---
    here: dict = field(default_factory=dict)
    # --- assumed ---
    gpu_forward_per_s: dict = field(default_factory=lambda: {'T4': 5_000.0, 'A10G': 11_000.0, 'L4': 10_000.0})
    aws_vcpu_speed: float = 1.0              # one AWS vCPU against one CPU of the measuring machines
    instance_boot_s: float = 150.0
    image_gb: dict = field(default_factory=lambda: {'cpu': 2.0, 'gpu': 6.0})
    image_pull_gb_per_s: float = 0.1
    container_start_s: float = 10.0
    idle_tail_s: float = 180.0
    usable_mem_fraction: float = 0.95
    spot_interruptions_per_hour: float = 0.05
    spot_fraction: float = 0.45
    llm_rps: dict = field(default_factory=lambda: {'g5.xlarge': 3.0, 'g6.xlarge': 1.5})
    llm_request_overhead: float = 0.03
    llm_latency_s: float = 4.0
    vllm_cold_start_s: float = 420.0
    lake_overhead_factor: float = 1.5
    athena_scans_per_quarter: int = 20
    log_kb_per_chunk: float = 2.0
    # --- prices (us-east-1) ---
    s3_gb_month: float = 0.023
    s3_put_per_1000: float = 0.005
    s3_get_per_1000: float = 0.0004
    athena_per_tb: float = 5.0
    athena_min_mb: float = 10.0
    ecr_gb_month: float = 0.10
    ebs_gp3_gb_month: float = 0.08
    logs_per_gb: float = 0.50
    nat_per_hour: float = 0.045
    nat_per_gb: float = 0.045
    # --- ftm's own defaults (read from ftm.config in `config_defaults`) ---
    firms_per_batch: int = 100
    firms_per_checkpoint: int = 50
    max_topics: int = 30_000
    llm_concurrency: int = 32
    llm_cache_flush_every: int = 200
    # --- the Batch module's defaults (infra/modules/batch, work in progress on 2026-11-29) ---
    gpu_max_vcpus: int = 64
    cpu_max_vcpus: int = 64
    map_job_vcpus: int = 4                 # a CPU map job's vCPUs (a GPU job takes the whole xlarge: 4 vCPUs, 1 GPU)
    map_job_mem_gib: float = 15_000 / 1024
    reduce_job_vcpus: int = 4
    reduce_job_mem_gib: float = 30_000 / 1024
    retry_attempts: int = 3
    map_timeout_s: float = 7_200
    reduce_timeout_s: float = 14_400
    ebs_gb_per_instance: float = 100.0


M, MH, A, P, C = 'measured', 'measured here', 'assumed', 'price', 'config'
INFRA = f"{INFRA_VARS} (work in progress on {PRICES_AS_OF}):"
SOURCES = {
    'sentences_per_firm': (A, "kept sentences per call of a full Capital IQ transcript: ~8,000 words at ~20 words per "
                              "sentence is ~400 sentences, ~85% kept (operator turns and short sentences dropped); no "
                              "full transcripts here. MAEC keeps only audio-aligned sentences: 79 per call (below)"),
    'maec_sentences_per_firm': (M, "README.md 'MAEC 2016Q2 end to end': 389 firms, 30,790 kept sentences"),
    'maec_topics_per_firm': (M, "README.md 'MAEC 2016Q2 end to end': 2,289 topics / 389 firms (5.9)"),
    'maec_themes_per_topic': (M, "README.md 'MAEC 2016Q2 end to end': 176 themes / 2,289 topics"),
    'raw_per_kept_sentence': (M, "README.md 'Ingest, MAEC 2016Q2': 41,344 sentences, kept 30,790"),
    'embed_bf16_per_thread': (M, "bench/README.md table 'embed (ours: worker-s over 2 workers)' 149.0 worker-s for "
                                 "30,790 sentences, bf16, one thread per worker, AMD EPYC with AVX512-BF16"),
    'embed_bf16_two_threads': (M, "bench/README.md 'embedding floor': 30,790 sentences in 80.3 s, bf16, one process "
                                  "with 2 threads (with the one-thread rate: the thread scaling of embedding)"),
    'fit_s_per_firm_maec': (M, "bench/README.md 'topics: UMAP + HDBSCAN + c-TF-IDF' 40.7 worker-s / 389 firms, numba "
                               "cache warm (the container image is built with it, containers/README.md)"),
    'worker_start_s': (M, "bench/README.md 'of which outside embed/topics/naming' 4.8 s (spawn, imports, model "
                          "load, lake I/O); the floor's model load alone is 5.1 s"),
    'keyword_naming_s_per_topic': (M, "bench/README.md 'representation ... keyword namer' 0.26 worker-s / 2,289 "
                                      "topics"),
    'ingest_raw_sentences_per_s': (M, "README.md 'Ingest, MAEC 2016Q2': 41,344 sentences in 2.4 s"),
    'sentiment_s_per_sentence': (M, "bench/README.md 'sentiment' 0.55 s for 30,790 sentences (dictionary tone)"),
    'publish_s': (M, "README.md 'Publishing on Iceberg': 2.03 s per quarter (0.62 staging + 1.41 commits)"),
    'worker_peak_gib': (M, "bench/README.md 'peak RSS, largest process' 1,878 MB (a map worker with its model)"),
    'here': (MH, "bench/cloud.py --measure: see `measured_here` in bench/out/cloud.json for how"),
    'gpu_forward_per_s': (A, "NOT MEASURED HERE. MiniLM-L6 fp16 forward, sentences/s: sbert.net's pretrained-models "
                             "table gives all-MiniLM-L6-v2 14,200 sentences/s on a V100; T4 ~0.35x a V100 (65 vs 125 "
                             "fp16 tensor TFLOPS, 320 vs 900 GB/s), A10G ~0.8x, L4 ~0.7x. For scale, "
                             "nbs/13_embed.ipynb measured 9,500-10,000/s on an H200 end to end, bound by tokenisation"),
    'aws_vcpu_speed': (A, "one AWS vCPU (a hyperthread) runs as fast as one CPU of the 2-CPU KVM dev machines "
                          "(themselves cloud VMs); not measured on AWS. The largest unmeasured factor for CPU plans"),
    'instance_boot_s': (A, "Batch CE scale-up: EC2 launch of an ECS-optimised AMI + ECS agent registration, ~2-3 min"),
    'image_gb': (A, "compressed image: CPU torch + ftm ~2 GB; CUDA torch wheels + nvidia libraries ~6 GB"),
    'image_pull_gb_per_s': (A, "ECR pull + layer extraction, ~100 MB/s effective"),
    'container_start_s': (A, "Batch job STARTING -> RUNNING on a warm instance: container create + Python start"),
    'idle_tail_s': (A, "an idle Batch instance is terminated a few minutes after its last job"),
    'usable_mem_fraction': (A, "share of an instance's memory ECS offers to jobs (the rest: OS and agent)"),
    'spot_interruptions_per_hour': (A, "per instance-hour; deliberately pessimistic. The Spot Instance Advisor's "
                                       "'frequency of interruption' is a per-month rate in buckets <5% ... >20% "
                                       "(pkg.go.dev/github.com/grailbio/base/cloud/spotadvisor quotes its definition)"),
    'spot_fraction': (A, "Spot price / on-demand price, one fraction for all types: us-east-1 Spot for these families "
                         "typically 35-55% of on-demand in 2024-2025 price history as remembered by the author; AWS "
                         f"advertises 'up to 90% off' (aws.amazon.com/ec2/spot/pricing); {VERIFY} with "
                         "`aws ec2 describe-spot-price-history`"),
    'llm_rps': (A, "NOT MEASURED HERE. vLLM serving Qwen3-8B bf16 (nbs/15_naming: the production namer) at ~32 in "
                   "flight, requests of ~400 prompt + ~60 reply tokens: decode is memory-bound (A10G 600 GB/s, "
                   "16 GB of weights: ~35 tok/s per stream, ~10x batched), prefill ~2-3k tok/s; L4 has half the "
                   "bandwidth (300 GB/s)"),
    'llm_request_overhead': (A, "repair re-asks after an invalid reply (nbs/15_naming: up to 2 per request)"),
    'llm_latency_s': (A, "one request's latency under load: caps one job at concurrency / latency requests/s"),
    'vllm_cold_start_s': (A, "vLLM on ECS: image + 16 GB of weights pulled, loaded, CUDA graphs captured"),
    'lake_overhead_factor': (A, "sentiment tables, themes, Iceberg metadata and the staged copy of map parts, over "
                                "the transcripts + sentences + topics + embedding-cache bytes measured here"),
    'athena_scans_per_quarter': (A, "researchers' queries: 20 full scans of a quarter's tables (embeddings excluded)"),
    'log_kb_per_chunk': (A, "CloudWatch: the worker logs a JSON line per chunk plus start and end (nbs/40_worker)"),
    's3_gb_month': (P, f"Amazon S3 pricing, S3 Standard first 50 TB, us-east-1, $0.023/GB-month; {VERIFY}"),
    's3_put_per_1000': (P, f"Amazon S3 pricing, PUT/COPY/POST/LIST $0.005 per 1,000; {VERIFY}"),
    's3_get_per_1000': (P, f"Amazon S3 pricing, GET $0.0004 per 1,000 (athena.guide 'Athena basics: pricing' "
                           f"quotes the same); {VERIFY}"),
    'athena_per_tb': (P, f"Amazon Athena pricing, SQL queries $5 per TB scanned (athena.guide; rcpedia.stanford.edu); "
                         f"{VERIFY}"),
    'athena_min_mb': (P, "Amazon Athena pricing: 10 MB minimum per query"),
    'ecr_gb_month': (P, f"Amazon ECR pricing, storage $0.10/GB-month, transfer to EC2 in-region free; {VERIFY}"),
    'ebs_gp3_gb_month': (P, f"Amazon EBS pricing, gp3 $0.08/GB-month, us-east-1; {VERIFY}"),
    'logs_per_gb': (P, f"Amazon CloudWatch pricing, Logs ingestion $0.50/GB; {VERIFY}"),
    'nat_per_hour': (P, f"Amazon VPC pricing, NAT gateway $0.045/h, us-east-1; {VERIFY}"),
    'nat_per_gb': (P, f"Amazon VPC pricing, NAT gateway $0.045/GB processed, us-east-1; {VERIFY}"),
    'firms_per_batch': (C, "ftm.config.ExecutorConfig.firms_per_batch: firms per array job by default"),
    'firms_per_checkpoint': (C, "ftm.config.Config.firms_per_checkpoint: firms per checkpointed chunk (a Spot loss costs at most one)"),
    'max_topics': (C, "ftm.config.ThemesConfig.max_topics: the reduce refuses larger quarters unless raised"),
    'llm_concurrency': (C, "ftm.config.NamingConfig.concurrency: requests in flight per namer"),
    'llm_cache_flush_every': (C, "ftm.config.NamingConfig.cache_flush_every: replies per reply-cache part"),
    'gpu_max_vcpus': (C, f"{INFRA} gpu_max_vcpus: 16 xlarge GPU instances at once. Account quotas bind too:"
                         " 'Running On-Demand G and VT instances' and 'All G and VT Spot Instance Requests' "
                         "are vCPU quotas, often 64 or less on a new account"),
    'cpu_max_vcpus': (C, f"{INFRA} cpu_max_vcpus"),
    'map_job_vcpus': (C, f"{INFRA} map_vcpus: `ftm worker map` is one process; torch takes the container's CPU "
                         "quota (ftm.config.usable_cpus)"),
    'map_job_mem_gib': (C, f"{INFRA} map_memory_mib = 15000; the measured worker peak is 1.8 GiB"),
    'reduce_job_vcpus': (C, f"{INFRA} reduce_vcpus"),
    'reduce_job_mem_gib': (C, f"{INFRA} reduce_memory_mib = 30000"),
    'retry_attempts': (C, f"{INFRA} retry_attempts: a job fails after this many host terminations"),
    'map_timeout_s': (C, f"{INFRA} map_timeout_seconds"),
    'reduce_timeout_s': (C, f"{INFRA} reduce_timeout_seconds"),
    'ebs_gb_per_instance': (C, f"{INFRA} root_volume_size_gib = 100, gp3"),
}


def config_defaults() -> dict:
    "ftm's own defaults that the model depends on (one place for each fact: the config)."
    from ftm.config import Config, ExecutorConfig, NamingConfig, ThemesConfig
    return dict(firms_per_batch=ExecutorConfig().firms_per_batch, firms_per_checkpoint=Config.model_fields['firms_per_checkpoint'].default,
                max_topics=ThemesConfig().max_topics, llm_concurrency=NamingConfig().concurrency,
                llm_cache_flush_every=NamingConfig().cache_flush_every)


@dataclass(frozen=True)
class Plan:
    "What to run: firms x quarters, N array jobs per quarter on one instance type, and what it must meet."
    name: str
    firms: int
    quarters: int
    instance: str
    jobs: int                       # array jobs per quarter
    spot: bool = True
    namer: str = 'keywords'         # 'keywords' | 'llm'
    llm_instance: str = 'g5.xlarge'
    llm_servers: int = 1
    deadline_h: float | None = None
    budget_per_quarter: float = 100.0


# ------------------------------------------------------------------------------------------------------------------
# Throughput: from the measured figures to per-firm seconds on an instance
# ------------------------------------------------------------------------------------------------------------------

def amdahl(threads: float, parallel: float) -> float:
    "Speed-up on `threads` threads of work whose `parallel` share runs in parallel."
    return 1.0 / ((1.0 - parallel) + parallel / max(threads, 1.0))


def parallel_share(t1: float, t2: float) -> float:
    "The Amdahl parallel share implied by the times on one thread and on two: t2/t1 = (1-p) + p/2."
    return min(max(2.0 * (1.0 - t2 / t1), 0.0), 1.0)


def power_fit(xs, ys) -> tuple[float, float]:
    "(a, b) of y = a * x**b, least squares on logs."
    lx, ly = [math.log(x) for x in xs], [math.log(y) for y in ys]
    mx, my = sum(lx) / len(lx), sum(ly) / len(ly)
    b = sum((x - mx) * (y - my) for x, y in zip(lx, ly)) / sum((x - mx) ** 2 for x in lx)
    return math.exp(my - b * mx), b


def scale_by_density(at_maec: float, inp: Inputs, exponent: float) -> float:
    "A per-firm figure measured at MAEC's sentences per firm, moved to the plan's by a measured power law."
    return at_maec * (inp.sentences_per_firm / inp.maec_sentences_per_firm) ** exponent


def topics_per_firm(inp: Inputs) -> float:
    return scale_by_density(inp.maec_topics_per_firm, inp, inp.here['topics_vs_sentences_exponent'])


def fit_s_per_firm(inp: Inputs) -> float:
    "Topic fitting, one thread, seconds per firm at the plan's sentences per firm."
    return scale_by_density(inp.fit_s_per_firm_maec, inp, inp.here['fit_time_vs_sentences_exponent'])


def cpu_embed_per_thread(inp: Inputs, precision: str) -> float:
    """Sentences/s of one thread on a CPU instance, in the precision ftm picks there. bf16 on AVX512-BF16 (Zen 4):
    the pipeline's measured rate (README); bf16 on AMX (Sapphire Rapids) and fp32 on AVX-512 (Ice Lake has no
    BF16): measured here, on a CPU with AMX, in each precision."""
    rate = {'bf16-avx512': inp.embed_bf16_per_thread, 'bf16-amx': inp.here['embed_bf16_1t'],
            'fp32': inp.here['embed_fp32_1t']}[precision]
    return rate * inp.aws_vcpu_speed


def embed_parallel_share(inp: Inputs) -> float:
    "Thread scaling of CPU embedding, from the pipeline's one-thread workers and the two-thread floor (README)."
    return parallel_share(1.0 / inp.embed_bf16_per_thread, 1.0 / inp.embed_bf16_two_threads)


@dataclass
class MapRates:
    "Seconds of one map job's work per firm, on its threads, and what a job looks like on the instance."
    threads: int
    jobs_per_instance: int
    embed_s_per_firm: float
    topics_s_per_firm: float
    naming_s_per_firm: float        # keyword naming (LLM naming is modelled against the server, see map_stage)

    @property
    def compute_s_per_firm(self) -> float:
        return self.embed_s_per_firm + self.topics_s_per_firm + self.naming_s_per_firm


def jobs_per_instance(inp: Inputs, inst: Instance) -> int:
    "Jobs Batch packs on one instance: one per GPU, else as many as the job's vCPUs and memory allow (0: none fits)."
    if inst.gpu: return 1
    return min(inst.vcpus // inp.map_job_vcpus, int(inst.mem_gib * inp.usable_mem_fraction // inp.map_job_mem_gib))


def map_rates(inp: Inputs, inst: Instance) -> MapRates:
    """One job = one `ftm worker map` process. On a GPU instance it has all vCPUs: the forward pass runs on the GPU,
    tokenisation (twice: once to count tokens for unpadded batches) and topic fitting on the CPU, one after the other
    (the worker does embed -> topics -> naming per chunk, no overlap). On a CPU instance it has the job's vCPUs."""
    h = inp.here
    threads = inst.vcpus if inst.gpu else min(inp.map_job_vcpus, inst.vcpus)
    spf = inp.sentences_per_firm
    fit = fit_s_per_firm(inp) / amdahl(threads, h['fit_parallel_share']) / inp.aws_vcpu_speed
    if inst.gpu:
        tok = h['tokenize_1t'] * amdahl(threads, h['tokenize_parallel_share']) * inp.aws_vcpu_speed
        embed = spf * (1.0 / inp.gpu_forward_per_s[inst.gpu] + 2.0 / tok)
    else:
        rate = cpu_embed_per_thread(inp, inst.cpu_precision) * amdahl(threads, embed_parallel_share(inp))
        embed = spf / rate
    naming = topics_per_firm(inp) * inp.keyword_naming_s_per_topic
    return MapRates(threads, jobs_per_instance(inp, inst), embed, fit, naming)


# ------------------------------------------------------------------------------------------------------------------
# Stages: time and cost
# ------------------------------------------------------------------------------------------------------------------

def hourly(inp: Inputs, inst: Instance, spot: bool) -> float:
    "$/h of one instance, its root volume included."
    ebs = inp.ebs_gb_per_instance * inp.ebs_gp3_gb_month / 730.0
    return inst.on_demand_hr * (inp.spot_fraction if spot else 1.0) + ebs


def image_pull_s(inp: Inputs, inst: Instance) -> float:
    return inp.image_gb['gpu' if inst.gpu else 'cpu'] / inp.image_pull_gb_per_s


def restart_s(inp: Inputs, inst: Instance) -> float:
    "A job whose instance was reclaimed starts again on a new one: boot, pull, container and worker start."
    return inp.instance_boot_s + image_pull_s(inp, inst) + inp.container_start_s + inp.worker_start_s


def spot_rework(inp: Inputs, job_s: float, chunk_s: float, restart: float, rate_per_h: float) -> dict:
    """Expected extra seconds per job from Spot interruptions (Poisson, `rate_per_h` per instance-hour): each one
    loses the chunk in progress (half of one on average, at most one: chunks are checkpointed) and a restart."""
    n = rate_per_h * job_s / 3600.0
    return dict(expected_interruptions=n, expected_extra_s=n * (restart + chunk_s / 2.0),
                worst_extra_s=restart + chunk_s, p_interrupted=1.0 - math.exp(-n),
                p_job_fails=poisson_at_least(n, inp.retry_attempts))


def poisson_at_least(mean: float, k: int) -> float:
    "P(N >= k) for N ~ Poisson(mean): a job fails once its host is reclaimed `retry_attempts` times."
    return max(0.0, 1.0 - sum(math.exp(-mean) * mean ** i / math.factorial(i) for i in range(k)))


def llm_rate(inp: Inputs, plan: Plan) -> float:
    "Requests/s the vLLM servers answer together."
    return inp.llm_rps[plan.llm_instance] * plan.llm_servers


def map_stage(inp: Inputs, plan: Plan) -> dict:
    "The quarters' map arrays, submitted together to one Compute Environment."
    inst = INSTANCES[plan.instance]
    r = map_rates(inp, inst)
    if r.jobs_per_instance < 1:
        sys.exit(f"a map job ({inp.map_job_vcpus} vCPUs, {inp.map_job_mem_gib:.1f} GiB) does not fit on {inst.name}")
    jobs_total = plan.jobs * plan.quarters
    firms_per_job = math.ceil(plan.firms / plan.jobs)
    max_instances = max(1, (inp.gpu_max_vcpus if inst.gpu else inp.cpu_max_vcpus) // inst.vcpus)
    concurrent = min(jobs_total, max_instances * r.jobs_per_instance)
    instances = math.ceil(concurrent / r.jobs_per_instance)
    waves = math.ceil(jobs_total / concurrent)
    compute_s = firms_per_job * r.compute_s_per_firm
    naming_s = 0.0
    if plan.namer == 'llm':
        # A job names each chunk's topics before the next chunk: its own rate is capped by the namer's concurrency
        # over the latency, and all running jobs share the servers: whichever binds.
        reqs = firms_per_job * topics_per_firm(inp) * (1 + inp.llm_request_overhead)
        job_cap = inp.llm_concurrency / inp.llm_latency_s
        naming_s = max(reqs / job_cap, reqs * concurrent / llm_rate(inp, plan) - compute_s, 0.0)
        compute_s -= firms_per_job * r.naming_s_per_firm           # keywords are not computed then
    job_s = inp.container_start_s + inp.worker_start_s + compute_s + naming_s
    chunks_per_job = math.ceil(firms_per_job / inp.firms_per_checkpoint)
    # What an interruption can lose: the chunk's compute, and of its naming only the replies not yet flushed to
    # the namer's reply cache in the lake (a flush every `cache_flush_every` replies; a retry re-asks only those).
    naming_chunk_s = naming_s / chunks_per_job
    if naming_s > 0:
        naming_chunk_s = min(naming_chunk_s, inp.llm_cache_flush_every * naming_s / reqs)
    chunk_s = compute_s / chunks_per_job + naming_chunk_s
    spot = spot_rework(inp, job_s, chunk_s, restart_s(inp, inst),
                       inp.spot_interruptions_per_hour if plan.spot else 0.0)
    # The wall: scale-up, then the waves; if any job is interrupted the array ends that much later.
    p_any = 1.0 - math.exp(-(inp.spot_interruptions_per_hour if plan.spot else 0.0) * jobs_total * job_s / 3600.0)
    start_s = inp.instance_boot_s + image_pull_s(inp, inst)
    if plan.namer == 'llm':      # the first chunks cannot be named before the vLLM server is up
        start_s = max(start_s, inp.vllm_cold_start_s - inp.container_start_s - inp.worker_start_s)
    wall_s = start_s + waves * job_s + p_any * spot['worst_extra_s']
    # Billed: each instance from boot to its idle tail, its slots busy for the jobs it runs; rework on top.
    job_slot_s = jobs_total * (job_s + spot['expected_extra_s'])
    instance_s = instances * (inp.instance_boot_s + image_pull_s(inp, inst) + inp.idle_tail_s) \
        + job_slot_s / r.jobs_per_instance
    rework_instance_s = jobs_total * spot['expected_extra_s'] / r.jobs_per_instance
    cost = instance_s / 3600.0 * hourly(inp, inst, plan.spot)
    return dict(instance=inst.name, gpu=inst.gpu, threads_per_job=r.threads, jobs_per_instance=r.jobs_per_instance,
                jobs_total=jobs_total, firms_per_job=firms_per_job, concurrent_jobs=concurrent, instances=instances,
                waves=waves, max_instances_by_vcpus=max_instances,
                per_firm_s=dict(embed=r.embed_s_per_firm, topics=r.topics_s_per_firm,
                                keyword_naming=r.naming_s_per_firm),
                job_s=job_s, job_naming_wait_s=naming_s, chunk_s=chunk_s, spot=spot, p_any_interrupted=p_any,
                wall_s=wall_s, instance_hours=instance_s / 3600.0,
                rework_instance_hours=rework_instance_s / 3600.0, cost=cost,
                image_pulls_gb=instances * inp.image_gb['gpu' if inst.gpu else 'cpu'])


def loglog(x: float, xs: list[float], ys: list[float]) -> float:
    "Piecewise power law through measured points; past either end, the nearest segment's exponent."
    pts = sorted(zip(xs, ys))
    i = 0 if x <= pts[0][0] else len(pts) - 2 if x >= pts[-1][0] else next(
        j for j in range(len(pts) - 1) if pts[j][0] <= x <= pts[j + 1][0])
    (x0, y0), (x1, y1) = pts[i], pts[i + 1]
    b = math.log(y1 / y0) / math.log(x1 / x0)
    return y0 * (x / x0) ** b


def reduce_memory_gib(inp: Inputs, topics: float) -> float:
    """Peak RSS of the reduce. Within the measured range: interpolated; past it, the measured model of
    bench/README.md (peak ~ 1 GiB + 2 x the condensed float64 distance matrix), which grows as n^2."""
    pts = inp.here['reduce_points']
    xs, mem = [p['topics'] for p in pts], [p['peak_gib'] for p in pts]
    if topics <= max(xs): return loglog(topics, xs, mem)
    return max(loglog(topics, xs, mem), 1.0 + 2 * topics * (topics - 1) / 2 * 8 / 2**30)


def reduce_stage(inp: Inputs, plan: Plan) -> dict:
    "One reduce job per quarter (they run side by side), on the cheapest CPU instance its memory fits."
    topics = plan.firms * topics_per_firm(inp)
    themes = topics * inp.maec_themes_per_topic
    pts = inp.here['reduce_points']
    reduce_s = loglog(topics, [p['topics'] for p in pts], [p['seconds'] for p in pts]) / inp.aws_vcpu_speed
    peak = reduce_memory_gib(inp, topics)
    need = max(peak * 1.2, inp.reduce_job_mem_gib)       # Batch places the job by what it asks for
    fitting = sorted((INSTANCES[n] for n in REDUCE_CANDIDATES
                      if INSTANCES[n].mem_gib * inp.usable_mem_fraction >= need
                      and INSTANCES[n].vcpus >= inp.reduce_job_vcpus), key=lambda i: i.on_demand_hr)
    inst = fitting[0] if fitting else max((INSTANCES[n] for n in REDUCE_CANDIDATES), key=lambda i: i.mem_gib)
    sentences = plan.firms * inp.sentences_per_firm
    naming_s = themes * (1 + inp.llm_request_overhead) / llm_rate(inp, plan) if plan.namer == 'llm' \
        else themes * inp.keyword_naming_s_per_topic
    work_s = inp.container_start_s + inp.worker_start_s + reduce_s + naming_s \
        + sentences * inp.sentiment_s_per_sentence + inp.publish_s
    # No checkpoint inside the reduce: an interruption loses what it had done (half on average, all at worst).
    spot = spot_rework(inp, work_s, work_s, restart_s(inp, inst), inp.spot_interruptions_per_hour if plan.spot else 0)
    one_s = inp.instance_boot_s + image_pull_s(inp, inst) + work_s + spot['p_interrupted'] * spot['worst_extra_s']
    # The quarters' reduces run side by side, as many at once as the CPU environment's max vCPUs hold.
    at_once = max(1, min(plan.quarters, inp.cpu_max_vcpus // inst.vcpus))
    rounds = math.ceil(plan.quarters / at_once)
    wall_s = rounds * one_s
    billed_s = plan.quarters * (one_s + spot['expected_extra_s'] + inp.idle_tail_s)
    return dict(instance=inst.name, job_wall_s=one_s, at_once=at_once, rounds=rounds, topics=topics, themes=themes,
                reduce_s=reduce_s,
                peak_gib=peak,
                over_max_topics=topics > inp.max_topics, host_fits=bool(fitting), naming_s=naming_s, work_s=work_s,
                spot=spot,
                wall_s=wall_s, instance_hours=billed_s / 3600, cost=billed_s / 3600 * hourly(inp, inst, plan.spot))


def ingest_stage(inp: Inputs, plan: Plan) -> dict:
    "Text preparation on the submitter before the map (measured rate); the quarters one after another."
    raw = plan.firms * inp.sentences_per_firm * inp.raw_per_kept_sentence
    return dict(wall_s=plan.quarters * raw / inp.ingest_raw_sentences_per_s)


def llm_stage(inp: Inputs, plan: Plan, map_wall_s: float, reduce_wall_s: float) -> dict:
    "vLLM servers on on-demand GPUs (an interrupted server would stall every map job), up from submission to the end."
    if plan.namer != 'llm': return dict(servers=0, hours=0.0, cost=0.0, requests=0.0)
    hours = plan.llm_servers * (inp.vllm_cold_start_s + map_wall_s + reduce_wall_s) / 3600.0
    reqs = plan.quarters * plan.firms * topics_per_firm(inp) * (1 + inp.maec_themes_per_topic)
    return dict(servers=plan.llm_servers, instance=plan.llm_instance, hours=hours, requests=reqs,
                cost=hours * hourly(inp, INSTANCES[plan.llm_instance], spot=False))


def storage_stage(inp: Inputs, plan: Plan, jobs_total: int, image_pulls_gb: float, wall_h: float) -> dict:
    "S3 (a month of storage), requests, Athena, ECR (a month), CloudWatch Logs; NAT shown apart (avoid it)."
    h = inp.here['bytes']
    sentences = plan.quarters * plan.firms * inp.sentences_per_firm
    topics = plan.quarters * plan.firms * topics_per_firm(inp)
    tables_b = sentences * (h['transcripts_per_sentence'] + h['sentences_per_sentence']) \
        + topics * h['topics_per_topic']
    cache_b = sentences * h['cache_per_sentence']
    lake_gb = (tables_b + cache_b) * inp.lake_overhead_factor / 1e9
    chunks = plan.quarters * math.ceil(plan.firms / inp.firms_per_checkpoint)
    puts = chunks * 6 + plan.quarters * 200         # per chunk: parts, checkpoint, cache part, naming cache; publish
    gets = puts * 3
    scan_tb = max(tables_b * inp.lake_overhead_factor / plan.quarters / 1e12, inp.athena_min_mb / 1e6)
    athena = plan.quarters * inp.athena_scans_per_quarter * scan_tb * inp.athena_per_tb
    ecr = sum(inp.image_gb.values()) * inp.ecr_gb_month
    logs = chunks * inp.log_kb_per_chunk / 1e6 * inp.logs_per_gb + jobs_total * 2 / 1e6 * inp.logs_per_gb
    s3 = lake_gb * inp.s3_gb_month + puts / 1000 * inp.s3_put_per_1000 + gets / 1000 * inp.s3_get_per_1000
    nat = image_pulls_gb * inp.nat_per_gb + wall_h * inp.nat_per_hour
    return dict(lake_gb=lake_gb, s3=s3, athena=athena, ecr=ecr, logs=logs, cost=s3 + athena + ecr + logs,
                nat_if_used=nat)


def run_plan(inp: Inputs, plan: Plan) -> dict:
    "Wall time and dollars of a plan, by stage, and whether it meets its deadline and budget."
    ing = ingest_stage(inp, plan)
    mp = map_stage(inp, plan)
    rd = reduce_stage(inp, plan)
    wall_s = ing['wall_s'] + mp['wall_s'] + rd['wall_s']
    llm = llm_stage(inp, plan, mp['wall_s'], rd['wall_s'])
    st = storage_stage(inp, plan, mp['jobs_total'], mp['image_pulls_gb'], wall_s / 3600)
    cost = mp['cost'] + rd['cost'] + llm['cost'] + st['cost']
    per_q = cost / plan.quarters
    warns = plan_warnings(inp, plan, mp, rd)
    return dict(plan=dataclasses.asdict(plan), sentences_per_firm=inp.sentences_per_firm,
                topics_per_firm=topics_per_firm(inp), ingest=ing, map=mp, reduce=rd, llm=llm, storage=st,
                wall_h=wall_s / 3600, cost=cost, cost_per_quarter=per_q,
                fits_deadline=None if plan.deadline_h is None else wall_s / 3600 <= plan.deadline_h,
                fits_budget=per_q <= plan.budget_per_quarter,
                warnings=[m for _, m in warns], warning_tags=[t for t, _ in warns])


def plan_warnings(inp: Inputs, plan: Plan, mp: dict, rd: dict) -> list[tuple[str, str]]:
    "(short tag, message) for what the plan runs into besides time and money."
    w = []
    if rd['over_max_topics']:
        w.append(('topics > max_topics', f"{rd['topics']:,.0f} topics per quarter > themes.max_topics "
                  f"{inp.max_topics:,}: the reduce refuses unless it is raised (peak {rd['peak_gib']:.1f} GiB, on "
                  f"{rd['instance']})"))
    if not rd['host_fits']:
        w.append(('no reduce host', f"the reduce's {rd['peak_gib']:.0f} GiB fit no reduce host in the table; "
                  f"costed on {rd['instance']} anyway"))
    if rd['peak_gib'] > inp.reduce_job_mem_gib:
        w.append(('reduce job memory', f"the reduce's modelled peak {rd['peak_gib']:.0f} GiB is over the reduce "
                  f"job's memory ({inp.reduce_job_mem_gib:.1f} GiB): raise reduce_memory_mib"))
    if mp['job_s'] + mp['spot']['worst_extra_s'] > inp.map_timeout_s:
        w.append(('map job timeout', f"a map job runs {mp['job_s'] / 3600:.1f} h, over the map job timeout "
                  f"({inp.map_timeout_s / 3600:.0f} h)"))
    if rd['job_wall_s'] > inp.reduce_timeout_s:
        w.append(('reduce timeout', f"the reduce runs {rd['job_wall_s'] / 3600:.1f} h, over its timeout "
                  f"({inp.reduce_timeout_s / 3600:.0f} h)"))
    if mp['spot']['p_job_fails'] * mp['jobs_total'] > 0.01:
        w.append(('jobs fail on retries', f"{mp['spot']['p_job_fails'] * mp['jobs_total']:.2f} map jobs expected "
                  f"to fail after {inp.retry_attempts} host terminations"))
    if mp['concurrent_jobs'] < mp['jobs_total']:
        cap = inp.gpu_max_vcpus if mp['gpu'] else inp.cpu_max_vcpus
        w.append(('waves', f"max vCPUs {cap} run {mp['concurrent_jobs']} of {mp['jobs_total']} jobs at once "
                  f"({mp['waves']} waves)"))
    if mp['gpu'] and mp['instances'] * INSTANCES[plan.instance].vcpus > 64:
        w.append(('G quota', "more than 64 G-instance vCPUs at once: check the account's G and VT vCPU quotas "
                  "(on-demand and Spot), often 64 or less on a new account"))
    return w


# ------------------------------------------------------------------------------------------------------------------
# Measuring here (--measure): what README.md and bench/ do not have
# ------------------------------------------------------------------------------------------------------------------

THREAD_VARS = ('OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_NUM_THREADS', 'NUMBA_NUM_THREADS', 'RAYON_NUM_THREADS')


def _child_init(threads: int):
    # Thread pools are sized when the libraries load, so this runs before any import of torch, numba or tokenizers.
    os.environ.update({k: str(threads) for k in THREAD_VARS}, HF_HUB_OFFLINE='1',
                      TOKENIZERS_PARALLELISM='true' if threads > 1 else 'false')


def _relabel(tbl, name: str):
    "Several calls' sentences as one pseudo-call (for fit time at more sentences than any MAEC call has)."
    import pyarrow as pa
    for col in ('firm_id', 'transcript_id'):
        tbl = tbl.set_column(tbl.schema.get_field_index(col), col, pa.array([name] * tbl.num_rows))
    return tbl


def _best(f, repeats: int) -> float:
    "Best of `repeats` timings: the machine is shared, and other work only ever makes a run slower."
    best = math.inf
    for _ in range(repeats):
        t0 = time.perf_counter(); f(); best = min(best, time.perf_counter() - t0)
    return best


def _measure_child(threads: int, data: str, quarter: str, n_calls: int, seed: int, n_fp32: int,
                   pseudo_sizes: tuple, tmp: str, first: bool) -> dict:
    """One process with every thread pool at `threads`: tokenisation and topic fits; the first (one-thread) run also
    embeds (fp32 and bf16, keeping the bf16 vectors for the second run) and measures bytes per row."""
    import numpy as np, pyarrow.parquet as pq, torch
    torch.set_num_threads(threads)
    from ftm.config import EmbedConfig, TextConfig, TopicsConfig
    from ftm.sources.connectors import get_connector
    from ftm.embed import Embedder, EmbeddingCache, text_keys, token_lengths
    from ftm.text import prepare_calls, modelled
    from ftm.topics import combine, fit_firm, split_calls
    calls = list(get_connector(f'parquet:{data}').calls(quarter))
    pick = sorted(np.random.default_rng(seed).choice(len(calls), n_calls, replace=False))
    tr = modelled(prepare_calls([calls[i] for i in pick], TextConfig(), progress=False).transcripts, TextConfig())
    texts = tr.column('raw_text').to_pylist()
    out = dict(threads=threads, calls=n_calls, sentences=len(texts))
    tmp = Path(tmp)

    bf = Embedder(EmbedConfig(precision='bf16', device='cpu'), threads=threads)
    token_lengths(bf.model, texts[:256])                                   # loads the model; warms the tokenizer
    out['tokenize_s'] = _best(lambda: token_lengths(bf.model, texts), 3)
    if first:
        fp = Embedder(EmbedConfig(precision='fp32', device='cpu'), threads=threads)
        fp.encode(texts[:64], progress=False)
        out['embed_fp32_s'] = _best(lambda: fp.encode(texts[:n_fp32], progress=False), 1)
        out['embed_fp32_n'] = n_fp32
        bf.encode(texts[:64], progress=False)
        t0 = time.perf_counter(); V = bf.encode(texts, progress=False)
        out['embed_bf16_s'], out['embed_bf16_n'] = time.perf_counter() - t0, len(texts)
        np.save(tmp / 'vectors.npy', V)
    else: V = np.load(tmp / 'vectors.npy')

    cfg = TopicsConfig()
    per_call = list(split_calls(tr, V))
    fit_firm(*per_call[0], cfg)                                            # numba: compile or load its cache
    fits, results = [], []
    for call, E in per_call:
        r = fit_firm(call, E, cfg)
        s = min(r.stats['seconds'], _best(lambda: fit_firm(call, E, cfg), 1))
        fits.append(dict(sentences=call.num_rows, topics=r.stats['n_topics'], seconds=s, fallback=r.stats['fallback']))
        results.append(r)
    out['fits'] = fits
    out['pseudo'] = []
    for n in (pseudo_sizes if first else ()):
        n = min(n, tr.num_rows)
        call = _relabel(tr.slice(0, n), f'pseudo{n}')
        r = fit_firm(call, V[:n], cfg)
        best = min(r.stats['seconds'], _best(lambda: fit_firm(call, V[:n], cfg), 1))
        out['pseudo'].append(dict(sentences=n, seconds=best, topics=r.stats['n_topics']))
    if first:                                          # bytes per row as the lake writes them: zstd Parquet
        allr = combine(results)
        for name, tbl in [('transcripts', tr), ('sentences', allr.sentences), ('topics', allr.topics)]:
            pq.write_table(tbl, tmp / f'{name}.parquet', compression='zstd')
        cache = EmbeddingCache(str(tmp / 'cache'), bf.vectors_id)
        keys, idx = np.unique(text_keys(texts, bf.vectors_id), return_index=True)
        cache.put(keys, V[idx])
        n_t = allr.topics.num_rows
        out['bytes'] = dict(
            transcripts_per_sentence=(tmp / 'transcripts.parquet').stat().st_size / tr.num_rows,
            sentences_per_sentence=(tmp / 'sentences.parquet').stat().st_size / tr.num_rows,
            topics_per_topic=(tmp / 'topics.parquet').stat().st_size / n_t,
            cache_per_sentence=sum(p.stat().st_size for p in (tmp / 'cache').rglob('*.parquet')) / len(keys),
            sentences=tr.num_rows, topics=n_t)
    return out


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def measure_here(n_calls: int = 30, seed: int = 0, n_fp32: int = 1200, pseudo_sizes=(400, 800)) -> dict:
    """Run `_measure_child` with one thread and then two (each in a fresh spawned process), then derive what the
    model needs: per-thread rates, Amdahl parallel shares, density exponents, bytes per row."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor
    if not DATA.exists(): sys.exit(f"--measure needs the MAEC file at {DATA}")
    runs, loads = {}, [_load()]
    with tempfile.TemporaryDirectory() as tmp:
        for t in (1, 2):
            with ProcessPoolExecutor(1, mp_context=mp.get_context('spawn'), initializer=_child_init,
                                     initargs=(t,)) as ex:
                runs[t] = ex.submit(_measure_child, t, str(DATA), '2016Q2', n_calls, seed, n_fp32,
                                    tuple(pseudo_sizes), tmp, t == 1).result()
            loads.append(_load())
    one, two = runs[1], runs[2]
    # Density: topic count against sentences per call over the real calls that were clustered; fit time over
    # those and the pseudo-calls (which reach past the largest real call).
    real = [f for f in one['fits'] if not f['fallback']]
    _, topics_exp = power_fit([f['sentences'] for f in real], [f['topics'] for f in real])
    pts = real + one['pseudo']
    _, time_exp = power_fit([f['sentences'] for f in pts], [f['seconds'] for f in pts])
    fit1 = sum(f['seconds'] for f in one['fits'])
    fit2 = sum(f['seconds'] for f in two['fits'])
    return dict(
        how=(f"bench/cloud.py --measure, {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC: a seeded (seed "
             f"{seed}) random {n_calls} of MAEC 2016Q2's calls ({one['sentences']:,} kept sentences), prepared with "
             f"ftm.text. A fresh spawned process with every thread pool at 1 thread: tokenisation "
             f"(ftm.embed.token_lengths, best of 3), ftm.embed.Embedder fp32 on the first {n_fp32} sentences and "
             f"bf16 on all (after a warm-up batch; model load not counted), ftm.topics.fit_firm on each call (numba "
             f"warm; best of 2) and on pseudo-calls of {', '.join(map(str, pseudo_sizes))} sentences (consecutive "
             f"calls relabelled as one), zstd Parquet of the transcripts, sentences and topics tables and one "
             f"embedding-cache part (bytes per row). Then a process at 2 threads: tokenisation and the same fits on "
             f"the same vectors. The machine is shared (load averages below): best-of timings, and the 2-thread "
             f"shares are lower bounds on what an idle machine shows"),
        machine=dict(cpu=_cpu_name(), cpus=os.cpu_count(), python=platform.python_version(),
                     flags=' '.join(f for f in ('avx512_bf16', 'amx_bf16') if f in _cpu_flags()),
                     load_avg=dict(zip(('before', 'after_1_thread', 'after_2_threads'), loads))),
        embed_fp32_1t=one['embed_fp32_n'] / one['embed_fp32_s'],
        embed_bf16_1t=one['embed_bf16_n'] / one['embed_bf16_s'],
        tokenize_1t=one['sentences'] / one['tokenize_s'], tokenize_2t=two['sentences'] / two['tokenize_s'],
        tokenize_parallel_share=parallel_share(one['tokenize_s'], two['tokenize_s']),
        fit_s_per_call_1t=fit1 / len(one['fits']), fit_s_per_call_2t=fit2 / len(two['fits']),
        fit_parallel_share=parallel_share(fit1, fit2),
        fit_time_vs_sentences_exponent=time_exp, topics_vs_sentences_exponent=topics_exp,
        sentences_per_call=one['sentences'] / n_calls,
        topics_per_call=sum(f['topics'] for f in one['fits']) / n_calls,
        fits=one['fits'], fits_2t=two['fits'], pseudo=one['pseudo'], bytes=one['bytes'])


def _cpu_flags() -> set:
    try: return set(next(l for l in Path('/proc/cpuinfo').read_text().splitlines() if l.startswith('flags')).split())
    except (OSError, StopIteration): return set()


def _cpu_name() -> str:
    try:
        for line in Path('/proc/cpuinfo').read_text().splitlines():
            if line.startswith('model name'): return line.split(':', 1)[1].strip()
    except OSError: pass
    return platform.processor()


def reduce_points() -> tuple[list[dict], str]:
    "The reduce's measured time and peak memory by topic count (bench/out/reduce_scale.json, else the last cloud.json)."
    if REDUCE_SCALE.exists():
        r = json.loads(REDUCE_SCALE.read_text())
        pts = [dict(firms=x['n_firms'], topics=x['full']['n_topics'], seconds=x['full']['seconds'],
                    peak_gib=x['full']['peak_rss_gb']) for x in r['results'] if x['full'].get('status') == 'ok']
        return pts, f"bench/out/reduce_scale.json ({r['meta']['date']}; bench/README.md 'Reduce at scale')"
    prev = OUT / 'cloud.json'
    if prev.exists():
        return json.loads(prev.read_text())['measured_here']['reduce_points'], "copied from bench/out/cloud.json"
    sys.exit("no reduce measurements: run bench/reduce_scale.py first")


def load_inputs(remeasure: bool) -> Inputs:
    "Inputs with ftm's config defaults and the figures measured here (measured now, or read from cloud.json)."
    inp = Inputs(**config_defaults())
    prev = OUT / 'cloud.json'
    here = None if remeasure or not prev.exists() else json.loads(prev.read_text()).get('measured_here')
    if here is None:
        print("measuring (about 2 minutes on 2 cores)...", file=sys.stderr)
        here = measure_here()
    here['reduce_points'], here['reduce_source'] = reduce_points()
    inp.here = here
    return inp


# ------------------------------------------------------------------------------------------------------------------
# Report
# ------------------------------------------------------------------------------------------------------------------

def default_plans(inp: Inputs) -> list[Plan]:
    "The issue's plans over a few instance types and job counts, keyword namer, Spot; plus LLM-naming variants."
    per = lambda firms: math.ceil(firms / inp.firms_per_batch)
    plans = []
    for inst in MAP_INSTANCES:
        plans.append(Plan('validation 100 firms x 2 q', 100, 2, inst, per(100), deadline_h=4))
    for inst in MAP_INSTANCES:     # a few job counts on one GPU and one CPU type, the default count on all
        for jobs in ((10, per(5000), 200) if inst in ('g4dn.xlarge', 'c6i.2xlarge') else (per(5000),)):
            plans.append(Plan('quarter 5,000 firms', 5000, 1, inst, jobs))
    for inst in MAP_INSTANCES:
        plans.append(Plan('8 quarters x 5,000 in a week', 5000, 8, inst, per(5000), deadline_h=7 * 24))
    plans += [Plan('validation 100 firms x 2 q', 100, 2, 'g4dn.xlarge', per(100), namer='llm', deadline_h=4),
              Plan('quarter 5,000 firms', 5000, 1, 'g4dn.xlarge', per(5000), namer='llm'),
              Plan('quarter 5,000 firms', 5000, 1, 'g4dn.xlarge', per(5000), namer='llm', llm_servers=4),
              Plan('8 quarters x 5,000 in a week', 5000, 8, 'g4dn.xlarge', per(5000), namer='llm', llm_servers=4,
                   deadline_h=7 * 24),
              Plan('quarter 5,000 firms', 5000, 1, 'c6i.2xlarge', per(5000), spot=False),
              Plan('quarter 5,000 firms', 5000, 1, 'g4dn.xlarge', per(5000), spot=False)]
    return plans


def fmt_h(h: float) -> str:
    return f"{h * 60:.0f} min" if h < 1 else f"{h:.1f} h"


def yes_no(x) -> str:
    return '—' if x is None else 'yes' if x else '**no**'


def row(res: dict) -> dict:
    p, mp, rd = res['plan'], res['map'], res['reduce']
    namer = 'keywords' if p['namer'] == 'keywords' else f"LLM ({p['llm_servers']}x {p['llm_instance']})"
    return {'plan': p['name'], 'map instance': p['instance'], 'jobs/q': p['jobs'],
            'market': 'Spot' if p['spot'] else 'on-demand', 'namer': namer,
            'jobs at once / instances': f"{mp['concurrent_jobs']} / {mp['instances']}",
            'map': fmt_h(mp['wall_s'] / 3600),
            'reduce': f"{fmt_h(rd['wall_s'] / 3600)} ({rd['instance']}"
                      + (f", {rd['at_once']} at once)" if p['quarters'] > 1 else ')'), 'wall': fmt_h(res['wall_h']),
            '$ total': f"{res['cost']:,.2f}", '$/quarter': f"{res['cost_per_quarter']:,.2f}",
            'fits time?': yes_no(res['fits_deadline']) + (f" ({p['deadline_h']:g} h)" if p['deadline_h'] else ''),
            'fits $100/q?': yes_no(res['fits_budget']),
            'runs into': ', '.join(t for t in res['warning_tags'] if t != 'waves') or '—'}


def markdown(rows: list[dict]) -> str:
    cols = list(rows[0])
    lines = ['| ' + ' | '.join(cols) + ' |', '|' + '|'.join('---' for _ in cols) + '|']
    lines += ['| ' + ' | '.join(str(r[c]) for c in cols) + ' |' for r in rows]
    return '\n'.join(lines)


def text_table(rows: list[dict]) -> str:
    cols = list(rows[0])
    w = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    out = ['  '.join(c.ljust(w[c]) for c in cols), '  '.join('-' * w[c] for c in cols)]
    out += ['  '.join(str(r[c]).replace('**', '').ljust(w[c]) for c in cols) for r in rows]
    return '\n'.join(out)


def breakdown(res: dict) -> str:
    "A plan's time and money by stage, for one scenario from the CLI."
    mp, rd, st, llm = res['map'], res['reduce'], res['storage'], res['llm']
    pf = mp['per_firm_s']
    lines = [
        f"plan: {res['plan']['name']}: {res['plan']['firms']:,} firms x {res['plan']['quarters']} quarter(s), "
        f"{res['sentences_per_firm']:.0f} sentences/firm, {res['topics_per_firm']:.1f} topics/firm",
        f"map: {mp['jobs_total']} jobs of {mp['firms_per_job']} firms on {mp['instance']} "
        f"({mp['threads_per_job']} threads/job, {mp['jobs_per_instance']} jobs/instance); {mp['concurrent_jobs']} at "
        f"once on {mp['instances']} instances, {mp['waves']} wave(s)",
        f"  per firm: embed {pf['embed']:.2f} s, topics {pf['topics']:.2f} s, keyword naming "
        f"{pf['keyword_naming']:.4f} s;"
        f" job {mp['job_s']:.0f} s (LLM naming wait {mp['job_naming_wait_s']:.0f} s), chunk {mp['chunk_s']:.0f} s",
        f"  Spot: {mp['spot']['expected_interruptions']:.3f} interruptions/job expected, "
        f"+{mp['spot']['expected_extra_s']:.1f}"
        f" s/job; P(any job interrupted) {mp['p_any_interrupted']:.2f}, then +{mp['spot']['worst_extra_s']:.0f} s wall",
        f"  wall {fmt_h(mp['wall_s'] / 3600)}, {mp['instance_hours']:.2f} instance-h "
        f"(rework {mp['rework_instance_hours']:.3f}), ${mp['cost']:.2f}",
        f"reduce: {rd['topics']:,.0f} topics -> {rd['themes']:,.0f} themes; {rd['reduce_s']:.0f} s, peak "
        f"{rd['peak_gib']:.1f} GiB on {rd['instance']}; naming {rd['naming_s']:.0f} s; wall "
        f"{fmt_h(rd['wall_s'] / 3600)}; ${rd['cost']:.2f}",
        f"ingest (submitter): {res['ingest']['wall_s']:.0f} s",
        f"LLM: {llm['servers']} server(s), {llm['hours']:.2f} h, {llm.get('requests', 0):,.0f} requests, "
        f"${llm['cost']:.2f}",
        f"storage: lake {st['lake_gb']:.2f} GB; S3 ${st['s3']:.3f}, Athena ${st['athena']:.3f}, ECR ${st['ecr']:.2f}, "
        f"logs ${st['logs']:.4f}; through a NAT gateway it would add ${st['nat_if_used']:.2f}",
        f"total: wall {fmt_h(res['wall_h'])}, ${res['cost']:.2f} (${res['cost_per_quarter']:.2f}/quarter); "
        f"fits time: {yes_no(res['fits_deadline'])}, fits ${res['plan']['budget_per_quarter']:.0f}/quarter: "
        f"{yes_no(res['fits_budget'])}"]
    return '\n'.join(lines + [f"warning: {w}" for w in res['warnings']])


def sensitivity(inp: Inputs) -> list[dict]:
    "How the 5,000-firm quarter on g4dn.xlarge and c6i.2xlarge (Spot, keywords) moves with the shakiest inputs."
    cases = [('as modelled', {}),
             ('MAEC density: 79 sentences/firm', dict(sentences_per_firm=inp.maec_sentences_per_firm)),
             ('2x sentences/firm (700)', dict(sentences_per_firm=2 * inp.sentences_per_firm)),
             ('AWS vCPU at half the measured speed', dict(aws_vcpu_speed=0.5)),
             ('GPU forward at half the assumed rate',
              dict(gpu_forward_per_s={k: v / 2 for k, v in inp.gpu_forward_per_s.items()})),
             ('Spot interruptions 20%/h', dict(spot_interruptions_per_hour=0.2)),
             ('max vCPUs 256 per environment', dict(gpu_max_vcpus=256, cpu_max_vcpus=256)),
             (f'CPU map jobs of 2 vCPUs, {2 * inp.worker_peak_gib:.1f} GiB (2x the measured worker peak)',
              dict(map_job_vcpus=2, map_job_mem_gib=2 * inp.worker_peak_gib)),
             ('Spot at 70% of on-demand', dict(spot_fraction=0.7))]
    out = []
    for name, change in cases:
        alt = dataclasses.replace(inp, **change)
        for inst in ('g4dn.xlarge', 'c6i.2xlarge'):
            r = run_plan(alt, Plan('quarter 5,000 firms', 5000, 1, inst, math.ceil(5000 / inp.firms_per_batch)))
            out.append({'case': name, 'instance': inst, 'topics/firm': f"{r['topics_per_firm']:.1f}",
                        'wall': fmt_h(r['wall_h']), '$/quarter': f"{r['cost_per_quarter']:.2f}",
                        'reduce peak GiB': f"{r['reduce']['peak_gib']:.1f}",
                        'reduce host': r['reduce']['instance'] if r['reduce']['host_fits'] else 'none fits',
                        'over max_topics': 'yes' if r['reduce']['over_max_topics'] else 'no'})
    return out


def input_record(inp: Inputs) -> dict:
    "Every input with its value and its source, for cloud.json."
    vals = dataclasses.asdict(inp)
    vals.pop('here')
    rec = {k: dict(value=v, kind=SOURCES[k][0], source=SOURCES[k][1]) for k, v in vals.items()}
    rec['instances'] = dict(kind=P, source=EC2_SOURCE,
                            value={n: dataclasses.asdict(i) for n, i in INSTANCES.items()})
    return rec


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--instance', choices=sorted(INSTANCES), help='map instance type: one plan instead of the report')
    ap.add_argument('--jobs', type=int, help='array jobs per quarter [default: firms / firms_per_batch]')
    ap.add_argument('--firms', type=int, default=5000)
    ap.add_argument('--quarters', type=int, default=1)
    ap.add_argument('--spot', dest='spot', action='store_true', default=True)
    ap.add_argument('--on-demand', dest='spot', action='store_false')
    ap.add_argument('--namer', choices=['keywords', 'llm'], default='keywords')
    ap.add_argument('--llm-instance', choices=['g5.xlarge', 'g6.xlarge'], default='g5.xlarge')
    ap.add_argument('--llm-servers', type=int, default=1)
    ap.add_argument('--sentences-per-firm', type=float)
    ap.add_argument('--max-vcpus', type=int, help="the compute environments' maxvCpus [default: infra's 64]")
    ap.add_argument('--job-vcpus', type=int, help="vCPUs of a CPU map job [default: infra's map_vcpus, 4]")
    ap.add_argument('--job-mem-gib', type=float, help="memory of a CPU map job [default: infra's 15000 MiB]")
    ap.add_argument('--spot-fraction', type=float)
    ap.add_argument('--interruptions-per-hour', type=float)
    ap.add_argument('--deadline-h', type=float)
    ap.add_argument('--budget', type=float, default=100.0, help='$ per quarter')
    ap.add_argument('--measure', action='store_true', help='re-measure the figures measured here (~2 min)')
    ap.add_argument('--json', action='store_true', help='print the scenario as JSON')
    a = ap.parse_args(argv)

    inp = load_inputs(a.measure)
    overrides = [('sentences_per_firm', ['sentences_per_firm']), ('max_vcpus', ['gpu_max_vcpus', 'cpu_max_vcpus']),
                 ('job_vcpus', ['map_job_vcpus']), ('job_mem_gib', ['map_job_mem_gib']),
                 ('spot_fraction', ['spot_fraction']), ('interruptions_per_hour', ['spot_interruptions_per_hour'])]
    for arg, names in overrides:
        for name in names:
            if getattr(a, arg) is not None: setattr(inp, name, getattr(a, arg))

    if a.instance:
        plan = Plan('cli', a.firms, a.quarters, a.instance, a.jobs or math.ceil(a.firms / inp.firms_per_batch), a.spot,
                    a.namer, a.llm_instance, a.llm_servers, a.deadline_h, a.budget)
        res = run_plan(inp, plan)
        print(json.dumps(res, indent=1, default=float) if a.json else breakdown(res))
        if a.measure: write_measurements(inp)
        return

    results = [run_plan(inp, p) for p in default_plans(inp)]
    rows = [row(r) for r in results]
    sens = sensitivity(inp)
    print(text_table(rows))
    print()
    print(text_table(sens))
    warnings = unique_warnings(results)
    for w in warnings: print(f"warning: {w}")
    OUT.mkdir(parents=True, exist_ok=True)
    doc = dict(generated=f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC", prices_as_of=PRICES_AS_OF,
               note=f"prices are list prices as written down on {PRICES_AS_OF}: {VERIFY}; figures marked 'assumed' "
                    "were not measured in this project",
               inputs=input_record(inp), measured_here=inp.here, derived=derived(inp),
               results=results, sensitivity=sens)
    (OUT / 'cloud.json').write_text(json.dumps(doc, indent=1, default=float) + '\n')
    (OUT / 'cloud.md').write_text(cloud_md(inp, rows, sens, warnings))
    print(f"\nwrote {OUT / 'cloud.json'} and {OUT / 'cloud.md'}")


def unique_warnings(results: list[dict]) -> list[str]:
    "Each warning once, with the plans it concerns."
    seen = {}
    for r in results:
        for w in r['warnings']:
            seen.setdefault(w, []).append(r['plan']['name'])
    return [f"{w} ({'; '.join(dict.fromkeys(where))})" for w, where in seen.items()]


def write_measurements(inp: Inputs):
    "After --measure with a single scenario: keep the new measurements in cloud.json."
    p = OUT / 'cloud.json'
    doc = json.loads(p.read_text()) if p.exists() else {}
    doc['measured_here'] = inp.here
    p.write_text(json.dumps(doc, indent=1, default=float) + '\n')


def derived(inp: Inputs) -> dict:
    "The per-firm and per-instance figures the plans are built from (to check the model by hand)."
    out = dict(topics_per_firm=topics_per_firm(inp), fit_s_per_firm_1t=fit_s_per_firm(inp), instances={})
    for n in MAP_INSTANCES + ('g6.xlarge', 'm6i.2xlarge', 'c7a.2xlarge'):
        r = map_rates(inp, INSTANCES[n])
        out['instances'][n] = dict(dataclasses.asdict(r), compute_s_per_firm=r.compute_s_per_firm,
                                   dollars_per_1000_firms_spot=1000 * r.compute_s_per_firm / r.jobs_per_instance / 3600
                                   * hourly(inp, INSTANCES[n], True))
    return out


def cloud_md(inp: Inputs, rows: list[dict], sens: list[dict], warnings: list[str]) -> str:
    h = inp.here
    head = (f"Modelled by `bench/cloud.py` ({dt.date.today()}); prices: us-east-1 list prices as of {PRICES_AS_OF}, "
            f"{VERIFY}. {inp.sentences_per_firm:.0f} kept sentences per firm (assumed; MAEC has 79), "
            f"{topics_per_firm(inp):.1f} topics per firm (MAEC's 5.9 scaled by the exponent measured here, "
            f"{h['topics_vs_sentences_exponent']:.2f}). Spot at {inp.spot_fraction:.0%} of on-demand with "
            f"{inp.spot_interruptions_per_hour:.0%} interruptions per instance-hour; compute environments of at most "
            f"{inp.gpu_max_vcpus} (GPU) and {inp.cpu_max_vcpus} (CPU) vCPUs, map jobs of {inp.map_job_vcpus} vCPUs and "
            f"{inp.map_job_mem_gib * 1024:.0f} MiB (infra/modules/batch defaults, in progress). "
            f"GPU embedding and LLM request rates are assumed, not measured here.\n\n")
    # The waves are in the table's 'jobs at once / instances' column already.
    notes = ''.join(f"- {w}\n" for w in warnings if not w.startswith('max vCPUs'))
    return head + markdown(rows) + '\n\n' + notes + f"\nSensitivity (5,000-firm quarter, Spot, keywords, " \
        f"{math.ceil(5000 / inp.firms_per_batch)} jobs):\n\n" + markdown(sens) + '\n'


if __name__ == '__main__':
    main()
