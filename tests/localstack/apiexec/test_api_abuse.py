"""REST API invocations under abuse: traversal through the API id or stage, deeply nested bodies."""
from __future__ import annotations

import asyncio
import json

import pytest

from streamlab.localstack.apiexec import loader

DEEP = "[" * 10_000 + "]" * 10_000
ECHO_JSON = ('{"TableName": "$stageVariables.tableName", "Item": {"id": {"S": "$context.extendedRequestId"}, '
             '"b": {"S": "$util.escapeJavaScript($input.json(\'$\'))"}}}')


@pytest.mark.parametrize("api_id", ["..%2F_ministack%2Fhealth%3F", "..%2F..%2F_ministack%2Fhealth%3F", "a%2Fb", "..%2Fx"])
def test_an_api_id_is_matched_never_pasted_into_a_path(target, invoke, api_id):
    reply = invoke("POST", f"{target.endpoint_url}/restapis/{api_id}/dev/_user_request_/requests", "{}")
    assert reply.status == 404
    assert "services" not in reply.json() and "message" in reply.json()  # not MiniStack's health report


@pytest.mark.parametrize("api_id,stage,error", [
    ("../_ministack/health?", "dev", loader.ApiNotFound), ("a/b", "dev", loader.ApiNotFound),
    ("abc", "zz/../dev", loader.StageNotFound), ("abc", "..", loader.StageNotFound), ("abc", "", loader.StageNotFound),
])
def test_the_definition_cache_refuses_ids_that_are_not_ids_without_asking_upstream(api_id, stage, error):
    cache = loader.DefinitionCache(http=None, upstream="http://127.0.0.1:9")  # any upstream call would fail
    with pytest.raises(error):
        asyncio.run(cache.resolve(api_id, stage))


@pytest.mark.parametrize("stage", ["zz%2F..%2Fdev", "..%2Fdev", "dev%2F", "%2E%2E"])
def test_a_stage_is_matched_never_pasted_into_a_path(requests_api, invoke, stage, item_count):
    before = item_count(requests_api.table)
    base = requests_api.url.replace(f"/{requests_api.stage}/", f"/{stage}/")
    reply = invoke("POST", base + "/requests", "{}")
    assert reply.status == 403 and reply.json() == {"message": "Forbidden"}
    assert item_count(requests_api.table) == before
    assert invoke("POST", requests_api.url + "/requests", "{}").status == 202  # the real stage still serves


def test_a_10000_deep_body_is_a_400_for_the_model_and_the_template(make_api, invoke, item_count):
    validated = make_api(model={"$schema": "http://json-schema.org/draft-04/schema#", "type": "array"})
    templated = make_api(request_templates={"application/json": ECHO_JSON})
    for api in (validated, templated):
        reply = invoke("POST", api.url + "/requests", DEEP)
        assert reply.status == 400, reply.body[:300]
        assert "message" in reply.json()
        assert item_count(api.table) == 0
    assert invoke("POST", templated.url + "/requests", json.dumps({"a": [[1]]})).status == 202
