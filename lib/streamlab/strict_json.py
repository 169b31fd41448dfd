"""Strict JSON for results files: what `json.dumps` writes by default is not always JSON.

Python writes a missing float as `NaN` and an overflow as `Infinity`, which no JSON parser
outside Python accepts. A results file is read by people and other tools, so a number we do not
have is written as `null`, numpy scalars and arrays become plain numbers and lists, and anything
else that is not JSON is an error (never silently `str()`-ed).
"""
from __future__ import annotations

import json
import math
from datetime import date, datetime
from pathlib import Path, PurePath
from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    """`value` with every non-finite float as None and numpy/pandas scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return [jsonable(v) for v in (sorted(value, key=str) if isinstance(value, (set, frozenset)) else value)]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        number = float(value)
        return number if math.isfinite(number) else None
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if value.__class__.__name__ in ("NAType", "NaTType"):  # pandas' missing values
        return None
    raise TypeError(f"{type(value).__name__} is not JSON: convert it to numbers, text, lists or dicts first.")


def dumps(value: Any, indent: int | None = 2) -> str:
    """JSON text of `value` (see `jsonable`); never contains NaN or Infinity."""
    return json.dumps(jsonable(value), indent=indent, allow_nan=False)


def write(path: str | Path, value: Any, indent: int | None = 2) -> Path:
    """Write `value` as strict JSON to `path` (the text is built first, so a bad value writes nothing)."""
    text = dumps(value, indent)
    path = Path(path)
    path.write_text(text)
    return path
