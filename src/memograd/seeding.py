"""Where every random draw in memograd comes from: one rule, one global generator.

Randomness in memograd (initial weights, dropout masks, shuffling, the toy data sets) comes from
NumPy Generators. Code that is given an explicit ``numpy.random.Generator`` (or an int seed) uses
it; code that is given nothing draws from one global generator, which ``mg.manual_seed(n)``
replaces. Until ``manual_seed`` is called the global generator is seeded from the operating
system, like NumPy's own default. This module sits below every layer that draws (data, nn), so
that none of them has to reach up or sideways for the generator.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Seed = int | np.random.Generator | None

_global = {"rng": np.random.default_rng()}

# Set by a compiled step while it traces (engine/compiler/trace.py): told of every generator
# handed out, since a plan would replay the traced call's numbers on every call.
_draw_hook: Callable[[], None] | None = None


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
    if _draw_hook is not None:
        _draw_hook()
    return _global["rng"]


def generator(seed: Seed) -> np.random.Generator:
    """An int seeds a fresh Generator; a Generator is used as is; None means the global one."""
    if _draw_hook is not None:
        _draw_hook()
    if seed is None:
        return _global["rng"]
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise TypeError(
            f"seed must be an int, a numpy.random.Generator or None, got {type(seed).__name__}"
        )
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    return np.random.default_rng(int(seed))
