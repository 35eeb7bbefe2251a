"""The Tensor API as functions: ``mg.sin(x)`` is ``x.sin()``, ``mg.max(x, dim=1)`` is
``x.max(dim=1)``, as ``torch.sin`` and ``torch.max`` are PyTorch's methods in function form.

Each function is the method itself, applied to its first argument made a tensor (so NumPy arrays
and numbers work too): one implementation, one docstring, no second copy to drift. Functions of
two inputs where either may be a number (``pow(2, x)``, ``maximum``, ``add``) lift both.
``cat``, ``stack``, ``where``, ``softmax``... are in :mod:`memograd.engine.tensor`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from memograd.engine import ops
from memograd.engine import tensor as tensor_module
from memograd.engine.tensor import Tensor, _as_tensor, _binary, _scaled


def _method(name: str) -> Callable[..., Any]:
    """``f(input, *args, **kwargs)`` calling ``Tensor.<name>`` on ``input`` as a tensor."""
    method = getattr(Tensor, name)

    def function(input: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: A002
        return method(_as_tensor(input, name), *args, **kwargs)

    function.__name__ = function.__qualname__ = name
    function.__module__ = __name__
    function.__doc__ = f"``{name}(x, ...)`` is ``x.{name}(...)``. " + (method.__doc__ or "")
    return function


# elementwise math
abs = _method("abs")  # noqa: A001
sign = _method("sign")
sqrt = _method("sqrt")
rsqrt = _method("rsqrt")
exp = _method("exp")
expm1 = _method("expm1")
log = _method("log")
log1p = _method("log1p")
sin = _method("sin")
cos = _method("cos")
tanh = _method("tanh")
sigmoid = _method("sigmoid")
relu = _method("relu")
neg = _method("neg")
clamp = _method("clamp")
clip = _method("clip")
clone = _method("clone")
masked_fill = _method("masked_fill")
# shapes
t = _method("t")
permute = _method("permute")
transpose = _method("transpose")
reshape = _method("reshape")
flatten = _method("flatten")
unsqueeze = _method("unsqueeze")
squeeze = _method("squeeze")
split = _method("split")
chunk = _method("chunk")
gather = _method("gather")
mm = _method("mm")
bmm = _method("bmm")
numel = _method("numel")
# reductions
sum = _method("sum")  # noqa: A001
mean = _method("mean")
var = _method("var")
std = _method("std")
max = _method("max")  # noqa: A001
min = _method("min")  # noqa: A001
argmax = _method("argmax")
argmin = _method("argmin")
amax = _method("amax")
amin = _method("amin")
prod = _method("prod")
norm = _method("norm")


def _lifted(row: ops.Op, name: str) -> Callable[[Any, Any], Tensor]:
    def function(input: Any, other: Any) -> Tensor:  # noqa: A002
        return _binary(row, input, other)

    function.__name__ = function.__qualname__ = name
    function.__module__ = __name__
    function.__doc__ = f"``{name}(x, y)``: either may be a number, an array or a tensor."
    return function


pow = _lifted(ops.POW, "pow")  # noqa: A001
matmul = _lifted(ops.MATMUL, "matmul")
maximum = _lifted(ops.MAXIMUM, "maximum")
minimum = _lifted(ops.MINIMUM, "minimum")
mul = _lifted(ops.MUL, "mul")
div = _lifted(ops.DIV, "div")


def add(input: Any, other: Any, *, alpha: float = 1) -> Tensor:  # noqa: A002
    """``input + alpha * other``."""
    return _binary(ops.ADD, input, _scaled(other, alpha, "add"))


def sub(input: Any, other: Any, *, alpha: float = 1) -> Tensor:  # noqa: A002
    """``input - alpha * other``."""
    return _binary(ops.SUB, input, _scaled(other, alpha, "sub"))


def equal(input: Any, other: Any) -> bool:  # noqa: A002
    """True when both have the same shape and the same values (PyTorch's ``torch.equal``): one
    Python bool, where ``==`` compares element by element."""
    x, y = _as_tensor(input, "equal"), _as_tensor(other, "equal")
    if tensor_module._tracer is not None:
        tensor_module._tracer.exported(x, "equal")
    a, b = x._data, y._data
    return a.shape == b.shape and bool(np.array_equal(a, b))


def allclose(
    input: Any,  # noqa: A002
    other: Any,
    rtol: float = 1e-05,
    atol: float = 1e-08,
    equal_nan: bool = False,
) -> bool:
    """Whether ``|input - other| <= atol + rtol * |other|`` everywhere (``torch.allclose``)."""
    x, y = _as_tensor(input, "allclose"), _as_tensor(other, "allclose")
    if tensor_module._tracer is not None:
        tensor_module._tracer.exported(x, "equal")
    a, b = x._data, y._data
    return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan))


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a memograd Tensor."""
    return isinstance(value, Tensor)
