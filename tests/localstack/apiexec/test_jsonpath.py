"""JSONPath subset of $input.json / $input.path (A2)."""
from __future__ import annotations

import pytest

from streamlab.localstack.apiexec import jsonpath

DOC = {"a": {"b": [10, {"c": "x"}]}, "k.e y": 1}


@pytest.mark.parametrize("path,expected", [
    ("$", DOC),
    ("$.a.b[0]", 10),
    ("$.a.b[1].c", "x"),
    ("$['k.e y']", 1),
    ('$["a"]["b"][-1]', {"c": "x"}),
    ("$.a.b[*]", [10, {"c": "x"}]),
    ("$.missing", jsonpath.MISSING),
    ("$.a.b[5]", jsonpath.MISSING),
    ("$.a.b[-3]", jsonpath.MISSING),
    ("$.*", [DOC["a"], 1]),  # the values of an object
    ("$.a.*", [[10, {"c": "x"}]]),
    ("$.a.b[*].c", ["x"]),
])
def test_a2_evaluate(path, expected):
    assert jsonpath.evaluate(DOC, path) == expected


def test_a2_not_a_path_is_a_clear_error():
    with pytest.raises(ValueError, match="must start with"):
        jsonpath.evaluate(DOC, "a.b")
