"""`streamlab bench api`: what the API path costs over a raw DynamoDB PutItem on the same MiniStack.

One client, the same concurrency and the same item for all three paths:
(a) PutItem straight to MiniStack's port (the target's baseline); (b) the write the API makes,
straight to MiniStack: its request template rendered here, i.e. the conditional UpdateItem that
makes retries safe (infra/api/README.md); (c) POST /requests through the front door to the API
`streamlab deploy` creates from infra/api/ (API executor: routing, validation, VTL, the
integration, integration response), on its own table. (c) against (a) is the figure the
target names; (c) against (b) is what the front door itself costs, (b) against (a) what the
idempotent write costs MiniStack. Rounds alternate (a, b, c, a, ...) so drift on a busy machine
hits all alike. Closed loop on purpose: this measures service cost per request, not latency
under an arrival rate (that is `burst`). Each path also says how many cores each process kept
busy and what limited it (`limited_by`): on two cores the load generator takes a share too, so a
path can be limited by the machine rather than by the process it measures. So the client is the
front door's own lean keep-alive HTTP/1.1 pool (`apiexec.backend_pool`), not aiohttp's: 0.06-0.09
ms of CPU per request against 0.18-0.21, less taken from the paths it measures.

CPU per request is not a fixed price: a process that finds several requests waiting each time it
wakes spends less on each. With aiohttp's slower client the front door was fed in bunches and
measured 0.34-0.36 ms per request; with this client, 0.37-0.41 ms (same code, same session).
"""
from __future__ import annotations

import asyncio
import json
import os
import platform
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import psutil

from streamlab import schema
from streamlab.errors import ConfigError
from streamlab.localstack import stack
from streamlab.localstack.apiexec import vtl
from streamlab.localstack.apiexec.backend_pool import BackendPool
from streamlab.localstack.apiexec.upstream import json_rpc_headers
from streamlab.observe.stats import percentile
from streamlab.provision import api, roles, table
from streamlab.provision.apispec import load_api_spec
from streamlab.provision.config import PipelineConfig
from streamlab.provision.protection import ProtectionSettings
from streamlab.target import Target, local_target

TARGET_OVERHEAD = 0.15
TARGET_FRONTDOOR_CPU_MS = 0.2
# Stand-ins rendered into the API's request template once, replaced per request.
_ID_MARK, _TIME_MARK = "0streamlab0id0", "0streamlab0time0"
ROUNDS = 4
# A process on one event loop this busy is the limit; a machine this busy is (scheduling takes the rest).
PROCESS_SATURATED = 0.95
MACHINE_SATURATED = 0.85


