"""The whole pipeline: `deploy` runs every step in order, `teardown` deletes everything in reverse.

The queue is made before the roles so the processor's policy names the queue's real ARN.
Both are idempotent: deploy twice and nothing is duplicated; teardown twice and the second finds
nothing. `teardown` ends by listing what is left of the stack, which should be nothing.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from streamlab.errors import ProvisionError
from streamlab.provision import api, function, guard, mapping, queue, roles, table
from streamlab.provision.calls import require_parts
from streamlab.provision.config import Pipeline, PipelineConfig
from streamlab.provision.protection import OPEN_API_ENV
from streamlab.target import Target

Log = Callable[[str], None]
STEPS = ("table", "queue", "roles", "function", "mapping", "api", "protection")


def _state(created: bool, updated: bool | tuple | list = False) -> str:
    return "created" if created else ("updated" if updated else "exists, unchanged")


def _mapping_must_lead(target: Target, config: PipelineConfig) -> bool:
    """True when the mapping must learn to read partial batch responses before the function sends them.

    Between the two updates a function answering `batchItemFailures` to a mapping that ignores
    them (E9) would have its failed records counted as processed: skipped, neither retried nor
    reported. Turning partial responses on, the mapping goes first; in every other case the
    function does (turning them off, it stops answering that way before the mapping stops reading).
    """
    if not config.processor.partial_failures:
        return False
    current = mapping.list_mappings(target, config)
    return bool(current) and "ReportBatchItemFailures" not in (current[0].get("FunctionResponseTypes") or [])


def deploy(config: PipelineConfig | None = None, *, target: Target, log: Log = print) -> Pipeline:
    """Create (or converge) every resource of the pipeline; one progress line per step."""
    config = config or PipelineConfig()
    n = len(STEPS)
    say = lambda i, msg: log(f"[{i}/{n}] {msg}")  # noqa: E731

    t = table.create_table(target, config)
    say(1, f"table {t.name}: {_state(t.created)} ({t.status}, stream {t.stream_arn.rsplit('/', 1)[-1]})")
    q = queue.create_queue(target, config)
    say(2, f"on-failure queue {q.name}: {_state(q.created)}")
    api_role = roles.create_api_role(target, config, table_arn=t.arn)
    proc_role = roles.create_processor_role(target, config, table_arn=t.arn, stream_arn=t.stream_arn, queue_arn=q.arn)
    say(3, f"roles {api_role.name}, {proc_role.name}: {_state(api_role.created or proc_role.created)}")
    converge_function = lambda: function.create_function(target, config, role_arn=proc_role.arn)  # noqa: E731
    converge_mapping = lambda: mapping.create_mapping(target, config, stream_arn=t.stream_arn, queue_arn=q.arn)  # noqa: E731
    if _mapping_must_lead(target, config):
        m, f = converge_mapping(), converge_function()
    else:
        f, m = converge_function(), converge_mapping()
    say(4, f"function {f.name}: {_state(f.created, f.updated)} ({f.state})")
    say(5, f"event source mapping {m.uuid}: {_state(m.created, m.updated)} ({m.state})"
           + (f", changed {', '.join(m.updated)}" if m.updated else ""))
    a = api.create_api(target, config, table_name=t.name, api_role_arn=api_role.arn)
    say(6, f"REST API {a.id} stage {a.stage}: {_state(a.created, a.changed)} -> POST {a.invoke_url}")
    p = guard.protect(target, config, api_id=a.id)
    say(7, f"guard rails: {_state(p.created, p.changed)} ("
           + (f"API key {p.api_key_id} in usage plan {p.usage_plan_id}" if p.api_key_id else
              f"OPEN API, no key: {OPEN_API_ENV}=yes") + ")")
    return Pipeline(
        target=target.name, region=target.region, stack=config.stack,
        table_name=t.name, table_arn=t.arn, stream_arn=t.stream_arn,
        api_role_arn=api_role.arn, processor_role_arn=proc_role.arn,
        queue_url=q.url, queue_arn=q.arn, function_name=f.name, function_arn=f.arn,
        mapping_uuid=m.uuid, api_id=a.id, api_name=a.name, stage=a.stage, invoke_url=a.invoke_url,
        api_key=p.api_key,
    )


def describe_pipeline(config: PipelineConfig | None = None, *, target: Target) -> Pipeline:
    """The deployed pipeline, read without changing anything; ProvisionError naming what is missing.

    For code that runs after `deploy` (load, observe, a restarted notebook) and must not create.
    """
    config = config or PipelineConfig()
    t = table.describe_table(target, config)
    q = queue.describe_queue(target, config)
    api_role = roles.describe_role(target, config.api_role_name)
    proc_role = roles.describe_role(target, config.processor_role_name)
    f = function.describe_function(target, config)
    stream_arn = (t or {}).get("LatestStreamArn", "")
    m = [x for x in mapping.list_mappings(target, config) if x.get("EventSourceArn") == stream_arn] if t else []
    a = api.describe_api(target, config)
    key = guard.describe_key(target, config) if config.protection.api_key_required else {"value": ""}
    parts = {"table": t, "queue": q, "api role": api_role, "processor role": proc_role, "function": f,
             "event source mapping": m, "REST API": a, f"stage {config.stage}": (a or {}).get("stage"),
             "API key": key}
    require_parts(parts, f"stack {config.stack} on the {target.name} target",
                  f"Run `streamlab deploy --stack {config.stack}` (or deploy(config)).")
    return Pipeline(
        target=target.name, region=target.region, stack=config.stack,
        table_name=t["TableName"], table_arn=t["TableArn"], stream_arn=stream_arn,
        api_role_arn=api_role["Arn"], processor_role_arn=proc_role["Arn"],
        queue_url=q["QueueUrl"], queue_arn=q["Attributes"]["QueueArn"],
        function_name=f["FunctionName"], function_arn=f["FunctionArn"], mapping_uuid=m[0]["UUID"],
        api_id=a["id"], api_name=config.api_name, stage=config.stage, invoke_url=a["invokeUrl"],
        api_key=key["value"],
    )


@dataclass(frozen=True)
class TeardownReport:
    deleted: dict[str, list[str]]
    remaining: dict[str, list[str]] = field(default_factory=dict)

    @property
    def clean(self) -> bool:
        return not any(self.remaining.values())


def find_remaining(config: PipelineConfig | None = None, *, target: Target) -> dict[str, list[str]]:
    """What of this stack still exists, by kind (empty lists when nothing is left)."""
    config = config or PipelineConfig()
    return {
        "api": [a["id"] for a in api.find_apis(target, config)],
        "api key and usage plan": guard.find_protection(target, config),
        "mapping": [m["UUID"] for m in mapping.list_mappings(target, config)],
        "function": [config.function_name] if function.describe_function(target, config) else [],
        "log group": [function.log_group_name(config)] if function.describe_log_group(target, config) else [],
        "queue": [config.queue_name] if queue.describe_queue(target, config) else [],
        "roles": [r for r in (config.api_role_name, config.processor_role_name) if roles.describe_role(target, r)],
        "table": [config.table_name] if table.describe_table(target, config) else [],
    }


def run_teardown(what: str, steps: Sequence[tuple[str, Callable[[], list[str]]]],
                 remaining: Callable[[], dict[str, list[str]]], log: Log = print) -> TeardownReport:
    """Run each (kind, delete) step in order, one progress line each, then prove nothing is left.

    `delete` returns the names it deleted; `remaining` looks for every kind again.
    """
    deleted: dict[str, list[str]] = {}
    for i, (kind, delete) in enumerate(steps, 1):
        deleted[kind] = names = delete()
        log(f"[{i}/{len(steps)}] {kind}: " + (f"deleted {', '.join(names)}" if names else "nothing to delete"))
    report = TeardownReport(deleted, remaining())
    if not report.clean:
        left = "; ".join(f"{k}: {', '.join(v)}" for k, v in report.remaining.items() if v)
        raise ProvisionError(f"teardown of {what} left resources behind ({left}); run teardown again.")
    log(f"{what}: nothing left")
    return report


def teardown(config: PipelineConfig | None = None, *, target: Target, log: Log = print) -> TeardownReport:
    """Delete every resource of the stack in reverse order, then prove nothing is left."""
    config = config or PipelineConfig()
    return run_teardown(f"stack {config.stack}", [
        ("protection", lambda: guard.delete_protection(target, config)),
        ("api", lambda: api.delete_api(target, config)),
        ("mapping", lambda: mapping.delete_mappings(target, config)),
        ("function", lambda: [config.function_name] if function.delete_function(target, config) else []),
        ("roles", lambda: [r for r in (config.processor_role_name, config.api_role_name)
                           if roles.delete_role(target, r)]),
        ("queue", lambda: [config.queue_name] if queue.delete_queue(target, config) else []),
        ("table", lambda: [config.table_name] if table.delete_table(target, config) else []),
    ], lambda: find_remaining(config, target=target), log)
