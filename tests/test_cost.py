"""The cost estimate follows the §5 prices, and the guard refuses a burst above the cap."""
import pytest

from streamlab.aws.cost import estimate_cost, guard_cost
from streamlab.errors import CostGuardError


def test_one_million_small_requests_costs_what_the_price_list_says():
    est = estimate_cost(1_000_000, item_bytes=500, batch_size=100, invocation_ms=100, memory_mb=1024)
    assert est.api_usd == pytest.approx(3.50)
    assert est.dynamodb_usd == pytest.approx(2 * 0.625)  # PutItem + the processor's UpdateItem
    assert est.lambda_usd == pytest.approx(10_000 * 0.20 / 1e6 + 10_000 * 0.1 * 0.0000166667)
    assert est.total_usd == pytest.approx(est.api_usd + est.dynamodb_usd + est.lambda_usd)


def test_items_over_one_kilobyte_take_more_write_units():
    small, big = estimate_cost(1000, item_bytes=1024), estimate_cost(1000, item_bytes=1025)
    assert big.dynamodb_usd == pytest.approx(2 * small.dynamodb_usd)


def test_guard_refuses_above_the_cap_and_says_how_to_proceed():
    est = estimate_cost(1_000_000)
    with pytest.raises(CostGuardError, match=r"cap of \$1\.00.*STREAMLAB_COST_CAP_USD.*confirm=True; --accept-cost"):
        guard_cost(est, cap_usd=1.0)
    guard_cost(est, cap_usd=1.0, confirmed=True)
    guard_cost(estimate_cost(1000), cap_usd=1.0)


def test_cap_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("STREAMLAB_COST_CAP_USD", "100")
    guard_cost(estimate_cost(1_000_000))
