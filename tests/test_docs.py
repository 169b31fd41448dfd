"""The docs resolve from a clone: every AWS-behaviour row id cited in the repository has a row in
docs/aws-semantics.md, every test a row names exists, and nothing points at files outside the
repository. Pure: reads files only.
"""
from __future__ import annotations

import ast
import json
import re
import subprocess
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SEMANTICS = ROOT / "docs" / "aws-semantics.md"
CITING = ("lib/", "tests/", "notebooks/", "infra/", "docs/", "README.md")
SKIPPED_DIRS = {".git", ".venv", "build", "__pycache__", ".pytest_cache", ".ipynb_checkpoints"}

# An id as prose and comments cite it: "E9", "(S1-S3, E1-E4)", "A1–A8", "E7/E10". Not part of a
# longer word ("S3Bucket") and not a URL escape ("%A4").
CITED_ID = re.compile(r"(?<![\w%$])([SEMA])(\d{1,2})(?!\w)")
ID_RANGE = re.compile(r"(?<![\w%$])([SEMA])(\d{1,2})\s*[-–]\s*\1(\d{1,2})(?!\w)")
# Test names carry ids as underscore-separated words: test_E2_E6_..., test_a6_a7_..., ..._E7_E9_E10.
TEST_NAME = re.compile(r"\bdef (test_\w+)")
ID_IN_NAME = re.compile(r"(?<=_)([SEMAsema])(\d{1,2})(?=_|$)")
ROW = re.compile(r"^\|\s*([SEMA]\d{1,2})\s*\|.*$", re.M)
TEST_REF = re.compile(r"`(tests/[^`:]+\.py)::([^`]+)`")
FENCED = re.compile(r"^```.*?^```", re.M | re.S)
# Joined at run time so this file does not itself name the paths it looks for.
_SHARED = "/".join(("..", "shared"))
OUTSIDE = (_SHARED, _SHARED[3:] + "/reference", _SHARED[3:] + "/DESIGN")


@lru_cache(maxsize=1)
def repo_files() -> tuple[Path, ...]:
    """The tracked files (every file outside build and tool folders when git is unavailable)."""
    try:
        listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
        names = [n for n in listed.decode().split("\0") if n]
    except (OSError, subprocess.CalledProcessError):
        names = [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                 if p.is_file() and not SKIPPED_DIRS & set(p.relative_to(ROOT).parts)]
    return tuple(ROOT / n for n in sorted(names) if (ROOT / n).is_file())


def read_text(path: Path) -> str | None:
    """The file's text (a notebook's cell sources), or None for a binary file."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        return None
    if path.suffix == ".ipynb":
        cells = json.loads(text).get("cells", [])
        return "\n".join("".join(c.get("source", [])) for c in cells)
    return text


def cited_ids(text: str) -> set[str]:
    ids = {f"{letter}{number}" for letter, number in CITED_ID.findall(text)}
    for letter, low, high in ID_RANGE.findall(text):
        ids |= {f"{letter}{n}" for n in range(int(low), int(high) + 1)}
    for name in TEST_NAME.findall(text):
        ids |= {f"{letter.upper()}{number}" for letter, number in ID_IN_NAME.findall(name)}
    return ids


def semantics_text() -> str:
    """docs/aws-semantics.md without its fenced blocks (the template for a new row)."""
    return FENCED.sub("", SEMANTICS.read_text(encoding="utf-8"))


def rows() -> dict[str, str]:
    found: dict[str, str] = {}
    for match in ROW.finditer(semantics_text()):
        assert match.group(1) not in found, f"row {match.group(1)} appears twice in {SEMANTICS.name}"
        found[match.group(1)] = match.group(0)
    return found


def defined_names(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.name for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))}


def test_cited_ids_parse_from_every_form_the_repository_uses():
    text = """
    # E9: ...   (S1-S3, E11)   A1–A3   E7/E10   Amazon S3Bucket   url %A4   $M1
    def test_a6_a7_hung(): ...
    def test_retried_E7_E9_E10(): ...
    def test_parse_e10_record(): ...
    """
    assert cited_ids(text) == {"E9", "S1", "S2", "S3", "E11", "A1", "A2", "A3", "E7", "E10", "A6", "A7"}


def test_every_cited_row_id_has_a_row():
    known = rows()
    missing: dict[str, list[str]] = {}
    for path in repo_files():
        relative = str(path.relative_to(ROOT))
        if not relative.startswith(CITING):
            continue
        text = read_text(path)
        for row_id in cited_ids(text or ""):
            if row_id not in known:
                missing.setdefault(row_id, []).append(relative)
    assert not missing, (
        f"row ids cited but not defined in docs/aws-semantics.md (add a row, see its template): {missing}"
    )


def test_every_row_names_tests_that_exist():
    problems = []
    for row_id, line in rows().items():
        refs = TEST_REF.findall(line)
        if not refs:
            problems.append(f"{row_id}: names no test in its 'held by' column")
        for file, name in refs:
            path = ROOT / file
            function = name.split("::")[-1].split("[")[0]
            if not path.is_file():
                problems.append(f"{row_id}: {file} does not exist")
            elif function not in defined_names(path):
                problems.append(f"{row_id}: {file} defines no {function}")
    assert not problems, "\n".join(problems)


def test_no_tracked_file_points_outside_the_repository():
    offenders = []
    for path in repo_files():
        text = read_text(path)
        offenders += [f"{path.relative_to(ROOT)}: {needle}" for needle in OUTSIDE if text and needle in text]
    assert not offenders, "refer to docs/aws-semantics.md or docs/architecture.md instead:\n" + "\n".join(offenders)
