# The two set-up commands of the README:
#   make run    install, build the index of the bundled corpus if needed, serve the API and the page
#   make test   install with the development tools, then lint, type-check and run every test
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
QUESTION ?= What dose should be used?
HISTORY ?= Which medication treats spasticity in multiple sclerosis?

.PHONY: install run demo test lint browser calibrate eval library benchmarks bench bench-avx2 compare-haystack compare-peers load clean

# Installs into a project virtual environment; re-runs only when pyproject.toml changes.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

# The tests also run the Milvus backend against a real milvus-lite engine and the embedding job on a
# local Ray cluster: their optional extras, installed for testing only.
$(VENV)/.installed-backends: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev,milvus,ray]'
	touch $@

HOST ?= 127.0.0.1
PORT ?= 8000
run: install
	$(BIN)/followup serve --host $(HOST) --port $(PORT)

demo: install
	$(BIN)/followup index
	$(BIN)/followup ask "$(QUESTION)" --history "$(HISTORY)"

lint: install
	$(BIN)/ruff check src tests evals bench
	$(BIN)/ruff format --check src tests evals bench
	$(BIN)/mypy

# The page is tested in Debian's chromium, driven through chromedriver; installed here when missing.
browser:
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; \
	else echo "the page test needs Debian's chromium and chromium-driver: sudo apt-get install chromium chromium-driver" >&2; exit 1; fi

test: lint browser $(VENV)/.installed-backends
	$(BIN)/pytest

# The own suites (test split), then the ten graded articles (evals/articles/) asked in the development
# library, dev and test, every mode side by side and every article on its own row.
BENCHMARKS ?= ../shared/benchmarks
LIBRARY := build/library
eval: install library
	$(BIN)/followup index
	$(BIN)/followup eval --split test
	$(BIN)/followup eval evals/blind-holdout.jsonl --split test
	$(BIN)/followup eval evals/blind-holdout-2.jsonl --split test
	$(BIN)/followup eval evals/articles/follow-ups.jsonl --split dev --index $(LIBRARY)/index --corpus $(LIBRARY)/corpus
	$(BIN)/followup eval evals/articles/follow-ups.jsonl --split test --index $(LIBRARY)/index --corpus $(LIBRARY)/corpus

# The development library: the bundled corpus and the articles of evals/articles/, added from their
# JATS XML by `followup add` and indexed (a minute on 2 cores; unchanged texts are not embedded again).
library: install
	$(BIN)/python evals/build_library.py $(LIBRARY)

benchmarks: install
	$(BIN)/followup eval $(BENCHMARKS)/nfcorpus --split test
	$(BIN)/followup eval $(BENCHMARKS)/medquad --split test

# Performance in one run: the seed corpus (bench/bench.py), then library scale (bench/scale.py): MedQuAD
# as 5,401 articles through the whole pipeline, synthetic corpora of 10k-1M chunks, docs/scale.png.
# The first run embeds the library (17 minutes on 2 cores with native bfloat16); later runs reuse
# its embeddings. bench/embedding_throughput.py: each encoder's texts/s. Then bench/pipeline_scale.py:
# a 1M-chunk synthetic build of that library through `followup ask` and Answerer.
bench: install
	$(BIN)/python bench/bench.py
	$(BIN)/python bench/embedding_throughput.py
	$(BIN)/python bench/scale.py --cold  # the library's first build is one of its figures
	$(BIN)/python bench/pipeline_scale.py

# The seed corpus's figures as on a CPU with AVX2 alone (no AVX-512, VNNI, AMX): this machine's AVX-512
# hidden from onnxruntime, numpy, faiss and the project by CPUID faulting (bench/avx2/hide_avx512.c).
bench-avx2: install
	bench/avx2/run $(BIN)/python bench/bench.py --builds 1

# followup beside a Haystack 2.x in-memory hybrid pipeline on NFCorpus (test): nDCG@10 and per-query latency.
# Haystack goes into its own venv (.cache/haystack-venv), never this one.
compare-haystack: install
	$(BIN)/python bench/haystack_compare.py --dataset $(BENCHMARKS)/nfcorpus

# followup beside the lean floor (bm25s + faiss) and txtai 9.x on NFCorpus (test), all three on the same chunks,
# chunk vectors and query vectors: nDCG@10, R@100, per-query latency and peak memory (docs/peers.md).
# The peers go into their own venvs (.cache/floor-venv, .cache/txtai-venv) on first use, never this one.
compare-peers: install
	$(BIN)/python bench/peers_compare.py --dataset $(BENCHMARKS)/nfcorpus

# Throughput and latency of a running service (start it with `make run` first).
load: install
	$(BIN)/python bench/load.py --url http://$(HOST):$(PORT)

calibrate: install
	$(BIN)/followup index
	$(BIN)/python evals/calibrate_abstention.py

clean:
	rm -rf $(VENV) index/CURRENT index/builds index/.lock
