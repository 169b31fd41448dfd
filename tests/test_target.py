"""Choosing the target: local by default, AWS only when asked, clear errors otherwise."""
import pytest

from streamlab.errors import ConfigError
from streamlab.target import aws_target, local_target, target_name_from_env


def test_local_is_the_default(monkeypatch):
    monkeypatch.delenv("STREAMLAB_TARGET", raising=False)
    assert target_name_from_env() == "local"


def test_unknown_target_names_the_choices(monkeypatch):
    monkeypatch.setenv("STREAMLAB_TARGET", "azure")
    with pytest.raises(ConfigError, match="'local'.*'aws'"):
        target_name_from_env()


def test_aws_target_needs_a_region(monkeypatch):
    for key in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(key, raising=False)
    with pytest.raises(ConfigError, match="AWS_REGION"):
        aws_target(opt_in=True)


def test_local_clients_use_the_front_door_and_dummy_credentials():
    tgt = local_target("http://127.0.0.1:4999")
    client = tgt.client("dynamodb")
    assert client.meta.endpoint_url == "http://127.0.0.1:4999"
    assert client._request_signer._credentials.access_key == "test"
    assert tgt.account_id() == "000000000000"


def test_aws_clients_use_the_real_endpoint(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    tgt = aws_target(opt_in=True)
    assert tgt.client("dynamodb").meta.endpoint_url == "https://dynamodb.eu-west-1.amazonaws.com"
