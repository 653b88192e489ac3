# jpagent — two commands on a fresh machine:  make demo   /   make test
# `make setup` is idempotent: it re-installs only when pyproject.toml or this Makefile change.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
STAMP  := $(VENV)/.jpagent-setup
# torch first, pinned: a plain `torch` would pull a multi-GB CUDA build.
TORCH  := torch==2.13.0
EXTRAS := models,llamacpp,st,anchors,pdfgen,evals,dev
DATA   ?= $(abspath ../shared/data)

.PHONY: setup demo test lint fmt clean bench eval \
	bench-loaders bench-chunking bench-embed bench-ingest bench-latency bench-mtbench bench-threads \
	eval-retrieval eval-qa eval-ask report

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet $(TORCH)
	$(PIP) install --quiet -e '.[$(EXTRAS)]'
	$(VENV)/bin/jpagent models verify
	touch $(STAMP)

demo: setup
	$(VENV)/bin/jpagent demo

# pytest's exit code 5 (no tests collected) is a failure, not a pass.
test: setup lint
	JPAGENT_DATA_DIR=$(DATA) $(PY) -m pytest -q; rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "make test: no tests collected" >&2; exit 1; fi; exit $$rc

lint: setup
	$(VENV)/bin/ruff check jpagent tests evals pipelines corpora/make_corpus.py
	$(VENV)/bin/ruff format --check jpagent tests evals pipelines corpora/make_corpus.py

fmt: setup
	$(VENV)/bin/ruff check --fix jpagent tests evals pipelines corpora/make_corpus.py
	$(VENV)/bin/ruff format jpagent tests evals pipelines corpora/make_corpus.py

# Benchmarks and evals: one command each; each records Markdown + JSON (command, date) in
# evals/results/. They compare against the LlamaIndex / LangChain defaults in the same run.
JSQUAD := $(DATA)/jsquad/valid-v1.3.json
RESULTS := evals/results

bench-loaders: setup
	$(PY) evals/bench_loaders.py --data $(DATA)
bench-chunking: setup
	$(PY) evals/bench_chunking.py --data $(JSQUAD)
bench-embed: setup
	JPAGENT_DATA_DIR=$(DATA) $(PY) evals/bench_embed.py --out $(RESULTS)
bench-ingest: setup
	$(PY) evals/bench_ingest.py --data $(DATA)
bench-latency: setup
	$(PY) evals/bench_latency.py --data $(DATA)
bench-mtbench: setup
	$(PY) evals/bench_mtbench.py --data $(DATA)
bench-threads: setup
	$(PY) evals/bench_threads.py --data $(DATA)
eval-retrieval: setup
	$(VENV)/bin/jpagent eval retrieval --data $(JSQUAD) --mode paragraph --limit 12 --out $(RESULTS)
	$(VENV)/bin/jpagent eval retrieval --data $(JSQUAD) --mode article --limit 12 --out $(RESULTS)
eval-qa: setup
	$(VENV)/bin/jpagent eval qa --data $(JSQUAD) --limit 40 --out $(RESULTS)
eval-ask: setup
	$(PY) -m jpagent.evals.ask --corpus corpora/sample --facts corpora/README.md --out $(RESULTS)

bench: bench-loaders bench-chunking bench-embed bench-ingest bench-latency bench-mtbench bench-threads
eval: eval-retrieval eval-qa eval-ask

# One self-contained HTML page (and Markdown) of every result in evals/results/.
report: setup
	$(VENV)/bin/jpagent eval report --results $(RESULTS) --out $(RESULTS)/report.html \
	  --md $(RESULTS)/report.md

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
