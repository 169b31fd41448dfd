"""The synchronous design, for comparison: API Gateway -> Lambda (AWS_PROXY) -> work inline -> PutItem -> 200.

    POST /sync ──> SyncProcessor (infra/functions/sync_processor): sleep, maybe fail, then store
                   the request already PROCESSED and answer 200 {"id": ...};
                   a failure raises, API Gateway answers 502 and nothing is stored.

Its own table (`<stack>-sync-requests`), function, role and REST API, named from the stack and
tagged with it, so an audit reads the two designs' requests apart and `teardown_sync` removes
exactly this part (the fire-and-forget pipeline of the same stack stays). The same boto3 calls
run against the local stack and AWS; every step reuses what exists, so deploying twice changes
nothing. The table, role and log-group steps are the pipeline's own (`table`, `roles`,
`function`), given a `PipelineConfig` that names the sync resources.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Callable

from streamlab.errors import ConfigError
from streamlab.provision import api, function, policies, roles, table
from streamlab.provision.calls import get_or_none, provisioning, require_parts, strip_metadata
from streamlab.provision.config import PipelineConfig
from streamlab.provision.package import build_zip, code_sha256
from streamlab.provision.paths import function_dir
from streamlab.provision.pipeline import TeardownReport, run_teardown
from streamlab.target import Target

Log = Callable[[str], None]
FUNCTION_SOURCE = "sync_processor"
RESOURCE_PATH = "/sync"
HTTP_METHOD = "POST"
POLICY_NAME = "streamlab-sync-access"
PERMISSION_SID = "streamlab-apigateway-invoke"
STEPS = ("table", "role", "function", "api")
_WAIT = {"Delay": 1, "MaxAttempts": 300}


@dataclass(frozen=True)
class SyncConfig:
    """Names and settings of the synchronous API of one stack (names derive from `stack`)."""

    stack: str = "streamlab"
    stage: str = "dev"
    work_ms: int = 0             # WORK_MS: every request sleeps this long (plus its own sleep_ms)
    failure_rate: float = 0.0    # FAILURE_RATE: share of requests whose work raises (-> 502)
    failure_seed: int = 0        # FAILURE_SEED: makes the draws reproducible
    timeout_seconds: int = 29    # API Gateway gives up after 29 s anyway (A6)
    memory_mb: int = 256

    def __post_init__(self) -> None:
        if not 0.0 <= self.failure_rate <= 1.0:
            raise ConfigError(f"failure_rate={self.failure_rate} must be between 0 and 1.")
        if self.work_ms < 0 or self.work_ms >= self.timeout_seconds * 1000:
            raise ConfigError(
                f"work_ms={self.work_ms} must be at least 0 and below the function timeout "
                f"({self.timeout_seconds} s); raise timeout_seconds or do less work."
            )
        self.pipeline_config()  # validates stack and stage names the pipeline's way

    @property
    def table_name(self) -> str:
        return f"{self.stack}-sync-requests"

    @property
    def function_name(self) -> str:
        return f"{self.stack}-SyncProcessor"

    @property
    def role_name(self) -> str:
        return f"{self.stack}-sync-role"

    @property
    def api_name(self) -> str:
        return f"{self.stack}-sync-api"

    @property
    def tags(self) -> dict[str, str]:
        return self.pipeline_config().tags

    def pipeline_config(self) -> PipelineConfig:
        """A PipelineConfig naming the sync resources, for the pipeline's table/role/function steps."""
        return PipelineConfig(
            stack=self.stack, stage=self.stage, table_name=self.table_name, function_name=self.function_name,
            api_name=self.api_name, processor_role_name=self.role_name, api_role_name=self.role_name,
        )

    def environment(self) -> dict[str, str]:
        return {
            "TABLE_NAME": self.table_name,
            "WORK_MS": str(int(self.work_ms)),
            "FAILURE_RATE": repr(float(self.failure_rate)),
            "FAILURE_SEED": str(int(self.failure_seed)),
        }


@dataclass(frozen=True)
class SyncApi:
    """What the synchronous API is made of: names, ARNs and where to POST."""

    target: str
    region: str
    stack: str
    table_name: str
    table_arn: str
    role_arn: str
    function_name: str
    function_arn: str
    api_id: str
    api_name: str
    stage: str
    invoke_url: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class StepResult:
    """One step's outcome; `name` is the resource's name (the REST API's id for the API step)."""

    name: str
    created: bool
    changed: tuple[str, ...] = ()
    response: dict = field(default_factory=dict, repr=False, compare=False)


