#!/usr/bin/env bash
# Entrypoint of the ftm-vllm image: copy the model from S3 to local disk, then exec vLLM's OpenAI-compatible server
# on that folder with the Hugging Face Hub offline. Settings come from the environment (defaults in the
# Dockerfile); arguments given to the container are appended to `vllm serve`'s.
#
#   MODEL_S3_URI            s3:// folder of the model: config.json, tokenizer files, *.safetensors (required)
#   MODEL_DIR               local folder the model is copied to                  [/models/Qwen3-8B]
#   SERVED_MODEL_NAME       the name clients send as `model` (ftm's LLM_MODEL)   [Qwen/Qwen3-8B]
#   MAX_MODEL_LEN           context, prompt + reply, in tokens                   [4096]
#   GPU_MEMORY_UTILIZATION  share of the GPU's memory vLLM may take              [0.90]
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
gpu_mem="${GPU_MEMORY_UTILIZATION:-0.90}"
port="${PORT:-8000}"

case "$MODEL_S3_URI" in
  s3://?*) ;;
  *) log error "MODEL_S3_URI must start with s3:// (got: ${MODEL_S3_URI})"; exit 2 ;;
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
  --enable-prefix-caching \
  --reasoning-parser qwen3 \
  --default-chat-template-kwargs '{"enable_thinking": false}' \
  "$@"
