"""Pure checks of the front door's guard: Host names, admin paths, API ids and stage names."""
from __future__ import annotations

import pytest

from streamlab.localstack import guard


@pytest.mark.parametrize("raw,expected", [
    ("/_ministack/reset", True), ("/%5fMiniStack/x", True), ("/a/../_ministack", True), ("/restapis", False),
    ("/_streamlab/health", False), ("/_aws/execute-api/a/b", False),
])
def test_admin_path_recognition(raw, expected):
    assert guard.is_admin_path(raw) is expected


@pytest.mark.parametrize("host,expected", [
    (None, True), ("127.0.0.1", True), ("127.0.0.1:4566", True), ("LOCALHOST", True), ("[::1]:1", True),
    ("abc.execute-api.localhost:4566", True), ("localhost.evil.example", False), ("evil.example", False),
    ("127.0.0.2", False), ("[::1", False), ("", False),
])
def test_loopback_host_recognition(host, expected):
    assert guard.is_loopback_host(host) is expected


@pytest.mark.parametrize("value,api_id,stage", [
    ("abc123XYZ0", True, True), ("dev", True, True), ("my_stage-2", False, True), ("..", False, False),
    ("a/b", False, False), ("", False, False), ("a" * 129, False, False),
])
def test_api_ids_and_stage_names_are_matched(value, api_id, stage):
    assert (guard.is_api_id(value), guard.is_stage_name(value)) == (api_id, stage)
