"""Step 5: the event source mapping: settings passed through, reused, updated in place, deleted."""
from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from streamlab.provision import function, mapping, queue, roles, table
from streamlab.provision.config import EsmSettings


def test_normalize_treats_absent_fields_as_aws_defaults():
    assert mapping.normalize({"State": "Enabled"}) == mapping.normalize(
        {"BatchSize": 100, "MaximumRetryAttempts": -1, "MaximumRecordAgeInSeconds": -1, "ParallelizationFactor": 1,
         "FilterCriteria": {"Filters": []}, "DestinationConfig": {}, "MetricsConfig": {"Metrics": []}, "Enabled": True}
    )


def test_changed_settings_lists_only_what_differs():
    desired = EsmSettings(batch_size=5).to_api(queue_arn="arn:q")
    current = {**desired, "State": "Enabled", "BatchSize": 100,
               # AWS may re-serialise a pattern; equal JSON is equal.
               "FilterCriteria": {"Filters": [{"Pattern": json.dumps({"eventName": ["INSERT"]}, indent=1)}]}}
    current.pop("Enabled")
    assert mapping.changed_settings(current, desired) == {"BatchSize": 5}


esm_settings = st.builds(
    EsmSettings,
    batch_size=st.integers(1, 10_000),
    maximum_batching_window_in_seconds=st.integers(0, 300),
    parallelization_factor=st.integers(1, 10),
    maximum_retry_attempts=st.integers(-1, 10_000),
    maximum_record_age_in_seconds=st.sampled_from([-1, 60, 3600, 604_800]),
    bisect_batch_on_function_error=st.booleans(),
    report_batch_item_failures=st.booleans(),
    on_failure=st.booleans(),
    filter_patterns=st.sampled_from([(), ({"eventName": ["INSERT"]},), ({"eventName": ["INSERT", "MODIFY"]},)]),
    metrics=st.sampled_from([(), ("EventCount",)]),
    enabled=st.booleans(),
)


@given(esm_settings, esm_settings)
def test_applying_the_changed_settings_converges(old, new):
    current = old.to_api(queue_arn="arn:q")
    desired = new.to_api(queue_arn="arn:q")
    changes = mapping.changed_settings(current, desired)
    assert mapping.changed_settings({**current, **changes}, desired) == {}
    assert (changes == {}) == (mapping.normalize(current) == mapping.normalize(desired))


def _upstream(target, config):
    t = table.create_table(target, config)
    q = queue.create_queue(target, config)
    role = roles.create_processor_role(target, config, table_arn=t.arn, stream_arn=t.stream_arn, queue_arn=q.arn)
    function.create_function(target, config, role_arn=role.arn)
    return t, q


def test_create_passes_settings_reuses_updates_in_place_and_deletes(target, config):
    config = config.with_esm(batch_size=25, maximum_retry_attempts=3, maximum_record_age_in_seconds=300,
                             bisect_batch_on_function_error=True, parallelization_factor=2)
    t, q = _upstream(target, config)
    first = mapping.create_mapping(target, config, stream_arn=t.stream_arn, queue_arn=q.arn)
    assert first.created and first.state == "Enabled"
    got = mapping.describe_mapping(target, first.uuid)
    assert got["EventSourceArn"] == t.stream_arn and got["StartingPosition"] == "TRIM_HORIZON"
    assert (got["BatchSize"], got["MaximumRetryAttempts"], got["MaximumRecordAgeInSeconds"]) == (25, 3, 300)
    assert got["BisectBatchOnFunctionError"] is True and got["ParallelizationFactor"] == 2
    assert got["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert got["DestinationConfig"]["OnFailure"]["Destination"] == q.arn
    assert [json.loads(f["Pattern"]) for f in got["FilterCriteria"]["Filters"]] == [{"eventName": ["INSERT"]}]

    again = mapping.create_mapping(target, config, stream_arn=t.stream_arn, queue_arn=q.arn)
    assert not again.created and again.uuid == first.uuid
    assert "BatchSize" not in again.updated
    assert [m["UUID"] for m in mapping.list_mappings(target, config)] == [first.uuid]

    smaller = config.with_esm(batch_size=3, maximum_retry_attempts=0)
    moved = mapping.create_mapping(target, smaller, stream_arn=t.stream_arn, queue_arn=q.arn)
    assert moved.uuid == first.uuid and {"BatchSize", "MaximumRetryAttempts"} <= set(moved.updated)
    got = mapping.describe_mapping(target, first.uuid)
    assert (got["BatchSize"], got["MaximumRetryAttempts"]) == (3, 0)

    assert mapping.delete_mappings(target, config) == [first.uuid]
    assert mapping.describe_mapping(target, first.uuid) is None
    assert mapping.list_mappings(target, config) == []
    assert mapping.delete_mapping(target, first.uuid) is False


def test_disabled_mapping_waits_for_disabled(target, config):
    t, q = _upstream(target, config)
    off = mapping.create_mapping(target, config.with_esm(enabled=False), stream_arn=t.stream_arn, queue_arn=q.arn)
    assert off.state == "Disabled"
    on = mapping.create_mapping(target, config, stream_arn=t.stream_arn, queue_arn=q.arn)
    assert on.uuid == off.uuid and on.state == "Enabled" and "Enabled" in on.updated


def test_mapping_of_a_replaced_table_is_replaced(target, config):
    """A re-created table has a new stream; the old stream's mapping is deleted, not left dangling."""
    t, q = _upstream(target, config)
    old = mapping.create_mapping(target, config, stream_arn=t.stream_arn, queue_arn=q.arn)
    table.delete_table(target, config)
    t2 = table.create_table(target, config)
    assert t2.stream_arn != t.stream_arn
    new = mapping.create_mapping(target, config, stream_arn=t2.stream_arn, queue_arn=q.arn)
    assert new.created and new.uuid != old.uuid
    assert [(m["UUID"], m["EventSourceArn"]) for m in mapping.list_mappings(target, config)] == [(new.uuid, t2.stream_arn)]
