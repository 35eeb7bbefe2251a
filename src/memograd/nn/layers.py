"""The layers: ``Linear``, the activations, ``Dropout``, ``Sequential``, ``MLP``, ``Standardize``.

Each layer is a thin shell over the engine: ``Linear`` is the engine's fused ``linear`` op (one
graph node for ``x @ W + b``), activations are the engine's elementwise ops. So the derivatives
all live in one place, the engine's derivative table, and a layer is only bookkeeping: which
arrays are trained, how they start, how the layer prints and saves.

``Linear``'s weight has shape (in_features, out_features): ``weight[i, j]`` is the notes'
W^k_ij, from unit i of the previous layer to unit j of this one. (PyTorch stores the transpose.)
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from memograd.engine import ops
from memograd.engine.tensor import Tensor, linear
from memograd.nn.init import SCHEME_FOR_ACTIVATION, initial_weight
from memograd.nn.module import Module, as_tensor, build_module, register_module
from memograd.seeding import generator

DTYPES = ("float32", "float64")


def _dtype_name(dtype: Any) -> str:
    name = np.dtype(dtype).name
    if name not in DTYPES:
        raise TypeError(f"parameters must be float32 or float64, got {name}")
    return name


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


@register_module
class Linear(Module):
    """``y = x @ weight + bias``: weight (in_features, out_features), bias (out_features,).

    ``init`` is "he" (for a ReLU-family activation after the layer), "xavier" (tanh, sigmoid, or
    no activation) or "zeros"; ``activation`` picks the gain. ``rng`` is a Generator or an int
    seed; None draws from the global generator that ``mg.manual_seed`` sets.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str = "he",
        activation: str = "relu",
        dtype: str = "float32",
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        self.init = init
        self.activation = activation
        self.dtype = _dtype_name(dtype)
        draws = generator(rng)
        weight = initial_weight(
            init, self.in_features, self.out_features, draws, activation, dtype=self.dtype
        )
        self.weight = Tensor(weight, requires_grad=True)
        self.bias = (
            Tensor(np.zeros(self.out_features, dtype=self.dtype), requires_grad=True)
            if bias
            else None
        )

    def forward(self, x: Any) -> Tensor:
        return linear(as_tensor(x, self.weight.data.dtype), self.weight, self.bias)

    def config(self) -> dict[str, Any]:
        return {
            "in_features": self.in_features,
            "out_features": self.out_features,
            "bias": self.bias is not None,
            "init": self.init,
            "activation": self.activation,
            "dtype": self.dtype,
        }

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}"
        )


class _Activation(Module):
    """A parameter-free elementwise layer; ``name`` is what ``MLP(activation=...)`` calls it."""

    name = ""

    def config(self) -> dict[str, Any]:
        return {}


@register_module
class ReLU(_Activation):
    """max(0, x); the gradient at exactly 0 is taken as 0, as in PyTorch."""

    name = "relu"

    def forward(self, x: Any) -> Tensor:
        return as_tensor(x).relu()


@register_module
class Tanh(_Activation):
    name = "tanh"

    def forward(self, x: Any) -> Tensor:
        return as_tensor(x).tanh()


@register_module
class Sigmoid(_Activation):
    name = "sigmoid"

    def forward(self, x: Any) -> Tensor:
        return as_tensor(x).sigmoid()


@register_module
class LeakyReLU(_Activation):
    """x for x > 0, else ``negative_slope * x`` (gradient ``negative_slope`` at 0, as in torch)."""

    name = "leaky_relu"

    def __init__(self, negative_slope: float = 0.01) -> None:
        super().__init__()
        if not (isinstance(negative_slope, int | float) and math.isfinite(negative_slope)):
            raise ValueError(f"negative_slope must be a finite number, got {negative_slope!r}")
        self.negative_slope = float(negative_slope)

    def forward(self, x: Any) -> Tensor:
        return as_tensor(x).leaky_relu(self.negative_slope)

    def config(self) -> dict[str, Any]:
        return {"negative_slope": self.negative_slope}

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


@register_module
class GELU(_Activation):
    """x * Phi(x), in the tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).

    This is PyTorch's ``GELU(approximate="tanh")`` (and GPT-2's), one row of the derivative
    table; the exact erf form would need an erf primitive the engine does not have, and differs
    by under 1e-3.
    """

    name = "gelu"

    def __init__(self, approximate: str = "tanh") -> None:
        super().__init__()
        if approximate != "tanh":
            raise ValueError(
                f"GELU supports approximate='tanh' only, got {approximate!r} (the exact erf form "
                "needs an erf op the engine does not have)"
            )
        self.approximate = approximate

    def forward(self, x: Any) -> Tensor:
        return as_tensor(x).gelu()

    def config(self) -> dict[str, Any]:
        return {"approximate": self.approximate}

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


# The layer for each activation of the derivative table (ops.ACTIVATIONS: the one list of names
# that the CLI, the initialisation and the explainer also read), in the table's order.
_LAYERS = {cls.name: cls for cls in (ReLU, Tanh, Sigmoid, LeakyReLU, GELU)}
ACTIVATIONS: dict[str, type[_Activation]] = {name: _LAYERS[name] for name in ops.ACTIVATIONS}


