"""Run the notebook suite with papermill: every `notebooks/NN_*.ipynb` in order, into a run folder.

Executed copies and figures go to `build/run/<UTC timestamp>/` (git-ignored), never over the
source notebooks, with the run report `index.html` (streamlab.notebook.report) and, if asked, a
JUnit XML file. Each notebook gets `run_dir` plus the profile's parameters; a notebook's own
`parameters` cell holds the defaults.
"""
from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from streamlab import paths
from streamlab.paths import NOTEBOOKS
from streamlab.errors import ConfigError, NotebookFailed
from streamlab.notebook.kernels import IpcKernelManager
from streamlab.localstack import stack
from streamlab.load.progress import ENV as PROGRESS_ENV
from streamlab.notebook.junit import write_junit
from streamlab.notebook.outcomes import NotebookOutcome, describe_failure, failed_outcome
from streamlab.notebook.provenance import run_settings
from streamlab.notebook.report import SUITE_RECORD, write_run_report
from streamlab.target import target_name_from_env

BUILD = paths.BUILD / "run"
KERNEL = "streamlab"
CELL_TIMEOUT = 600


@dataclass
class SuiteResult:
    run_dir: Path
    executed: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    outcomes: list[NotebookOutcome] = field(default_factory=list)
    report: Path | None = None

    @property
    def failure(self) -> NotebookOutcome | None:
        return next((o for o in self.outcomes if o.failed), None)


def list_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    return sorted(p for p in folder.glob("[0-9][0-9]_*.ipynb"))


def load_profile(name: str, folder: Path = NOTEBOOKS) -> dict[str, dict]:
    """Parameters per notebook stem for a profile (`ci` keeps the suite short; `full` = defaults)."""
    path = folder / "profiles.json"
    profiles = json.loads(path.read_text()) if path.exists() else {}
    if name == "full":
        return {}
    if name not in profiles:
        raise ConfigError(f"no parameter profile {name!r} in {path}; choose one of: full, {', '.join(profiles)}")
    return profiles[name]


def new_run_dir(root: Path = BUILD) -> Path:
    run_dir = root / time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    run_dir.mkdir(parents=True, exist_ok=False)
    latest = root / "latest"
    if latest.is_symlink() or latest.exists():
        latest.unlink()
    latest.symlink_to(run_dir.name)
    return run_dir


# The kernel's environment for an executed copy nobody watches: progress as one final line, and a
# kernel that dies of a native crash prints every thread's Python stack (faulthandler) to the
# suite's stderr, so the CI log says where it was.
EXECUTED_COPY_ENV = {PROGRESS_ENV: "final", "PYTHONFAULTHANDLER": "1"}


@contextlib.contextmanager
def executed_copy_settings() -> Iterator[None]:
    """EXECUTED_COPY_ENV for the kernels started inside (what the caller set wins); the caller's
    process is left as it was."""
    before = {name: os.environ.get(name) for name in EXECUTED_COPY_ENV}
    for name, value in EXECUTED_COPY_ENV.items():
        os.environ.setdefault(name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)


def execute_notebook(nb: Path, out: Path, parameters: dict, cwd: Path = NOTEBOOKS) -> None:
    """Execute one notebook into `out` with papermill, as the suite does: the project's kernel over
    IPC, progress as one final line; raises papermill's PapermillExecutionError on a failed cell."""
    import papermill

    with executed_copy_settings():
        papermill.execute_notebook(
            str(nb), str(out), parameters=parameters, kernel_name=KERNEL, cwd=str(cwd), progress_bar=False,
            execution_timeout=CELL_TIMEOUT, kernel_manager_class=IpcKernelManager,
        )


def _execute(nb: Path, run_dir: Path, parameters: dict, cwd: Path) -> NotebookOutcome:
    """Run one notebook into the run folder; a failure is an outcome, not an exception."""
    out = run_dir / nb.name
    started = time.monotonic()
    try:
        execute_notebook(nb, out, parameters, cwd=cwd)
    except Exception as exc:  # a cell error, a timeout, a dead kernel: each is this notebook failing
        return failed_outcome(nb.name, round(time.monotonic() - started, 1), out, exc)
    return NotebookOutcome(nb.name, "passed", round(time.monotonic() - started, 1), executed=str(out))


