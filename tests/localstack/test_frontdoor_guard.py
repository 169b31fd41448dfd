"""The front door under abuse: foreign Host values, web pages, MiniStack's admin paths, malformed
calls it would forward (answered with an AWS-shaped 400 before forwarding)."""
from __future__ import annotations

import json

import pytest
import urllib3


@pytest.fixture(scope="module")
def send(local_stack):
    http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=60))

    def call(method: str, path: str, body: bytes | str | None = None, **headers: str):
        resp = http.request(method, local_stack.endpoint_url + path, body=body, headers=headers)
        return resp.status, resp.headers, resp.data
    return call


def _aws_error(headers, data) -> str:
    """The error code of an AWS-shaped JSON error (the same in the header and the body)."""
    assert "json" in headers["Content-Type"]
    assert json.loads(data)["__type"] == headers["x-amzn-ErrorType"]
    return headers["x-amzn-ErrorType"]


@pytest.mark.parametrize("host", ["evil.example", "evil.example:4566", "127.0.0.1.evil.example", "10.0.0.1"])
def test_a_foreign_host_is_refused(send, host):
    status, headers, data = send("GET", "/restapis", Host=host)
    assert status == 403 and _aws_error(headers, data) == "AccessDeniedException"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost:4566", "[::1]:4566"])
def test_loopback_hosts_are_served(send, host):
    assert send("GET", "/restapis", Host=host)[0] == 200


def test_an_execute_api_localhost_host_reaches_the_api_executor(send):
    status, _, data = send("GET", "/dev/requests", Host="noapi.execute-api.localhost:4566")
    assert (status, json.loads(data)) == (404, {"message": "Not Found"})


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Sec-Fetch-Site": "cross-site"}])
def test_web_pages_cannot_call_the_control_plane(send, local_stack, headers):
    status, got, data = send("POST", "/restapis", json.dumps({"name": "from-a-page"}),
                             **{"Content-Type": "application/json", **headers})
    assert status == 403 and _aws_error(got, data) == "AccessDeniedException"
    names = [api["name"] for api in json.loads(send("GET", "/restapis")[2])["item"]]
    assert "from-a-page" not in names


@pytest.mark.parametrize("path", [
    "/_ministack/health", "/_ministack/reset", "/%5Fministack/health", "/%255Fministack/health", "//_ministack/health",
    "/restapis/x/..%2F..%2F_ministack/health", "/restapis/../_ministack/health", "/_localstack/health",
])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_ministack_admin_paths_are_not_served(send, path, method):
    status, headers, data = send(method, path)
    assert status == 404 and _aws_error(headers, data) == "NotFoundException"


def _nested_put_item(levels: int) -> str:
    value = '{"S": "x"}'
    for _ in range(levels):
        value = '{"M": {"k": ' + value + "}}"
    return '{"TableName": "nosuchtable", "Item": {"id": ' + value + "}}"


@pytest.mark.parametrize("body", [_nested_put_item(33), _nested_put_item(600), "[" * 10_000 + "]" * 10_000])
def test_deeply_nested_dynamodb_json_is_a_validation_error(send, body):
    status, headers, data = send("POST", "/", body, **{"X-Amz-Target": "DynamoDB_20120810.PutItem",
                                                       "Content-Type": "application/x-amz-json-1.0"})
    assert status == 400 and _aws_error(headers, data) == "ValidationException"


def test_32_levels_of_dynamodb_nesting_still_reach_dynamodb(send):
    status, headers, data = send("POST", "/", _nested_put_item(31), **{
        "X-Amz-Target": "DynamoDB_20120810.PutItem", "Content-Type": "application/x-amz-json-1.0"})
    assert status == 400 and _aws_error(headers, data).endswith("ResourceNotFoundException")  # MiniStack's answer


@pytest.mark.parametrize("body", ["[1, 2]", '"name"', "{not json", "{}", '{"name": ""}', '{"name": 7}'])
def test_a_malformed_create_rest_api_is_a_bad_request_and_creates_nothing(send, body):
    before = json.loads(send("GET", "/restapis")[2])["item"]
    status, headers, data = send("POST", "/restapis", body, **{"Content-Type": "application/json"})
    assert status == 400 and _aws_error(headers, data) == "BadRequestException"
    assert json.loads(send("GET", "/restapis")[2])["item"] == before


def test_a_malformed_dynamodb_body_is_an_aws_shaped_400(send):
    status, headers, data = send("POST", "/", "{not json", **{"X-Amz-Target": "DynamoDB_20120810.ListTables",
                                                               "Content-Type": "application/x-amz-json-1.0"})
    assert status == 400 and _aws_error(headers, data) == "ValidationException"


@pytest.mark.parametrize("headers", [{"Host": "evil.example"}, {"Origin": "http://evil.example"}])
def test_the_esm_internal_port_applies_the_same_guard(local_stack, headers):
    http = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=5, read=60))
    resp = http.request("GET", local_stack.esm_url + "/2015-03-31/event-source-mappings/", headers=headers)
    assert resp.status == 403 and resp.headers["x-amzn-ErrorType"] == "AccessDeniedException"
    assert http.request("GET", local_stack.esm_url + "/2015-03-31/event-source-mappings/").status == 200


@pytest.mark.parametrize("target,body,wrong", [
    ("DynamoDB_20120810.BatchWriteItem", {"RequestItems": [1]}, "RequestItems"),  # MiniStack: 500
    ("DynamoDB_20120810.PutItem", {"TableName": "t"}, "Item"),
    ("DynamoDB_20120810.Scan", {"TableName": "t", "Limit": "abc"}, "Limit"),
    ("AmazonSQS.SendMessage", {"QueueUrl": "http://x", "MessageBody": 5}, "MessageBody"),
])
def test_json_protocol_calls_are_checked_against_the_service_model(send, target, body, wrong):
    status, headers, data = send("POST", "/", json.dumps(body), **{"X-Amz-Target": target,
                                                                  "Content-Type": "application/x-amz-json-1.0"})
    assert status == 400 and _aws_error(headers, data) == "ValidationException"
    assert wrong in json.loads(data)["message"]


def test_well_formed_json_protocol_calls_still_reach_ministack(send):
    status, headers, data = send("POST", "/", json.dumps({"TableName": "nosuchtable", "Key": {"id": {"S": "x"}},
                                                          "SomeNewMember": True}),
                                 **{"X-Amz-Target": "DynamoDB_20120810.GetItem", "Content-Type": "application/x-amz-json-1.0"})
    assert status == 400 and _aws_error(headers, data).endswith("ResourceNotFoundException")
