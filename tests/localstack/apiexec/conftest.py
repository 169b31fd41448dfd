"""Fixtures for the API executor: REST APIs defined through boto3 against the local stack."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable

import pytest
import urllib3

from tests.cleanup import Cleanup
from tests.localstack.apiexec import sample_api


@dataclass
class Reply:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@pytest.fixture(scope="session")
def http() -> urllib3.PoolManager:
    return urllib3.PoolManager(maxsize=8, timeout=urllib3.Timeout(connect=5, read=60), retries=False)


@pytest.fixture(scope="session")
def invoke(http) -> Callable[..., Reply]:
    def call(method: str, url: str, body: bytes | str | None = None,
             content_type: str | None = "application/json", **headers: str) -> Reply:
        if isinstance(body, str):
            body = body.encode("utf-8")
        if content_type is not None:
            headers["Content-Type"] = content_type
        resp = http.request(method, url, body=body, headers=headers)
        return Reply(resp.status, resp.headers, resp.data)
    return call


@pytest.fixture(scope="session")
def make_api(target):
    """Define a sample API (table, resources, integrations, deployment); deleted at the end."""
    made: list[sample_api.SampleApi] = []

    def make(**kwargs: Any) -> sample_api.SampleApi:
        api = sample_api.define(target, **kwargs)
        made.append(api)
        return api

    try:
        yield make
    finally:
        cleanup = Cleanup()
        for api in made:
            cleanup.run(f"deleting API {api.api_id}", api.delete)
        cleanup.report()


@pytest.fixture(scope="session")
def requests_api(make_api) -> sample_api.SampleApi:
    """POST /requests (UpdateItem, 202; 4xx→400, 5xx→500) and GET /requests/{id} (GetItem)."""
    return make_api()


@pytest.fixture(scope="session")
def item_count(target) -> Callable[[str], int]:
    ddb = target.client("dynamodb")
    return lambda table: ddb.scan(TableName=table, Select="COUNT")["Count"]


@pytest.fixture(scope="session")
def get_item(target) -> Callable[[str, str], dict | None]:
    ddb = target.client("dynamodb")
    return lambda table, item_id: ddb.get_item(TableName=table, Key={"id": {"S": item_id}}, ConsistentRead=True).get("Item")
