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
    GradArray,
    InPlaceModificationError,
    Tensor,
    Value,
    ValuesIndices,
    abs,
    add,
    allclose,
    amax,
    amin,
    arange,
    argmax,
    argmin,
    as_tensor,
    bmm,
    bool_,
    cat,
    chunk,
    clamp,
    clip,
    clone,
    concat,
    cos,
    cross_entropy,
    device,
    div,
    empty,
    empty_like,
    equal,
    exp,
    expm1,
    eye,
    flatten,
    float16,
    float32,
    float64,
    from_numpy,
    full,
    full_like,
    gather,
    grad,
    gradcheck,
    hessian,
    hvp,
    int8,
    int16,
    int32,
    int64,
    is_tensor,
    jacfwd,
    jacrev,
    jvp,
    linear,
    linspace,
    log,
    log1p,
    log_softmax,
    logsumexp,
    masked_fill,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    mul,
    neg,
    no_grad,
    norm,
    numel,
    ones,
    ones_like,
    permute,
    pow,
    prod,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    relu,
    reshape,
    rsqrt,
    sigmoid,
    sign,
    sin,
    softmax,
    split,
    sqrt,
    squeeze,
    stack,
    std,
    sub,
    sum,
    t,
    tanh,
    tensor,
    transpose,
    uint8,
    unsqueeze,
    value_and_grad,
    var,
    vjp,
    where,
    zeros,
    zeros_like,
)
from memograd.memo import CacheInfo, memoize  # noqa: E402
from memograd.nn import manual_seed  # noqa: E402
from memograd.saving import load, save  # noqa: E402

__all__ = [
    "__version__",
    "abs",
    "add",
    "allclose",
    "amax",
    "amin",
    "arange",
    "argmax",
    "argmin",
    "as_tensor",
    "BackwardStats",
    "bmm",
    "bool_",
    "CacheInfo",
    "cat",
    "chunk",
    "clamp",
    "clip",
    "clone",
    "concat",
    "cos",
    "cross_entropy",
    "data",
    "device",
    "div",
    "empty",
    "empty_like",
    "engine",
    "equal",
    "exp",
    "explain",
    "expm1",
    "eye",
    "fibonacci",
    "flatten",
    "float16",
    "float32",
    "float64",
    "from_numpy",
    "full",
    "full_like",
    "gather",
    "grad",
    "GradArray",
    "gradcheck",
    "hessian",
    "hvp",
    "InPlaceModificationError",
    "int16",
    "int32",
    "int64",
    "int8",
    "is_tensor",
    "jacfwd",
    "jacrev",
    "jvp",
    "linear",
    "linspace",
    "load",
    "log",
    "log1p",
    "log_softmax",
    "logsumexp",
    "manual_seed",
    "masked_fill",
    "matmul",
    "max",
    "maximum",
    "mean",
    "memoize",
    "min",
    "minimum",
    "MLPClassifier",
    "MLPRegressor",
    "mm",
    "mul",
    "neg",
    "nn",
    "no_grad",
    "norm",
    "numel",
    "ones",
    "ones_like",
    "optim",
    "permute",
    "pow",
    "prod",
    "rand",
    "rand_like",
    "randint",
    "randn",
    "randn_like",
    "randperm",
    "relu",
    "reshape",
    "rsqrt",
    "save",
    "sigmoid",
    "sign",
    "sin",
    "softmax",
    "split",
    "sqrt",
    "squeeze",
    "stack",
    "std",
    "sub",
    "sum",
    "t",
    "tanh",
    "Tensor",
    "tensor",
    "transpose",
    "uint8",
    "unsqueeze",
    "Value",
    "value_and_grad",
    "ValuesIndices",
    "var",
    "vjp",
    "where",
    "zeros",
    "zeros_like",
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


# PyTorch's other names of the dtypes (torch.float, torch.long, torch.bool...). They shadow
# Python's builtins, so they are attributes of the package (mg.float32 == mg.float) but are left
# out of ``__all__``: ``from memograd import *`` must not replace a user's ``float``.
half = engine.dtypes.ALIASES["half"]
float = engine.dtypes.ALIASES["float"]  # noqa: A001
double = engine.dtypes.ALIASES["double"]
short = engine.dtypes.ALIASES["short"]
int = engine.dtypes.ALIASES["int"]  # noqa: A001
long = engine.dtypes.ALIASES["long"]
bool = engine.dtypes.ALIASES["bool"]  # noqa: A001
