"""The functions' DynamoDB client takes the execution role's credentials from the environment only,
never boto3's default chain (a profile or ~/.aws of the developer)."""
from __future__ import annotations

import pytest

from streamlab.functions import failure_switches


@pytest.fixture
def fresh_client(monkeypatch, tmp_path):
    monkeypatch.setattr(failure_switches, "_client", None)
    creds = tmp_path / "credentials"
    creds.write_text("[default]\naws_access_key_id = AKIAFROMUSERFILE\naws_secret_access_key = user-secret\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(creds))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_without_environment_credentials_there_is_no_fallback(fresh_client):
    fresh_client.delenv("AWS_ACCESS_KEY_ID", raising=False)
    fresh_client.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    with pytest.raises(failure_switches.MissingCredentials, match="execution role"):
        failure_switches.dynamodb()


def test_the_environment_credentials_are_the_ones_used(fresh_client):
    fresh_client.setenv("AWS_ACCESS_KEY_ID", "AKIAFROMLAMBDA")
    fresh_client.setenv("AWS_SECRET_ACCESS_KEY", "lambda-secret")
    fresh_client.setenv("AWS_SESSION_TOKEN", "lambda-token")
    creds = failure_switches.dynamodb()._request_signer._credentials
    assert (creds.access_key, creds.secret_key, creds.token) == ("AKIAFROMLAMBDA", "lambda-secret", "lambda-token")
