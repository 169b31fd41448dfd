"""Errors the emulated AWS services answer with: AWS's status, error code and message.

This is the error base for the local stack's clients (boto3, the AWS CLI, any SDK), separate from
`streamlab.errors` (which is for users of the library). A service raises `AwsError` (or builds
one) and the front door turns it into the JSON shape the SDKs parse for the json and rest-json
protocols; the message says what was wrong, as AWS's do.
"""
from __future__ import annotations

from aiohttp import web


class AwsError(Exception):
    """An AWS-shaped error answer: HTTP status, error code (e.g. ValidationException), message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def to_response(self) -> web.Response:
        return aws_error(self.status, self.code, self.message)


def aws_error(status: int, code: str, message: str) -> web.Response:
    """An error in AWS's JSON shape (the one boto3 parses for rest-json and json protocols)."""
    return web.json_response(
        {"__type": code, "message": message, "Message": message, "Type": "User" if status < 500 else "Service"},
        status=status,
        headers={"x-amzn-ErrorType": code},
    )
