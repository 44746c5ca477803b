# ftm — two commands on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
# The stamp is named by the content of the set-up files, not their dates: nbdev-export rewrites pyproject.toml
# (same bytes, new mtime), which would otherwise reinstall on every `make test`.
STAMP := $(VENV)/.ftm-installed-$(shell cat pyproject.toml constraints.txt | sha1sum | cut -c1-12)
QUARTER ?= 2016Q2
SOURCE ?= sample
LAKE ?= ./lake
NAMER ?= keywords
EXECUTOR ?= local

.PHONY: setup run test export check-sync bench events known-events lab

# Set-up is keyed on the files that define it, so a second call is a no-op.
$(STAMP):
	@command -v $(PY) >/dev/null || { echo "need $(PY) on PATH (or: make PY=python3 ...)"; exit 1; }
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first: the CPU build on local disk; a plain `torch` would pull a multi-GB CUDA build.
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

run: setup
	@mkdir -p runs/outputs
	HF_HUB_OFFLINE=1 $(BIN)/papermill runs/quarter.ipynb runs/outputs/quarter-$(QUARTER).ipynb \
	  -p quarter $(QUARTER) -p source $(SOURCE) -p lake $(LAKE) -p namer $(NAMER) -p executor $(EXECUTOR) --log-output --progress-bar
	$(BIN)/ftm lake record runs/outputs/quarter-$(QUARTER).ipynb --quarter $(QUARTER) --lake $(LAKE)

export: setup
	$(BIN)/nbdev-export
	$(BIN)/nbdev-clean

# Fails when the notebooks and the package disagree, or a notebook is not clean.
check-sync: setup
	@snap() { find ftm nbs runs -type f -not -path 'runs/outputs/*' -not -path '*__pycache__*' -not -path '*.ipynb_checkpoints*' | sort | xargs sha1sum | sha1sum; }; \
	before=$$(snap); \
	$(BIN)/nbdev-export && $(BIN)/nbdev-clean && $(BIN)/nbdev-clean --fname runs; \
	if [ "$$before" != "$$(snap)" ]; then \
	  echo "FAILED: nbdev-export/nbdev-clean changed files under ftm/, nbs/ or runs/."; \
	  echo "The package was out of sync with its notebooks, or a notebook was not clean: review and commit."; \
	  git status --porcelain -- ftm nbs runs; exit 1; fi

test: setup check-sync .venv-checkov tests/asl/node_modules/.installed
	HF_HUB_OFFLINE=1 $(BIN)/python tests/run_all.py

# checkov (static analysis of infra/, tests/test_infra_checkov.py) pins boto3 1.35, so it gets a venv of its own,
# keyed like the main one on the content of its pinned requirements file.
CHECKOV_VENV := .venv-checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-$(shell cat requirements/checkov.txt | sha1sum | cut -c1-12)
.PHONY: .venv-checkov
.venv-checkov: $(CHECKOV_STAMP)

$(CHECKOV_STAMP):
	@command -v $(PY) >/dev/null || { echo "need $(PY) on PATH (or: make PY=python3 ...)"; exit 1; }
	test -x $(CHECKOV_VENV)/bin/python || $(PY) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --upgrade pip
	$(CHECKOV_VENV)/bin/pip install -q -r requirements/checkov.txt
	rm -f $(CHECKOV_VENV)/.installed-*
	touch $(CHECKOV_STAMP)

# asl-validator (npm) lints infra/state_machines/*.asl.json in tests/test_state_machine.py; installed from the lock file.
tests/asl/node_modules/.installed: tests/asl/package.json tests/asl/package-lock.json
	@command -v npm >/dev/null || { echo "need node and npm (node 20) for asl-validator"; exit 1; }
	cd tests/asl && npm ci --no-audit --no-fund --silent
	touch $@

bench: setup
	HF_HUB_OFFLINE=1 $(BIN)/python bench/quarter.py --data ../shared/data/maec/transcripts.parquet --quarter 2016Q2

# The event study over published quarters (run `ftm run` for each quarter first); the executed notebook is the record.
QUARTERS ?= 2015Q2..2017Q4
PRICES ?= ../shared/data/prices/us_daily_2013_2019.parquet
MARKETS ?= ew,spy
events: setup
	@mkdir -p runs/outputs
	$(BIN)/papermill runs/events.ipynb runs/outputs/events-$(subst ..,-,$(QUARTERS)).ipynb \
	  -p quarters $(QUARTERS) -p prices $(PRICES) -p lake $(LAKE) -p markets $(MARKETS) --log-output

