"""Key results a notebook records for the run (read back by the suite's tests and by people)."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from streamlab import strict_json


def record_results(run_dir: str | Path, notebook: str, **values: Any) -> None:
    """Merge `values` into `<run_dir>/results/<notebook>.json`, as strict JSON (a number we do
    not have is `null`, never `NaN`)."""
    folder = Path(run_dir) / "results"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{notebook}.json"
    current = json.loads(path.read_text()) if path.exists() else {}
    current.update(values)
    strict_json.write(path, current)


def read_results(run_dir: str | Path, notebook: str) -> dict[str, Any]:
    return json.loads((Path(run_dir) / "results" / f"{notebook}.json").read_text())
