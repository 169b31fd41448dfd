"""The JSONPath subset API Gateway templates use: `$`, `.name`, `['name']`, `[n]`, `[*]`, `.*`."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_STEP = re.compile(r"""\.(\*|[^.\[]+)|\[\s*(?:'([^']*)'|"([^"]*)"|(-?\d+)|(\*))\s*\]""")

WILDCARD = object()
MISSING = object()


@lru_cache(maxsize=1024)
def compile_path(path: str) -> tuple[Any, ...]:
    """The steps of `path` (names, indexes, WILDCARD); ValueError when it is not JSONPath."""
    path = path.strip()
    if not path.startswith("$"):
        raise ValueError(f"JSONPath must start with '$': {path!r}")
    steps: list[Any] = []
    pos = 1
    while pos < len(path):
        m = _STEP.match(path, pos)
        if not m:
            raise ValueError(f"cannot read JSONPath {path!r} at {path[pos:]!r}")
        dotted, single, double, index, star = m.groups()
        if dotted == "*" or star:
            steps.append(WILDCARD)
        elif index is not None:
            steps.append(int(index))
        else:
            steps.append(dotted if dotted is not None else single if single is not None else double)
        pos = m.end()
    return tuple(steps)


def evaluate(document: Any, path: str) -> Any:
    """The value at `path`, a list for wildcard paths, MISSING when there is none."""
    steps = compile_path(path)
    if WILDCARD in steps:
        return _evaluate_wild(document, steps)
    value = document
    for step in steps:
        if isinstance(step, int):
            if not (isinstance(value, list) and -len(value) <= step < len(value)):
                return MISSING
            value = value[step]
        elif isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return MISSING
    return value


def _evaluate_wild(document: Any, steps: tuple[Any, ...]) -> Any:
    values = [document]
    wild = False  # a wildcard only makes a list where something reached it
    for step in steps:
        found = []
        for value in values:
            if step is WILDCARD:
                wild = True
                found.extend(value.values() if isinstance(value, dict) else value if isinstance(value, list) else ())
            elif isinstance(step, int):
                if isinstance(value, list) and -len(value) <= step < len(value):
                    found.append(value[step])
            elif isinstance(value, dict) and step in value:
                found.append(value[step])
        values = found
    if wild:
        return values
    return values[0] if values else MISSING
