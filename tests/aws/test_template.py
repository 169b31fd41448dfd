"""infra/template.yaml: generated from the library, cfn-lint clean, and deploying exactly what the
library deploys (same VTL templates and models byte for byte, ESM settings, IAM documents, function)."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint, lint_file

from .cfn_eval import (
    API_ROLE_ARN, CONFIG, PROCESSOR_ROLE_ARN, QUEUE_ARN, REGION, STREAM_ARN, TABLE_ARN, TEMPLATE, ACCOUNT,
    load_template, resolve, resources_of_type,
)
from streamlab.aws.template import build_template, render_template
from streamlab.provision import function, mapping, policies
from streamlab.provision.apispec import load_api_spec
from streamlab.provision.config import STACK_TAG, ProcessorSettings

API_DIR = TEMPLATE.parent / "api"
LINT = ManualArgs(include_checks=["I"], regions=["us-east-1", "eu-west-1"])


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


def test_committed_template_is_what_the_library_generates():
    assert TEMPLATE.read_text(encoding="utf-8") == render_template(), (
        "infra/template.yaml is stale: run `streamlab aws template` and commit it"
    )


def test_template_is_cfn_lint_clean_including_informational_checks():
    assert [str(m) for m in lint_file(TEMPLATE, config=LINT)] == []


def test_cfn_lint_does_catch_a_broken_template():
    broken = TEMPLATE.read_text(encoding="utf-8").replace("BillingMode: PAY_PER_REQUEST", "BillingMode: FREE")
    assert any("FREE" in str(m) for m in lint(broken, config=LINT))


# -- the REST API: the same files as infra/api/ ---------------------------------------------------


def _api_json() -> dict:
    return json.loads((API_DIR / "api.json").read_text(encoding="utf-8"))


def _file(relative: str) -> str:
    return (API_DIR / relative).read_bytes().decode("utf-8")


def _paths(template: dict) -> dict[str, str]:
    """Logical id of each AWS::ApiGateway::Resource -> its full path."""
    res = resources_of_type(template, "AWS::ApiGateway::Resource")

    def path(logical: str) -> str:
        props = res[logical]["Properties"]
        parent = props["ParentId"]
        prefix = "" if "Fn::GetAtt" in parent else path(parent["Ref"])
        return f"{prefix}/{props['PathPart']}"

    return {logical: path(logical) for logical in res}


def _methods(template: dict) -> dict[tuple[str, str], dict]:
    paths = _paths(template)
    return {
        (paths[m["Properties"]["ResourceId"]["Ref"]], m["Properties"]["HttpMethod"]): m["Properties"]
        for m in resources_of_type(template, "AWS::ApiGateway::Method").values()
    }


def test_template_has_exactly_the_methods_of_api_json(template):
    wanted = {(path, verb) for path, verbs in _api_json()["resources"].items() for verb in verbs}
    assert set(_methods(template)) == wanted


def test_mapping_templates_are_byte_equal_to_infra_api_files(template):
    methods = _methods(template)
    for path, verbs in _api_json()["resources"].items():
        for verb, raw in verbs.items():
            props = methods[(path, verb)]
            integ = props["Integration"]
            assert integ["RequestTemplates"] == {ct: _file(f) for ct, f in raw["integration"]["requestTemplates"].items()}
            got = [(r["StatusCode"], r.get("SelectionPattern", ""), r["ResponseTemplates"])
                   for r in integ["IntegrationResponses"]]
            want = [(str(r["statusCode"]), r.get("selectionPattern", ""),
                     {ct: _file(f) for ct, f in r["responseTemplates"].items()})
                    for r in raw["integration"]["responses"]]
            assert got == want, f"{verb} {path}"
            assert [r["StatusCode"] for r in props["MethodResponses"]] == raw["methodResponses"]
            assert integ["PassthroughBehavior"] == raw["integration"]["passthroughBehavior"]
            assert integ["TimeoutInMillis"] == raw["integration"].get("timeoutInMillis", 29000)
            assert integ["Type"] == "AWS" and integ["IntegrationHttpMethod"] == "POST"
            assert resolve(integ["Uri"]) == f"arn:aws:apigateway:{REGION}:dynamodb:action/{raw['integration']['action']}"
            assert resolve(integ["Credentials"]) == API_ROLE_ARN
            assert props.get("RequestParameters") == raw.get("requestParameters")
            assert props["AuthorizationType"] == "NONE"


def test_models_and_validators_match_infra_api(template):
    raw = _api_json()
    models = {m["Properties"]["Name"]: m["Properties"] for m in resources_of_type(template, "AWS::ApiGateway::Model").values()}
    assert {n: (p["ContentType"], p["Schema"]) for n, p in models.items()} == {
        n: (m["contentType"], _file(m["schema"])) for n, m in raw["models"].items()
    }
    validators = resources_of_type(template, "AWS::ApiGateway::RequestValidator")
    assert {v["Properties"]["Name"]: {"validateRequestBody": v["Properties"]["ValidateRequestBody"],
                                      "validateRequestParameters": v["Properties"]["ValidateRequestParameters"]}
            for v in validators.values()} == raw["requestValidators"]
    post = _methods(template)[("/requests", "POST")]
    model_names = {k: m["Properties"]["Name"] for k, m in resources_of_type(template, "AWS::ApiGateway::Model").items()}
    assert {ct: model_names[ref["Ref"]] for ct, ref in post["RequestModels"].items()} == raw["resources"]["/requests"]["POST"]["requestModels"]
    assert validators[post["RequestValidatorId"]["Ref"]]["Properties"]["Name"] == raw["resources"]["/requests"]["POST"]["requestValidator"]


def test_stage_has_the_table_name_variable_and_depends_on_a_deployment_of_every_method(template):
    stage = resources_of_type(template, "AWS::ApiGateway::Stage")["ApiStage"]["Properties"]
    wanted = {k: v.format(table_name=CONFIG.table_name) for k, v in _api_json()["stageVariables"].items()}
    assert resolve(stage["Variables"]) == wanted == {"tableName": CONFIG.table_name}
    assert resolve(stage["StageName"]) == CONFIG.stage
    deployment = template["Resources"][stage["DeploymentId"]["Ref"]]
    assert sorted(deployment["DependsOn"]) == sorted(resources_of_type(template, "AWS::ApiGateway::Method"))


def test_a_changed_vtl_template_gives_a_new_deployment():
    """CloudFormation redeploys a stage only for a new Deployment logical id: the id must follow the API."""
    spec = load_api_spec()
    first = spec.methods[0]
    changed = dataclasses.replace(spec, methods=(
        dataclasses.replace(first, request_templates={"application/json": first.request_templates["application/json"] + " "}),
        *spec.methods[1:]))
    ids = [{k for k, v in build_template(s)["Resources"].items() if v["Type"] == "AWS::ApiGateway::Deployment"}
           for s in (spec, spec, changed)]
    assert ids[0] == ids[1] and ids[0] != ids[2]


# -- the table, queue, function, mapping, roles ---------------------------------------------------


def test_event_source_mapping_has_the_library_settings(template):
    props = resolve(template["Resources"]["StreamMapping"]["Properties"])
    desired = CONFIG.esm.to_api(queue_arn=QUEUE_ARN)
    empty = ({}, [], {"Filters": []}, {"Metrics": []})
    expected = {k: v for k, v in desired.items() if v not in empty}
    settings = {k: v for k, v in props.items() if k not in ("EventSourceArn", "FunctionName", "StartingPosition", "Tags")}
    assert settings == expected
    assert mapping.normalize(settings) == mapping.normalize(desired)
    assert props["StartingPosition"] == mapping.STARTING_POSITION
    assert props["EventSourceArn"] == STREAM_ARN and props["FunctionName"] == CONFIG.function_name
    # The failure handling the pipeline's no-loss claim rests on:
    assert settings["DestinationConfig"] == {"OnFailure": {"Destination": QUEUE_ARN}}
    assert settings["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_function_has_the_library_runtime_handler_timeout_memory_and_environment(template):
    props = resolve(template["Resources"]["StreamProcessor"]["Properties"])
    desired = function.desired_configuration(CONFIG, PROCESSOR_ROLE_ARN)
    assert {k: props[k] for k in desired} == desired
    assert (props["Runtime"], props["Handler"]) == (function.RUNTIME, function.HANDLER)
    assert (props["Timeout"], props["MemorySize"]) == (ProcessorSettings().timeout_seconds, ProcessorSettings().memory_mb)
    assert props["Code"] == {"S3Bucket": "code-bucket", "S3Key": "stream_processor.zip"}


def test_roles_carry_exactly_the_library_policies(template):
    roles = {r["Properties"]["RoleName"]: r["Properties"] for r in resolve(
        resources_of_type(template, "AWS::IAM::Role")).values()}
    assert set(roles) == {CONFIG.api_role_name, CONFIG.processor_role_name}
    api, proc = roles[CONFIG.api_role_name], roles[CONFIG.processor_role_name]
    assert api["AssumeRolePolicyDocument"] == policies.trust_policy("apigateway.amazonaws.com")
    assert proc["AssumeRolePolicyDocument"] == policies.trust_policy("lambda.amazonaws.com")
    assert api["Policies"] == [{"PolicyName": policies.API_POLICY_NAME, "PolicyDocument": policies.api_access_policy(TABLE_ARN)}]
    assert proc["Policies"] == [{
        "PolicyName": policies.PROCESSOR_POLICY_NAME,
        "PolicyDocument": policies.processor_access_policy(
            table_arn=TABLE_ARN, stream_arn=STREAM_ARN, queue_arn=QUEUE_ARN, region=REGION,
            account_id=ACCOUNT, function_name=CONFIG.function_name),
    }]


def test_names_match_the_library_and_every_taggable_resource_carries_the_stack_tag(template):
    res = resolve(template["Resources"])
    names = {
        "RequestTable": ("TableName", CONFIG.table_name), "OnFailureQueue": ("QueueName", CONFIG.queue_name),
        "StreamProcessor": ("FunctionName", CONFIG.function_name), "RestApi": ("Name", CONFIG.api_name),
        "ProcessorLogGroup": ("LogGroupName", function.log_group_name(CONFIG)),
    }
    assert {k: res[k]["Properties"][p] for k, (p, _) in names.items()} == {k: v for k, (_, v) in names.items()}
    untaggable = {"AWS::ApiGateway::Model", "AWS::ApiGateway::RequestValidator", "AWS::ApiGateway::Resource",
                  "AWS::ApiGateway::Method", "AWS::ApiGateway::Deployment", "AWS::ApiGateway::UsagePlanKey"}
    for logical, r in res.items():
        if r["Type"] not in untaggable:
            assert {STACK_TAG: CONFIG.stack} in [{t["Key"]: t["Value"]} for t in r["Properties"]["Tags"]], logical


def test_table_has_a_new_and_old_images_stream_and_is_deleted_with_the_stack(template):
    t = template["Resources"]["RequestTable"]
    assert t["Properties"]["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert t["Properties"]["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert t["Properties"]["BillingMode"] == "PAY_PER_REQUEST"
    for logical in ("RequestTable", "OnFailureQueue", "ProcessorLogGroup"):
        assert template["Resources"][logical]["DeletionPolicy"] == "Delete"


def test_invoke_url_output_has_the_library_form(template):
    from streamlab.provision.api import invoke_url
    from streamlab.target import Target

    url = resolve(template["Outputs"]["InvokeUrl"]["Value"])
    assert url == invoke_url(Target(name="aws", region=REGION), "a1b2c3d4e5", CONFIG.stage)
