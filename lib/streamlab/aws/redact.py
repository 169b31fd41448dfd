"""Scrub account-identifying values from text and notebook outputs before they are committed.

Removes 12-digit account ids, IAM access key ids (AKIA…, ASIA… and the other unique-id prefixes),
secret keys and session tokens written as `name = value`, and API endpoint hostnames
(`{id}.execute-api.{region}.amazonaws.com`, Lambda function URLs). Pass `extra` for values only the
caller knows (an API id printed on its own).
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Iterable

ACCOUNT_ID = "<account-id>"
ACCESS_KEY = "<access-key-id>"
SECRET = "<secret>"
API_ID = "<api-id>"

# IAM unique-id prefixes: access keys (AKIA long-term, ASIA temporary) and user/role/policy ids.
_KEY_ID = re.compile(r"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AIPA|ANPA|ANVA|APKA|AROA)[A-Z0-9]{16}(?![A-Z0-9])")
_SECRET = re.compile(
    r"(?i)((?:aws_)?(?:secret_access_key|secretaccesskey|session_token|sessiontoken|security_token)"
    r"[\"']?\s*[:=]\s*[\"']?)([A-Za-z0-9/+=]{16,})"
)
_ACCOUNT = re.compile(r"(?<![A-Za-z0-9])\d{12}(?![A-Za-z0-9])")
_EXECUTE_API = re.compile(r"(?<![A-Za-z0-9-])[a-z0-9]{10}(\.execute-api\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?)")
_FUNCTION_URL = re.compile(r"(?<![A-Za-z0-9-])[a-z0-9]{32}(\.lambda-url\.[a-z0-9-]+\.on\.aws)")


def redact_text(text: str, extra: Iterable[str] = ()) -> str:
    """`text` with every identifying value replaced by a placeholder like <account-id>."""
    for value in sorted({v for v in extra if v}, key=len, reverse=True):
        text = text.replace(value, "<redacted>")
    text = _SECRET.sub(lambda m: m.group(1) + SECRET, text)
    text = _KEY_ID.sub(ACCESS_KEY, text)
    text = _EXECUTE_API.sub(API_ID + r"\1", text)
    text = _FUNCTION_URL.sub("<function-url-id>" + r"\1", text)
    return _ACCOUNT.sub(ACCOUNT_ID, text)


def _redact_value(value: Any, extra: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact_text(value, extra)
    if isinstance(value, list):
        return [_redact_value(v, extra) for v in value]
    if isinstance(value, dict):
        return {k: _redact_value(v, extra) for k, v in value.items()}
    return value


def redact_notebook(notebook: dict, extra: Iterable[str] = ()) -> tuple[dict, int]:
    """A copy of an nbformat-4 notebook (as a dict) with every cell output redacted, and how many
    outputs changed. Sources are left alone: they are code someone wrote, not what AWS answered."""
    extra = tuple(extra)
    out = copy.deepcopy(notebook)
    changed = 0
    for cell in out.get("cells", []):
        for i, output in enumerate(cell.get("outputs", [])):
            clean = _redact_value(output, extra)
            if clean != output:
                cell["outputs"][i] = clean
                changed += 1
    return out, changed


def redact_notebook_file(path: Path | str, out: Path | str | None = None, extra: Iterable[str] = ()) -> int:
    """Redact a .ipynb file in place (or into `out`). Returns how many outputs changed."""
    source = Path(path)
    notebook = json.loads(source.read_text(encoding="utf-8"))
    clean, changed = redact_notebook(notebook, extra)
    # nbformat's own layout (indent 1, key order kept), so the diff shows only the redactions.
    Path(out or source).write_text(json.dumps(clean, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return changed