def access_policy(*, table_arn: str, region: str, account_id: str, function_name: str) -> dict:
    """The SyncProcessor's role: PutItem on its own table, write its own logs; nothing else."""
    log_group = policies.log_group_arn(region, account_id, function_name)
    return {
        "Version": policies.VERSION,
        "Statement": [
            {"Sid": "StoreRequests", "Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": table_arn},
            {"Sid": "CreateLogGroup", "Effect": "Allow", "Action": "logs:CreateLogGroup", "Resource": log_group + ":*"},
            {"Sid": "WriteLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": log_group + ":log-stream:*"},
        ],
    }


def create_role(target: Target, config: SyncConfig, *, table_arn: str) -> roles.RoleInfo:
    policy = access_policy(table_arn=table_arn, region=target.region, account_id=target.account_id(),
                           function_name=config.function_name)
    return roles.ensure_role(target, config.pipeline_config(), config.role_name, "lambda.amazonaws.com",
                              POLICY_NAME, policy)


# -- the function ----------------------------------------------------------------------------------


def desired_function(config: SyncConfig, role_arn: str) -> dict:
    return {
        "Runtime": function.RUNTIME,
        "Handler": function.HANDLER,
        "Role": role_arn,
        "Timeout": config.timeout_seconds,
        "MemorySize": config.memory_mb,
        "Environment": {"Variables": config.environment()},
        "Description": f"streamlab stack {config.stack}: the synchronous API's backend (work inline, then store)",
    }


def create_function(target: Target, config: SyncConfig, *, role_arn: str) -> StepResult:
    """Create the SyncProcessor or bring it up to date (code, then settings); waits until Active."""
    lam = target.client("lambda")
    package = build_zip(function_dir(FUNCTION_SOURCE))
    desired = desired_function(config, role_arn)
    existing = function.describe_function(target, config.pipeline_config())
    changed: list[str] = []
    waiter = lambda name: lam.get_waiter(name).wait(FunctionName=config.function_name, WaiterConfig=_WAIT)  # noqa: E731
    with provisioning(f"creating function {config.function_name}"):
        if existing is None:
            for attempt in range(20):
                try:
                    lam.create_function(FunctionName=config.function_name, Code={"ZipFile": package},
                                        Tags=config.tags, Publish=False, PackageType="Zip", **desired)
                    break
                except lam.exceptions.InvalidParameterValueException as exc:
                    # A role made seconds ago may not be assumable yet (IAM is eventually consistent).
                    if "role" not in str(exc).lower() or attempt == 19:
                        raise
                    time.sleep(3)
        else:
            waiter("function_updated_v2")
            if existing.get("CodeSha256") != code_sha256(package):
                lam.update_function_code(FunctionName=config.function_name, ZipFile=package)
                waiter("function_updated_v2")
                changed.append("code")
            differs = {k: v for k, v in desired.items() if existing.get(k) != v}
            if differs:
                lam.update_function_configuration(FunctionName=config.function_name, **differs)
                waiter("function_updated_v2")
                changed.extend(sorted(differs))
        waiter("function_active_v2")
        current = strip_metadata(lam.get_function_configuration(FunctionName=config.function_name))
    return StepResult(config.function_name, existing is None, tuple(changed), current)


def _source_arn(target: Target, api_id: str) -> str:
    return f"arn:aws:execute-api:{target.region}:{target.account_id()}:{api_id}/*/{HTTP_METHOD}{RESOURCE_PATH}"


def _permission(lam, function_name: str) -> dict | None:
    found = get_or_none(lam.get_policy, FunctionName=function_name)
    if not found:
        return None
    statements = json.loads(found["Policy"]).get("Statement", [])
    return next((s for s in statements if s.get("Sid") == PERMISSION_SID), None)


