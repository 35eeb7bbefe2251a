"""Which numbers the explorable page puts on a network, and the same rule in Python.

The page is written for one network, the explainer's ``build_network(arch, seed=...)``, and
embeds its weights, biases, input and target. A learner then changes the architecture in the
browser, and the page needs numbers for weights the written network did not have. They come
from one rule, defined here and in the page's script, with the same integer arithmetic, so
that Python reproduces bit for bit what the page shows:

* every number has a name: ``W2_1_3`` (W^2_13), ``b2_1`` (b^2_1), ``x1`` (input 1), ``y1``
  (target 1);
* a name keeps its value as long as the network has it: the written network's value, or the
  one the learner typed (input and target), else ``fill_value(seed, name)``;
* ``fill_value`` hashes ``"<seed>/<name>"`` (32-bit FNV-1a, then murmur3's finalizer) to an
  integer h and maps ``u = h / 2^32`` in [0, 1) to the explainer's ranges: weights and inputs
  ``2u - 1`` in [-1, 1), biases ``0.1 (2u - 1)``, targets ``u`` in [0, 1). Integer steps,
  one division by a power of two and one multiplication: exact in both languages.

So adding a hidden unit keeps every weight the learner was looking at and adds new ones, and
going back restores the network exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from memograd.explain.arch import Architecture, parse_arch
from memograd.explain.network import Network, build_network

_FNV_OFFSET = 0x811C9DC5
_FNV_PRIME = 0x01000193
_MASK = 0xFFFFFFFF


def _hash32(text: str) -> int:
    """32-bit FNV-1a of ``text`` (ASCII), then murmur3's fmix32 so every bit matters."""
    h = _FNV_OFFSET
    for byte in text.encode("ascii"):
        h ^= byte
        h = (h * _FNV_PRIME) & _MASK
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & _MASK
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & _MASK
    h ^= h >> 16
    return h


def fill_value(seed: int, name: str) -> float:
    """The value the page gives ``name`` (``W2_1_3``, ``b2_1``, ``x1``, ``y1``) under ``seed``."""
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    u = _hash32(f"{seed}/{name}") / 4294967296.0
    kind = name[:1]
    if kind in ("W", "x"):
        return 2.0 * u - 1.0
    if kind == "b":
        return 0.1 * (2.0 * u - 1.0)
    if kind == "y":
        return u
    raise ValueError(f"cannot make a value for {name!r}; expected a name like W2_1_3, b2_1, x1, y1")


def value_names(arch: Architecture | str | Sequence[int]) -> list[str]:
    """Every named number of a network, in the page's order: weights, biases, input, target."""
    sizes = parse_arch(arch).sizes
    depth = len(sizes) - 1
    names = [
        f"W{k}_{i}_{j}"
        for k in range(1, depth + 1)
        for i in range(1, sizes[k - 1] + 1)
        for j in range(1, sizes[k] + 1)
    ]
    names += [f"b{k}_{j}" for k in range(1, depth + 1) for j in range(1, sizes[k] + 1)]
    names += [f"x{i}" for i in range(1, sizes[0] + 1)]
    names += [f"y{j}" for j in range(1, sizes[-1] + 1)]
    return names


def network_values(network: Network) -> dict[str, float]:
    """The named numbers of ``network``: what the page embeds for the network it is written for."""
    values: dict[str, float] = {}
    for k, (weight, bias) in enumerate(zip(network.weights, network.biases, strict=True), 1):
        for (i, j), value in np.ndenumerate(weight):
            values[f"W{k}_{i + 1}_{j + 1}"] = float(value)
        for j, value in enumerate(bias, 1):
            values[f"b{k}_{j}"] = float(value)
    values.update({f"x{i}": float(v) for i, v in enumerate(network.x, 1)})
    values.update({f"y{j}": float(v) for j, v in enumerate(network.target, 1)})
    return {name: values[name] for name in value_names(network.arch)}


def page_network(
    arch: Architecture | str | Sequence[int],
    *,
    seed: int,
    known: Mapping[str, float],
    activation: str = "sigmoid",
) -> Network:
    """The network the page shows for ``arch``: each number from ``known`` (the written
    network's values, then whatever the learner typed), else :func:`fill_value`.

    The output layer is identity and the loss squared error, as the page uses.
    """
    arch = parse_arch(arch)
    sizes, depth = arch.sizes, arch.depth

    def value(name: str) -> float:
        return float(known[name]) if name in known else fill_value(seed, name)

    weights = [
        [
            [value(f"W{k}_{i}_{j}") for j in range(1, sizes[k] + 1)]
            for i in range(1, sizes[k - 1] + 1)
        ]
        for k in range(1, depth + 1)
    ]
    biases = [[value(f"b{k}_{j}") for j in range(1, sizes[k] + 1)] for k in range(1, depth + 1)]
    return build_network(
        arch,
        activation=activation,
        weights=weights,
        biases=biases,
        x=[value(f"x{i}") for i in range(1, sizes[0] + 1)],
        target=[value(f"y{j}") for j in range(1, sizes[-1] + 1)],
    )
