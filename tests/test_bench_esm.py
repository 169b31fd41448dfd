"""`streamlab bench esm`: a tiny run end to end so the command cannot rot; the per-key order count."""
from __future__ import annotations

import pytest

from streamlab.bench import esm as bench_esm
from streamlab.bench.esm import Delivery, order_violations


def _d(seq: int, at: float, index: int, key: str, number: int) -> Delivery:
    return Delivery(seq, at, index, key, str(number))


def test_records_of_a_key_in_stream_order_are_no_violation_whatever_other_keys_do():
    deliveries = [_d(1, 10.0, 0, "a", 100), _d(2, 10.0, 1, "b", 200), _d(3, 10.5, 0, "b", 300),
                  _d(4, 10.2, 0, "a", 400)]  # another lane's batch ran between a's two batches
    assert order_violations(deliveries) == 0


def test_a_record_processed_after_a_later_one_of_its_key_is_counted():
    # Same batch time, so the position in the batch decides; and a later batch with an older record.
    deliveries = [_d(2, 10.0, 0, "a", 200), _d(1, 10.0, 1, "a", 100), _d(3, 11.0, 0, "a", 300),
                  _d(0, 12.0, 0, "a", 50)]
    assert order_violations(deliveries) == 2


def test_a_retried_batch_seen_again_is_not_a_violation():
    first = [_d(1, 10.0, 0, "a", 100), _d(2, 10.0, 1, "a", 200)]
    assert order_violations(first + [_d(1, 11.0, 0, "a", 100), _d(2, 11.0, 1, "a", 200)]) == 0


def test_sequence_numbers_compare_as_numbers_not_text():
    assert order_violations([_d(1, 1.0, 0, "a", 99), _d(2, 2.0, 0, "a", 100)]) == 0


def test_a_bad_setting_is_refused_before_any_stack_starts():
    with pytest.raises(bench_esm.ConfigError, match="--parallelization 1-10"):
        bench_esm.run(rate=1, duration=1, parallelization=11)


@pytest.mark.integration  # starts its own stack
def test_tiny_run_processes_every_write_on_both_sides_in_key_order():
    result = bench_esm.run(rate=40, duration=1, keys=5, parallelization=3)
    for side in ("ours", "ministack"):
        assert result[side]["writes"] == {**result[side]["writes"], "intended": 40, "acknowledged": 40, "errors": 0}
        assert result[side]["processed"] == 40 and result[side]["missing"] == 0, result[side]
        lag = result[side]["lag_ms"]
        assert 0 < lag["p50"] <= lag["p99"] <= lag["max"], lag
        assert result[side]["per_key_order"]["violations"] == 0, result[side]["per_key_order"]
    assert result["ours"]["per_key_order"]["shards"] > 1
    assert result["ours"]["iterator_age"]["samples"] >= 1
