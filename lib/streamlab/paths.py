"""Where the checkout's folders are: `infra/` (what gets deployed), `notebooks/`, `build/`.

streamlab is installed editable from its checkout, and reads these folders from there.
"""
from __future__ import annotations

from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[2]
NOTEBOOKS = CHECKOUT / "notebooks"
BUILD = CHECKOUT / "build"
INFRA = CHECKOUT / "infra"
