"""The stack is isolated from the user's shell and other local users: a minimal explicit environment
for MiniStack and its Lambda workers, and a private STREAMLAB_HOME whatever the umask."""
from __future__ import annotations

import io
import json
import os
import stat
import zipfile
from pathlib import Path

import psutil
import pytest

from streamlab.localstack import stack
from streamlab.localstack.state import StackPaths
from streamlab.target import local_target
from tests.tiers import process_fixture

SECRET = "streamlab-test-secret-value"
HANDLER = '''
import json, os
def handler(event, context):
    home = os.path.expanduser("~")
    return {"env": dict(os.environ), "home": home, "aws_dir": os.path.exists(os.path.join(home, ".aws"))}
'''


@process_fixture(scope="module")
def hostile_shell(tmp_path_factory):
    """A user's shell with real-looking AWS settings, proxies and a secret, and a lax umask."""
    user_home = tmp_path_factory.mktemp("user-home")
    (user_home / ".aws").mkdir()
    (user_home / ".aws" / "credentials").write_text("[default]\naws_access_key_id = AKIAUSERREAL\n")
    shell = {
        "HOME": str(user_home), "AWS_SHARED_CREDENTIALS_FILE": str(user_home / ".aws" / "credentials"),
        "AWS_CONFIG_FILE": str(user_home / ".aws" / "config"), "AWS_PROFILE": "prod",
        "HTTP_PROXY": "http://127.0.0.1:9", "HTTPS_PROXY": "http://127.0.0.1:9", "http_proxy": "http://127.0.0.1:9",
        "MY_SECRET_TOKEN": SECRET,
    }
    saved = {k: os.environ.get(k) for k in shell}
    home = tmp_path_factory.mktemp("isolated-home")
    os.environ.update(shell)
    old_umask = os.umask(0o002)
    try:
        state = stack.up_on_free_port(home=home)
    finally:  # the stack started from this shell; the test's own clients must not use it
        os.umask(old_umask)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    try:
        yield state, home, user_home
    finally:
        stack.down(home=home)


def _zip(source: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("handler.py", source)
    return buf.getvalue()


@pytest.fixture(scope="module")
def function_view(hostile_shell):
    """What a Lambda function sees when it runs on this stack."""
    state, _, _ = hostile_shell
    lam = local_target(state.endpoint_url).client("lambda")
    lam.create_function(FunctionName="envprobe", Runtime="python3.12", Handler="handler.handler", Timeout=30,
                        Role="arn:aws:iam::000000000000:role/r", Code={"ZipFile": _zip(HANDLER)})
    reply = lam.invoke(FunctionName="envprobe", Payload=b"{}")
    assert "FunctionError" not in reply, reply["Payload"].read()
    return json.loads(reply["Payload"].read())


def _ministack_env(state) -> dict[str, str]:
    return psutil.Process(state.processes["ministack"].pid).environ()


def test_ministack_starts_with_a_minimal_explicit_environment(hostile_shell):
    state, home, user_home = hostile_shell
    for name in ("ministack", "esm", "frontdoor"):
        env = psutil.Process(state.processes[name].pid).environ()
        assert SECRET not in env.values(), name
        assert not {"AWS_PROFILE", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy"} & set(env), name
        assert env["HOME"] != str(user_home) and env["HOME"].startswith(str(home)), name
        assert env["AWS_CONFIG_FILE"] == env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull, name
        assert "127.0.0.1" in env["NO_PROXY"] and "localhost" in env["no_proxy"], name


def test_functions_see_no_user_configuration_secret_or_proxy(function_view, hostile_shell):
    _, home, user_home = hostile_shell
    env = function_view["env"]
    assert SECRET not in json.dumps(env)
    assert not {"AWS_PROFILE", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy"} & set(env)
    assert function_view["home"].startswith(str(home)) and not function_view["aws_dir"]
    assert env["AWS_SHARED_CREDENTIALS_FILE"] == os.devnull and "127.0.0.1" in env["NO_PROXY"]


def test_everything_in_the_home_is_private_whatever_the_umask(function_view, hostile_shell):
    _, home, _ = hostile_shell
    seen = 0
    for folder, dirs, files in os.walk(home):
        for path in [folder, *(os.path.join(folder, f) for f in files)]:
            info = os.lstat(path)
            if stat.S_ISLNK(info.st_mode):
                continue
            assert info.st_mode & 0o077 == 0, f"{path} is {stat.filemode(info.st_mode)}"
            seen += 1
    paths = StackPaths(Path(home))
    assert paths.state_file.exists() and paths.log_file("ministack").exists()
    assert seen > 10  # state, logs, checkpoints folder and the function's code were all looked at
