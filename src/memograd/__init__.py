"""memograd: backpropagation is the chain rule plus memoization.

``import memograd as mg`` needs NumPy alone: plotting, the command line and the
report load their libraries only when used.
"""

from __future__ import annotations

__version__ = "0.1.0"

from memograd import explain  # noqa: E402 - the explainer (NumPy only; matplotlib on use)
from memograd.engine import (  # noqa: E402 - after __version__, which the CLI reads early
    BackwardStats,
    Tensor,
    Value,
    concat,
    cross_entropy,
    grad,
    gradcheck,
    linear,
    log_softmax,
    logsumexp,
    no_grad,
    softmax,
    stack,
    value_and_grad,
    where,
)

__all__ = ["__version__"]
__all__ += [  # engine
    "BackwardStats",
    "Tensor",
    "Value",
    "concat",
    "cross_entropy",
    "grad",
    "gradcheck",
    "linear",
    "log_softmax",
    "logsumexp",
    "no_grad",
    "softmax",
    "stack",
    "value_and_grad",
    "where",
]
__all__ += ["explain"]  # the explainer: mg.explain.explain("2-2-2-1", "W1_11")

# Memoization, the idea the rest is built on: @mg.memoize and Fibonacci three ways.
from memograd import fibonacci  # noqa: E402
from memograd.memo import CacheInfo, memoize  # noqa: E402

__all__ += ["CacheInfo", "fibonacci", "memoize"]

# Networks, optimizers and data (NumPy only; rich is imported by fit when it draws a bar).
from memograd import data, nn, optim  # noqa: E402
from memograd.nn import MLPClassifier, MLPRegressor, manual_seed  # noqa: E402

__all__ += ["MLPClassifier", "MLPRegressor", "data", "manual_seed", "nn", "optim"]


def __getattr__(name: str) -> object:
    # mg.viz (graph drawings, plots, the HTML report) is imported on first use only.
    if name == "viz":
        import importlib

        return importlib.import_module("memograd.viz")
    raise AttributeError(f"module 'memograd' has no attribute {name!r}")
