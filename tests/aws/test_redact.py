"""Redaction of account ids, access keys, secrets and endpoint hostnames from notebook outputs."""
from __future__ import annotations

import json

import pytest

from streamlab.aws.redact import redact_notebook, redact_notebook_file, redact_text

ARN = "arn:aws:iam::123456789012:role/streamlab-api-role"


@pytest.mark.parametrize("raw, clean", [
    (ARN, "arn:aws:iam::<account-id>:role/streamlab-api-role"),
    ("https://sqs.us-east-1.amazonaws.com/123456789012/streamlab-on-failure",
     "https://sqs.us-east-1.amazonaws.com/<account-id>/streamlab-on-failure"),
    ('{"Account": "123456789012"}', '{"Account": "<account-id>"}'),
    ("key AKIAIOSFODNN7EXAMPLE used", "key <access-key-id> used"),
    ("ASIAY34FZKBOKMUTVV7A,", "<access-key-id>,"),
    ("RoleId: AROAEXAMPLEID1234567", "RoleId: <access-key-id>"),
    ("aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = <secret>"),
    ('"SessionToken": "IQoJb3JpZ2luX2VjEXAMPLEtokenvalue+/=="', '"SessionToken": "<secret>"'),
    ("POST https://a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com/dev/requests",
     "POST https://<api-id>.execute-api.eu-west-1.amazonaws.com/dev/requests"),
    ("https://abcdefghijklmnopqrstuvwxyz012345.lambda-url.us-east-1.on.aws/",
     "https://<function-url-id>.lambda-url.us-east-1.on.aws/"),
])
def test_identifying_values_are_replaced(raw, clean):
    assert redact_text(raw) == clean


@pytest.mark.parametrize("text", [
    "accepted_at 1795812345678 processed_at 1795812345999",  # 13-digit epoch ms are not account ids
    "p99 = 12.5 ms over 12345678901 bytes",                   # 11 digits
    "http://127.0.0.1:4566/restapis/abc/dev/_user_request_/requests",
    "id abc123456789012def",                                  # digits inside a token
    "AKIAshort",
])
def test_ordinary_values_are_left_alone(text):
    assert redact_text(text) == text


def test_extra_values_the_caller_knows_are_redacted():
    assert redact_text("api a1b2c3d4e5 stage dev", extra=["a1b2c3d4e5", ""]) == "api <redacted> stage dev"


def _notebook() -> dict:
    return {
        "nbformat": 4, "nbformat_minor": 5, "metadata": {},
        "cells": [
            {"cell_type": "markdown", "metadata": {}, "source": "account 123456789012 in prose stays"},
            {"cell_type": "code", "metadata": {}, "execution_count": 1, "source": "pipeline",
             "outputs": [
                 {"output_type": "stream", "name": "stdout", "text": ["role ", ARN, "\n"]},
                 {"output_type": "execute_result", "execution_count": 1, "metadata": {},
                  "data": {"text/plain": "'https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/dev'",
                           "text/html": "<td>123456789012</td>",
                           "application/json": {"arn": ARN, "n": 42}}},
                 {"output_type": "error", "ename": "ClientError", "evalue": "AKIAIOSFODNN7EXAMPLE denied",
                  "traceback": ["User: arn:aws:sts::123456789012:assumed-role/x"]},
                 {"output_type": "stream", "name": "stdout", "text": "nothing secret\n"},
             ]},
        ],
    }


def test_every_output_kind_is_redacted_and_sources_are_kept():
    nb = _notebook()
    clean, changed = redact_notebook(nb)
    assert changed == 3
    text = json.dumps(clean["cells"][1]["outputs"])
    for secret in ("123456789012", "AKIAIOSFODNN7EXAMPLE", "a1b2c3d4e5"):
        assert secret not in text
    assert clean["cells"][1]["outputs"][2]["ename"] == "ClientError"
    assert clean["cells"][1]["outputs"][1]["data"]["application/json"]["n"] == 42
    assert clean["cells"][0] == nb["cells"][0]
    assert nb == _notebook()  # the input is not modified


def test_redact_file_in_place_and_idempotent(tmp_path):
    path = tmp_path / "run.ipynb"
    path.write_text(json.dumps(_notebook(), indent=1), encoding="utf-8")
    assert redact_notebook_file(path) == 3
    first = path.read_text(encoding="utf-8")
    assert "123456789012:" not in first and json.loads(first)["nbformat"] == 4
    assert redact_notebook_file(path) == 0
    assert path.read_text(encoding="utf-8") == first
