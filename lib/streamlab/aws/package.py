"""Write the StreamProcessor's deployment zip to a file, for the CloudFormation route (S3 upload)."""
from __future__ import annotations

import sys
from pathlib import Path

from streamlab.provision.package import build_zip, code_sha256


def write_package(path: Path | str) -> str:
    """Write the same zip `streamlab deploy` uploads; returns its CodeSha256."""
    data = build_zip()
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return code_sha256(data)


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "build/stream_processor.zip"
    print(f"{target} CodeSha256={write_package(target)}")
