"""memograd: backpropagation is the chain rule plus memoization.

``import memograd as mg`` needs NumPy alone: plotting, the command line and the
report load their libraries only when used (``mg.viz`` is imported on first use, and
``mg.MLPClassifier`` / ``mg.MLPRegressor`` with scikit-learn on first use).
"""

from __future__ import annotations

# The layers of the library, in the order of the notes: memoization (@mg.memoize and Fibonacci
# three ways), the engine (scalar Value and NumPy Tensor, three backward strategies), the
# explainer, and networks, optimizers and data; mg.save / mg.load on top of them. All of them
# need NumPy alone: matplotlib and rich are loaded by the functions that draw.
from memograd import data, engine, explain, fibonacci, nn, optim  # noqa: E402
from memograd._version import __version__
from memograd.engine import (  # noqa: E402
    BackwardStats,
    InPlaceModificationError,
    RecomputationError,
    Tensor,
    Value,
    as_tensor,
    checkpoint,
    compile,
    concat,
    cross_entropy,
    from_numpy,
    grad,
    gradcheck,
    hessian,
    hvp,
    jacfwd,
    jacrev,
    jvp,
    linear,
    log_softmax,
    logsumexp,
    no_grad,
    softmax,
    stack,
    tensor,
    value_and_grad,
    vjp,
    where,
)
from memograd.memo import CacheInfo, memoize  # noqa: E402
from memograd.nn import manual_seed  # noqa: E402
from memograd.saving import load, save  # noqa: E402

__all__ = [
    "BackwardStats",
    "CacheInfo",
    "InPlaceModificationError",
    "MLPClassifier",
    "MLPRegressor",
    "RecomputationError",
    "Tensor",
    "Value",
    "__version__",
    "as_tensor",
    "checkpoint",
    "compile",
    "concat",
    "cross_entropy",
    "data",
    "engine",
    "explain",
    "fibonacci",
    "from_numpy",
    "grad",
    "gradcheck",
    "hessian",
    "hvp",
    "jacfwd",
    "jacrev",
    "jvp",
    "linear",
    "load",
    "log_softmax",
    "logsumexp",
    "manual_seed",
    "memoize",
    "nn",
    "no_grad",
    "optim",
    "save",
    "softmax",
    "stack",
    "tensor",
    "value_and_grad",
    "vjp",
    "where",
]


def _draw_svg(node: object) -> str:
    """The notebook display of a Value or Tensor: its graph, drawn by mg.viz (imported now)."""
    from memograd.viz import draw

    return draw(node)._repr_svg_()


engine.display.set_svg_renderer(_draw_svg)


def __getattr__(name: str) -> object:
    """Import ``mg.viz`` (graph drawings, plots, the HTML report) and the scikit-learn
    estimators on first use only."""
    if name == "viz":
        import importlib

        return importlib.import_module("memograd.viz")
    if name in nn.ESTIMATORS:
        return getattr(nn, name)
    raise AttributeError(f"module 'memograd' has no attribute {name!r}")
