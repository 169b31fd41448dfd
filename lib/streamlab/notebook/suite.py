"""Run the notebook suite with papermill: every `notebooks/NN_*.ipynb` in order, into a run folder.

Executed copies and figures go to `build/run/<UTC timestamp>/` (git-ignored), never over the
source notebooks. Each notebook gets `run_dir` plus the profile's parameters; a notebook's own
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
from streamlab.target import target_name_from_env

BUILD = paths.BUILD / "run"
KERNEL = "streamlab"
CELL_TIMEOUT = 600


@dataclass
class SuiteResult:
    run_dir: Path
    executed: list[Path] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)


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


@contextlib.contextmanager
def executed_copy_settings() -> Iterator[None]:
    """The kernel's environment for an executed copy nobody watches: progress as one final line
    (unless the caller chose otherwise). Restored afterwards: the caller's process is left as it was."""
    before = os.environ.get(PROGRESS_ENV)
    os.environ.setdefault(PROGRESS_ENV, "final")
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(PROGRESS_ENV, None)


def execute_notebook(nb: Path, out: Path, parameters: dict, cwd: Path = NOTEBOOKS) -> None:
    """Execute one notebook into `out` with papermill, as the suite does: the project's kernel over
    IPC, progress as one final line; raises papermill's PapermillExecutionError on a failed cell."""
    import papermill

    with executed_copy_settings():
        papermill.execute_notebook(
            str(nb), str(out), parameters=parameters, kernel_name=KERNEL, cwd=str(cwd), progress_bar=False,
            execution_timeout=CELL_TIMEOUT, kernel_manager_class=IpcKernelManager,
        )


def run_suite(
    profile: str = "ci",
    run_dir: Path | None = None,
    only: list[str] | None = None,
    log: Callable[[str], None] = print,
) -> SuiteResult:
    """Execute the notebooks in order; stop at the first failure (later ones depend on it)."""
    import papermill

    notebooks = list_notebooks()
    if only:
        notebooks = [nb for nb in notebooks if any(nb.stem.startswith(o) for o in only)]
    if not notebooks:
        raise ConfigError(f"no notebooks to run in {NOTEBOOKS}")
    params = load_profile(profile)
    run_dir = run_dir or new_run_dir()
    run_dir.mkdir(parents=True, exist_ok=True)
    result = SuiteResult(run_dir=run_dir)
    target = target_name_from_env()
    on_aws = target == "aws"
    # Leave things as we found them: stop the local stack only if this run started it.
    stop_stack_after = not on_aws and not stack.status().running
    try:
        for i, nb in enumerate(notebooks, 1):
            out = run_dir / nb.name
            log(f"[{i}/{len(notebooks)}] {nb.name} -> {out}")
            started = time.monotonic()
            try:
                execute_notebook(nb, out, {"target": target, "run_dir": str(run_dir), **params.get(nb.stem, {})})
            except papermill.PapermillExecutionError as exc:
                raise NotebookFailed(
                    f"{nb.name} failed in cell {exc.exec_count}: {exc.ename}: {exc.evalue}. "
                    f"Open {out} to see the traceback."
                ) from exc
            result.seconds[nb.name] = round(time.monotonic() - started, 1)
            if on_aws:
                # Executed copies may be shared: no account ids, keys or endpoints in them.
                from streamlab.aws.redact import redact_notebook_file

                redact_notebook_file(out)
            result.executed.append(out)
    finally:
        if stop_stack_after:
            stack.down()
    (run_dir / "suite.json").write_text(json.dumps({"profile": profile, "seconds": result.seconds}, indent=2))
    log(f"done: executed notebooks and figures are in {run_dir}")
    return result