@register_module
class Dropout(Module):
    """In training, zero each input with probability ``p`` and scale the rest by 1/(1-p).

    The scaling keeps the expected activation the same, so at evaluation (``model.eval()``)
    the layer is simply the identity. Masks come from ``rng`` (or the global generator).
    """

    def __init__(self, p: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        if not (isinstance(p, int | float) and 0.0 <= p < 1.0):
            raise ValueError(f"dropout probability p must be in [0, 1), got {p!r}")
        self.p = float(p)
        self._rng = generator(rng)

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x)
        if not self.training or self.p == 0.0:
            return x
        keep = self._rng.random(x.data.shape) >= self.p
        scale = (keep / (1.0 - self.p)).astype(x.data.dtype)
        return x * scale

    def config(self) -> dict[str, Any]:
        return {"p": self.p}

    def extra_repr(self) -> str:
        return f"p={self.p}"


@register_module
class Sequential(Module):
    """Apply the given modules in order; children are named "0", "1", ..."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential: item {index} is a {type(module).__name__}, not a Module"
                )
            setattr(self, str(index), module)

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential.append: expected a Module, got {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self

    def __getitem__(self, index: int | slice) -> Module:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return Sequential(*modules[index])  # shares the layers, as torch's slicing does
        try:
            return modules[index]
        except IndexError:
            raise IndexError(f"Sequential has {len(modules)} modules, no index {index}") from None

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def config(self) -> dict[str, Any]:
        return {"modules": [module.describe() for module in self._modules.values()]}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Sequential:
        return cls(*(build_module(item) for item in config["modules"]))


@register_module
class MLP(Module):
    """A multilayer perceptron: ``Linear`` layers of ``sizes`` with ``activation`` between them.

    ``MLP([64, 32, 10])`` maps 64 inputs through 32 hidden units to 10 outputs (logits: the last
    layer has no activation). Hidden layers use He initialisation for ReLU-family activations and
    Xavier for tanh and sigmoid; the output layer uses Xavier. ``dropout`` > 0 adds a
    ``Dropout`` after every hidden activation.
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str = "relu",
        dropout: float = 0.0,
        bias: bool = True,
        dtype: str = "float32",
        rng: np.random.Generator | int | None = None,
    ) -> None:
        super().__init__()
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP needs at least an input and an output size, got {sizes!r}")
        self.sizes = [_positive_int(s, "every MLP size") for s in sizes]
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; expected one of {', '.join(ACTIVATIONS)}"
            )
        self.activation = activation
        self.dropout = float(dropout)
        self.dtype = _dtype_name(dtype)
        draws = generator(rng)
        scheme = SCHEME_FOR_ACTIVATION[activation]
        layers: list[Module] = []
        for k, (fan_in, fan_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:], strict=True)):
            last = k == len(self.sizes) - 2
            layers.append(
                Linear(
                    fan_in,
                    fan_out,
                    bias=bias,
                    init="xavier" if last else scheme,
                    activation="linear" if last else activation,
                    dtype=self.dtype,
                    rng=draws,
                )
            )
            if not last:
                layers.append(ACTIVATIONS[activation]())
                if self.dropout > 0:
                    layers.append(Dropout(self.dropout, rng=draws))
        self.bias = bias
        self.layers = Sequential(*layers)

    def forward(self, x: Any) -> Tensor:
        return self.layers(x)

    def config(self) -> dict[str, Any]:
        return {
            "sizes": self.sizes,
            "activation": self.activation,
            "dropout": self.dropout,
            "bias": self.bias,
            "dtype": self.dtype,
        }

    def extra_repr(self) -> str:
        return f"sizes={self.sizes}, activation={self.activation!r}"


@register_module
class Standardize(Module):
    """``(x - mean) / scale`` with fixed, saved statistics: preprocessing that travels with a model.

    Fitted on the training rows (see :class:`memograd.data.Standardizer`) and put first in a
    ``Sequential``, it makes a saved model take raw features, so ``memograd predict`` needs
    nothing but the model file.
    """

    def __init__(self, n_features: int, dtype: str = "float32") -> None:
        super().__init__()
        self.n_features = _positive_int(n_features, "n_features")
        self.dtype = _dtype_name(dtype)
        self.register_buffer("mean", np.zeros(self.n_features, dtype=self.dtype))
        self.register_buffer("scale", np.ones(self.n_features, dtype=self.dtype))

    @classmethod
    def fitted(cls, mean: np.ndarray, scale: np.ndarray, dtype: str = "float32") -> Standardize:
        """A layer holding given statistics (e.g. a fitted Standardizer's ``mean_, scale_``)."""
        mean, scale = np.asarray(mean), np.asarray(scale)
        if mean.ndim != 1 or scale.shape != mean.shape:
            raise ValueError(
                f"mean and scale must be 1-D and alike, got {mean.shape}, {scale.shape}"
            )
        if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
            raise ValueError("every scale must be a finite number > 0")
        layer = cls(mean.shape[0], dtype)
        layer.mean[...] = mean
        layer.scale[...] = scale
        return layer

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x, self.mean.dtype)
        if x.data.shape[-1:] != (self.n_features,):
            raise ValueError(
                f"Standardize expects rows of {self.n_features} features, got shape {x.data.shape}"
            )
        return (x - self.mean) / self.scale

    def config(self) -> dict[str, Any]:
        return {"n_features": self.n_features, "dtype": self.dtype}

    def extra_repr(self) -> str:
        return f"n_features={self.n_features}"
