#!/usr/bin/env bash
# Entrypoint of the ftm-vllm image: copy the model from S3 to local disk, then exec vLLM's OpenAI-compatible server
# on that folder with the Hugging Face Hub offline. Settings come from the environment (defaults in the
# Dockerfile); arguments given to the container are appended to `vllm serve`'s, so one given again there wins (e.g.
# `--max-num-seqs 32`).
#
#   MODEL_S3_URI            s3:// folder of the model: config.json, tokenizer files, *.safetensors (required)
#   MODEL_DIR               local folder the model is copied to                  [/models/Qwen3-8B]
#   SERVED_MODEL_NAME       the name clients send as `model` (ftm's LLM_MODEL)   [Qwen/Qwen3-8B]
#   MAX_MODEL_LEN           context, prompt + reply, in tokens                   [4096]
#   GPU_MEMORY_UTILIZATION  share of the GPU's memory vLLM may take              [0.92]
#   MAX_NUM_SEQS            most requests decoded at once (the KV cache holds    [64]
#                           ~85 of ftm's; more would be admitted, then preempted)
#   MAX_NUM_BATCHED_TOKENS  tokens per scheduler step, prefill chunks + decodes  [2048]
#   ENABLE_CHUNKED_PREFILL  true | false: new prompts enter in chunks, without   [true]
#                           stalling the running decodes
#   PORT                    port of the server (GET /health, /v1/...)            [8000]
#   S5CMD_NUMWORKERS, S5CMD_CONCURRENCY  parallel files / parts per file of the copy   [32, 16]
set -euo pipefail

log() {  # one JSON line per event, like ftm's own logs (CloudWatch); messages hold no double quotes
  printf '{"time":"%s","level":"%s","logger":"ftm-vllm.start","message":"%s"}\n' \
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$1" "$2"
}

: "${MODEL_S3_URI:?MODEL_S3_URI must name the s3:// folder of the model (config.json, tokenizer files, *.safetensors)}"
model_dir="${MODEL_DIR:-/models/Qwen3-8B}"
served_name="${SERVED_MODEL_NAME:-Qwen/Qwen3-8B}"
max_model_len="${MAX_MODEL_LEN:-4096}"
gpu_mem="${GPU_MEMORY_UTILIZATION:-0.92}"
max_num_seqs="${MAX_NUM_SEQS:-64}"
max_batched_tokens="${MAX_NUM_BATCHED_TOKENS:-2048}"
port="${PORT:-8000}"

case "$MODEL_S3_URI" in
  s3://?*) ;;
  *) log error "MODEL_S3_URI must start with s3:// (got: ${MODEL_S3_URI})"; exit 2 ;;
esac
for setting in MAX_MODEL_LEN:"$max_model_len" MAX_NUM_SEQS:"$max_num_seqs" MAX_NUM_BATCHED_TOKENS:"$max_batched_tokens"; do
  if [[ ! "${setting#*:}" =~ ^[1-9][0-9]*$ ]]; then
    log error "${setting%%:*} must be a positive whole number (got: ${setting#*:})"; exit 2
  fi
done
case "${ENABLE_CHUNKED_PREFILL:-true}" in
  true) chunked_prefill=--enable-chunked-prefill ;;
  false) chunked_prefill=--no-enable-chunked-prefill ;;
  *) log error "ENABLE_CHUNKED_PREFILL must be true or false (got: ${ENABLE_CHUNKED_PREFILL})"; exit 2 ;;
esac

mkdir -p "$model_dir"
log info "copying ${MODEL_S3_URI} to ${model_dir}"
t0=$SECONDS
# --size-only: on a kept volume, files already there are not fetched again.
s5cmd --numworkers "${S5CMD_NUMWORKERS:-32}" sync --size-only --concurrency "${S5CMD_CONCURRENCY:-16}" \
  "${MODEL_S3_URI%/}/*" "${model_dir}/"

if [[ ! -f "${model_dir}/config.json" ]] || ! compgen -G "${model_dir}/*.safetensors" > /dev/null; then
  log error "${MODEL_S3_URI} holds no config.json and *.safetensors: not a model folder"
  exit 1
fi
size=$(du -sh "$model_dir" | cut -f1)
log info "model copied in $((SECONDS - t0)) s (${size}); starting vLLM on port ${port}"

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# exec: vLLM becomes this process and gets the task's SIGTERM itself.
# enable_thinking false by default (ftm also sends it per request); the qwen3 parser keeps any reasoning a client
# asks for out of the reply's content.
exec vllm serve "$model_dir" \
  --served-model-name "$served_name" \
  --host 0.0.0.0 \
  --port "$port" \
  --max-model-len "$max_model_len" \
  --gpu-memory-utilization "$gpu_mem" \
  --max-num-seqs "$max_num_seqs" \
  --max-num-batched-tokens "$max_batched_tokens" \
  "$chunked_prefill" \
  --enable-prefix-caching \
  --reasoning-parser qwen3 \
  --default-chat-template-kwargs '{"enable_thinking": false}' \
  "$@"
