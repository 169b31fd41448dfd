"""A deployed REST API as the executor needs it, built once from the control plane's JSON.

Everything a request needs is precomputed here (route tree, compiled templates, compiled
selection patterns, compiled JSON-schema validators), so the hot path parses nothing.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from streamlab.localstack.apiexec import routing
from streamlab.localstack.apiexec.bodyschema import Check, body_validator
from streamlab.localstack.apiexec.throttling import Limit
from streamlab.localstack.apiexec.vtl import MappingTemplate, compile_template

DEFAULT_TIMEOUT_MS = 29_000
DYNAMODB_ACTION = re.compile(r"^arn:aws:apigateway:([a-z0-9-]+):dynamodb:action/(\w+)$")
MODEL_URI = "https://apigateway.amazonaws.com/restapis/{api}/models/{name}"


@dataclass(frozen=True)
class IntegrationResponse:
    status: str
    pattern: re.Pattern[str] | None  # None: the default response
    templates: dict[str, MappingTemplate]
    parameters: dict[str, str]


@dataclass(frozen=True)
class Integration:
    type: str
    uri: str
    credentials: str | None
    passthrough: str
    timeout_s: float
    templates: dict[str, MappingTemplate]  # by lower-cased content type
    responses: tuple[IntegrationResponse, ...]
    dynamodb: tuple[str, str] | None  # (region, action) for AWS DynamoDB integrations


@dataclass(frozen=True)
class Method:
    verb: str
    integration: Integration | None
    method_responses: dict[str, dict[str, Any]]
    validate_body: bool
    validate_parameters: bool
    required_parameters: tuple[str, ...]  # method.request.{querystring|header|path}.name
    body_validators: dict[str, Check]  # content type -> is this document valid?
    api_key_required: bool = False  # callers need an x-api-key of a usage plan of the stage


@dataclass
class ApiDefinition:
    api_id: str
    name: str
    tree: routing.Node[Method]
    binary_media_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Stage:
    name: str
    deployment_id: str
    variables: dict[str, str]
    limits: dict[str, Limit] = field(default_factory=dict)  # stage/method throttling, by "*/*" or "/path/VERB"


def _compile_templates(templates: dict[str, str] | None) -> dict[str, MappingTemplate]:
    return {ctype.lower(): compile_template(text or "") for ctype, text in (templates or {}).items()}


def _compile_pattern(pattern: str | None) -> re.Pattern[str] | None:
    if not pattern:
        return None
    try:
        return re.compile(pattern)
    except re.error:
        # AWS refuses such a pattern at PutIntegrationResponse; MiniStack stores it. Match nothing.
        return re.compile(r"(?!)")


def _integration(raw: dict[str, Any] | None) -> Integration | None:
    if not raw:
        return None
    m = DYNAMODB_ACTION.match(raw.get("uri") or "")
    responses = tuple(
        IntegrationResponse(
            status=str(status),
            pattern=_compile_pattern(resp.get("selectionPattern")),
            templates=_compile_templates(resp.get("responseTemplates")),
            parameters=dict(resp.get("responseParameters") or {}),
        )
        for status, resp in (raw.get("integrationResponses") or {}).items()
    )
    return Integration(
        type=(raw.get("type") or "").upper(),
        uri=raw.get("uri") or "",
        credentials=raw.get("credentials"),
        passthrough=(raw.get("passthroughBehavior") or "WHEN_NO_MATCH").upper(),
        timeout_s=int(raw.get("timeoutInMillis") or DEFAULT_TIMEOUT_MS) / 1000.0,
        templates=_compile_templates(raw.get("requestTemplates")),
        responses=responses,
        dynamodb=(m.group(1), m.group(2)) if m and (raw.get("type") or "").upper() == "AWS" else None,
    )


def _schema_registry(api_id: str, models: list[dict[str, Any]]) -> tuple[Registry, dict[str, Any]]:
    schemas: dict[str, Any] = {}
    registry = Registry()
    for model in models:
        try:
            schema = json.loads(model.get("schema") or "{}")
        except ValueError:
            continue
        schemas[model["name"]] = schema
        uri = MODEL_URI.format(api=api_id, name=model["name"])
        registry = registry.with_resource(uri, Resource.from_contents(schema, default_specification=DRAFT4))
    return registry, schemas


def _method(verb: str, raw: dict[str, Any], validators: dict[str, dict[str, Any]],
            registry: Registry, schemas: dict[str, Any]) -> Method:
    validator = validators.get(raw.get("requestValidatorId") or "") or {}
    body_validators = {}
    for ctype, model_name in (raw.get("requestModels") or {}).items():
        schema = schemas.get(model_name)
        if schema is not None:
            body_validators[ctype.lower()] = body_validator(schema, registry)
    required = tuple(name for name, needed in (raw.get("requestParameters") or {}).items() if needed)
    return Method(
        verb=verb,
        integration=_integration(raw.get("methodIntegration")),
        method_responses=dict(raw.get("methodResponses") or {}),
        validate_body=bool(validator.get("validateRequestBody")),
        validate_parameters=bool(validator.get("validateRequestParameters")),
        required_parameters=required,
        body_validators=body_validators,
        api_key_required=bool(raw.get("apiKeyRequired")),
    )


def build_definition(api: dict[str, Any], resources: list[dict[str, Any]], models: list[dict[str, Any]],
                     validators: list[dict[str, Any]]) -> ApiDefinition:
    """An ApiDefinition from GetRestApi, GetResources, GetModels and GetRequestValidators answers."""
    api_id = api["id"]
    registry, schemas = _schema_registry(api_id, models)
    by_id = {v["id"]: v for v in validators}
    tree = routing.build_tree([
        (res.get("path") or "/",
         {verb: _method(verb, raw, by_id, registry, schemas) for verb, raw in (res.get("resourceMethods") or {}).items()})
        for res in resources
    ])
    return ApiDefinition(api_id=api_id, name=api.get("name") or api_id, tree=tree,
                         binary_media_types=tuple(api.get("binaryMediaTypes") or ()))
