"""Results files are strict JSON: no NaN or Infinity, numpy values as plain numbers."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from streamlab import strict_json
from streamlab.notebook.results import read_results, record_results


def strict_load(text: str):
    """Parse as other tools do: NaN/Infinity are not JSON."""
    def refuse(name):
        raise ValueError(f"{name} is not JSON")
    return json.loads(text, parse_constant=refuse)


def test_missing_numbers_become_null_and_numpy_becomes_plain():
    value = {"lag_ms": float("nan"), "inf": math.inf, "n": np.int64(3), "x": np.float32(1.5),
             "arr": np.array([1.0, np.nan]), "ok": np.bool_(True), "na": pd.NA, "nested": [{"v": -math.inf}]}
    assert strict_load(strict_json.dumps(value)) == {
        "lag_ms": None, "inf": None, "n": 3, "x": 1.5, "arr": [1.0, None], "ok": True, "na": None,
        "nested": [{"v": None}]}


def test_something_that_is_not_json_is_refused_not_stringified(tmp_path):
    with pytest.raises(TypeError, match="object is not JSON"):
        strict_json.write(tmp_path / "x.json", {"thing": object()})
    assert not (tmp_path / "x.json").exists()  # nothing half-written


def test_notebook_results_never_hold_nan(tmp_path):
    record_results(tmp_path, "03_api_direct_integration", lag_ms=float("nan"), post_status=202)
    text = (tmp_path / "results" / "03_api_direct_integration.json").read_text()
    assert strict_load(text) == {"lag_ms": None, "post_status": 202}
    assert read_results(tmp_path, "03_api_direct_integration")["lag_ms"] is None