def _record_run(result: SuiteResult, settings: dict, started: str, junit: Path | None,
                scrub: Callable[[str], str], folder: Path) -> None:
    """suite.json, the HTML report and (if asked) the JUnit file, for a run that passed or failed."""
    for outcome in result.outcomes:
        outcome.error, outcome.cell_source, outcome.traceback = (
            scrub(outcome.error), scrub(outcome.cell_source), scrub(outcome.traceback))
    record = {"profile": settings["profile"], "started": started, "seconds": result.seconds,
              "outcomes": [o.to_dict() for o in result.outcomes], "settings": settings}
    (result.run_dir / SUITE_RECORD).write_text(json.dumps(record, indent=2))
    result.report = write_run_report(result.run_dir, scrub=scrub)
    if junit is not None:
        properties = {"profile": settings["profile"], "target": settings["target"], "commit": settings["commit"],
                      "run_dir": str(result.run_dir), "report": str(result.report)}
        write_junit(junit, result.outcomes, properties=properties, folder=folder.name)


def _select(folder: Path, only: list[str] | None) -> list[Path]:
    notebooks = [nb for nb in list_notebooks(folder) if not only or any(nb.stem.startswith(o) for o in only)]
    if not notebooks:
        raise ConfigError(f"no notebooks to run in {folder}" + (f" starting with {', '.join(only)}" if only else ""))
    return notebooks


def _run_in_order(notebooks: list[Path], result: SuiteResult, params: dict[str, dict], target: str,
                  folder: Path, log: Callable[[str], None]) -> None:
    """Execute until the first failure; the notebooks after it are recorded as not run."""
    for i, nb in enumerate(notebooks, 1):
        out = result.run_dir / nb.name
        log(f"[{i}/{len(notebooks)}] {nb.name} -> {out}")
        parameters = {"target": target, "run_dir": str(result.run_dir), **params.get(nb.stem, {})}
        outcome = _execute(nb, result.run_dir, parameters, cwd=folder)
        result.outcomes.append(outcome)
        result.seconds[nb.name] = outcome.seconds
        if target == "aws" and out.exists():
            # Executed copies may be shared: no account ids, keys or endpoints in them.
            from streamlab.aws.redact import redact_notebook_file

            redact_notebook_file(out)
        if outcome.failed:
            break
        result.executed.append(out)
    ran = {o.name for o in result.outcomes}
    result.outcomes += [NotebookOutcome(nb.name, "not run") for nb in notebooks if nb.name not in ran]


def run_suite(
    profile: str = "ci",
    run_dir: Path | None = None,
    only: list[str] | None = None,
    log: Callable[[str], None] = print,
    junit: Path | None = None,
    folder: Path = NOTEBOOKS,
) -> SuiteResult:
    """Execute the notebooks in order; stop at the first failure (later ones depend on it).

    Whether it passes or fails, the run folder gets `suite.json` and the report `index.html`, and
    `junit` (if given) a JUnit XML file with one test case per notebook."""
    notebooks = _select(folder, only)
    params = load_profile(profile, folder)
    run_dir = run_dir or new_run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    result = SuiteResult(run_dir=run_dir)
    target = target_name_from_env()
    chosen = {nb.stem: params[nb.stem] for nb in notebooks if nb.stem in params}
    settings = run_settings(profile, target, chosen, paths.CHECKOUT)
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    # Leave things as we found them: stop the local stack only if this run started it.
    stop_stack_after = target != "aws" and not stack.status().running
    try:
        _run_in_order(notebooks, result, params, target, folder, log)
    finally:
        if stop_stack_after:
            stack.down()
    _record_run(result, settings, started, junit, _redactor(target == "aws"), folder)
    log(f"report: {result.report.resolve().as_uri()}")
    if result.failure:
        raise NotebookFailed(f"{describe_failure(result.failure)}. Open {run_dir / result.failure.name} "
                             f"or the report {result.report} to see the traceback.")
    log(f"done: executed notebooks and figures are in {run_dir}")
    return result


def _redactor(on_aws: bool) -> Callable[[str], str]:
    if not on_aws:
        return lambda text: text
    from streamlab.aws.redact import redact_text

    return redact_text
