"""Errors the emulated AWS services answer with: AWS's status, error code and message.

This is the error base for the local stack's clients (boto3, the AWS CLI, any SDK), separate from
`streamlab.errors` (which is for users of the library). A service raises `AwsError` (or builds
one) and the front door turns it into the JSON shape the SDKs parse for the json and rest-json
protocols; the message says what was wrong, as AWS's do.

`aws_shaped_errors` is the middleware of every listener of ours, so no answer is ever plain text:
an AwsError is its answer; a malformed call that slipped past validation (a RecursionError on a
deep body, JSON or UTF-8 that does not decode) is the caller's 400; aiohttp's own errors (413,
405, ...) keep their status with a JSON body; a bug of ours is an AWS-shaped 500, traceback logged.
"""
from __future__ import annotations

import json
import logging

from aiohttp import web

log = logging.getLogger("streamlab.awserror")


class AwsError(Exception):
    """An AWS-shaped error answer: HTTP status, error code (e.g. ValidationException), message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_response(self) -> web.Response:
        return aws_error(self.status, self.code, self.message)


ERROR_CONTENT_TYPE = "application/json; charset=utf-8"


def error_document(status: int, code: str, message: str) -> bytes:
    """The body of an error in AWS's JSON shape (the one boto3 parses for rest-json and json protocols)."""
    return json.dumps({"__type": code, "message": message, "Message": message,
                       "Type": "User" if status < 500 else "Service"}).encode("utf-8")


def aws_error(status: int, code: str, message: str) -> web.Response:
    """An error in AWS's JSON shape, as an aiohttp response."""
    return web.Response(status=status, body=error_document(status, code, message),
                        headers={"Content-Type": ERROR_CONTENT_TYPE, "x-amzn-ErrorType": code})


_HTTP_CODES = {413: "RequestEntityTooLargeException", 404: "NotFoundException", 405: "MethodNotAllowedException"}


@web.middleware
async def aws_shaped_errors(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except AwsError as exc:
        return exc.to_response()
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        default = "BadRequestException" if exc.status < 500 else "ServiceException"
        return aws_error(exc.status, _HTTP_CODES.get(exc.status, default), exc.reason)
    except (RecursionError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        log.warning("malformed %s %s: %r", request.method, request.path, exc)
        return aws_error(400, "ValidationException", f"The request could not be parsed: {type(exc).__name__}.")
    except Exception:
        log.exception("failed on %s %s", request.method, request.path)
        return aws_error(500, "ServiceException",
                         "The local stack failed on this call (a bug; see its log under STREAMLAB_HOME/logs).")
