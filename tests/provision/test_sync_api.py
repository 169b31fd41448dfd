"""The synchronous API (POST /sync -> AWS_PROXY -> SyncProcessor -> PutItem -> 200), deployed on the local stack.

Unit tests load the handler from infra/functions/sync_processor with a fake DynamoDB client;
the integration tests go over the wire: front door -> API executor -> MiniStack's AWS_PROXY
data plane -> the function in a MiniStack worker.
"""
from __future__ import annotations

import importlib.util
import json
import time
import urllib.error
import urllib.request

import pytest

from streamlab import schema
from streamlab.errors import ConfigError, ProvisionError
from streamlab.provision.config import STACK_TAG
from streamlab.provision.paths import function_dir
from streamlab.provision.sync_api import (
    SyncConfig, access_policy, deploy_sync, describe_sync, find_remaining_sync, teardown_sync,
)

_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
QUIET = {"log": lambda _: None}


def _load(name: str, alias: str):
    spec = importlib.util.spec_from_file_location(alias, function_dir(name) / "handler.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def handler_module():
    return _load("sync_processor", "sync_processor_handler")


class FakeDynamoDB:
    def __init__(self):
        self.items: list[dict] = []

    def put_item(self, TableName, Item):  # noqa: N803 - boto3's names
        self.items.append({"table": TableName, **Item})


def _event(body, request_id="req-1", epoch_ms=1_700_000_000_123, base64_body=False):
    return {"body": body, "isBase64Encoded": base64_body,
            "requestContext": {"requestId": request_id, "extendedRequestId": request_id, "requestTimeEpoch": epoch_ms}}


# -- unit: the handler --------------------------------------------------------------------------------


def test_both_handlers_fail_by_the_same_switches_and_ship_them(handler_module):
    import io
    import zipfile
    from pathlib import Path

    from streamlab.functions import failure_switches
    from streamlab.provision.package import build_zip

    stream = _load("stream_processor", "stream_processor_for_sync_test")
    assert handler_module.switches is stream.switches is failure_switches
    for name in ("sync_processor", "stream_processor"):
        with zipfile.ZipFile(io.BytesIO(build_zip(function_dir(name)))) as zf:
            assert zf.read("failure_switches.py") == Path(failure_switches.__file__).read_bytes()


def test_handler_stores_the_request_processed_and_answers_its_id(handler_module, monkeypatch):
    fake = FakeDynamoDB()
    monkeypatch.setattr(handler_module, "_dynamodb", lambda: fake)
    monkeypatch.setenv("TABLE_NAME", "t-sync")
    text = '{"msg": "w\u00f6rld \\"q\\" $x #set($a = 1)"}'
    out = handler_module.handler(_event(text), None)
    assert out["statusCode"] == 200 and json.loads(out["body"]) == {"id": "req-1"}
    [item] = fake.items
    assert item["table"] == "t-sync"
    assert item[schema.ID] == {"S": "req-1"} and item[schema.BODY] == {"S": text}
    assert item[schema.ACCEPTED_AT] == {"N": "1700000000123"} and item[schema.STATUS] == {"S": schema.PROCESSED}
    assert int(item[schema.PROCESSED_AT]["N"]) >= 1_700_000_000_123 and item[schema.ATTEMPTS] == {"N": "1"}


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '"text"', "", None, "\x00{"])
def test_handler_refuses_a_body_that_is_not_a_json_object_and_stores_nothing(handler_module, monkeypatch, body):
    fake = FakeDynamoDB()
    monkeypatch.setattr(handler_module, "_dynamodb", lambda: fake)
    out = handler_module.handler(_event(body), None)
    assert out["statusCode"] == 400 and json.loads(out["body"])["message"] == "Invalid request body"
    assert fake.items == []


@pytest.mark.parametrize("fail", ["poison", "once", 1, 5, "sometimes"])
def test_handler_fail_switches_raise_and_store_nothing(handler_module, monkeypatch, fail):
    fake = FakeDynamoDB()
    monkeypatch.setattr(handler_module, "_dynamodb", lambda: fake)
    with pytest.raises(handler_module.InjectedFailure):
        handler_module.handler(_event(json.dumps({"fail": fail})), None)
    assert fake.items == []


def test_handler_fail_zero_attempts_is_no_failure(handler_module, monkeypatch):
    monkeypatch.setattr(handler_module, "_dynamodb", lambda: FakeDynamoDB())
    monkeypatch.setenv("TABLE_NAME", "t")
    assert handler_module.handler(_event('{"fail": 0}'), None)["statusCode"] == 200


