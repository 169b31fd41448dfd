"""Who may talk to the front door, and which paths it never serves.

The front door listens on 127.0.0.1, but a web page in the user's browser can still reach it
(DNS rebinding, or a plain cross-origin fetch), and any local process can send any path. So:

- `Host` must name this machine (127.0.0.1, localhost, ::1, or a `*.localhost` name such as
  `{api}.execute-api.localhost`), else 403: a rebinding page sends its own domain;
- calls from a browser page (an `Origin` header, or `Sec-Fetch-Site` cross-site/same-site) may
  invoke REST APIs (API Gateway's data plane, where CORS belongs) but never the control plane;
- MiniStack's own admin paths (`/_ministack/...`: reset, config, code download, ...) are not
  served, however they are spelled (percent-encoded, `..` segments, doubled slashes);
- API ids and stage names are matched against AWS's formats before they name anything upstream,
  so `..%2F_ministack` cannot become a path (`is_api_id`, `is_stage_name`).

The ESM's internal listener applies the same checks (`control_plane_only`).
"""
from __future__ import annotations

import posixpath
import re
from functools import lru_cache
from typing import Mapping
from urllib.parse import unquote, urlsplit

from aiohttp import web

from streamlab.localstack.awserror import AwsError

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1"})
# First path segments that belong to MiniStack's or LocalStack's own machinery, not to AWS.
ADMIN_SEGMENTS = ("_ministack", "_localstack", "_alb")
_BROWSER_SITES = frozenset({"cross-site", "same-site"})
_API_ID = re.compile(r"[A-Za-z0-9]{1,64}")
_STAGE_NAME = re.compile(r"[A-Za-z0-9_-]{1,128}")


def is_api_id(value: str) -> bool:
    return _API_ID.fullmatch(value) is not None


def is_stage_name(value: str) -> bool:
    return _STAGE_NAME.fullmatch(value) is not None


def host_name(host_header: str) -> str:
    """The name part of a Host header value (`[::1]:4566` -> `::1`), lower-cased."""
    return (urlsplit("//" + host_header).hostname or "").lower()


@lru_cache(maxsize=256)
def is_loopback_host(host_header: str | None) -> bool:
    if host_header is None:  # HTTP/1.0 without Host: not a browser, nothing to rebind
        return True
    try:
        name = host_name(host_header)
    except ValueError:
        return False
    return name in LOOPBACK_NAMES or name.endswith(".localhost")


def is_from_browser_page(headers: Mapping[str, str]) -> bool:
    """Did a web page make this call (rather than a program or the address bar)?"""
    return "Origin" in headers or headers.get("Sec-Fetch-Site", "").lower() in _BROWSER_SITES


def canonical_path(raw_path: str) -> str:
    """The path as the upstream will finally see it: decoded (repeatedly), dot-segments resolved,
    slashes collapsed, without the query."""
    path = raw_path.split("?", 1)[0]
    for _ in range(3):  # %255F -> %5F -> _
        decoded = unquote(path)
        if decoded == path:
            break
        path = decoded
    return posixpath.normpath("/" + path.lstrip("/"))


@lru_cache(maxsize=4096)  # asked for every request, and most requests repeat a few paths
def is_admin_path(raw_path: str) -> bool:
    first = canonical_path(raw_path).lstrip("/").split("/", 1)[0].lower()
    return first in ADMIN_SEGMENTS


def check(headers: Mapping[str, str], raw_path: str, *, is_data_plane: bool) -> None:
    """Raise AwsError unless the front door may serve a request with these `headers` (case-insensitive)
    to `raw_path`. `is_data_plane`: it invokes a REST API."""
    if not is_loopback_host(headers.get("Host")):
        raise AwsError(403, "AccessDeniedException",
                      "the local stack answers only requests addressed to 127.0.0.1 or localhost "
                      f"(Host: {headers.get('Host')!r}); use http://127.0.0.1:<port>.")
    if is_admin_path(raw_path):
        raise AwsError(404, "NotFoundException",
                      "MiniStack's admin paths are not served by the local stack; use `streamlab down` and "
                      "`streamlab up` to reset it.")
    if not is_data_plane and is_from_browser_page(headers):
        raise AwsError(403, "AccessDeniedException",
                      "the local stack's control plane does not answer calls from web pages (Origin "
                      f"{headers.get('Origin', 'not sent')!r}); call it from boto3, the CLI or a notebook kernel.")


@web.middleware
async def control_plane_only(request: web.Request, handler) -> web.StreamResponse:
    """`check` for a listener that serves only control-plane calls (the ESM's internal port)."""
    try:
        check(request.headers, request.raw_path, is_data_plane=False)
    except AwsError as refusal:
        return refusal.to_response()
    return await handler(request)
