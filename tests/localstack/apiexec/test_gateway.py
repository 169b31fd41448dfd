"""Integration response selection by selectionPattern on the backend status (A4)."""
from __future__ import annotations

import re

from streamlab.localstack.apiexec import gateway
from streamlab.localstack.apiexec.definition import IntegrationResponse


def _resp(status, pattern):
    return IntegrationResponse(status, re.compile(pattern) if pattern else None, {}, {})


RESPONSES = [_resp("202", ""), _resp("400", r"4\d{2}"), _resp("500", r"5\d{2}")]


def test_a4_pattern_matches_the_whole_status_else_default():
    assert gateway.select_response(RESPONSES, 200).status == "202"
    assert gateway.select_response(RESPONSES, 400).status == "400"
    assert gateway.select_response(RESPONSES, 503).status == "500"
    # "4" alone must not select 4\d{2}-style partial matches: the pattern matches the whole code.
    assert gateway.select_response([_resp("202", ""), _resp("400", "4")], 404).status == "202"


def test_a4_without_error_patterns_dynamodb_errors_reach_the_default_response():
    assert gateway.select_response([_resp("202", "")], 400).status == "202"


def test_a4_first_matching_pattern_and_first_default_win():
    responses = [_resp("201", ""), _resp("400", r"4\d{2}"), _resp("409", "409"), _resp("202", "")]
    assert gateway.select_response(responses, 409).status == "400"
    assert gateway.select_response(responses, 200).status == "201"
    assert gateway.select_response([_resp("400", r"4\d{2}"), _resp("202", "")], 200).status == "202"
    assert gateway.select_response([_resp("202", ""), _resp("500", "50")], 500).status == "202"


def test_a4_no_default_and_no_match_gives_none():
    assert gateway.select_response([_resp("400", r"4\d{2}")], 200) is None


def test_gateway_error_body_is_api_gateway_shaped():
    assert gateway.MISSING_AUTH_TOKEN.body() == b'{"message":"Missing Authentication Token"}'
    assert gateway.REQUEST_TOO_LARGE.status == 413


def test_gateway_error_messages_with_quotes_stay_valid_json():
    import json
    error = gateway.GatewayError(400, "BadRequestException", 'Could not parse "x"')
    assert json.loads(error.body()) == {"message": 'Could not parse "x"'}