def allow_invoke(target: Target, config: SyncConfig, api_id: str) -> bool:
    """lambda:InvokeFunction for apigateway.amazonaws.com from this API's POST /sync. True if changed."""
    lam = target.client("lambda")
    source_arn = _source_arn(target, api_id)
    with provisioning(f"allowing API {api_id} to invoke {config.function_name}"):
        current = _permission(lam, config.function_name)
        if current is not None and source_arn in json.dumps(current.get("Condition", {})):
            return False
        if current is not None:  # left over from an API that was replaced
            lam.remove_permission(FunctionName=config.function_name, StatementId=PERMISSION_SID)
        lam.add_permission(FunctionName=config.function_name, StatementId=PERMISSION_SID,
                           Action="lambda:InvokeFunction", Principal="apigateway.amazonaws.com",
                           SourceArn=source_arn)
    return True


# -- the REST API ----------------------------------------------------------------------------------


def integration_uri(region: str, function_arn: str) -> str:
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations"


def invoke_url(target: Target, api_id: str, stage: str) -> str:
    """Where to POST requests to the synchronous API."""
    return api.stage_url(target, api_id, stage) + RESOURCE_PATH


def _resource_id(client, api_id: str) -> tuple[str, bool]:
    pages = client.get_paginator("get_resources").paginate(restApiId=api_id)
    ids = {r["path"]: r["id"] for page in pages for r in page.get("items", [])}
    if RESOURCE_PATH in ids:
        return ids[RESOURCE_PATH], False
    made = client.create_resource(restApiId=api_id, parentId=ids["/"], pathPart=RESOURCE_PATH.strip("/"))
    return made["id"], True


def _method_is(client, api_id: str, resource_id: str, uri: str) -> bool:
    method = get_or_none(client.get_method, restApiId=api_id, resourceId=resource_id, httpMethod=HTTP_METHOD)
    integ = (method or {}).get("methodIntegration") or {}
    return bool(method) and method.get("authorizationType") == "NONE" and integ.get("type") == "AWS_PROXY" \
        and integ.get("httpMethod") == "POST" and integ.get("uri") == uri


def create_api(target: Target, config: SyncConfig, *, function_arn: str) -> StepResult:
    """The REST API with POST /sync -> AWS_PROXY -> the function, deployed to the stage when it changed."""
    client = target.client("apigateway")
    pconfig = config.pipeline_config()
    apis = api.find_apis(target, pconfig)
    changed: list[str] = []
    uri = integration_uri(target.region, function_arn)
    with provisioning(f"creating REST API {config.api_name}"):
        for duplicate in apis[1:]:
            api.delete_rest_api(client, duplicate["id"])
        if apis:
            api_id = apis[0]["id"]
        else:
            api_id = client.create_rest_api(
                name=config.api_name, description="streamlab: the synchronous design (work inline, then 200)",
                endpointConfiguration={"types": ["REGIONAL"]}, tags=config.tags,
            )["id"]
            changed.append("rest api")
        resource_id, made = _resource_id(client, api_id)
        if made:
            changed.append(f"resource {RESOURCE_PATH}")
        if not _method_is(client, api_id, resource_id, uri):
            get_or_none(client.delete_method, restApiId=api_id, resourceId=resource_id, httpMethod=HTTP_METHOD)
            client.put_method(restApiId=api_id, resourceId=resource_id, httpMethod=HTTP_METHOD,
                              authorizationType="NONE")
            client.put_integration(restApiId=api_id, resourceId=resource_id, httpMethod=HTTP_METHOD,
                                   type="AWS_PROXY", integrationHttpMethod="POST", uri=uri)
            changed.append(f"method {HTTP_METHOD} {RESOURCE_PATH}")
        if allow_invoke(target, config, api_id):
            changed.append("invoke permission")
        stage = get_or_none(client.get_stage, restApiId=api_id, stageName=config.stage)
        if stage is None or any(c.startswith(("method", "resource")) for c in changed):
            deployment = client.create_deployment(restApiId=api_id, description=f"streamlab sync {config.stack}")
            if stage is None:
                client.create_stage(restApiId=api_id, stageName=config.stage, deploymentId=deployment["id"],
                                    tags=config.tags)
            else:
                client.update_stage(restApiId=api_id, stageName=config.stage, patchOperations=[
                    {"op": "replace", "path": "/deploymentId", "value": deployment["id"]}])
            changed.append(f"deployment {deployment['id']} to stage {config.stage}")
        current = strip_metadata(client.get_rest_api(restApiId=api_id))
    return StepResult(api_id, not apis, tuple(changed), current)


