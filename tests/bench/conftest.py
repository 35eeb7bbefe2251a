"""The benchmark is a folder of the checkout, not an installed package: import it from there."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUN = REPO / "benchmarks" / "run.py"

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

# jax is a peer from the bench extra, which `make test` does not install: where it is missing,
# the benchmark reports it skipped, and the tests expect exactly that.
HAS_JAX = importlib.util.find_spec("jax") is not None
