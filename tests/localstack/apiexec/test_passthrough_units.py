"""The executor's small rules without a stack: passthrough (A3), media types, response parameters (A4)."""
from __future__ import annotations

import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from streamlab.localstack.apiexec.definition import Integration
from streamlab.localstack.apiexec.dynamodb import BackendResponse
from streamlab.localstack.apiexec.service import _media_type, _refuses_passthrough, _response_parameter


def _integration(passthrough: str, templates: dict) -> Integration:
    return Integration(type="AWS", uri="arn:aws:apigateway:us-east-1:dynamodb:action/PutItem", credentials=None,
                       passthrough=passthrough, timeout_s=29.0, templates=templates, responses=(),
                       dynamodb=("us-east-1", "PutItem"))


@pytest.mark.parametrize("passthrough, templates, refused", [
    ("WHEN_NO_MATCH", {"application/json": object()}, False),
    ("WHEN_NO_MATCH", {}, False),
    ("WHEN_NO_TEMPLATES", {"application/json": object()}, True),
    ("WHEN_NO_TEMPLATES", {}, False),
    ("NEVER", {}, True),
    ("NEVER", {"application/json": object()}, True),
])
def test_a3_a_body_without_a_matching_template_passes_only_as_the_behaviour_allows(passthrough, templates, refused):
    assert _refuses_passthrough(_integration(passthrough, templates)) is refused


@pytest.mark.parametrize("header, media_type", [
    (None, "application/json"), ("", "application/json"), ("Application/JSON; charset=utf-8", "application/json"),
    ("text/plain", "text/plain"), (" ;x=1", "application/json"),
])
def test_a3_media_type_ignores_parameters_and_case(header, media_type):
    assert _media_type(header) == media_type


def test_a4_response_parameters_from_literals_headers_and_body():
    backend = BackendResponse(400, CIMultiDictProxy(CIMultiDict({"x-amzn-RequestId": "r1"})), b'{"a": 1}')
    assert _response_parameter("'literal'", backend) == "literal"
    assert _response_parameter("''", backend) == ""
    assert _response_parameter("integration.response.header.X-Amzn-RequestId", backend) == "r1"
    assert _response_parameter("integration.response.header.missing", backend) is None
    assert _response_parameter("integration.response.body", backend) == '{"a": 1}'
    assert _response_parameter("'", backend) is None and _response_parameter("method.request.x", backend) is None
