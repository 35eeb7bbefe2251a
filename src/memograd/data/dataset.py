"""``Dataset``: features, targets and the names that came with them.

Every loader returns one. It unpacks like a pair, ``X, y = mg.data.load_digits()``, so the common
case needs no attribute names, while the column names survive for the command line, which saves
them with a model so that ``memograd predict`` can check a new file has the same columns.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Dataset:
    """Features ``X`` (rows x features), targets ``y`` (or None) and where they came from."""

    X: np.ndarray
    y: np.ndarray | None
    feature_names: tuple[str, ...]
    target_name: str | None = None
    source: str = "<array>"

    def __init_subclass__(cls, **kwargs: object) -> None:
        # torch's habit `class MyDataset(Dataset)` would otherwise fail later and obscurely
        # (this record is frozen: `self.X = X` raises FrozenInstanceError).
        raise TypeError(
            f"class {cls.__name__}: memograd.data.Dataset is the record the file loaders return "
            "(X, y and column names), not a base class. A dataset for DataLoader is any class "
            "with __len__ and __getitem__: drop the base class"
        )

    def __iter__(self) -> Iterator[np.ndarray | None]:
        yield self.X
        yield self.y

    def __len__(self) -> int:
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    def __repr__(self) -> str:
        target = "no target" if self.y is None else f"target {self.target_name!r} ({self.y.dtype})"
        return f"Dataset({self.source!r}: {len(self)} rows x {self.n_features} features, {target})"


def default_feature_names(count: int) -> tuple[str, ...]:
    """``x1 .. xn``: 1-based, like spreadsheet columns, for data that came without a header."""
    return tuple(f"x{i + 1}" for i in range(count))
