"""Malformed event-source-mapping calls get an AWS-shaped 4xx, never a 500 or plain text."""
from __future__ import annotations

import json

import pytest
import urllib3

STREAM = "arn:aws:dynamodb:us-east-1:000000000000:table/t/stream/2026-01-01T00:00:00.000"
PATH = "/2015-03-31/event-source-mappings/"


@pytest.fixture(scope="module")
def call(local_stack):
    http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=60))

    def send(method: str, path: str, body: bytes | None = None):
        resp = http.request(method, local_stack.endpoint_url + path, body=body,
                            headers={"Content-Type": "application/json"})
        return resp.status, resp.headers.get("x-amzn-ErrorType"), json.loads(resp.data)
    return send


def _create(**fields) -> bytes:
    return json.dumps({"EventSourceArn": STREAM, "FunctionName": "f", "StartingPosition": "LATEST", **fields}).encode()


@pytest.mark.parametrize("fields", [
    {"MetricsConfig": ["EventCount"]},
    {"MetricsConfig": "EventCount"},
    {"DestinationConfig": {"OnFailure": "arn:aws:sqs:us-east-1:000000000000:q"}},
    {"DestinationConfig": {"OnFailure": ["x"]}},
    {"DestinationConfig": "x"},
])
def test_settings_of_the_wrong_type_are_invalid_parameter_values(call, fields):
    status, code, body = call("POST", PATH, _create(**fields))
    assert (status, code) == (400, "InvalidParameterValueException")
    assert list(fields)[0] in body["message"]


def test_a_deeply_nested_body_is_refused(call):
    status, code, _ = call("POST", PATH, b"[" * 10_000 + b"]" * 10_000)
    assert (status, code) == (400, "InvalidParameterValueException")
    nested: list = [1]
    for _ in range(40):
        nested = [nested]
    status, code, _ = call("POST", PATH, _create(Tags={"k": nested}))
    assert (status, code) == (400, "InvalidParameterValueException")


@pytest.mark.parametrize("value,constraint", [
    ("abc", "whole number"), ("0", "greater than or equal to 1"), ("10001", "less than or equal to 10000"),
])
def test_max_items_out_of_its_range_is_a_validation_error(call, value, constraint):
    status, code, body = call("GET", f"{PATH}?MaxItems={value}")
    assert (status, code) == (400, "ValidationException")
    assert constraint in body["message"]


def test_a_200_character_function_name_is_a_validation_error_not_a_404(call):
    name = "f" * 200
    status, code, body = call("POST", PATH, _create(FunctionName=name))
    assert (status, code) == (400, "ValidationException")
    assert "length less than or equal to 140" in body["message"]
    status, code, _ = call("GET", f"{PATH}?FunctionName={name}")
    assert (status, code) == (400, "ValidationException")
