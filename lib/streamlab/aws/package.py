"""Write the StreamProcessor's deployment zip to a file, for the CloudFormation route (S3 upload)."""
from __future__ import annotations

from pathlib import Path

from streamlab.provision.package import build_zip, code_sha256


def write_package(path: Path | str) -> str:
    """Write the same zip `streamlab deploy` uploads; returns its CodeSha256."""
    data = build_zip()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return code_sha256(data)

