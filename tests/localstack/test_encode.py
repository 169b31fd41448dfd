"""The snapshot writer's JSON: loads back as the standard library's would, and leaves a forked state's pages unwritten."""
from __future__ import annotations

import dataclasses
import datetime
import gc
import importlib
import json
import math
import os
import resource

import pytest
from hypothesis import given, strategies as st

from streamlab.localstack.durable.encode import dump_json

persistence = importlib.import_module("ministack.core.persistence")
responses = importlib.import_module("ministack.core.responses")

# What MiniStack's state is made of: JSON values, with keys that may be ints, floats, bools or None.
scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text() \
    | st.floats(allow_nan=False, allow_infinity=False)
keys = st.text() | st.integers(-(2**63), 2**63 - 1) | st.booleans() | st.none()
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
                      max_leaves=30)


@given(values)
def test_what_it_writes_loads_back_as_what_json_would_write(value):
    assert json.loads(dump_json(value)) == json.loads(json.dumps(value))


@dataclasses.dataclass
class Point:
    x: int


def _tagged(obj):
    if isinstance(obj, Point):
        return {"point": obj.x}
    if isinstance(obj, datetime.datetime):
        return {"at": obj.isoformat()}
    return persistence._json_default(obj)


@pytest.mark.parametrize("value", [
    {"body": b"\x00\xffraw", "copy": bytearray(b"ab")},     # bytes: MiniStack's base64 tag
    {"p": Point(3), "when": datetime.datetime(2026, 12, 7, 15, 0)},  # dataclasses and datetimes go to default too
    {"big": 2**70, "small": -(2**70)},                       # past 64 bits: only json encodes them
    {"lone": "a\udc80b"},                                    # a lone surrogate: not valid UTF-8
], ids=["bytes", "dataclass-datetime", "big-ints", "lone-surrogate"])
def test_types_json_lacks_go_through_default_and_the_rest_falls_back_to_json(value):
    assert json.loads(dump_json(value, _tagged)) == json.loads(json.dumps(value, default=_tagged))


def test_ministack_scoped_dicts_round_trip_through_its_own_hooks():
    scoped = responses.AccountRegionScopedDict()
    scoped._data[("000000000000", "us-east-1", "orders")] = {"items": {"a": {"id": {"S": "a"}}}, "blob": b"\x01"}
    state = {"tables": scoped}
    loaded = json.loads(dump_json(state, persistence._json_default), object_hook=persistence._json_object_hook)
    expected = json.loads(json.dumps(state, default=persistence._json_default),
                          object_hook=persistence._json_object_hook)
    assert loaded["tables"]._data == expected["tables"]._data == scoped._data


def test_a_value_default_refuses_is_refused():
    with pytest.raises(TypeError):
        dump_json({"x": object()}, persistence._json_default)


def test_nan_and_infinities_become_null_the_one_documented_difference():
    assert json.loads(dump_json([math.nan, math.inf, -math.inf])) == [None, None, None]


def _faults_while(encode, value) -> int:
    """Minor page faults a forked child takes to encode `value`: each one is a page copied
    because the child wrote to memory it shares with its parent (or a page it newly allocated)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            gc.disable()
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            encode(value)
            os.write(write_end, str(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    try:
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        return int(os.read(read_end, 64))
    finally:
        os.close(read_end)


def test_encoding_in_a_fork_copies_few_of_the_shared_pages():
    # 20,000 items as MiniStack holds them: about 6,500 faults with json (a new reference to every
    # key and value), about 1,200 with orjson (mostly its own output buffer). In a large test
    # process the allocator adds up to a thousand to either, so: the fewest of three tries, and
    # a factor of 2 where alone it is 5.
    state = {"items": {f"k{i}": {"id": {"S": f"id-{i}"}, "body": {"S": "x" * 100}, "n": {"N": str(i)}}
                       for i in range(20_000)}}
    gc.collect()
    with_json = min(_faults_while(lambda v: json.dumps(v).encode(), state) for _ in range(3))
    ours = min(_faults_while(dump_json, state) for _ in range(3))
    assert ours * 2 < with_json, (ours, with_json)
