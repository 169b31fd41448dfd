"""Step 6: the REST API, built from infra/api/ with ordinary API Gateway calls.

Each method is compared with what exists and only re-created when it differs; a deployment is
made only when something changed, so a re-run leaves the API (and its deployments) as it was.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from streamlab.provision.apispec import ApiSpec, MethodSpec, load_api_spec
from streamlab.provision.calls import error_code, get_or_none, provisioning, strip_metadata
from streamlab.provision.config import PipelineConfig
from streamlab.target import Target


@dataclass(frozen=True)
class ApiInfo:
    id: str
    name: str
    stage: str
    deployment_id: str
    invoke_url: str
    resource_ids: dict[str, str]
    created: bool
    changed: tuple[str, ...]
    response: dict = field(repr=False, compare=False)


def integration_uri(region: str, action: str) -> str:
    return f"arn:aws:apigateway:{region}:dynamodb:action/{action}"


def stage_url(target: Target, api_id: str, stage: str) -> str:
    """Base URL of a deployed stage: the local stack's path form, or AWS's execute-api host."""
    if target.is_local:
        return f"{target.endpoint_url}/restapis/{api_id}/{stage}/_user_request_"
    return f"https://{api_id}.execute-api.{target.region}.amazonaws.com/{stage}"


def invoke_url(target: Target, api_id: str, stage: str) -> str:
    """Where to POST requests."""
    return stage_url(target, api_id, stage) + "/requests"


def _stage_arn(target: Target, api_id: str, stage: str) -> str:
    return f"arn:aws:apigateway:{target.region}::/restapis/{api_id}/stages/{stage}"


def find_apis(target: Target, config: PipelineConfig) -> list[dict]:
    """Every REST API named like this stack's, oldest first."""
    client = target.client("apigateway")
    with provisioning(f"listing REST APIs named {config.api_name}"):
        pages = client.get_paginator("get_rest_apis").paginate()
        apis = [a for page in pages for a in page.get("items", []) if a.get("name") == config.api_name]
    return sorted(apis, key=lambda a: (str(a.get("createdDate", "")), a["id"]))


def describe_api(target: Target, config: PipelineConfig) -> dict | None:
    """The API, its resources (with methods and integrations) and its stage, or None if there is no API."""
    apis = find_apis(target, config)
    if not apis:
        return None
    client = target.client("apigateway")
    api_id = apis[0]["id"]
    with provisioning(f"describing REST API {api_id}"):
        pages = client.get_paginator("get_resources").paginate(restApiId=api_id, embed=["methods"])
        resources = [r for page in pages for r in page.get("items", [])]
        stage = get_or_none(client.get_stage, restApiId=api_id, stageName=config.stage)
    return {
        **apis[0],
        "resources": resources,
        "stage": strip_metadata(stage) if stage else None,
        "invokeUrl": invoke_url(target, api_id, config.stage),
    }


# -- the pieces ------------------------------------------------------------------------------------


def _ensure_models(client, api_id: str, spec: ApiSpec) -> list[str]:
    changed = []
    for model in spec.models:
        current = get_or_none(client.get_model, restApiId=api_id, modelName=model.name)
        if current is None:
            client.create_model(restApiId=api_id, name=model.name, contentType=model.content_type, schema=model.schema)
            changed.append(f"model {model.name}")
        elif current.get("schema") != model.schema:
            client.update_model(restApiId=api_id, modelName=model.name,
                                patchOperations=[{"op": "replace", "path": "/schema", "value": model.schema}])
            changed.append(f"model {model.name}")
    return changed


def _ensure_validators(client, api_id: str, spec: ApiSpec) -> tuple[dict[str, str], list[str]]:
    existing = {v["name"]: v for v in client.get_request_validators(restApiId=api_id, limit=500).get("items", [])}
    ids, changed = {}, []
    for name, flags in spec.validators.items():
        current = existing.get(name)
        if current is None:
            current = client.create_request_validator(restApiId=api_id, name=name, **flags)
            changed.append(f"validator {name}")
        elif any(bool(current.get(k)) != v for k, v in flags.items()):
            client.update_request_validator(
                restApiId=api_id, requestValidatorId=current["id"],
                patchOperations=[{"op": "replace", "path": f"/{k}", "value": str(v).lower()} for k, v in flags.items()],
            )
            changed.append(f"validator {name}")
        ids[name] = current["id"]
    return ids, changed


