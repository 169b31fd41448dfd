"""What happened to each notebook of a suite run: passed, failed (in which cell, with which error)
or not run, and how long it took. The run report and the JUnit file are both drawn from these."""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

Status = Literal["passed", "failed", "not run"]

# ANSI colour codes from IPython tracebacks, and the other control characters XML 1.0 forbids.
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def plain_text(text: str) -> str:
    """`text` without terminal colours or control characters, safe for HTML and XML."""
    return _CONTROL.sub("", _ANSI.sub("", text))


@dataclass
class NotebookOutcome:
    """One notebook of a run. `cell` is the failing cell's execution count ("In [n]")."""

    name: str
    status: Status
    seconds: float = 0.0
    executed: str | None = None
    cell: int | None = None
    cell_source: str = ""
    error: str = ""
    traceback: str = ""

    @property
    def stem(self) -> str:
        return Path(self.name).stem

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "NotebookOutcome":
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def failed_outcome(name: str, seconds: float, executed: Path, exc: BaseException) -> NotebookOutcome:
    """The outcome of a notebook whose execution raised `exc` (papermill's error names the cell)."""
    ename = getattr(exc, "ename", type(exc).__name__)
    evalue = getattr(exc, "evalue", str(exc))
    traceback = getattr(exc, "traceback", None)
    return NotebookOutcome(
        name=name, status="failed", seconds=seconds, executed=str(executed),
        cell=getattr(exc, "exec_count", None),
        cell_source=plain_text(getattr(exc, "source", "") or ""),
        error=plain_text(f"{ename}: {evalue}"),
        traceback=plain_text("\n".join(traceback) if traceback else str(exc)),
    )


def describe_failure(outcome: NotebookOutcome) -> str:
    """One line: where a notebook failed and with what."""
    where = f"in cell In [{outcome.cell}]" if outcome.cell is not None else "while executing"
    return f"{outcome.name} failed {where}: {outcome.error}"
