"""`streamlab lab`: JupyterLab on 127.0.0.1 serving the repository's notebooks, with a kernel that imports
streamlab. (What a person sees in it, in a browser: tests/notebook/test_lab_browser.py.)"""
from __future__ import annotations

import asyncio
import json
import secrets
import time
import urllib.request
import uuid

import aiohttp
import pytest

from streamlab.notebook.lab import lab_argv
from streamlab.localstack import processes, stack
from streamlab.notebook.suite import list_notebooks


def _get(url: str, token: str):
    req = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        return json.load(resp)


async def _execute(base: str, token: str, kernel_id: str, code: str) -> tuple[str, str]:
    """Run `code` over the kernel's websocket; return (status, stdout)."""
    msg_id = uuid.uuid4().hex
    msg = {
        "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "test", "session": uuid.uuid4().hex,
                   "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                    "allow_stdin": False, "stop_on_error": True},
    }
    stdout, status = "", None
    async with aiohttp.ClientSession(headers={"Authorization": f"token {token}"}) as http:
        async with http.ws_connect(f"{base.replace('http', 'ws')}/api/kernels/{kernel_id}/channels") as ws:
            await ws.send_str(json.dumps(msg))
            async for frame in ws:
                data = json.loads(frame.data)
                if data.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                if data["msg_type"] == "stream":
                    stdout += data["content"]["text"]
                if data["msg_type"] == "execute_reply":
                    status = data["content"]["status"]
                    break
    return status, stdout


@pytest.mark.integration  # starts JupyterLab
def test_lab_lists_notebooks_and_its_kernel_imports_streamlab(tmp_path):
    port, token = stack.pick_free_port(), secrets.token_hex(16)
    record = processes.spawn("lab", lab_argv(port, token), env=None, log=tmp_path / "lab.log")
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                listing = _get(f"{base}/api/contents/notebooks", token)
                break
            except OSError:
                if time.monotonic() > deadline or not processes.is_alive(record):
                    pytest.fail(f"JupyterLab did not start:\n{(tmp_path / 'lab.log').read_text()[-2000:]}")
                time.sleep(0.3)
        names = {item["name"] for item in listing["content"]}
        assert {p.name for p in list_notebooks()} <= names
        assert _get(f"{base}/api/kernelspecs", token)["default"] == "streamlab"
        req = urllib.request.Request(
            f"{base}/api/kernels", data=b"{}", method="POST",
            headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            kernel = json.load(resp)
        status, out = asyncio.run(
            asyncio.wait_for(_execute(base, token, kernel["id"], "import streamlab; print(streamlab.__file__)"), 120)
        )
        assert status == "ok", out
        assert "streamlab" in out
    finally:
        processes.stop(record)
    assert not processes.is_alive(record)