def _ensure_resources(client, api_id: str, paths: list[str]) -> tuple[dict[str, str], list[str]]:
    pages = client.get_paginator("get_resources").paginate(restApiId=api_id)
    ids = {r["path"]: r["id"] for page in pages for r in page.get("items", [])}
    changed = []
    for path in paths:
        parts = [p for p in path.split("/") if p]
        for depth in range(1, len(parts) + 1):
            sub = "/" + "/".join(parts[:depth])
            if sub not in ids:
                parent = "/" + "/".join(parts[: depth - 1]) if depth > 1 else "/"
                created = client.create_resource(restApiId=api_id, parentId=ids[parent], pathPart=parts[depth - 1])
                ids[sub] = created["id"]
                changed.append(f"resource {sub}")
    return ids, changed


def desired_method(spec: MethodSpec, *, region: str, api_role_arn: str, validator_ids: dict[str, str],
                   api_key_required: bool = False) -> dict:
    """The method as GetMethod would show it, in the comparable form of `method_view`."""
    return {
        "authorizationType": "NONE",
        "apiKeyRequired": api_key_required,
        "requestValidatorId": validator_ids[spec.request_validator] if spec.request_validator else None,
        "requestModels": dict(spec.request_models or {}),
        "requestParameters": dict(spec.request_parameters or {}),
        "methodResponses": sorted(spec.method_responses),
        "integration": {
            "type": "AWS",
            "httpMethod": "POST",
            "uri": integration_uri(region, spec.action),
            "credentials": api_role_arn,
            "passthroughBehavior": spec.passthrough_behavior,
            "timeoutInMillis": spec.timeout_ms,
            "requestTemplates": dict(spec.request_templates),
            "responses": {
                r.status_code: {"selectionPattern": r.selection_pattern, "responseTemplates": dict(r.response_templates)}
                for r in spec.responses
            },
        },
    }


def method_view(method: dict) -> dict:
    """GetMethod's answer reduced to the fields `desired_method` sets."""
    integ = method.get("methodIntegration") or {}
    return {
        "authorizationType": method.get("authorizationType"),
        "apiKeyRequired": bool(method.get("apiKeyRequired")),
        "requestValidatorId": method.get("requestValidatorId"),
        "requestModels": dict(method.get("requestModels") or {}),
        "requestParameters": dict(method.get("requestParameters") or {}),
        "methodResponses": sorted(method.get("methodResponses") or {}),
        "integration": {
            "type": integ.get("type"),
            "httpMethod": integ.get("httpMethod"),
            "uri": integ.get("uri"),
            "credentials": integ.get("credentials"),
            "passthroughBehavior": integ.get("passthroughBehavior"),
            "timeoutInMillis": int(integ.get("timeoutInMillis", 29000)),
            "requestTemplates": dict(integ.get("requestTemplates") or {}),
            "responses": {
                status: {"selectionPattern": r.get("selectionPattern") or "",
                         "responseTemplates": dict(r.get("responseTemplates") or {})}
                for status, r in (integ.get("integrationResponses") or {}).items()
            },
        },
    }


def _put_method(client, api_id: str, resource_id: str, verb: str, want: dict) -> None:
    method_args: dict[str, Any] = {"authorizationType": want["authorizationType"],
                                   "apiKeyRequired": want["apiKeyRequired"]}
    for key in ("requestValidatorId", "requestModels", "requestParameters"):
        if want[key]:
            method_args[key] = want[key]
    client.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=verb, **method_args)
    for status in want["methodResponses"]:
        client.put_method_response(restApiId=api_id, resourceId=resource_id, httpMethod=verb, statusCode=status)
    integ = want["integration"]
    client.put_integration(
        restApiId=api_id, resourceId=resource_id, httpMethod=verb, type=integ["type"],
        integrationHttpMethod=integ["httpMethod"], uri=integ["uri"], credentials=integ["credentials"],
        passthroughBehavior=integ["passthroughBehavior"], requestTemplates=integ["requestTemplates"],
        timeoutInMillis=integ["timeoutInMillis"],
    )
    for status, response in integ["responses"].items():
        extra = {"selectionPattern": response["selectionPattern"]} if response["selectionPattern"] else {}
        client.put_integration_response(
            restApiId=api_id, resourceId=resource_id, httpMethod=verb, statusCode=status,
            responseTemplates=response["responseTemplates"], **extra,
        )


def _ensure_methods(client, api_id: str, spec: ApiSpec, resource_ids: dict[str, str], *, region: str,
                    api_role_arn: str, validator_ids: dict[str, str], api_key_required: bool) -> list[str]:
    changed = []
    for method in spec.methods:
        rid = resource_ids[method.path]
        want = desired_method(method, region=region, api_role_arn=api_role_arn, validator_ids=validator_ids,
                              api_key_required=api_key_required)
        current = get_or_none(client.get_method, restApiId=api_id, resourceId=rid, httpMethod=method.http_method)
        if current is not None and method_view(current) == want:
            continue
        if current is not None:
            # PutMethod refuses an existing method; replacing it whole is the simple way to converge.
            client.delete_method(restApiId=api_id, resourceId=rid, httpMethod=method.http_method)
        _put_method(client, api_id, rid, method.http_method, want)
        changed.append(f"method {method.http_method} {method.path}")
    return changed


