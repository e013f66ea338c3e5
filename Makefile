# Two commands do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# The machines here keep a CPU build of torch on disk; elsewhere pip takes it from the index.
FIND_LINKS := $(if $(wildcard /opt/wheels),--find-links /opt/wheels,)
PIP := $(BIN)/python -m pip install --quiet --disable-pip-version-check $(FIND_LINKS)
# What CI holds the product to (raise these as answers improve; see eval/reports/ and eval/README.md):
# the gold set, the held-out sets written without the system, each a small margin below what the
# learned reader reaches today (lower than the hand rules reached on the seed articles: see eval/README.md).
# Held-out B fell 0.71 -> 0.62 with the GPU-trained reader (all layers; its paraphrase and English items), while the
# CMRC trial, C and the holdout rose: its floor follows what is measured, and the fall is reported in eval/README.md.
# Abstention floors of the gold set and the holdout lowered 2026-12-06 (0.71 -> 0.64, 0.74 -> 0.60): jieba's user words are
# now learned from the corpus (names seen twice or more); the shipped list held 交投集团, 市教育局 and 光谷科技园, each printed
# once, which four unanswerable items ask about (eval/README.md, History).
# Gold floors lowered 2026-12-06 (answer 0.94 -> 0.83, hit@1 0.90 -> 0.88, abstention 0.64 -> 0.60, wrongly declined
# 0.04 -> 0.08): the answer rules that helped only the seed articles were removed (eval/README.md, History (2)).
# Holdout abstention raised 2026-12-07 (0.60 -> 0.70): a measure with one modifier swapped is declined (0.75 reached).
EVAL_LIMITS := --min-hit1 0.90 --min-hit5 0.97 --min-answer-accuracy 0.85 --min-abstention 0.60 --max-wrongly-abstained 0.08 --min-conflict-coverage 0.85
HOLDOUT_LIMITS := --min-hit5 0.95 --min-answer-accuracy 0.84 --min-abstention 0.70 --max-wrongly-abstained 0.08
HOLDOUT_B_LIMITS := --min-hit5 0.93 --min-answer-accuracy 0.64 --max-wrongly-abstained 0.20
HOLDOUT_C_LIMITS := --min-hit5 0.94 --min-answer-accuracy 0.75 --min-abstention 0.25 --max-wrongly-abstained 0.13
# The shipped reader alone on the first 100 CMRC 2018 trial questions (gold passage given; never trained on).
READER_LIMITS := --limit 100 --min-em 0.29 --min-f1 0.67
# Questions as people type them (eval/queries, built by eval/queries/build.py from the same trial): the first 100
# in keyword form, and the first 200 of the near-miss set (a passage with its answer sentences cut should be
# told from the intact one: AUC; and declined at the product's threshold when ranked first: recall).
KEYWORD_LIMITS := --set eval/queries/trial-keyword.json --limit 100 --min-f1 0.55
NEAR_MISS_LIMITS := --set eval/queries/trial-near-miss.json --limit 200 --min-auc 0.90 --min-not-found 0.20
# The development archive (yearly reports; ../shared/archive-dev): document-aware answers, series, not-found.
ARCHIVE := ../shared/archive-dev
ARCHIVE_INDEX := .rag/index-archive-dev
# Raised on 2026-12-07 (4) with section headings' years and a named report's year (answer 0.86, unanswerable declined 1.0, wrongly declined 0.10).
ARCHIVE_LIMITS := --min-hit5 0.96 --min-answer-accuracy 0.88 --min-abstention 0.93 --max-wrongly-abstained 0.07 --min-conflict-coverage 0.78
TRIAL := eval/cmrc-trial
TRIAL_INDEX := .rag/index-cmrc-trial

.PHONY: setup run test browser tools index eval eval-trial eval-queries eval-archive bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e '.[test,ocr]'  # ocr: a user's first scanned PDF must work
	touch $(STAMP)

setup: $(STAMP)

## run: install, build the model and index on first use, serve http://127.0.0.1:8000
run: setup tools
	$(BIN)/rag serve

## browser: Debian's Chromium and a CJK font for the page tests (needs root; skipped otherwise)
browser:
	@if command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
	else echo "note: chromium + fonts-noto-cjk missing and not root: browser tests will be skipped"; fi

## tools: Debian's antiword, which reads legacy Word .doc uploads (needs root; skipped otherwise)
tools:
	@if command -v antiword >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq antiword >/dev/null; \
	else echo "note: antiword missing and not root: .doc uploads will be refused (415) until it is installed"; fi

## test: install, then the whole suite and the gold-set thresholds
test: setup browser tools
	$(PIP) -e '.[test,ocr,milvus,ray]'  # the Milvus store and Ray build tests (make run needs neither)
	$(BIN)/rag model build
	$(BIN)/python -m pytest -q -p no:cacheprovider
	$(BIN)/rag index --quiet
	$(BIN)/rag eval $(EVAL_LIMITS)
	$(BIN)/rag eval --set eval/holdout.jsonl $(HOLDOUT_LIMITS)
	$(BIN)/rag eval --set eval/holdout-b.jsonl $(HOLDOUT_B_LIMITS)
	$(BIN)/rag eval --set eval/holdout-c.jsonl $(HOLDOUT_C_LIMITS)
	$(BIN)/rag reader eval $(READER_LIMITS)
	$(BIN)/rag reader eval $(KEYWORD_LIMITS)
	$(BIN)/rag reader eval $(NEAR_MISS_LIMITS)
	@if [ -d $(ARCHIVE)/corpus ]; then \
		$(BIN)/rag index $(ARCHIVE)/corpus --index-dir $(ARCHIVE_INDEX) --quiet && \
		$(BIN)/rag eval --set $(ARCHIVE)/questions.jsonl --index-dir $(ARCHIVE_INDEX) $(ARCHIVE_LIMITS); \
	else echo "note: $(ARCHIVE) not found: the archive evaluation is skipped"; fi

index: setup
	$(BIN)/rag index

eval: setup
	$(BIN)/rag eval

## eval-trial: the external check: CMRC 2018 trial passages as a corpus, its 1,002 questions through the whole pipeline, and the reader alone
eval-trial: setup
	$(BIN)/rag index $(TRIAL)/corpus --index-dir $(TRIAL_INDEX) --quiet
	$(BIN)/rag eval --set $(TRIAL)/questions.jsonl --index-dir $(TRIAL_INDEX)
	$(BIN)/rag reader eval --set ../shared/qa-data/cmrc2018_trial.json

## eval-queries: questions as people type them: keyword forms (trial, held-out training questions) and near misses, reader alone
eval-queries: setup
	$(BIN)/python eval/queries/build.py
	$(BIN)/rag index $(TRIAL)/corpus --index-dir $(TRIAL_INDEX) --quiet
	@for set in heldout heldout-keyword trial-keyword heldout-near-miss trial-near-miss; do \
		$(BIN)/rag reader eval --set eval/queries/$$set.json || exit 1; done
	$(BIN)/rag eval --set eval/queries/trial-keyword.jsonl --index-dir $(TRIAL_INDEX)

bench: setup
	$(PIP) -e '.[test,bench]'
	$(BIN)/rag bench

clean:
	rm -rf $(VENV) index/v-* index/CURRENT

## eval-archive: the development archive (../shared/archive-dev): yearly reports, series, not-found
eval-archive: setup
	$(BIN)/rag index $(ARCHIVE)/corpus --index-dir $(ARCHIVE_INDEX) --quiet
	$(BIN)/rag eval --set $(ARCHIVE)/questions.jsonl --index-dir $(ARCHIVE_INDEX)
