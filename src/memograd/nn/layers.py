"""The layers: ``Linear``, the activations, ``Dropout``, ``Sequential``, ``MLP``, ``Standardize``,
and the shape layers ``Flatten`` and ``Identity``.

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
from memograd.engine.tensor import Tensor, from_numpy, linear
from memograd.nn import functional as F
from memograd.nn.init import SCHEME_FOR_ACTIVATION, initial_weight
from memograd.nn.module import FLOAT_DTYPES, Module, as_tensor, build_module, register_module
from memograd.nn.parameter import Parameter
from memograd.seeding import Seed, generator

DTYPES = FLOAT_DTYPES


def dtype_name(dtype: Any) -> str:
    """ "float32" or "float64" for a dtype, its name or its NumPy type (None: float32)."""
    try:
        name = np.dtype("float32" if dtype is None else dtype).name
    except TypeError:
        raise TypeError(f"dtype must be float32 or float64, got {dtype!r}") from None
    if name not in DTYPES:
        raise TypeError(f"parameters must be float32 or float64, got {name}")
    return name


def check_device(device: Any) -> None:
    """memograd computes on the CPU: ``device=None`` or ``"cpu"`` only."""
    if device is not None and str(device).split(":")[0] != "cpu":
        raise ValueError(f"memograd runs on the CPU only; got device={device!r}")


def refuse_inplace(inplace: Any, layer: str) -> None:
    """``inplace=True`` is refused: the layer returns a new tensor and leaves its input as it was,
    so a program relying on the input being overwritten would silently compute something else."""
    if inplace:
        raise ValueError(
            f"{layer}(inplace=True) is not supported: memograd's layers return a new tensor and "
            "never overwrite their input; drop inplace=True (the returned value is the same)"
        )


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


@register_module
class Linear(Module):
    """``y = x @ weight + bias``: weight (in_features, out_features), bias (out_features,).

    ``init`` is "he" (for a ReLU-family activation after the layer), "xavier" (tanh, sigmoid, or
    no activation) or "zeros"; ``activation`` picks the gain. ``rng`` is a Generator or an int
    seed; None draws from the global generator that ``mg.manual_seed`` sets. ``device`` is
    accepted as PyTorch's is, and must be the CPU.
    """

    torch_transposed = ("weight",)  # PyTorch stores (out_features, in_features)

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        init: str = "he",
        activation: str = "relu",
        dtype: Any = "float32",
        rng: Seed = None,
        device: Any = None,
    ) -> None:
        super().__init__()
        check_device(device)
        self.in_features = _positive_int(in_features, "in_features")
        self.out_features = _positive_int(out_features, "out_features")
        self.init = init
        self.activation = activation
        name = dtype_name(dtype)
        draws = generator(rng)
        weight = initial_weight(
            init, self.in_features, self.out_features, draws, activation, dtype=name
        )
        self.weight = Parameter(from_numpy(weight))
        if bias:
            self.bias = Parameter(from_numpy(np.zeros(self.out_features, dtype=name)))
        else:
            self.register_parameter("bias", None)

    @property
    def dtype(self) -> str:
        return self.weight.data.dtype.name

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

    def __init__(self, inplace: bool = False) -> None:
        super().__init__()
        refuse_inplace(inplace, "ReLU")

    def config(self) -> dict[str, Any]:
        return {}

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

    def __init__(self, negative_slope: float = 0.01, inplace: bool = False) -> None:
        super().__init__()
        refuse_inplace(inplace, "LeakyReLU")
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
    the layer is simply the identity. Masks come from ``rng`` (an int seed or a Generator), or,
    without one, from the global generator as it is when the layer runs (so ``mg.manual_seed``
    after building the model still decides the masks, as ``torch.manual_seed`` does).
    """

    def __init__(self, p: float = 0.5, inplace: bool = False, rng: Seed = None) -> None:
        super().__init__()
        refuse_inplace(inplace, "Dropout")
        F.check_dropout_probability(p)
        self.p = float(p)
        self._rng = None if rng is None else generator(rng)

    def forward(self, x: Any) -> Tensor:
        return F.dropout(x, self.p, self.training, generator=self._rng)

    def config(self) -> dict[str, Any]:
        return {"p": self.p}

    def extra_repr(self) -> str:
        return f"p={self.p}, inplace=False"


