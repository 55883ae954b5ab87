# The two set-up commands of README.md are `make demo` and `make test`;
# each creates or updates .venv (and installs Debian packages when run as root).
PY := .venv/bin/python
export HF_HUB_OFFLINE ?= 1

.PHONY: demo test test-fast venv venv-runtime lint screenshots bench bench-quality train-demo-model clean

venv:
	scripts/bootstrap.sh full

venv-runtime:
	scripts/bootstrap.sh runtime

demo: venv
	scripts/demo.sh

test: venv
	.venv/bin/lint-imports
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -p no:cacheprovider --timeout=900

test-fast: venv
	QT_QPA_PLATFORM=offscreen $(PY) -m pytest -q -m "not slow" -p no:cacheprovider

lint: venv
	.venv/bin/lint-imports

screenshots: venv
	xvfb-run -a -s "-screen 0 1400x900x24" $(PY) scripts/screenshots.py

bench-quality: venv
	$(PY) benchmarks/quality_shapes.py

bench: venv
	$(PY) benchmarks/index_throughput.py
	$(PY) benchmarks/search_latency.py
	$(PY) benchmarks/gui_responsiveness.py
	$(PY) benchmarks/quality_shapes.py

train-demo-model: venv
	$(PY) -m engine.cli.main train --config engine/model/configs/train_shapes_full.json --out build/train/full
	$(PY) -m engine.cli.main train --config engine/model/configs/train_shapes_plain.json --out build/train/plain

clean:
	rm -rf .venv build dist
