"""Seeded toy data sets in two dimensions (blobs in any number): quick to make, easy to plot.

Each returns a :class:`Dataset` with float64 features and int64 class labels 0..k-1, rows shuffled.
``seed`` is an int, a ``numpy.random.Generator``, or None for memograd's global generator (set by
``mg.manual_seed``), so the same seed always gives the same points, bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from memograd.data.dataset import Dataset, default_feature_names
from memograd.seeding import Seed, generator


def moons(n_samples: int = 1000, noise: float = 0.1, seed: Seed = None) -> Dataset:
    """Two interleaving half circles: the classic "needs a non-linear boundary" set.

    The upper moon is the half circle of radius 1 around (0, 0), the lower one the same arc
    flipped and shifted to (1, 0.5); ``noise`` is the standard deviation of Gaussian jitter.
    """
    n_samples = _count(n_samples, "n_samples", minimum=2)
    noise = _non_negative(noise, "noise")
    rng = generator(seed)
    n_upper = n_samples // 2
    n_lower = n_samples - n_upper
    t_upper = np.linspace(0.0, math.pi, n_upper)
    t_lower = np.linspace(0.0, math.pi, n_lower)
    upper = np.column_stack([np.cos(t_upper), np.sin(t_upper)])
    lower = np.column_stack([1.0 - np.cos(t_lower), 0.5 - np.sin(t_lower)])
    X = np.concatenate([upper, lower])
    y = np.concatenate([np.zeros(n_upper, np.int64), np.ones(n_lower, np.int64)])
    X = X + rng.normal(0.0, noise, size=X.shape) if noise else X
    return _shuffled(X, y, rng, "moons")


def circles(
    n_samples: int = 1000, noise: float = 0.05, factor: float = 0.5, seed: Seed = None
) -> Dataset:
    """A small circle (class 1, radius ``factor``) inside a large one (class 0, radius 1)."""
    n_samples = _count(n_samples, "n_samples", minimum=2)
    noise = _non_negative(noise, "noise")
    if not 0.0 < factor < 1.0:
        raise ValueError(f"factor must be between 0 and 1 (exclusive), got {factor!r}")
    rng = generator(seed)
    n_outer = n_samples // 2
    n_inner = n_samples - n_outer
    # endpoint=False: a closed circle would put the first and last point on top of each other.
    t_outer = np.linspace(0.0, 2 * math.pi, n_outer, endpoint=False)
    t_inner = np.linspace(0.0, 2 * math.pi, n_inner, endpoint=False)
    outer = np.column_stack([np.cos(t_outer), np.sin(t_outer)])
    inner = factor * np.column_stack([np.cos(t_inner), np.sin(t_inner)])
    X = np.concatenate([outer, inner])
    y = np.concatenate([np.zeros(n_outer, np.int64), np.ones(n_inner, np.int64)])
    X = X + rng.normal(0.0, noise, size=X.shape) if noise else X
    return _shuffled(X, y, rng, "circles")


def spirals(
    n_samples: int = 900,
    classes: int = 3,
    noise: float = 0.2,
    turns: float = 1.0,
    seed: Seed = None,
) -> Dataset:
    """``classes`` arms winding out from the origin, one class per arm.

    Point i of arm k sits at radius r in (0, 1] and angle 2*pi*(k/classes + turns*r) plus Gaussian
    angle noise of standard deviation ``noise`` (radians, scaled by r so the centre stays clean).
    """
    n_samples = _count(n_samples, "n_samples", minimum=2)
    classes = _count(classes, "classes", minimum=2)
    if n_samples < classes:
        raise ValueError(f"n_samples ({n_samples}) must be at least classes ({classes})")
    noise = _non_negative(noise, "noise")
    if not (isinstance(turns, int | float) and math.isfinite(turns) and turns > 0):
        raise ValueError(f"turns must be a finite number > 0, got {turns!r}")
    rng = generator(seed)
    sizes = [n_samples // classes + (1 if k < n_samples % classes else 0) for k in range(classes)]
    points, labels = [], []
    for k, size in enumerate(sizes):
        radius = np.linspace(0.0, 1.0, size + 1)[1:]
        angle = 2 * math.pi * (k / classes + turns * radius)
        angle = angle + rng.normal(0.0, noise, size=size) * radius if noise else angle
        points.append(np.column_stack([radius * np.cos(angle), radius * np.sin(angle)]))
        labels.append(np.full(size, k, dtype=np.int64))
    return _shuffled(np.concatenate(points), np.concatenate(labels), rng, "spirals")


def blobs(
    n_samples: int = 600,
    centers: int = 3,
    n_features: int = 2,
    cluster_std: float = 1.0,
    box: tuple[float, float] = (-8.0, 8.0),
    seed: Seed = None,
) -> Dataset:
    """Isotropic Gaussian clusters, one class per cluster, centres drawn uniformly in ``box``."""
    n_samples = _count(n_samples, "n_samples", minimum=1)
    centers = _count(centers, "centers", minimum=1)
    n_features = _count(n_features, "n_features", minimum=1)
    cluster_std = _non_negative(cluster_std, "cluster_std")
    low, high = box
    if not low < high:
        raise ValueError(f"box must be (low, high) with low < high, got {box!r}")
    rng = generator(seed)
    middles = rng.uniform(low, high, size=(centers, n_features))
    sizes = [n_samples // centers + (1 if k < n_samples % centers else 0) for k in range(centers)]
    y = np.repeat(np.arange(centers, dtype=np.int64), sizes)
    X = middles[y] + rng.normal(0.0, cluster_std, size=(n_samples, n_features))
    return _shuffled(X, y, rng, "blobs")


def _shuffled(X: np.ndarray, y: np.ndarray, rng: np.random.Generator, name: str) -> Dataset:
    order = rng.permutation(len(y))
    return Dataset(
        X=np.ascontiguousarray(X[order], dtype=np.float64),
        y=y[order],
        feature_names=default_feature_names(X.shape[1]),
        target_name="class",
        source=name,
    )


def _count(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _non_negative(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)
