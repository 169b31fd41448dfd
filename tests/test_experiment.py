"""`Experiment.passed`: an experiment passes only when its no-loss audit ran and lost nothing; and the
cost guard comes before the load."""
from __future__ import annotations

import pytest

from streamlab import load, schema
from streamlab.errors import CostGuardError
from streamlab.experiment import Experiment, send_experiment
from streamlab.observe import Observations
from streamlab.observe.audit import classify


def _experiment(obs: Observations | None) -> Experiment:
    return Experiment(name="x", run=None, obs=obs)  # type: ignore[arg-type]  # `passed` reads no run


def test_without_an_audit_nothing_is_proven():
    for obs in (None, Observations()):
        exp = _experiment(obs)
        assert (exp.audited, exp.passed) == (False, False)


def test_an_audit_decides():
    processed = {"a": {schema.ID: "a", schema.STATUS: schema.PROCESSED}}
    assert _experiment(Observations(audit=classify(["a"], processed))).passed is True
    assert _experiment(Observations(audit=classify(["a", "b"], processed))).passed is False


def test_sending_to_a_remote_url_without_the_cost_guard_is_refused_before_anything_is_sent(tmp_path):
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com/prod/requests"
    with pytest.raises(CostGuardError, match="guard_burst"):
        send_experiment(object(), url, load.constant(rate=1, duration=1.0), tmp_path / "x", progress=False)
    assert not (tmp_path / "x").exists()
