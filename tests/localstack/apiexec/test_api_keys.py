"""apiKeyRequired is enforced like API Gateway does (A6 protection): 403 Forbidden without an
enabled key of a usage plan that covers the stage; nothing is written for a refused call."""
from __future__ import annotations

import json
import uuid

from streamlab.localstack.apiexec.apikeys import KEYS_TTL

from ..esm.esm_helpers import wait_for


def _key_for(target, api, enabled: bool = True, in_plan: bool = True) -> str:
    ag = target.client("apigateway")
    key = ag.create_api_key(name=f"k-{uuid.uuid4().hex[:8]}", enabled=enabled, generateDistinctId=True)
    if in_plan:
        plan = ag.create_usage_plan(name=f"p-{uuid.uuid4().hex[:8]}",
                                    apiStages=[{"apiId": api.api_id, "stage": api.stage}])
        ag.create_usage_plan_key(usagePlanId=plan["id"], keyId=key["id"], keyType="API_KEY")
    return key["value"]


def test_a_method_that_requires_a_key_refuses_calls_without_a_valid_one(make_api, target, invoke, item_count):
    api = make_api(api_key_required=True, with_get=False)
    good = _key_for(target, api)
    disabled = _key_for(target, api, enabled=False)
    unplanned = _key_for(target, api, in_plan=False)
    url = api.url + "/requests"
    body = json.dumps({"payload": "x"})

    # Keys are read at most KEYS_TTL after they were made.
    wait_for(lambda: invoke("POST", url, body, **{"x-api-key": good}).status == 202, timeout=KEYS_TTL * 10)
    for headers in ({}, {"x-api-key": "not-a-key"}, {"x-api-key": disabled}, {"x-api-key": unplanned}):
        reply = invoke("POST", url, body, **headers)
        assert reply.status == 403, headers
        assert reply.json() == {"message": "Forbidden"}
        assert reply.headers["x-amzn-ErrorType"] == "ForbiddenException"
    assert item_count(api.table) == 1  # only the call with the good key wrote


def test_a_method_without_the_flag_needs_no_key(requests_api, invoke):
    assert invoke("POST", requests_api.url + "/requests", json.dumps({"payload": "x"})).status == 202
