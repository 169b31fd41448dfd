"""The StreamProcessor's zip: built in memory, reproducible, carrying the schema contract."""
from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from streamlab import schema
from streamlab.errors import ConfigError
from streamlab.provision import package
from streamlab.functions import stream_range
from streamlab.provision.paths import function_dir


def test_zip_is_byte_identical_for_identical_sources():
    assert package.build_zip() == package.build_zip()


def test_zip_holds_the_handler_and_the_bundled_modules():
    for function in ("stream_processor", "failure_handler"):
        with zipfile.ZipFile(io.BytesIO(package.build_zip(function_dir(function)))) as zf:
            names = zf.namelist()
            assert zf.read("handler.py") == (function_dir(function) / "handler.py").read_bytes()
            assert zf.read(package.SCHEMA_MODULE) == Path(schema.__file__).read_bytes()
            assert zf.read(package.STREAM_RANGE_MODULE) == Path(stream_range.__file__).read_bytes()
        assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_code_sha256_is_lambdas_form():
    data = b"abc"
    assert package.code_sha256(data) == base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_source_without_handler_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="handler.py"):
        package.build_zip(tmp_path)