@register_module
class Identity(Module):
    """Returns its input unchanged (a placeholder where a layer is optional)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()  # PyTorch's Identity takes and ignores any arguments

    def forward(self, x: Any) -> Any:
        return x

    def config(self) -> dict[str, Any]:
        return {}


@register_module
class Flatten(Module):
    """Merge the axes ``start_dim`` .. ``end_dim`` into one: (N, 1, 8, 8) -> (N, 64) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        for name, value in (("start_dim", start_dim), ("end_dim", end_dim)):
            if isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise TypeError(f"Flatten: {name} must be an int, got {value!r}")
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x: Any) -> Tensor:
        return F.flatten(x, self.start_dim, self.end_dim)

    def config(self) -> dict[str, Any]:
        return {"start_dim": self.start_dim, "end_dim": self.end_dim}

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class _AlongDim(Module):
    """A softmax-family layer along one axis (``dim``, required: PyTorch's implicit choice is
    deprecated there and refused here)."""

    def __init__(self, dim: int | None = None) -> None:
        super().__init__()
        if dim is None or isinstance(dim, bool) or not isinstance(dim, int | np.integer):
            raise TypeError(
                f"{type(self).__name__} needs dim= (the class axis), an int; got {dim!r}"
            )
        self.dim = int(dim)

    def config(self) -> dict[str, Any]:
        return {"dim": self.dim}

    def extra_repr(self) -> str:
        return f"dim={self.dim}"


@register_module
class Softmax(_AlongDim):
    """exp(x) / sum(exp(x)) along ``dim``, with the maximum subtracted first."""

    def forward(self, x: Any) -> Tensor:
        return F.softmax(x, self.dim)


@register_module
class LogSoftmax(_AlongDim):
    """x - logsumexp(x) along ``dim``: log-probabilities for ``NLLLoss``."""

    def forward(self, x: Any) -> Tensor:
        return F.log_softmax(x, self.dim)


@register_module
class Sequential(Module):
    """Apply the given modules in order; children are named "0", "1", ...

    ``Sequential(OrderedDict(fc1=..., act=...))`` names them instead, as in PyTorch.
    """

    def __init__(self, *modules: Module | Mapping[str, Module]) -> None:
        super().__init__()
        named = len(modules) == 1 and isinstance(modules[0], Mapping)
        items = list(modules[0].items()) if named else list(enumerate(modules))
        for name, module in items:
            if not isinstance(module, Module):
                label = repr(name) if named else name
                raise TypeError(
                    f"Sequential: item {label} is a {type(module).__name__}, not a Module"
                )
            self.add_module(str(name), module)

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
        items = list(self._modules.items())
        if isinstance(index, slice):
            # Shares the layers and keeps their names, as torch's slicing does.
            return Sequential(dict(items[index]))
        try:
            return items[index][1]
        except IndexError:
            raise IndexError(f"Sequential has {len(items)} modules, no index {index}") from None

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def config(self) -> dict[str, Any]:
        config: dict[str, Any] = {
            "modules": [module.describe() for module in self._modules.values()]
        }
        names = list(self._modules)
        if names != [str(i) for i in range(len(names))]:
            config["names"] = names
        return config

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Sequential:
        modules = [build_module(item) for item in config["modules"]]
        names = config.get("names")
        if names is None:
            return cls(*modules)
        if not isinstance(names, list) or len(names) != len(modules):
            raise TypeError("names must be a list with one name per module")
        return cls(dict(zip(names, modules, strict=True)))


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
        name = dtype_name(dtype)
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
                    dtype=name,
                    rng=draws,
                )
            )
            if not last:
                layers.append(ACTIVATIONS[activation]())
                if self.dropout > 0:
                    # Without a seed the masks come from the global generator at each call.
                    layers.append(Dropout(self.dropout, rng=None if rng is None else draws))
        self.bias = bias
        self.layers = Sequential(*layers)

    @property
    def dtype(self) -> str:
        return self.layers[0].dtype

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
        name = dtype_name(dtype)
        self.register_buffer("mean", np.zeros(self.n_features, dtype=name))
        self.register_buffer("scale", np.ones(self.n_features, dtype=name))

    @property
    def dtype(self) -> str:
        return self.mean.dtype.name

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
