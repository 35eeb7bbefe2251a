"""Turn a ``seed`` argument into a NumPy Generator, the same way everywhere in memograd."""

from __future__ import annotations

import numpy as np

Seed = int | np.random.Generator | None


def generator(seed: Seed) -> np.random.Generator:
    """An int seeds a fresh Generator; a Generator is used as is; None means the global one.

    The global generator lives in ``memograd.nn.init`` and is reset by ``mg.manual_seed(n)``;
    it is imported here at call time because ``memograd.nn`` itself imports ``memograd.data``.
    """
    if seed is None:
        from memograd.nn.init import global_generator

        return global_generator()
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(
            f"seed must be an int, a numpy.random.Generator or None, got {type(seed).__name__}"
        )
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.default_rng(int(seed))
