"""The REST API's definition, read from infra/api/: api.json plus the VTL templates and models it names.

api.json is a small declarative description (resources, methods, integrations, responses); the
templates and JSON-schema models stay files, so what is deployed is what is in the repository.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from streamlab.errors import ConfigError
from streamlab.provision.paths import api_dir

DYNAMODB_ACTIONS = frozenset({"PutItem", "UpdateItem", "GetItem"})


@dataclass(frozen=True)
class IntegrationResponseSpec:
    selection_pattern: str  # "" = the default response
    status_code: str
    response_templates: dict[str, str]


@dataclass(frozen=True)
class MethodSpec:
    path: str
    http_method: str
    action: str
    passthrough_behavior: str
    request_templates: dict[str, str]
    responses: tuple[IntegrationResponseSpec, ...]
    method_responses: tuple[str, ...]
    request_validator: str | None = None
    request_models: dict[str, str] | None = None
    request_parameters: dict[str, bool] | None = None
    timeout_ms: int = 29000  # API Gateway's default and maximum integration timeout (A6)


@dataclass(frozen=True)
class ModelSpec:
    name: str
    content_type: str
    schema: str


@dataclass(frozen=True)
class ApiSpec:
    description: str
    stage_variables: dict[str, str]
    models: tuple[ModelSpec, ...]
    validators: dict[str, dict[str, bool]]
    methods: tuple[MethodSpec, ...]

    def stage_variables_for(self, **values: str) -> dict[str, str]:
        """Stage variables with `{placeholders}` filled in (e.g. table_name)."""
        return {k: v.format(**values) for k, v in self.stage_variables.items()}

    @property
    def paths(self) -> list[str]:
        return sorted({m.path for m in self.methods})


def _read(base: Path, relative: str) -> str:
    path = base / relative
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"the API definition names {relative}, but {path} cannot be read: {exc}") from exc


def _method(base: Path, path: str, verb: str, raw: dict, models: set[str], validators: set[str]) -> MethodSpec:
    where = f"{verb} {path} in {base / 'api.json'}"
    integ = raw["integration"]
    if integ["action"] not in DYNAMODB_ACTIONS:
        raise ConfigError(f"{where}: action {integ['action']!r} is not one of {sorted(DYNAMODB_ACTIONS)}")
    responses = tuple(
        IntegrationResponseSpec(
            r.get("selectionPattern", ""), str(r["statusCode"]),
            {ct: _read(base, f) for ct, f in (r.get("responseTemplates") or {}).items()},
        )
        for r in integ["responses"]
    )
    method_responses = tuple(str(s) for s in raw["methodResponses"])
    missing = {r.status_code for r in responses} - set(method_responses)
    if missing:
        # AWS answers 500 for an integration response whose status has no method response (A4).
        raise ConfigError(f"{where}: integration responses {sorted(missing)} have no method response")
    for ct, model in (raw.get("requestModels") or {}).items():
        if model not in models:
            raise ConfigError(f"{where}: request model {model!r} for {ct} is not defined under 'models'")
    validator = raw.get("requestValidator")
    if validator is not None and validator not in validators:
        raise ConfigError(f"{where}: request validator {validator!r} is not defined under 'requestValidators'")
    return MethodSpec(
        path=path, http_method=verb, action=integ["action"],
        passthrough_behavior=integ.get("passthroughBehavior", "NEVER"),
        request_templates={ct: _read(base, f) for ct, f in integ["requestTemplates"].items()},
        responses=responses, method_responses=method_responses, request_validator=validator,
        request_models=raw.get("requestModels"), request_parameters=raw.get("requestParameters"),
        timeout_ms=int(integ.get("timeoutInMillis", 29000)),
    )


def load_api_spec(directory: Path | None = None) -> ApiSpec:
    """Read and check api.json and every file it names."""
    base = directory or api_dir()
    try:
        raw = json.loads(_read(base, "api.json"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{base / 'api.json'} is not valid JSON: {exc}") from exc
    models = []
    for name, m in raw.get("models", {}).items():
        text = _read(base, m["schema"])
        try:
            json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"model {name} ({m['schema']}) is not valid JSON: {exc}") from exc
        models.append(ModelSpec(name, m.get("contentType", "application/json"), text))
    validators = dict(raw.get("requestValidators", {}))
    methods = tuple(
        _method(base, path, verb, spec, {m.name for m in models}, set(validators))
        for path, verbs in raw["resources"].items()
        for verb, spec in verbs.items()
    )
    return ApiSpec(raw.get("description", ""), dict(raw.get("stageVariables", {})), tuple(models), validators, methods)
