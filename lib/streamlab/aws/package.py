"""Write a function's deployment zip to a file, for the CloudFormation route (S3 upload):
`streamlab aws package` (the StreamProcessor) or `streamlab aws package --function failure_handler`."""
from __future__ import annotations

from pathlib import Path

from streamlab.provision.package import build_zip, code_sha256
from streamlab.provision.paths import function_dir


def write_package(path: Path | str, function: str = "stream_processor") -> str:
    """Write the same zip `streamlab deploy` uploads for `function` (a folder of infra/functions); its CodeSha256."""
    data = build_zip(function_dir(function))
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    return code_sha256(data)
