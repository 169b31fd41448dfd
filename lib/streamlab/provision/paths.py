"""Where the deployable files live: `infra/` at the root of the streamlab checkout."""
from __future__ import annotations

import os
from pathlib import Path

from streamlab.errors import ConfigError
from streamlab.paths import INFRA


def infra_dir() -> Path:
    """`infra/` of this checkout, or STREAMLAB_INFRA if set."""
    path = Path(os.environ["STREAMLAB_INFRA"]) if os.environ.get("STREAMLAB_INFRA") else INFRA
    if not (path / "functions").is_dir() or not (path / "api").is_dir():
        raise ConfigError(
            f"no deployable files at {path} (expected functions/ and api/). streamlab reads them from its "
            f"checkout: install it editable (`pip install -e .`) or set STREAMLAB_INFRA to the infra/ folder."
        )
    return path


def function_dir(name: str = "stream_processor") -> Path:
    return infra_dir() / "functions" / name


def api_dir() -> Path:
    return infra_dir() / "api"