# Known events in the calls (face validity, nbs/33_known_events): per quarter, the share of firms whose calls name the
# event (keyword baseline) beside the theme that carries it and its lineage; the executed notebook is the record.
# Quarters only ingested get the baseline alone. Usage: make known-events [QUARTERS=2015Q2..2017Q4] [LAKE=./lake]
known-events: setup
	@mkdir -p runs/outputs
	$(BIN)/papermill runs/known_events.ipynb runs/outputs/known_events-$(subst ..,-,$(QUARTERS)).ipynb \
	  -p quarters $(QUARTERS) -p lake $(LAKE) --log-output

# Many quarters on AWS Step Functions (runs/cloud.ipynb): start one execution of the multi-quarter state machine,
# follow it, keep each quarter's summary in the lake, then the executed notebook beside each quarter's run; exits 1 if
# a quarter did not succeed. The state machine and region: STATE_MACHINE / REGION, else FTM_CLOUD__STATE_MACHINE_ARN /
# FTM_CLOUD__REGION (else the state machine's region); the lake is the deployment's unless LAKE is given.
# Usage: make cloud-run QUARTERS=2015Q2..2017Q4 [STATE_MACHINE=arn:aws:states:...] [REGION=...] [LAKE=s3://...]
STATE_MACHINE ?= $(FTM_CLOUD__STATE_MACHINE_ARN)
REGION ?= $(FTM_CLOUD__REGION)
comma := ,
CLOUD_NB = runs/outputs/cloud-$(subst $(comma),_,$(subst ..,-,$(QUARTERS))).ipynb
.PHONY: cloud-run
cloud-run: setup
	@[ -n "$(STATE_MACHINE)" ] || { echo "make cloud-run: no state machine: pass STATE_MACHINE=arn:aws:states:... or set FTM_CLOUD__STATE_MACHINE_ARN (terraform -chdir=infra output -raw state_machine_arn)" >&2; exit 2; }
	@mkdir -p runs/outputs
	$(BIN)/papermill runs/cloud.ipynb $(CLOUD_NB) -p quarters '$(QUARTERS)' -p state_machine_arn '$(STATE_MACHINE)' \
	  $(if $(REGION),-p region '$(REGION)') $(if $(filter-out file,$(origin LAKE)),-p lake '$(LAKE)') --log-output
	$(BIN)/ftm cloud record $(CLOUD_NB)

# JupyterLab on the run notebooks (runs/explore.ipynb: browse a lake's themes), with this project's kernel.
# (the venv's python3 kernelspec runs the venv's python, so the notebooks import this checkout's ftm)
lab: setup
	HF_HUB_OFFLINE=1 $(BIN)/jupyter lab --notebook-dir=runs

