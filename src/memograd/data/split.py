"""Splitting, standardising and batching: the three steps between a data set and a training loop.

``Standardizer`` is fitted on the training part only: fitting it on all rows would let the test
rows' mean and spread leak into training, making the held-out score look better than it is.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np

from memograd.data.errors import DataError
from memograd.seeding import Seed, generator


def train_test_split(
    X: np.ndarray,
    y: np.ndarray | None = None,
    *,
    test_size: float | int = 0.2,
    seed: Seed = None,
    stratify: bool = False,
) -> tuple[np.ndarray, ...]:
    """Shuffle and split: ``X_train, X_test`` or ``X_train, X_test, y_train, y_test``.

    ``test_size`` is a fraction in (0, 1) or a row count. ``stratify=True`` keeps each class's
    share the same on both sides (each class is split separately, with the same seed).
    """
    X = np.asarray(X)
    n = X.shape[0] if X.ndim else 0
    if y is not None:
        y = np.asarray(y)
        if y.shape[0] != n:
            raise DataError(f"X has {n} rows but y has {y.shape[0]}")
    n_test = _test_count(test_size, n)
    rng = generator(seed)
    if stratify:
        if y is None:
            raise ValueError("stratify=True needs the labels y")
        test_mask = np.zeros(n, dtype=bool)
        for label in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == label))
            share = round(len(members) * n_test / n)
            test_mask[members[:share]] = True
        order = rng.permutation(n)
        test_index = order[test_mask[order]]
        train_index = order[~test_mask[order]]
        if len(test_index) == 0 or len(train_index) == 0:
            raise ValueError(f"test_size={test_size!r} leaves one side empty after stratifying")
    else:
        order = rng.permutation(n)
        test_index, train_index = order[:n_test], order[n_test:]
    if y is None:
        return X[train_index], X[test_index]
    return X[train_index], X[test_index], y[train_index], y[test_index]


def _test_count(test_size: float | int, n: int) -> int:
    if n < 2:
        raise DataError(f"need at least 2 rows to split, got {n}")
    if isinstance(test_size, bool):
        raise TypeError(f"test_size must be a fraction or a row count, got {test_size!r}")
    if isinstance(test_size, int | np.integer):
        if not 1 <= test_size <= n - 1:
            raise ValueError(f"test_size={test_size} rows must be between 1 and {n - 1}")
        return int(test_size)
    if isinstance(test_size, float) and 0.0 < test_size < 1.0:
        return min(max(1, round(test_size * n)), n - 1)
    raise ValueError(f"test_size must be a fraction in (0, 1) or a row count, got {test_size!r}")


class Standardizer:
    """Shift each feature to mean 0 and scale it to standard deviation 1 (fitted on train only).

    A feature that is constant in the training data (the digits' always-blank corner pixels) keeps
    scale 1, so it maps to 0 instead of dividing by zero.
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def fit(self, X: np.ndarray) -> Standardizer:
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] == 0:
            raise DataError(f"Standardizer.fit needs a non-empty 2-D array, got shape {X.shape}")
        self.mean_ = X.mean(axis=0)
        std = X.std(axis=0)
        self.scale_ = np.where(std > 0, std, 1.0)
        return self

    def transform(self, X: np.ndarray) -> np.ndarray:
        mean, scale = self._fitted()
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != mean.shape[0]:
            raise DataError(
                f"expected rows of {mean.shape[0]} features (what the Standardizer was fitted "
                f"on), got shape {X.shape}"
            )
        return (X - mean) / scale

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        return self.fit(X).transform(X)

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        mean, scale = self._fitted()
        return np.asarray(X) * scale + mean

    def _fitted(self) -> tuple[np.ndarray, np.ndarray]:
        if self.mean_ is None or self.scale_ is None:
            raise RuntimeError("this Standardizer is not fitted yet; call fit(X_train) first")
        return self.mean_, self.scale_


class BatchIterator:
    """Mini-batches of ``(X, y)``, reshuffled every epoch from one seeded generator.

    Iterating twice gives two different orders (a fresh shuffle per epoch), but two iterators
    built with the same seed give the same sequence of orders: a training run repeats exactly.
    The last, smaller batch is kept unless ``drop_last=True``: no row is silently dropped.
    """

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray | None = None,
        batch_size: int = 32,
        *,
        shuffle: bool = True,
        drop_last: bool = False,
        seed: Seed = None,
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer):
            raise TypeError(f"batch_size must be an int, got {batch_size!r}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.X = np.asarray(X)
        self.y = None if y is None else np.asarray(y)
        if self.y is not None and self.y.shape[0] != self.X.shape[0]:
            raise DataError(f"X has {self.X.shape[0]} rows but y has {self.y.shape[0]}")
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self._rng = generator(seed) if shuffle else None

    def __len__(self) -> int:
        n = self.X.shape[0]
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        n = self.X.shape[0]
        order = self._rng.permutation(n) if self._rng is not None else np.arange(n)
        for start in range(0, len(self) * self.batch_size, self.batch_size):
            index = order[start : start + self.batch_size]
            yield self.X[index], (None if self.y is None else self.y[index])


def batches(
    X: np.ndarray,
    y: np.ndarray | None = None,
    batch_size: int = 32,
    *,
    shuffle: bool = True,
    drop_last: bool = False,
    seed: Seed = None,
) -> BatchIterator:
    """Shorthand for :class:`BatchIterator`: ``for xb, yb in batches(X, y, 64, seed=0): ...``."""
    return BatchIterator(X, y, batch_size, shuffle=shuffle, drop_last=drop_last, seed=seed)
