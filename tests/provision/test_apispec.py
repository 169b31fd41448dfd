"""The API definition in infra/api/: read from files, checked, and the model does what it says."""
from __future__ import annotations

import json
import shutil

import jsonschema
import pytest

from streamlab.errors import ConfigError
from streamlab.provision.apispec import load_api_spec
from streamlab.provision.paths import api_dir


def _method(spec, verb, path):
    return next(m for m in spec.methods if m.http_method == verb and m.path == path)


def test_templates_are_the_files_in_infra_api():
    spec = load_api_spec()
    post = _method(spec, "POST", "/requests")
    assert post.request_templates["application/json"] == (api_dir() / "templates/put_request.vtl").read_text()
    get = _method(spec, "GET", "/requests/{id}")
    assert get.responses[0].response_templates["application/json"] == (
        api_dir() / "templates/get_response.vtl"
    ).read_text()


def test_put_template_uses_the_escape_workaround_and_the_gateway_made_id():
    template = _method(load_api_spec(), "POST", "/requests").request_templates["application/json"]
    assert """$util.escapeJavaScript($input.body).replaceAll("\\\\'","'")""" in template
    assert "$context.extendedRequestId" in template and '"$context.requestTimeEpoch"' in template
    assert "$stageVariables.tableName" in template


def test_post_maps_backend_errors_and_rejects_other_content_types():
    post = _method(load_api_spec(), "POST", "/requests")
    assert post.passthrough_behavior == "NEVER"  # A3: 415 for non-JSON
    assert [(r.selection_pattern, r.status_code) for r in post.responses] == [
        ("", "202"), ("4\\d{2}", "400"), ("5\\d{2}", "503"),
    ]
    # Every status a response template may choose through responseOverride has a method response.
    assert set(post.method_responses) == {"202", "400", "422", "429", "500", "503"}
    assert post.action == "UpdateItem"
    assert post.request_validator == "body" and post.request_models == {"application/json": "RequestBody"}


def test_request_model_is_draft4_and_accepts_only_json_objects():
    model = next(m for m in load_api_spec().models if m.name == "RequestBody")
    schema = json.loads(model.schema)
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    validator = jsonschema.Draft4Validator(schema)
    assert validator.is_valid({"any": "thing"}) and validator.is_valid({"fail": "poison", "sleep_ms": 10})
    for bad in ([1, 2], "text", 3, None, {"sleep_ms": -1}):
        assert not validator.is_valid(bad), bad


def test_stage_variables_are_filled_from_the_config():
    assert load_api_spec().stage_variables_for(table_name="x-requests") == {"tableName": "x-requests"}


def test_a_missing_template_file_is_named_in_the_error(tmp_path):
    copy = tmp_path / "api"
    shutil.copytree(api_dir(), copy)
    (copy / "templates/put_response.vtl").unlink()
    with pytest.raises(ConfigError, match="templates/put_response.vtl"):
        load_api_spec(copy)


def test_an_integration_status_without_method_response_is_refused(tmp_path):
    copy = tmp_path / "api"
    shutil.copytree(api_dir(), copy)
    raw = json.loads((copy / "api.json").read_text())
    raw["resources"]["/requests"]["POST"]["methodResponses"] = ["202"]
    (copy / "api.json").write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match="no method response"):
        load_api_spec(copy)