# -- the whole part --------------------------------------------------------------------------------


def _state(step: StepResult) -> str:
    if step.created:
        return "created"
    return f"updated ({', '.join(step.changed)})" if step.changed else "exists, unchanged"


def deploy_sync(config: SyncConfig | None = None, *, target: Target, log: Log = print) -> SyncApi:
    """Create (or converge) the synchronous API's table, role, function and REST API."""
    config = config or SyncConfig()
    n = len(STEPS)
    t = table.create_table(target, config.pipeline_config())
    log(f"[1/{n}] table {t.name}: {'created' if t.created else 'exists, unchanged'} ({t.status})")
    r = create_role(target, config, table_arn=t.arn)
    log(f"[2/{n}] role {r.name}: {'created' if r.created else 'exists (policy re-applied)'}")
    f = create_function(target, config, role_arn=r.arn)
    log(f"[3/{n}] function {f.name}: {_state(f)} ({f.response.get('State', '?')}, "
        f"WORK_MS={config.work_ms}, FAILURE_RATE={config.failure_rate:g})")
    a = create_api(target, config, function_arn=f.response["FunctionArn"])
    url = invoke_url(target, a.name, config.stage)
    log(f"[4/{n}] REST API {a.name} stage {config.stage}: {_state(a)} -> POST {url}")
    return SyncApi(
        target=target.name, region=target.region, stack=config.stack, table_name=t.name, table_arn=t.arn,
        role_arn=r.arn, function_name=f.name, function_arn=f.response["FunctionArn"], api_id=a.name,
        api_name=config.api_name, stage=config.stage, invoke_url=url,
    )


def describe_sync(config: SyncConfig | None = None, *, target: Target) -> SyncApi:
    """The deployed synchronous API, read without changing anything; ProvisionError naming what is missing."""
    config = config or SyncConfig()
    pconfig = config.pipeline_config()
    t = table.describe_table(target, pconfig)
    r = roles.describe_role(target, config.role_name)
    f = function.describe_function(target, pconfig)
    a = api.describe_api(target, pconfig)
    parts = {"table": t, "role": r, "function": f, "REST API": a, f"stage {config.stage}": (a or {}).get("stage")}
    require_parts(parts, f"the synchronous API of stack {config.stack} on the {target.name} target",
                  f"Run deploy_sync(SyncConfig(stack={config.stack!r})).")
    return SyncApi(
        target=target.name, region=target.region, stack=config.stack, table_name=t["TableName"],
        table_arn=t["TableArn"], role_arn=r["Arn"], function_name=f["FunctionName"], function_arn=f["FunctionArn"],
        api_id=a["id"], api_name=config.api_name, stage=config.stage,
        invoke_url=invoke_url(target, a["id"], config.stage),
    )


def find_remaining_sync(config: SyncConfig | None = None, *, target: Target) -> dict[str, list[str]]:
    """What of the synchronous API still exists, by kind (empty lists when nothing is left)."""
    config = config or SyncConfig()
    pconfig = config.pipeline_config()
    return {
        "api": [a["id"] for a in api.find_apis(target, pconfig)],
        "function": [config.function_name] if function.describe_function(target, pconfig) else [],
        "log group": [function.log_group_name(pconfig)] if function.describe_log_group(target, pconfig) else [],
        "role": [config.role_name] if roles.describe_role(target, config.role_name) else [],
        "table": [config.table_name] if table.describe_table(target, pconfig) else [],
    }


def teardown_sync(config: SyncConfig | None = None, *, target: Target,
                  log: Log = print) -> TeardownReport:
    """Delete the synchronous API's parts in reverse order, then prove nothing of them is left."""
    config = config or SyncConfig()
    pconfig = config.pipeline_config()
    return run_teardown(f"the synchronous API of stack {config.stack}", [
        ("api", lambda: api.delete_api(target, pconfig)),
        ("function", lambda: [config.function_name] if function.delete_function(target, pconfig) else []),
        ("role", lambda: [config.role_name] if roles.delete_role(target, config.role_name) else []),
        ("table", lambda: [config.table_name] if table.delete_table(target, pconfig) else []),
    ], lambda: find_remaining_sync(config, target=target), log)
