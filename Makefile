# The two set-up commands of README.md are `make demo` and `make test`;
# each creates or updates .venv (and installs Debian packages when run as root).
PY := .venv/bin/python
export HF_HUB_OFFLINE ?= 1

.PHONY: demo test test-fast venv venv-runtime lint screenshots bench clean

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
	$(PY) scripts/screenshots.py

clean:
	rm -rf .venv build dist
