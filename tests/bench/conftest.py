"""The benchmark is a folder of the checkout, not an installed package: import it from there."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "benchmarks" / "run.py"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
