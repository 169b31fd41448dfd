"""API Gateway's own answers (gateway responses, A10) and the choice of integration response (A4).

Every status and message the gateway makes up itself is here, in one place.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Iterable

from streamlab.localstack.apiexec.definition import IntegrationResponse


@dataclass(frozen=True)
class GatewayError:
    status: int
    error_type: str
    message: str

    def body(self) -> bytes:
        return json.dumps({"message": self.message}, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


NOT_FOUND = GatewayError(404, "NotFoundException", "Not Found")  # no such API id (MiniStack's answer too)
FORBIDDEN = GatewayError(403, "ForbiddenException", "Forbidden")  # no such stage
MISSING_AUTH_TOKEN = GatewayError(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
BAD_REQUEST_BODY = GatewayError(400, "BadRequestException", "Invalid request body")
UNSUPPORTED_MEDIA_TYPE = GatewayError(415, "UnsupportedMediaTypeException", "Unsupported Media Type")
REQUEST_TOO_LARGE = GatewayError(413, "RequestTooLargeException", "Request Too Large")
REQUEST_TIMEOUT = GatewayError(408, "RequestTimeoutException", "Request Timeout")  # the body never arrived in full
INTEGRATION_TIMEOUT = GatewayError(504, "InternalServerErrorException", "Endpoint request timed out")
# The integration call failed (backend unreachable), the template could not be rendered, or the
# API is misconfigured (no matching integration response, a status with no method response).
INTERNAL_ERROR = GatewayError(500, "InternalServerErrorException", "Internal server error")


def missing_parameters(names: Iterable[str]) -> GatewayError:
    return GatewayError(400, "BadRequestException", f"Missing required request parameters: [{', '.join(names)}]")


def select_response(responses: Iterable[IntegrationResponse], backend_status: int) -> IntegrationResponse | None:
    """The integration response whose selectionPattern matches the whole status code, else the default one."""
    status = str(backend_status)
    default = None
    for response in responses:
        if response.pattern is None:
            default = default or response
        elif response.pattern.fullmatch(status):
            return response
    return default
