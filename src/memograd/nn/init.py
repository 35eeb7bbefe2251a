"""Seeding and weight initialisation: the same seed gives the same network, bit for bit.

Randomness in memograd (initial weights, dropout masks, shuffling, the toy data sets) comes from
NumPy Generators. Code that is given an explicit ``numpy.random.Generator`` (or an int seed) uses
it; code that is given nothing draws from one global generator, which ``mg.manual_seed(n)``
replaces. Until ``manual_seed`` is called the global generator is seeded from the operating
system, like NumPy's own default.

Initial weights follow the activation that reads them, so that the signal neither dies nor
explodes with depth:

* **He / Kaiming** (He et al., 2015) for the ReLU family: normal with std ``gain / sqrt(fan_in)``,
  gain sqrt(2) for ReLU (half the units are zero, so the variance is doubled back), and
  sqrt(2 / (1 + a^2)) for a leaky ReLU of slope a.
* **Xavier / Glorot** (Glorot & Bengio, 2010) for tanh, sigmoid and the linear output layer:
  uniform on ``+-gain * sqrt(6 / (fan_in + fan_out))``, gain 5/3 for tanh, 1 otherwise (PyTorch's
  ``calculate_gain`` values).

Biases start at zero.
"""

from __future__ import annotations

import math

import numpy as np

_global = {"rng": np.random.default_rng()}

# activation name -> initialisation scheme for the weights that feed it.
SCHEME_FOR_ACTIVATION: dict[str, str] = {
    "relu": "he",
    "leaky_relu": "he",
    "gelu": "he",
    "tanh": "xavier",
    "sigmoid": "xavier",
    "linear": "xavier",
}

SCHEMES = ("he", "xavier", "zeros")


def manual_seed(seed: int) -> np.random.Generator:
    """Reseed memograd's global generator; returns it. ``mg.manual_seed(0)`` makes runs repeat."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(f"seed must be an int, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    _global["rng"] = np.random.default_rng(int(seed))
    return _global["rng"]


def global_generator() -> np.random.Generator:
    """The generator used wherever no explicit seed or Generator is given."""
    return _global["rng"]


def resolve_generator(rng: int | np.random.Generator | None) -> np.random.Generator:
    """An explicit Generator as is, an int as a fresh seeded one, None as the global one."""
    from memograd.data.seeding import generator

    return generator(rng)


def gain(activation: str, negative_slope: float = 0.01) -> float:
    """The factor that keeps the variance of activations steady through ``activation``."""
    if activation in ("relu", "gelu"):
        return math.sqrt(2.0)
    if activation == "leaky_relu":
        return math.sqrt(2.0 / (1.0 + negative_slope**2))
    if activation == "tanh":
        return 5.0 / 3.0
    if activation in ("sigmoid", "linear"):
        return 1.0
    raise ValueError(f"no initialisation gain for activation {activation!r}")


def he_normal(
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator,
    gain_value: float = math.sqrt(2.0),
    dtype: np.dtype | str = np.float32,
) -> np.ndarray:
    """A (fan_in, fan_out) weight, normal with standard deviation ``gain / sqrt(fan_in)``."""
    std = gain_value / math.sqrt(fan_in)
    return (rng.standard_normal((fan_in, fan_out)) * std).astype(dtype)


def xavier_uniform(
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator,
    gain_value: float = 1.0,
    dtype: np.dtype | str = np.float32,
) -> np.ndarray:
    """A (fan_in, fan_out) weight, uniform on +-gain * sqrt(6 / (fan_in + fan_out))."""
    limit = gain_value * math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=(fan_in, fan_out)).astype(dtype)


def initial_weight(
    scheme: str,
    fan_in: int,
    fan_out: int,
    rng: np.random.Generator,
    activation: str = "relu",
    negative_slope: float = 0.01,
    dtype: np.dtype | str = np.float32,
) -> np.ndarray:
    """The starting weight matrix for ``scheme`` ("he", "xavier" or "zeros")."""
    if scheme == "zeros":
        return np.zeros((fan_in, fan_out), dtype=dtype)
    g = gain(activation, negative_slope)
    if scheme == "he":
        return he_normal(fan_in, fan_out, rng, g, dtype)
    if scheme == "xavier":
        return xavier_uniform(fan_in, fan_out, rng, g, dtype)
    raise ValueError(f"unknown initialisation {scheme!r}; expected one of {', '.join(SCHEMES)}")
