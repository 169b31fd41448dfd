"""The offline fixtures themselves: nothing reaches the network, and an unscripted call fails."""
from __future__ import annotations

import pytest
from botocore.exceptions import StubAssertionError, UnStubbedResponseError

from .stubbed import Script


def test_a_real_client_cannot_send(offline):
    import boto3

    client = boto3.client("sts", region_name="us-east-1")
    with pytest.raises(AssertionError, match="tried to reach the network"):
        client.get_caller_identity()


def test_an_unscripted_call_fails(aws_target):
    with pytest.raises(UnStubbedResponseError):
        aws_target.client("dynamodb").describe_table(TableName="x")


def test_a_changed_parameter_fails(offline):
    script = Script("us-east-1")
    script.ok("dynamodb", "delete_table", {}, TableName="expected")
    with pytest.raises(StubAssertionError):
        script.client("dynamodb").delete_table(TableName="other")
