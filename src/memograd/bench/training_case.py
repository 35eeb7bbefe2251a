"""Training to the accuracy target: memograd against PyTorch on the bundled digits."""

from __future__ import annotations

from memograd.bench.results import Case

TRAINING_CASES: tuple[Case, ...] = ()
