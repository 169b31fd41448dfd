"""`streamlab suite --junit PATH`: a JUnit XML file CI services read, one test case per notebook."""
from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from streamlab.cli import build_parser
from streamlab.errors import StreamlabError
from streamlab.notebook.junit import junit_xml
from streamlab.notebook.outcomes import NotebookOutcome
from streamlab.notebook.suite import run_suite


def _cases(path) -> dict[str, ET.Element]:
    root = ET.parse(path).getroot()
    assert root.tag == "testsuites"
    return {case.get("name"): case for case in root.iter("testcase")}


@pytest.mark.notebooks  # runs kernels
def test_junit_names_every_notebook_with_its_time_and_the_failing_cell(tiny_suite, tmp_path):
    junit = tmp_path / "reports" / "notebooks.xml"
    with pytest.raises(StreamlabError):
        run_suite(run_dir=tmp_path / "run", folder=tiny_suite, junit=junit, log=lambda _: None)
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("3", "1", "1")
    cases = _cases(junit)
    assert list(cases) == ["00_plot", "01_fails", "02_after"]
    assert all(case.get("classname") == "notebooks" for case in cases.values())
    passed, failed, skipped = cases.values()
    assert float(passed.get("time")) > 0 and passed.find("failure") is None and passed.find("skipped") is None
    failure = failed.find("failure")
    assert failure.get("type") == "ValueError"
    assert "In [4]" in failure.get("message") and "bad value <42>" in failure.get("message")
    assert "check(42)" in failure.text  # the failing cell's source
    assert "Traceback" in failure.text and "\x1b" not in failure.text  # its traceback, colours removed
    assert skipped.find("skipped") is not None and float(skipped.get("time")) == 0


@pytest.mark.notebooks  # runs kernels
def test_junit_of_a_passing_run_has_no_failures(tiny_suite, tmp_path):
    junit = tmp_path / "junit.xml"
    run_suite(run_dir=tmp_path / "run", folder=tiny_suite, only=["00"], junit=junit, log=lambda _: None)
    root = ET.parse(junit).getroot()
    assert (root.get("tests"), root.get("failures"), root.get("skipped")) == ("1", "0", "0")
    properties = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert properties["profile"] == "ci" and properties["report"].endswith("index.html")


def test_control_characters_in_an_error_still_make_valid_xml():
    bad = NotebookOutcome("03_x.ipynb", "failed", 1.0, cell=2, cell_source="x = '\x00\x07'",
                          error="KeyError: '\x1b[1mred\x1b[0m\x0b'", traceback="\x1b[31mboom\x08")
    root = ET.fromstring(junit_xml([bad]))
    failure = root.find("./testsuite/testcase/failure")
    assert failure.get("message") == "03_x.ipynb failed in cell In [2]: KeyError: 'red'"


def test_suite_command_takes_a_junit_path_and_a_profile():
    args = build_parser().parse_args(["suite", "--junit", "out/junit.xml", "--profile", "lab", "00"])
    assert str(args.junit) == "out/junit.xml" and args.profile == "lab" and args.only == ["00"]