def _ensure_stage(client, target: Target, config: PipelineConfig, api_id: str, variables: dict[str, str],
                  redeploy: bool) -> tuple[str, list[str]]:
    stage = get_or_none(client.get_stage, restApiId=api_id, stageName=config.stage)
    if stage is not None and not redeploy and (stage.get("variables") or {}) == variables:
        return stage["deploymentId"], []
    deployment = client.create_deployment(restApiId=api_id, description=f"streamlab deploy {config.stack}")
    if stage is None:
        client.create_stage(restApiId=api_id, stageName=config.stage, deploymentId=deployment["id"],
                            variables=variables, tags=config.tags)
    else:
        ops = [{"op": "replace", "path": "/deploymentId", "value": deployment["id"]}]
        ops += [{"op": "replace", "path": f"/variables/{k}", "value": v} for k, v in variables.items()]
        ops += [{"op": "remove", "path": f"/variables/{k}"} for k in (stage.get("variables") or {}) if k not in variables]
        client.update_stage(restApiId=api_id, stageName=config.stage, patchOperations=ops)
    # Deployments the stage no longer uses would pile up with every change.
    for old in client.get_deployments(restApiId=api_id, limit=500).get("items", []):
        if old["id"] != deployment["id"]:
            try:
                client.delete_deployment(restApiId=api_id, deploymentId=old["id"])
            except Exception as exc:  # noqa: BLE001 - another stage may still use it
                if error_code(exc) not in ("BadRequestException", "NotFoundException", "ConflictException"):
                    raise
    return deployment["id"], [f"deployment {deployment['id']} to stage {config.stage}"]


def create_api(target: Target, config: PipelineConfig, *, table_name: str, api_role_arn: str,
               spec: ApiSpec | None = None) -> ApiInfo:
    """Create the REST API or bring the existing one in line with infra/api/, then deploy it if it changed."""
    spec = spec or load_api_spec()
    client = target.client("apigateway")
    apis = find_apis(target, config)
    with provisioning(f"creating REST API {config.api_name}"):
        for duplicate in apis[1:]:
            delete_rest_api(client, duplicate["id"])
        if apis:
            api = apis[0]
            client.tag_resource(resourceArn=f"arn:aws:apigateway:{target.region}::/restapis/{api['id']}", tags=config.tags)
            changed = []
        else:
            api = client.create_rest_api(
                name=config.api_name, description=spec.description,
                endpointConfiguration={"types": ["REGIONAL"]}, tags=config.tags,
            )
            changed = ["rest api"]
        api_id = api["id"]
        changed += _ensure_models(client, api_id, spec)
        validator_ids, ch = _ensure_validators(client, api_id, spec)
        changed += ch
        resource_ids, ch = _ensure_resources(client, api_id, spec.paths)
        changed += ch
        changed += _ensure_methods(client, api_id, spec, resource_ids, region=target.region,
                                   api_role_arn=api_role_arn, validator_ids=validator_ids,
                                   api_key_required=config.protection.api_key_required)
        variables = spec.stage_variables_for(table_name=table_name)
        deployment_id, ch = _ensure_stage(client, target, config, api_id, variables, redeploy=bool(changed))
        changed += ch
        client.tag_resource(resourceArn=_stage_arn(target, api_id, config.stage), tags=config.tags)
        current = strip_metadata(client.get_rest_api(restApiId=api_id))
    return ApiInfo(api_id, config.api_name, config.stage, deployment_id, invoke_url(target, api_id, config.stage),
                   resource_ids, not apis, tuple(changed), current)


def delete_rest_api(client, api_id: str) -> bool:
    # AWS allows one DeleteRestApi every 30 s per account; wait it out rather than fail a teardown.
    for attempt in range(12):
        try:
            return get_or_none(client.delete_rest_api, restApiId=api_id) is not None
        except Exception as exc:  # noqa: BLE001
            if error_code(exc) != "TooManyRequestsException" or attempt == 11:
                raise
            time.sleep(10)
    return False


def delete_api(target: Target, config: PipelineConfig) -> list[str]:
    """Delete every REST API named like this stack's (stages and deployments go with it). Returns their ids."""
    client = target.client("apigateway")
    deleted = []
    with provisioning(f"deleting REST API {config.api_name}"):
        for api in find_apis(target, config):
            if delete_rest_api(client, api["id"]):
                deleted.append(api["id"])
    return deleted
