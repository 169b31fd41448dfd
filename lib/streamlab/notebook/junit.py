"""The suite as a JUnit XML file, the format CI services read: one test case per notebook with its
time; a failed notebook carries the failing cell and its error; notebooks after it are skipped."""
from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping, Sequence

from streamlab.notebook.outcomes import NotebookOutcome, describe_failure, plain_text

SUITE_NAME = "streamlab notebooks"


def _testcase(outcome: NotebookOutcome, folder: str) -> ET.Element:
    case = ET.Element("testcase", classname=folder, name=outcome.stem,
                      file=f"{folder}/{outcome.name}", time=f"{outcome.seconds:.3f}")
    if outcome.failed:
        # XML 1.0 cannot carry terminal colours or other control characters: strip them here, at the edge.
        failure = ET.SubElement(case, "failure", message=plain_text(describe_failure(outcome)),
                                type=plain_text(outcome.error.split(":", 1)[0]))
        failure.text = plain_text(f"In [{outcome.cell}]:\n{outcome.cell_source}\n\n{outcome.traceback}\n")
    elif outcome.status == "not run":
        ET.SubElement(case, "skipped", message="not run: an earlier notebook failed and later ones build on it")
    if outcome.executed:
        ET.SubElement(case, "system-out").text = f"executed notebook: {outcome.executed}\n"
    return case


def junit_xml(
    outcomes: Sequence[NotebookOutcome],
    properties: Mapping[str, str] = {},
    folder: str = "notebooks",
    started: datetime | None = None,
) -> bytes:
    """The JUnit XML document for a run's outcomes (UTF-8 bytes, with XML declaration)."""
    counts = {
        "tests": str(len(outcomes)),
        "failures": str(sum(o.failed for o in outcomes)),
        "errors": "0",
        "skipped": str(sum(o.status == "not run" for o in outcomes)),
        "time": f"{sum(o.seconds for o in outcomes):.3f}",
    }
    root = ET.Element("testsuites", name=SUITE_NAME, **counts)
    suite = ET.SubElement(root, "testsuite", name=SUITE_NAME, hostname=socket.gethostname(),
                          timestamp=(started or datetime.now(timezone.utc)).strftime("%Y-%m-%dT%H:%M:%S"),
                          **counts)
    props = ET.SubElement(suite, "properties")
    for key, value in properties.items():
        ET.SubElement(props, "property", name=key, value=plain_text(str(value)))
    for outcome in outcomes:
        suite.append(_testcase(outcome, folder))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def write_junit(path: Path, outcomes: Sequence[NotebookOutcome], **kwargs) -> Path:
    """Write `junit_xml(outcomes, **kwargs)` to `path` (parent folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(junit_xml(outcomes, **kwargs))
    return path
