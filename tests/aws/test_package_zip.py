"""write_package: the zip for the CloudFormation route is the one `streamlab deploy` uploads."""
from __future__ import annotations

import zipfile

from streamlab.aws.package import write_package
from streamlab.provision.package import build_zip, code_sha256


def test_written_zip_is_the_deployed_package(tmp_path):
    out = tmp_path / "build" / "stream_processor.zip"
    sha = write_package(out)
    assert out.read_bytes() == build_zip() and sha == code_sha256(build_zip())
    assert {"handler.py", "request_schema.py"} <= set(zipfile.ZipFile(out).namelist())