def test_handler_failure_rate_fails_the_drawn_share_reproducibly(handler_module, monkeypatch):
    fake = FakeDynamoDB()
    monkeypatch.setattr(handler_module, "_dynamodb", lambda: fake)
    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.setattr(handler_module, "FAILURE_RATE", 0.3)
    monkeypatch.setattr(handler_module, "FAILURE_SEED", "4")
    failed = []
    for i in range(400):
        try:
            handler_module.handler(_event("{}", request_id=f"id-{i}"), None)
        except handler_module.InjectedFailure:
            failed.append(f"id-{i}")
    assert failed == [f"id-{i}" for i in range(400) if handler_module.draw("4", f"id-{i}", 1) < 0.3]
    assert 0.2 < len(failed) / 400 < 0.4
    assert len(fake.items) == 400 - len(failed)


def test_handler_sleeps_work_ms_plus_the_requests_sleep_ms(handler_module, monkeypatch):
    slept = []
    monkeypatch.setattr(handler_module.time, "sleep", slept.append)
    monkeypatch.setattr(handler_module, "_dynamodb", lambda: FakeDynamoDB())
    monkeypatch.setenv("TABLE_NAME", "t")
    monkeypatch.setattr(handler_module, "WORK_MS", 20.0)
    handler_module.handler(_event('{"sleep_ms": 30}'), None)
    handler_module.handler(_event('{"sleep_ms": true}'), None)  # not a number: no extra sleep
    assert slept == [pytest.approx(0.05), pytest.approx(0.02)]


def test_handler_reads_a_base64_body(handler_module, monkeypatch):
    fake = FakeDynamoDB()
    monkeypatch.setattr(handler_module, "_dynamodb", lambda: fake)
    monkeypatch.setenv("TABLE_NAME", "t")
    import base64

    out = handler_module.handler(_event(base64.b64encode(b'{"a": 1}').decode(), base64_body=True), None)
    assert out["statusCode"] == 200 and fake.items[0][schema.BODY] == {"S": '{"a": 1}'}


# -- unit: configuration ------------------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{"failure_rate": 1.5}, {"failure_rate": -0.1}, {"work_ms": -1},
                                    {"work_ms": 30_000, "timeout_seconds": 29}, {"stack": "bad name"},
                                    {"stage": "no-dash"}])
def test_config_refuses_bad_settings_with_a_clear_error(kwargs):
    with pytest.raises(ConfigError):
        SyncConfig(**kwargs)


def test_config_names_its_own_resources_apart_from_the_pipelines():
    cfg = SyncConfig(stack="lab", work_ms=50, failure_rate=0.1, failure_seed=3)
    pipeline_names = {"lab-requests", "lab-StreamProcessor", "lab-api", "lab-api-role", "lab-processor-role"}
    mine = {cfg.table_name, cfg.function_name, cfg.api_name, cfg.role_name}
    assert len(mine) == 4 and not mine & pipeline_names
    assert cfg.environment() == {"TABLE_NAME": "lab-sync-requests", "WORK_MS": "50", "FAILURE_RATE": "0.1",
                                 "FAILURE_SEED": "3"}
    assert cfg.tags == {STACK_TAG: "lab"}


def test_access_policy_names_only_its_table_and_log_group():
    policy = access_policy(table_arn="arn:aws:dynamodb:r:1:table/x-sync-requests", region="r", account_id="1",
                           function_name="x-SyncProcessor")
    resources = [s["Resource"] for s in policy["Statement"]]
    assert "*" not in resources
    assert resources[0] == "arn:aws:dynamodb:r:1:table/x-sync-requests"
    assert all("log-group:/aws/lambda/x-SyncProcessor" in r for r in resources[1:])
    assert [s["Action"] for s in policy["Statement"]][0] == "dynamodb:PutItem"


# -- integration: the local stack ---------------------------------------------------------------------


def post(url: str, body: bytes):
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json"})
    try:
        with _OPENER.open(request, timeout=60) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _count(target, table_name: str) -> int:
    return target.client("dynamodb").scan(TableName=table_name, Select="COUNT", ConsistentRead=True)["Count"]


@pytest.fixture(scope="module")
def deployed(target, new_stack_name):
    cfg = SyncConfig(stack=new_stack_name())
    try:
        yield cfg, deploy_sync(cfg, target=target, **QUIET)
    finally:
        teardown_sync(cfg, target=target, **QUIET)


