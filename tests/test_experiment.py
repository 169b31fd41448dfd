"""`Experiment.passed`: an experiment passes only when its no-loss audit ran and lost nothing."""
from __future__ import annotations

from streamlab import schema
from streamlab.experiment import Experiment
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
