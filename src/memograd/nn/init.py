"""Weight initialisation: the same seed gives the same network, bit for bit.

The generator a layer draws from follows ``memograd.seeding``'s rule (an explicit Generator or
int seed, else the global generator that ``mg.manual_seed`` resets). Initial weights follow the
activation that reads them, so that the signal neither dies nor explodes with depth:

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