# Container images (containers/README.md): build the worker (AWS Batch map/reduce), its Lambda variant (the state
# machine's functions: target lambda, CPU torch, tag <worker tag>-lambda) and the vLLM server for linux/amd64 with
# `docker buildx` and push them to ECR. Needs Docker with buildx and AWS credentials.
# Tags are immutable in ECR, so TAG (default: `git describe --always --dirty`) must name a commit: a -dirty tag is
# refused. Repositories come from `terraform -chdir=infra output` when it has them, else <account>.dkr.ecr.<region>
# .amazonaws.com/ftm-worker and /ftm-vllm. A worker built with TORCH_VARIANT other than cu130 gets the tag
# <TAG>-<variant>. Usage: make images [TAG=...] [TORCH_VARIANT=cu130|cu129|cu126|cpu] [AWS_REGION=...]
TAG ?=
ACCOUNT ?=
AWS_REGION ?= $(or $(AWS_DEFAULT_REGION),us-east-1)
TORCH_VARIANT ?= cu130
IMAGE_PLATFORM ?= linux/amd64
WORKER_REPOSITORY ?=
VLLM_REPOSITORY ?=
.PHONY: images
images:
	@if ! command -v docker >/dev/null 2>&1 || ! docker buildx version >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then \
	  echo "make images needs Docker and ECR; see containers/README.md (no docker CLI with buildx and a running daemon here)" >&2; exit 1; fi
	@command -v aws >/dev/null 2>&1 || { echo "make images needs Docker and ECR; see containers/README.md (no aws CLI here)" >&2; exit 1; }
	@set -euo pipefail; \
	tag='$(TAG)'; [ -n "$$tag" ] || tag=$$(git describe --always --dirty); \
	case "$$tag" in *-dirty) echo "make images: refusing tag '$$tag': the working tree has uncommitted changes and ECR tags are immutable; commit first (or pass TAG=...)" >&2; exit 1;; esac; \
	case "$$tag" in ''|*[!A-Za-z0-9_.-]*) echo "make images: '$$tag' is not a valid image tag" >&2; exit 1;; esac; \
	tf_url() { command -v terraform >/dev/null 2>&1 || return 0; \
	  terraform -chdir=infra output -raw "$$1" 2>/dev/null | grep -E '^[0-9]{12}\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com/[A-Za-z0-9._/-]+$$' || true; }; \
	worker='$(WORKER_REPOSITORY)'; [ -n "$$worker" ] || worker=$$(tf_url ecr_worker_repository_url); \
	vllm='$(VLLM_REPOSITORY)'; [ -n "$$vllm" ] || vllm=$$(tf_url ecr_vllm_repository_url); \
	if [ -z "$$worker" ] || [ -z "$$vllm" ]; then \
	  account='$(ACCOUNT)'; [ -n "$$account" ] || account=$$(aws sts get-caller-identity --query Account --output text); \
	  [ -n "$$worker" ] || worker="$$account.dkr.ecr.$(AWS_REGION).amazonaws.com/ftm-worker"; \
	  [ -n "$$vllm" ] || vllm="$$account.dkr.ecr.$(AWS_REGION).amazonaws.com/ftm-vllm"; fi; \
	wtag="$$tag"; [ "$(TORCH_VARIANT)" = cu130 ] || wtag="$$tag-$(TORCH_VARIANT)"; \
	for registry in $$(printf '%s\n%s\n' "$${worker%%/*}" "$${vllm%%/*}" | sort -u); do \
	  region=$$(echo "$$registry" | cut -d. -f4); \
	  aws ecr get-login-password --region "$$region" | docker login --username AWS --password-stdin "$$registry"; done; \
	meta=$$(mktemp -d); trap 'rm -rf "$$meta"' EXIT; \
	docker buildx build --platform $(IMAGE_PLATFORM) -f containers/worker/Dockerfile --target worker \
	  --build-arg TORCH_VARIANT=$(TORCH_VARIANT) --build-arg GIT_COMMIT=$$(git rev-parse HEAD) \
	  --metadata-file "$$meta/worker.json" -t "$$worker:$$wtag" --push .; \
	docker buildx build --platform $(IMAGE_PLATFORM) -f containers/worker/Dockerfile --target lambda \
	  --build-arg TORCH_VARIANT=cpu --build-arg GIT_COMMIT=$$(git rev-parse HEAD) --provenance=false --sbom=false \
	  --metadata-file "$$meta/lambda.json" -t "$$worker:$$wtag-lambda" --push .; \
	docker buildx build --platform $(IMAGE_PLATFORM) -f containers/vllm/Dockerfile \
	  --metadata-file "$$meta/vllm.json" -t "$$vllm:$$tag" --push containers/vllm; \
	for f in worker lambda vllm; do \
	  case $$f in worker) ref="$$worker:$$wtag";; lambda) ref="$$worker:$$wtag-lambda";; vllm) ref="$$vllm:$$tag";; esac; \
	  digest=$$(grep -o '"containerimage.digest": *"[^"]*"' "$$meta/$$f.json" | grep -o 'sha256:[0-9a-f]*' || echo '?'); \
	  echo "pushed $$ref ($$digest)"; done; \
	echo "Batch: terraform -chdir=infra apply -var worker_image_tag=$$wtag"; \
	echo "all: terraform -chdir=infra apply -var worker_image_tag=$$wtag -var vllm_image_tag=$$tag (Lambda functions: $$wtag-lambda)"

# The README's measured figures (its `figures:` blocks) re-rendered from their JSON records in bench/out/
# (bench/render_readme.py). After `make bench`, it first takes that run's bench/out/quarter-2016Q2.json into
# bench/out/maec_2016Q2.json: `make bench readme-figures` measures and updates the README in one go.
# CHECK=1 only checks (exit 1 when the README is out of date), as tests/test_readme_figures.py does.
.PHONY: readme-figures
readme-figures:
	@py=$$(test -x $(BIN)/python && echo $(BIN)/python || echo $(PY)); \
	if [ -z "$(CHECK)" ] && [ -f bench/out/quarter-2016Q2.json ] && [ bench/out/quarter-2016Q2.json -nt bench/out/maec_2016Q2.json ]; then \
	  $$py bench/render_readme.py --from-quarter bench/out/quarter-2016Q2.json; \
	else $$py bench/render_readme.py $(if $(CHECK),--check); fi
