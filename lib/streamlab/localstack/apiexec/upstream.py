"""Headers for our own calls to MiniStack's AWS APIs (control plane reads, DynamoDB, CloudWatch).

MiniStack does not check signatures (its AUTH is off), but it takes the account from the access
key and the region from the credential scope, so those must be right.
"""
from __future__ import annotations

import time

DEFAULT_ACCESS_KEY = "test"  # MiniStack maps a non-12-digit key to its default account
JSON_10 = "application/x-amz-json-1.0"


def auth_headers(service: str, region: str, access_key: str = DEFAULT_ACCESS_KEY) -> dict[str, str]:
    """An Authorization header whose credential scope names `service` in `region`."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return {
        "Authorization": (
            f"AWS4-HMAC-SHA256 Credential={access_key}/{stamp[:8]}/{region}/{service}/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=0"
        ),
        "X-Amz-Date": stamp,
        # The front door's session does not decompress; ask for plain bodies.
        "Accept-Encoding": "identity",
    }


def json_rpc_headers(target: str, service: str, region: str, access_key: str = DEFAULT_ACCESS_KEY) -> dict[str, str]:
    """Headers of an AWS JSON 1.0 call (DynamoDB, CloudWatch): `target` is e.g. DynamoDB_20120810.PutItem."""
    return {**auth_headers(service, region, access_key), "Content-Type": JSON_10, "X-Amz-Target": target}


def account_of(role_arn: str | None) -> str:
    """The access key that puts a MiniStack call in the account of `role_arn` (else the default)."""
    parts = (role_arn or "").split(":")
    if len(parts) > 4 and len(parts[4]) == 12 and parts[4].isdigit():
        return parts[4]
    return DEFAULT_ACCESS_KEY
