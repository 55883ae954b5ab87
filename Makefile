# The two set-up commands of README.md are `make demo` and `make test`;
# each creates or updates .venv (and installs Debian packages when run as root).
PY := .venv/bin/python
export HF_HUB_OFFLINE ?= 1

.PHONY: demo test test-fast venv venv-runtime lint screenshots bench bench-quality bench-scaling train-demo-model \
	train-still train-layout train-full train-plain installer installer-gpu check-installer clean

venv:
	scripts/bootstrap.sh full

venv-runtime:
	scripts/bootstrap.sh runtime

demo: venv
	scripts/demo.sh

# The Linux archive the tests check as a user meets it (tests/installer/test_built_archive.py): built when
# missing or older than what it packs (about 3 minutes; installer/build.sh), after .venv, whose versions it pins.
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' pyproject.toml | head -n 1)
ARCHIVE := dist/clipseek-$(VERSION)-linux-x86_64-cpu.tar.gz
ARCHIVE_SOURCES := $(shell find pyproject.toml desktop_app engine assets installer -type f \
	-not -path '*/__pycache__/*' -not -name '*.pyc' 2>/dev/null)

$(ARCHIVE): $(ARCHIVE_SOURCES) | venv
	installer/build.sh cpu

# CLIPSEEK_REQUIRE_ENGINES=1: the PostgreSQL, Milvus Lite and Ray tests fail instead of skipping when their
# engine is missing (bootstrap installs all three); CLIPSEEK_REQUIRE_ARCHIVE=1: so does the built-archive test.
test: venv $(ARCHIVE)
	.venv/bin/lint-imports
	QT_QPA_PLATFORM=offscreen CLIPSEEK_REQUIRE_ENGINES=1 CLIPSEEK_REQUIRE_ARCHIVE=1 RAY_USAGE_STATS_ENABLED=0 \
		$(PY) -m pytest -q -p no:cacheprovider --timeout=900

test-fast: venv
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m "not slow" -p no:cacheprovider

lint: venv
	.venv/bin/lint-imports

screenshots: venv
	xvfb-run -a -s "-screen 0 1400x900x24" $(PY) scripts/screenshots.py

bench-scaling: venv
	$(PY) benchmarks/scaling.py

bench-quality: venv
	$(PY) benchmarks/quality_shapes.py

bench: venv
	$(PY) benchmarks/index_throughput.py
	$(PY) benchmarks/search_latency.py
	$(PY) benchmarks/gui_responsiveness.py
	$(PY) benchmarks/quality_shapes.py
	$(PY) benchmarks/scaling.py
	$(PY) benchmarks/training_time.py

# The backbone is pre-trained on still frames (both cores, 9-18 minutes); the frame layout learns on the same
# stills with the backbone frozen (3-4 minutes); then the full stack trains from both on 12,000 rendered clips
# of 6 frames (both cores, fixed step count, 32-54 minutes) and exports to assets/models/clipseek-shapes, the
# built-in model: 45-76 minutes in all, by the machine's hour (benchmarks/RESULTS.md). Its mean-pooling
# baseline follows, from the same backbone and clips, for about the same time.
train-demo-model: venv
	$(MAKE) train-still
	$(MAKE) train-layout
	$(MAKE) train-full
	$(MAKE) train-plain

train-still:
	$(PY) -m engine.cli.main train --config engine/model/configs/train_shapes_still.json --out build/train/still

train-layout:
	$(PY) -m engine.cli.main train --config engine/model/configs/train_shapes_layout.json --out build/train/layout

train-full:
	$(PY) -m engine.cli.main train --config engine/model/configs/train_shapes_full.json --out build/train/full

train-plain:
	$(PY) -m engine.cli.main train --config engine/model/configs/train_shapes_plain.json --out build/train/plain

# Self-contained archives in dist/ (PyInstaller); see installer/README.md.
installer: venv
	installer/build.sh cpu

installer-gpu: venv
	installer/build.sh gpu

check-installer:
	installer/check_archive.sh $(ARCHIVE)

clean:
	rm -rf .venv build dist
