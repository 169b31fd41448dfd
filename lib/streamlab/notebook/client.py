"""One HTTP call to the pipeline's API, timed, with the answer kept whole (for notebooks and tests)."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Mapping

# Loopback calls must not go through a proxy from the environment.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    elapsed_ms: float
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)

    def __str__(self) -> str:
        text = self.body.decode("utf-8", "replace")
        return f"HTTP {self.status} in {self.elapsed_ms:.1f} ms: {text[:300]}"


def call(
    method: str,
    url: str,
    body: bytes | str | dict | list | None = None,
    content_type: str = "application/json",
    timeout: float = 30.0,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """Send one request; HTTP errors are replies, not exceptions. `headers`: e.g. `pipeline.request_headers` (its API key)."""
    if isinstance(body, (dict, list)):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    sent = {**({"Content-Type": content_type} if body is not None else {}), **(headers or {})}
    request = urllib.request.Request(url, data=body, method=method, headers=sent)
    started = time.perf_counter()
    try:
        with _OPENER.open(request, timeout=timeout) as resp:
            data, status, got = resp.read(), resp.status, dict(resp.headers)
    except urllib.error.HTTPError as exc:
        data, status, got = exc.read(), exc.code, dict(exc.headers)
    return Reply(status=status, body=data, elapsed_ms=(time.perf_counter() - started) * 1000, headers=got)
