"""The StreamProcessor's deployment package: a zip built in memory, byte-identical for identical sources.

Identical bytes give an identical CodeSha256, which is how `create_function` knows the code is
already deployed.
"""
from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

from streamlab import schema
from streamlab.functions import failure_switches, stream_range
from streamlab.errors import ConfigError
from streamlab.provision.paths import function_dir

# The item-attribute contract, the shared failure switches and the stream-range reader travel
# with each function, so it needs no streamlab install.
SCHEMA_MODULE = "request_schema.py"
SWITCHES_MODULE = "failure_switches.py"
STREAM_RANGE_MODULE = "stream_range.py"
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)
_SKIP_PARTS = {"__pycache__", ".pytest_cache"}


def _entries(source: Path) -> list[tuple[str, bytes]]:
    files = sorted(
        p for p in source.rglob("*")
        if p.is_file() and not _SKIP_PARTS.intersection(p.parts) and p.suffix not in (".pyc", ".pyo")
    )
    entries = [(p.relative_to(source).as_posix(), p.read_bytes()) for p in files]
    entries.append((SCHEMA_MODULE, Path(schema.__file__).read_bytes()))
    entries.append((SWITCHES_MODULE, Path(failure_switches.__file__).read_bytes()))
    entries.append((STREAM_RANGE_MODULE, Path(stream_range.__file__).read_bytes()))
    return sorted(entries)


def build_zip(source: Path | None = None) -> bytes:
    """Zip `source` (default: infra/functions/stream_processor) plus the bundled modules above."""
    source = source or function_dir()
    if not (source / "handler.py").is_file():
        raise ConfigError(f"{source} has no handler.py; the StreamProcessor's handler is handler.handler.")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in _entries(source):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data)
    return buffer.getvalue()


def code_sha256(package: bytes) -> str:
    """Lambda's CodeSha256 of a package: base64 of its SHA-256."""
    return base64.b64encode(hashlib.sha256(package).digest()).decode()
