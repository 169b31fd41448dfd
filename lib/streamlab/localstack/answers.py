"""Errors in AWS's JSON shape, and the safety net that keeps every answer of ours in that shape.

`aws_error` builds the body boto3 parses for the rest-json and json protocols. `aws_shaped_errors`
is the middleware of every listener of ours: a malformed call that slipped past validation
(a RecursionError on a deep body, JSON or UTF-8 that does not decode) is the caller's 400, a bug of ours an AWS-shaped
500 with the traceback in the log, and aiohttp's own plain-text errors (413, 405, ...) keep
their status with a JSON body. Never a plain-text 500.
"""
from __future__ import annotations

import json
import logging

from aiohttp import web

log = logging.getLogger("streamlab.answers")


def aws_error(status: int, code: str, message: str) -> web.Response:
    """An error in AWS's JSON shape (the one boto3 parses for rest-json and json protocols)."""
    return web.json_response(
        {"__type": code, "message": message, "Message": message},
        status=status,
        headers={"x-amzn-ErrorType": code},
    )


_HTTP_CODES = {413: "RequestEntityTooLargeException", 404: "NotFoundException", 405: "MethodNotAllowedException"}


@web.middleware
async def aws_shaped_errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return aws_error(exc.status, _HTTP_CODES.get(exc.status, "BadRequestException" if exc.status < 500 else "ServiceException"),
                         exc.reason)
    except (RecursionError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        log.warning("malformed %s %s: %r", request.method, request.path, exc)
        return aws_error(400, "ValidationException", f"The request could not be parsed: {type(exc).__name__}.")
    except Exception:
        log.exception("failed on %s %s", request.method, request.path)
        return aws_error(500, "ServiceException", "The local stack failed on this call (a bug; see its log under "
                                                  "STREAMLAB_HOME/logs).")
