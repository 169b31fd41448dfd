"""The environment the stack's processes start with: explicit and minimal, never the user's shell.

MiniStack gives its own environment to every Lambda worker it spawns (`{**os.environ,
**function variables}` in ministack/core/lambda_runtime.py), so whatever MiniStack inherits,
function code can read: `HOME` and `~/.aws`, `AWS_*` credentials and profiles, proxies, any
secret in the shell. So the stack starts from nothing and gets only:

- `PATH`, locale and `TZ`, `LD_LIBRARY_PATH` (to find Python and run it), from the user's shell;
- `HOME` = the stack's own private `tmp/` folder; no user site-packages (`PYTHONNOUSERSITE`);
- dummy credentials (`test`), region us-east-1, AWS config and credentials files `/dev/null`, no
  instance metadata lookups: no path to the user's AWS configuration;
- `NO_PROXY` for loopback (and no `*_PROXY`), so stack traffic never leaves the machine;
- the service's own settings (MiniStack's port, bind address, TMPDIR, log level).

Our own services (front door, ESM) also get `STREAMLAB_*` settings and `PYTHONPATH`.
"""
from __future__ import annotations

import os
from typing import Mapping

from streamlab.localstack.state import StackPaths

FROM_USER = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "LD_LIBRARY_PATH")
LOOPBACK_NO_PROXY = "127.0.0.1,localhost,::1"
REGION = "us-east-1"


def minimal_env(paths: StackPaths, settings: Mapping[str, str], environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment of a stack process: the list above plus `settings`."""
    source = os.environ if environ is None else environ
    env = {name: source[name] for name in FROM_USER if name in source}
    env.update(
        HOME=str(paths.tmp),
        TMPDIR=str(paths.tmp),
        PYTHONNOUSERSITE="1",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        NO_PROXY=LOOPBACK_NO_PROXY,
        no_proxy=LOOPBACK_NO_PROXY,
    )
    env.update(settings)
    return env


def streamlab_settings(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The user's `STREAMLAB_*` settings (and PYTHONPATH, where streamlab may come from), for our
    own services: they run no user code, unlike MiniStack's Lambda workers."""
    source = os.environ if environ is None else environ
    return {name: value for name, value in source.items() if name.startswith("STREAMLAB_") or name == "PYTHONPATH"}
