# The two quick-start commands: `make run` (the notebook suite on the local stack) and `make test`.
.PHONY: run test test-unit lab lock bench clean notebooks-sync iac-scan checkov-lock

# `make run PROFILE=lab` for longer runs with repeats (notebooks/profiles.json); ci is the short one.
PROFILE ?= ci

run:
	@scripts/bootstrap
	.venv/bin/streamlab suite --profile $(PROFILE)

test: iac-scan
	@scripts/bootstrap
	@scripts/install-browser
	.venv/bin/python -m pytest

# The fast tier: no stack, no server process, 30 s per test (tests/tiers.py).
test-unit:
	@scripts/bootstrap
	.venv/bin/python -m pytest -m "not integration and not notebooks" -q

# The IaC scanner on infra/template.yaml: every finding is fixed or skipped in the template with
# a written reason (streamlab.aws.template.SCANNER_SKIPS). checkov runs offline (--skip-download)
# from its own venv, installed from requirements-checkov.lock.
CHECKOV = build/tools/checkov/bin/checkov

$(CHECKOV): requirements-checkov.lock
	rm -rf build/tools/checkov && python3 -m venv build/tools/checkov
	build/tools/checkov/bin/pip install --quiet --no-deps -r requirements-checkov.lock
	touch $(CHECKOV)

iac-scan: $(CHECKOV)
	$(CHECKOV) --file infra/template.yaml --framework cloudformation --compact --quiet --skip-download

checkov-lock:
	rm -rf /tmp/streamlab-checkov && python3 -m venv /tmp/streamlab-checkov
	/tmp/streamlab-checkov/bin/pip install --quiet checkov==3.3.30
	( head -2 requirements-checkov.lock; /tmp/streamlab-checkov/bin/pip freeze --all | grep -v -e '^pip==' -e '^setuptools==' ) > requirements-checkov.lock.new
	mv requirements-checkov.lock.new requirements-checkov.lock

lab:
	@scripts/bootstrap
	.venv/bin/streamlab lab

bench:
	@scripts/bootstrap
	.venv/bin/streamlab bench

# Bring each notebook and its percent-format script (notebooks/NN_*.py) back in step, whichever
# side was edited last; tests/notebook/test_pairs.py fails while they differ.
notebooks-sync:
	@scripts/bootstrap
	.venv/bin/jupytext --sync notebooks/[0-9][0-9]_*.ipynb

# Re-resolve the pins from pyproject.toml's ranges into a fresh venv and rewrite requirements.lock.
# With the Python scripts/bootstrap uses, so the lock installs there (Debian's 3.11.2 takes no
# soupsieve 3: it needs Python 3.11.5).
lock:
	rm -rf /tmp/streamlab-lock && $${PYTHON:-$$(scripts/python)} -m venv /tmp/streamlab-lock
	/tmp/streamlab-lock/bin/pip install --quiet -e '.[notebooks,test]'
	( head -2 requirements.lock; /tmp/streamlab-lock/bin/pip freeze --all --exclude-editable | grep -v -e '^streamlab' -e '^pip==' ) > requirements.lock.new
	mv requirements.lock.new requirements.lock

clean:
	rm -rf build .venv