def test_a_call_answers_200_with_the_id_of_the_item_stored_processed(target, deployed):
    _, sync = deployed
    text = '{"msg": "w\u00f6rld \\"quoted\\" $x", "sleep_ms": 20}'
    status, raw = post(sync.invoke_url, text.encode())
    assert status == 200, raw
    item_id = json.loads(raw)["id"]
    got = target.client("dynamodb").get_item(TableName=sync.table_name, Key={schema.ID: {"S": item_id}},
                                              ConsistentRead=True)["Item"]
    assert got[schema.STATUS]["S"] == schema.PROCESSED and got[schema.BODY]["S"] == text
    accepted, processed = int(got[schema.ACCEPTED_AT]["N"]), int(got[schema.PROCESSED_AT]["N"])
    assert abs(accepted - time.time() * 1000) < 10 * 60 * 1000  # epoch milliseconds
    assert processed - accepted >= 20  # the work happened before the write


@pytest.mark.parametrize("body, expected", [(b'{"fail": "poison"}', range(500, 600)),
                                            (b'{"unclosed": ', range(400, 401)), (b"[1]", range(400, 401))])
def test_a_failing_or_bad_request_is_an_error_the_client_sees_and_nothing_is_stored(target, deployed, body, expected):
    _, sync = deployed
    before = _count(target, sync.table_name)
    status, raw = post(sync.invoke_url, body)
    assert status in expected, (status, raw)
    assert _count(target, sync.table_name) == before


def test_deployed_parts_are_tagged_and_described_as_deployed(target, deployed):
    cfg, sync = deployed
    assert describe_sync(cfg, target=target) == sync
    assert sync.invoke_url.endswith(f"/restapis/{sync.api_id}/{cfg.stage}/_user_request_/sync")
    lam, apigw, ddb = target.client("lambda"), target.client("apigateway"), target.client("dynamodb")
    assert lam.list_tags(Resource=sync.function_arn)["Tags"].get(STACK_TAG) == cfg.stack
    assert {t["Key"]: t["Value"] for t in ddb.list_tags_of_resource(ResourceArn=sync.table_arn)["Tags"]}.get(
        STACK_TAG) == cfg.stack
    api_tags = apigw.get_tags(resourceArn=f"arn:aws:apigateway:{target.region}::/restapis/{sync.api_id}")["tags"]
    assert api_tags.get(STACK_TAG) == cfg.stack
    policy = json.loads(lam.get_policy(FunctionName=sync.function_name)["Policy"])
    [grant] = policy["Statement"]
    assert grant["Action"] == "lambda:InvokeFunction" and sync.api_id in json.dumps(grant["Condition"])


def test_redeploy_is_idempotent_and_a_changed_setting_converges(target, new_stack_name):
    cfg = SyncConfig(stack=new_stack_name())
    apigw = target.client("apigateway")
    try:
        first = deploy_sync(cfg, target=target, **QUIET)
        deployments = apigw.get_deployments(restApiId=first.api_id)["items"]
        lines: list[str] = []
        assert deploy_sync(cfg, target=target, log=lines.append) == first
        assert "created" not in " ".join(lines) and "updated" not in " ".join(lines), lines
        assert apigw.get_deployments(restApiId=first.api_id)["items"] == deployments
        assert len(apigw.get_rest_apis()["items"]) == len({a["id"] for a in apigw.get_rest_apis()["items"]})

        failing = SyncConfig(stack=cfg.stack, failure_rate=1.0, failure_seed=1, work_ms=5)
        lines.clear()
        again = deploy_sync(failing, target=target, log=lines.append)
        assert again == first
        assert any("function" in line and "updated (Environment)" in line for line in lines), lines
        env = target.client("lambda").get_function_configuration(FunctionName=first.function_name)
        assert env["Environment"]["Variables"]["FAILURE_RATE"] == "1.0"
        status, raw = post(first.invoke_url, b'{"ok": true}')
        assert 500 <= status < 600, raw
        assert _count(target, first.table_name) == 0
    finally:
        report = teardown_sync(cfg, target=target, **QUIET)
    assert report.clean and report.deleted["function"] == [cfg.function_name]
    assert find_remaining_sync(cfg, target=target) == {"api": [], "function": [], "log group": [], "role": [],
                                                      "table": []}
    second = teardown_sync(cfg, target=target, **QUIET)
    assert not any(second.deleted.values())
    with pytest.raises(ProvisionError, match="not \\(fully\\) deployed"):
        describe_sync(cfg, target=target)