@dataclass
class PathResult:
    latencies_ms: list[float]
    seconds: float
    errors: int
    cpu_s: dict[str, float] = field(default_factory=dict)  # CPU seconds used per process while it ran

    def summary(self) -> dict[str, Any]:
        ordered = self.latencies_ms

        def pct(p: float) -> float | None:
            value = percentile(ordered, p)
            return None if value is None else round(value, 3)

        return {
            "requests": len(ordered),
            "errors": self.errors,
            "throughput_rps": round(len(ordered) / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": pct(50),
            "p90_ms": pct(90),
            "p99_ms": pct(99),
            "max_ms": pct(100),
            # Where the time goes on a shared 2-core machine: CPU per request in each process.
            "cpu_ms_per_request": {name: round(sec * 1000 / len(ordered), 4) for name, sec in self.cpu_s.items()}
            if ordered else {},
            **busy_cores(self.cpu_s, self.seconds),
        }


def busy_cores(cpu_s: dict[str, float], seconds: float, cores: int | None = None) -> dict[str, Any]:
    """How many cores each process kept busy, and what limited the path's throughput: one process
    near a whole core (each serves on one event loop), or the machine (its cores all but full,
    the load generator's included), or neither (waits)."""
    cores = cores or os.cpu_count() or 1
    busy = {name: round(sec / seconds, 2) for name, sec in cpu_s.items()} if seconds else {}
    total = round(sum(busy.values()), 2)
    busiest = max(busy, key=busy.__getitem__, default=None)
    if busiest is not None and busy[busiest] >= PROCESS_SATURATED:
        limited_by = busiest
    elif total >= MACHINE_SATURATED * cores:
        limited_by = "machine"
    else:
        limited_by = None
    return {"cores_busy": busy, "cores_busy_total": total, "limited_by": limited_by}


async def _drive(client: BackendPool, count: int, concurrency: int,
                 request: Callable[[], tuple[str, bytes, dict[str, str]]], ok: int) -> PathResult:
    latencies: list[float] = []
    errors = 0
    remaining = count

    async def worker() -> None:
        nonlocal remaining, errors
        while remaining > 0:
            remaining -= 1
            path, body, headers = request()
            started = time.perf_counter()
            response = await client.post(path, body, headers)
            latencies.append((time.perf_counter() - started) * 1000)
            errors += response.status != ok

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return PathResult(latencies, time.perf_counter() - started, errors)


def _cpu(processes: dict[str, psutil.Process]) -> dict[str, float]:
    seconds = {name: sum(proc.cpu_times()[:2]) for name, proc in processes.items()}
    seconds["client"] = time.process_time()
    return seconds


async def _drive_measured(processes: dict[str, psutil.Process], *args: Any) -> PathResult:
    before = _cpu(processes)
    result = await _drive(*args)
    after = _cpu(processes)
    result.cpu_s = {name: after[name] - before[name] for name in after}
    return result


def _merge(parts: list[PathResult]) -> PathResult:
    cpu = {name: sum(p.cpu_s.get(name, 0.0) for p in parts) for name in parts[0].cpu_s}
    return PathResult([x for p in parts for x in p.latencies_ms], sum(p.seconds for p in parts),
                      sum(p.errors for p in parts), cpu)


def the_api_write(table_name: str, payload: str) -> tuple[str, Callable[[], bytes]]:
    """The DynamoDB action POST /requests calls and a maker of its request bodies: the deployed
    request template (infra/api/) rendered once, a new id and time put in per request."""
    spec = load_api_spec()
    post = next(m for m in spec.methods if m.http_method == "POST")
    template = vtl.compile_template(post.request_templates["application/json"])
    context = {"extendedRequestId": _ID_MARK, "requestTimeEpoch": _TIME_MARK, "responseOverride": {}}
    no_params: dict[str, dict[str, str]] = {"path": {}, "querystring": {}, "header": {}}
    rendered = vtl.render(template, input=vtl.Input(payload, no_params), context=context,
                          stage_variables=spec.stage_variables_for(table_name=table_name))
    if _ID_MARK not in rendered or _TIME_MARK not in rendered:
        raise RuntimeError("the API's request template no longer uses the request id and time; update bench api")

    def body() -> bytes:
        return rendered.replace(_ID_MARK, uuid.uuid4().hex).replace(_TIME_MARK, str(int(time.time() * 1000))).encode()

    return post.action, body


def time_templates(payload: str, renders: int = 2000) -> dict[str, dict[str, float]]:
    """Microseconds per render of the POST method's request template and its 2xx response
    template, compiled (as the front door renders them) and by airspeed's interpreter: the
    front door's template share of its CPU per request, measured apart from the rest."""
    post = next(m for m in load_api_spec().methods if m.http_method == "POST")
    accepted = next(r for r in post.responses if r.status_code.startswith("2"))
    answer = json.dumps({"Attributes": {schema.ID: {"S": "k-1"}, schema.STATUS: {"S": schema.ACCEPTED},
                                        schema.ACCEPTED_AT: {"N": "1700000000123"}, schema.BODY: {"S": payload}}})
    params = {"path": {}, "querystring": {}, "header": {"Content-Type": "application/json", "Idempotency-Key": "k-1"}}
    cases = {"request": (post.request_templates["application/json"], payload),
             "response": (accepted.response_templates["application/json"], answer)}
    figures = {}
    for name, (text, body) in cases.items():
        template = vtl.compile_template(text)
        interpreted = replace(template, compiled=None)
        figures[name] = {"compiled_us": _render_us(template, body, params, renders),
                         "airspeed_us": _render_us(interpreted, body, params, renders)}
    return figures


def _render_us(template: vtl.MappingTemplate, body: str, params: dict[str, dict[str, str]], renders: int) -> float:
    best = float("inf")
    for _ in range(3):  # the fastest of three: what the code costs, not what the machine was doing
        started = time.perf_counter()
        for _ in range(renders):
            context = {"extendedRequestId": "Mf2JqF5aoAMF1Tw=", "requestTimeEpoch": 1700000000123,
                       "httpMethod": "POST", "responseOverride": {"status": None, "header": {}}}
            vtl.render(template, input=vtl.Input(body, params), context=context, stage_variables={"tableName": "T"})
        best = min(best, (time.perf_counter() - started) / renders)
    return round(best * 1e6, 1)


def _overhead(baseline: dict[str, Any], measured: dict[str, Any]) -> dict[str, float | None]:
    """How much slower `measured` is than `baseline`: throughput cost and latency increase (0.1 = 10%)."""
    def ratio(a: float | None, b: float | None) -> float | None:
        return round(a / b - 1, 3) if a and b else None

    return {"throughput": ratio(baseline["throughput_rps"], measured["throughput_rps"]),
            "p50_latency": ratio(measured["p50_ms"], baseline["p50_ms"]),
            "p99_latency": ratio(measured["p99_ms"], baseline["p99_ms"])}


def why_not(results: dict[str, Any], overhead: dict[str, Any]) -> list[str]:
    """Why the API path missed the throughput target, in the run's own figures ([] when it met it)."""
    cost = overhead["throughput"]
    if cost is None or cost <= TARGET_OVERHEAD:
        return []
    write = overhead["api_write_vs_raw_putitem"]["throughput"]
    front_door = overhead["front_door_vs_raw_api_write"]["throughput"]
    reasons = []
    if write is not None:
        share = "more than the target on its own" if write > TARGET_OVERHEAD else "part of it"
        reasons.append(f"the API's write sent straight to MiniStack costs {write:+.0%} against a PutItem ({share})")
    if front_door is not None:
        reasons.append(f"the front door adds {front_door:+.0%} against that write")
    post = results["api_post"]
    if post.get("limited_by"):
        who = "the whole machine" if post["limited_by"] == "machine" else post["limited_by"]
        reasons.append(f"the API path was limited by {who} "
                       f"({post['cores_busy_total']} cores busy, the load generator's included)")
    return reasons


async def _measure(ministack_url: str, target: Target, api_url: str, table_name: str, requests: int,
                   concurrency: int, item_bytes: int, processes: dict[str, psutil.Process]) -> dict[str, Any]:
    payload = json.dumps({"data": "x" * max(0, item_bytes - 12)})
    api_headers = {"Content-Type": "application/json"}
    action, api_write_body = the_api_write(table_name, payload)
    write_headers = json_rpc_headers(f"DynamoDB_20120810.{action}", "dynamodb", target.region)

    def raw_request() -> tuple[str, bytes, dict[str, str]]:
        # The item the API's template (infra/api/templates/put_request.vtl) stores.
        item = {
            schema.ID: {"S": uuid.uuid4().hex},
            schema.BODY: {"S": payload},
            schema.ACCEPTED_AT: {"N": str(int(time.time() * 1000))},
            schema.STATUS: {"S": schema.ACCEPTED},
        }
        body = json.dumps({"TableName": table_name, "Item": item}).encode()
        return "/", body, json_rpc_headers("DynamoDB_20120810.PutItem", "dynamodb", target.region)

    def same_write_request() -> tuple[str, bytes, dict[str, str]]:
        return "/", api_write_body(), write_headers

    api = urlsplit(api_url)
    api_path = api.path + (f"?{api.query}" if api.query else "")

    def api_request() -> tuple[str, bytes, dict[str, str]]:
        return api_path, payload.encode(), api_headers

    to_ministack, to_front_door = BackendPool(ministack_url), BackendPool(f"{api.scheme}://{api.netloc}")
    paths = {"raw_putitem": (to_ministack, raw_request, 200), "raw_api_write": (to_ministack, same_write_request, 200),
             "api_post": (to_front_door, api_request, 202)}
    try:
        warmup = max(50, requests // 10)
        for client, request, ok in paths.values():
            await _drive(client, warmup, concurrency, request, ok)
        parts: dict[str, list[PathResult]] = {name: [] for name in paths}
        per_round = max(1, requests // ROUNDS)
        for _ in range(ROUNDS):
            for name, (client, request, ok) in paths.items():
                parts[name].append(await _drive_measured(processes, client, per_round, concurrency, request, ok))
    finally:
        to_ministack.close()
        to_front_door.close()
    results = {name: _merge(measured).summary() for name, measured in parts.items()}
    overhead: dict[str, Any] = _overhead(results["raw_putitem"], results["api_post"])
    overhead.update({
        "target": TARGET_OVERHEAD,
        "meets_target": overhead["throughput"] is not None and overhead["throughput"] <= TARGET_OVERHEAD,
        # Where the cost is: the front door's own share, and the idempotent write's share at MiniStack.
        "front_door_vs_raw_api_write": _overhead(results["raw_api_write"], results["api_post"]),
        "api_write_vs_raw_putitem": _overhead(results["raw_putitem"], results["raw_api_write"]),
    })
    overhead["why_not"] = why_not(results, overhead)
    frontdoor_ms = results["api_post"]["cpu_ms_per_request"].get("frontdoor")
    return {
        **results,
        "api_write_action": action,
        "overhead": overhead,
        "frontdoor_cpu": {"ms_per_request": frontdoor_ms, "target_ms": TARGET_FRONTDOOR_CPU_MS,
                          "meets_target": frontdoor_ms is not None and frontdoor_ms <= TARGET_FRONTDOOR_CPU_MS,
                          "templates_us": time_templates(payload)},
    }


def run(requests: int = 4000, concurrency: int = 16, item_bytes: int = 256, home: Path | None = None,
        log: Callable[[str], None] = print) -> dict[str, Any]:
    """Benchmark both paths on the local stack (started if it is not running); returns the JSON-ready report."""
    if requests < ROUNDS or concurrency < 1:
        raise ConfigError(f"--requests must be at least {ROUNDS} and --concurrency at least 1.")
    state = stack.up(home=home, log=log)
    target = local_target(state.endpoint_url)
    # The API alone (no function, so no usage plan): opened, as with STREAMLAB_OPEN_API=yes. The key
    # check a protected API adds is one set lookup per request.
    config = PipelineConfig(stack=f"bench-api-{uuid.uuid4().hex[:6]}",
                            protection=ProtectionSettings(api_key_required=False))
    try:
        table_arn = table.create_table(target, config).arn
        role_arn = roles.create_api_role(target, config, table_arn=table_arn).arn
        deployed = api.create_api(target, config, table_name=config.table_name, api_role_arn=role_arn)
        processes = {name: psutil.Process(rec.pid) for name, rec in state.processes.items()}
        results = asyncio.run(_measure(state.ministack_url, target, deployed.invoke_url, config.table_name,
                                       requests, concurrency, item_bytes, processes))
    finally:
        api.delete_api(target, config)
        roles.delete_role(target, config.api_role_name)
        table.delete_table(target, config)
    return {
        "benchmark": "api",
        "started_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": {"requests": requests, "concurrency": concurrency, "item_bytes": item_bytes, "rounds": ROUNDS},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        **results,
    }

