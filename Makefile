# memmapsim: `make demo` and `make test` are the two commands a new user needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test fuzz bench lint format docs docs-report-image clean browser-test

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev,dask]'
	touch $(STAMP)

DEMO_KERNELS := --kernel 4.18 --kernel 4.18+nonatomic-reserved --kernel 4.20 --kernel 4.20+node-local-probe

demo: install
	@mkdir -p out
	$(BIN)/memmapsim compare duyck-2018 $(DEMO_KERNELS) --plot out/duyck-2018-timeline.png --dmesg out/dmesg --save out/duyck-2018.json
	$(BIN)/memmapsim sweep examples/sweep-duyck.toml -o out/sweep-duyck.parquet
	$(BIN)/memmapsim validate --json > out/validation.json
	$(BIN)/memmapsim report out/duyck-2018.json out/sweep-duyck.parquet out/validation.json -o out/report.html
	@echo "timeline: out/duyck-2018-timeline.png  simulated logs: out/dmesg/  report: out/report.html"
	@echo "The 4.18 logs are empty: 4.18 prints no line when it initialises a device's struct pages"
	@echo "(the 'pfnN.0 initialised, N pages in Nms' line came with 4.20's deferred ZONE_DEVICE init)."
	@echo "Run more: source $(VENV)/bin/activate, then memmapsim --help (or $(BIN)/memmapsim --help)."

# The whole suite, after the linters (CI runs this: lint clean is part of green).
test: install lint
	$(BIN)/pytest -q -m "not browser"

CHROMIUM ?= chromium

# The HTML report in headless Chromium, printed and read back with pdftotext (Debian's
# chromium and poppler-utils, installed here if missing).
browser-test: install
	command -v $(CHROMIUM) >/dev/null && command -v pdftotext >/dev/null || \
		{ apt-get update -q && apt-get install -y -q chromium poppler-utils; }
	CHROMIUM=$(CHROMIUM) $(BIN)/pytest -q -p no:cacheprovider -m browser tests/report/test_browser.py

FUZZ_EXAMPLES ?= 10000

# The fuzz test of `make test` (a fixed set of cases), with FUZZ_EXAMPLES random cases.
fuzz: install
	MEMMAPSIM_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/pytest -q -s -p no:cacheprovider tests/test_fuzz.py

bench: install
	$(BIN)/python bench/run.py --write BENCHMARKS.md

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

docs: install
	$(BIN)/memmapsim validate --markdown --profile xeon-2018-pmem > docs/validation.md
	$(BIN)/memmapsim validate --markdown --profile modern-x86 > docs/validation-modern-x86.md
	$(BIN)/memmapsim compare duyck-2018 $(DEMO_KERNELS) --plot docs/img/duyck-2018-timeline.png > /dev/null

# The README's picture of the report: `make demo`'s out/report.html in Chromium, cropped
# to its timelines.
docs-report-image: demo
	$(CHROMIUM) --headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,8000 \
		--screenshot=out/report-full.png "file://$(CURDIR)/out/report.html" 2>/dev/null
	$(BIN)/python docs/img/crop_report.py out/report-full.png docs/img/report.png

format: install
	$(BIN)/ruff format src tests bench
	$(BIN)/ruff check --fix src tests bench

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
