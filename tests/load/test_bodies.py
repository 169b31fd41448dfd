"""Request bodies: sized, reproducible, and carrying the processor's failure switches on chosen requests."""
import json

import pytest

from streamlab.errors import ConfigError
from streamlab.load import JsonBodies


def test_bodies_are_sized_and_reproducible():
    bodies = JsonBodies(size=200, seed=3)
    assert len(bodies(5)) == 200
    assert bodies(5) == JsonBodies(size=200, seed=3)(5) != JsonBodies(size=200, seed=4)(5)


def test_switches_land_on_the_chosen_requests():
    bodies = JsonBodies(size=64, sleep_ms=20, poison_every=10, fail_once_every=4)
    decoded = [json.loads(bodies(n)) for n in range(20)]
    assert all(d["sleep_ms"] == 20 for d in decoded)
    assert [d["seq"] for d in decoded if d.get("fail") == "poison"] == [9, 19]
    # poison wins where both would apply (seq 19 is also a 4th); "once" elsewhere
    assert [d["seq"] for d in decoded if d.get("fail") == "once"] == [3, 7, 11, 15]


def test_plain_bodies_carry_no_switch():
    assert set(json.loads(JsonBodies(size=64)(9))) == {"seq", "pad"}


def test_negative_switch_is_refused():
    with pytest.raises(ConfigError, match="poison_every"):
        JsonBodies(poison_every=-1)
