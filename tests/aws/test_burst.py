"""guard_burst: the cost shown before a burst on AWS, the cap, and the local stack being free."""
from __future__ import annotations

import pytest

from streamlab.aws.burst import guard_burst
from streamlab.aws.cost import estimate_cost
from streamlab.errors import ConfigError, CostGuardError
from streamlab.target import Target

AWS = Target(name="aws", region="us-east-1")
LOCAL = Target(name="local", region="us-east-1", endpoint_url="http://127.0.0.1:1")


def test_aws_burst_prints_the_estimate_and_returns_it(monkeypatch):
    monkeypatch.delenv("STREAMLAB_COST_CAP_USD", raising=False)
    lines: list[str] = []
    est = guard_burst(AWS, 10_000, 512, log=lines.append)
    assert est == estimate_cost(10_000, item_bytes=512, batch_size=100, memory_mb=256)
    assert len(lines) == 1 and "$" in lines[0] and "10,000 requests" in lines[0] and "cap $1.00" in lines[0]


def test_above_the_cap_is_refused_unless_confirmed_and_the_estimate_is_shown_first():
    lines: list[str] = []
    with pytest.raises(CostGuardError, match="above the cap of \\$0.01"):
        guard_burst(AWS, 100_000, 512, cap_usd=0.01, log=lines.append)
    assert lines and "100,000 requests" in lines[0]  # the user saw the figure before the refusal
    est = guard_burst(AWS, 100_000, 512, True, cap_usd=0.01, log=lines.append)
    assert est.total_usd > 0.01 and "confirmed" in lines[-1]


def test_the_cap_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("STREAMLAB_COST_CAP_USD", "0.001")
    with pytest.raises(CostGuardError):
        guard_burst(AWS, 10_000, 512, log=lambda _: None)


def test_the_local_stack_is_free_and_prints_nothing():
    lines: list[str] = []
    assert guard_burst(LOCAL, 10_000_000, 400_000, log=lines.append) is None
    assert lines == []


@pytest.mark.parametrize("requests, item_bytes", [(-1, 512), (1.5, 512), (True, 512), (10, 0), (10, "512")])
def test_bad_arguments_are_config_errors(requests, item_bytes):
    with pytest.raises(ConfigError):
        guard_burst(AWS, requests, item_bytes, log=lambda _: None)


def test_the_worked_example_in_docs_matches_the_estimate():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "aws.md").read_text(encoding="utf-8")
    burst = estimate_cost(30_000, item_bytes=512, batch_size=100, memory_mb=256)
    for figure in (f"**${burst.api_usd:.4f}**", f"**${burst.dynamodb_usd:.4f}**", f"**${burst.lambda_usd:.4f}**",
                   f"**≈ ${burst.total_usd:.2f}**", f"${estimate_cost(200_000, memory_mb=256).total_usd:.2f}",
                   f"${estimate_cost(1_000_000, memory_mb=256).total_usd:.2f}"):
        assert figure in doc, figure


def test_a_local_url_is_free_and_a_remote_one_needs_opt_in_or_confirmation(monkeypatch):
    monkeypatch.delenv("STREAMLAB_AWS_OPT_IN", raising=False)
    url = "https://abc.execute-api.us-east-1.amazonaws.com/prod/requests"
    assert guard_burst("http://127.0.0.1:4566/restapis/x/dev/_user_request_/requests", 10, 100) is None
    lines: list[str] = []
    with pytest.raises(CostGuardError, match="STREAMLAB_AWS_OPT_IN=yes.*--accept-cost"):
        guard_burst(url, 10, 100, log=lines.append)
    assert "abc.execute-api.us-east-1.amazonaws.com" in lines[0] and "$" in lines[0]
    assert guard_burst(url, 10, 100, True, log=lambda _: None).requests == 10
    monkeypatch.setenv("STREAMLAB_AWS_OPT_IN", "yes")
    assert guard_burst(url, 10, 100, log=lambda _: None).requests == 10
    with pytest.raises(CostGuardError, match="above the cap"):
        guard_burst(url, 10_000_000, 100, log=lambda _: None)
