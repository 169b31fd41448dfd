"""One REST API invocation, as plain data, and how a path names one.

The front door reaches the executor by two lanes (`streamlab.localstack.frontdoor_http`): its own
lean HTTP/1.1 parser for ordinary invocations, and aiohttp for everything else. Both hand the
executor an `Invocation` (the body already read) and write back the `Answer` (`proxy`) it
returns, so an API answers the same whichever lane a request took.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

from multidict import CIMultiDictProxy, MultiDictProxy
from yarl import URL

INVOKE_MARKER = "_user_request_"
EXECUTE_API_PREFIX = "/_aws/execute-api/"
_EMPTY_QUERY: MultiDictProxy[str] = URL("/").query


def parse_invocation(raw_path: str, host: str) -> tuple[str, str, str] | None:
    """(api_id, stage, raw path) when `raw_path` (no query) invokes a REST API, in any of the local URL forms:
    /restapis/{api}/{stage}/_user_request_/{path}  (the documented one)
    /_aws/execute-api/{api}/{stage}/{path}
    http://{api}.execute-api.localhost:{port}/{stage}/{path}
    """
    if raw_path.startswith("/restapis/"):
        parts = raw_path.split("/", 5)
        if len(parts) >= 5 and parts[4] == INVOKE_MARKER:
            return unquote(parts[2]), unquote(parts[3]), "/" + (parts[5] if len(parts) > 5 else "")
        return None
    if raw_path.startswith(EXECUTE_API_PREFIX):
        parts = raw_path.split("/", 5)
        if len(parts) >= 5 and parts[3] and parts[4]:
            return unquote(parts[3]), unquote(parts[4]), "/" + (parts[5] if len(parts) > 5 else "")
        return None
    if ".execute-api." in host:
        parts = raw_path.split("/", 2)
        if len(parts) >= 2 and parts[1]:
            return host.split(".", 1)[0], unquote(parts[1]), "/" + (parts[2] if len(parts) > 2 else "")
    return None


@dataclass
class Invocation:
    """A request to a REST API, its body read in full (at most the executor's payload limit)."""

    method: str
    raw_path: str  # as sent, query included
    headers: CIMultiDictProxy[str]
    body: bytes
    source_ip: str
    protocol: str = "HTTP/1.1"

    # Worked out once, when made: the executor reads both for every request.
    raw_path_only: str = field(init=False, repr=False)
    query: MultiDictProxy[str] = field(init=False, repr=False)  # decoded as aiohttp decodes it
    target: tuple[str, str, str] | None = field(init=False, repr=False)  # `parse_invocation`'s answer

    def __post_init__(self) -> None:
        path, mark, query = self.raw_path.partition("?")
        self.raw_path_only = path
        self.query = URL.build(query_string=query, encoded=True).query if mark and query else _EMPTY_QUERY
        self.target = parse_invocation(path, self.host)

    @property
    def host(self) -> str:
        return self.headers.get("Host", "")
