"""The network behind an estimator: ``coefs_``/``intercepts_`` as engine layers, and its losses.

The fitted arrays are the single source of truth. :func:`build` wraps them, without copying, in
the Tensors of an ordinary ``memograd.nn.Sequential`` of ``Linear`` layers and activations, so
the optimizers' in-place updates land in ``coefs_`` itself, and a user who replaces ``coefs_``
is heard at the next ``predict`` or ``partial_fit``. ``coefs_[i]`` has shape (fan_in, fan_out),
which is ``Linear.weight``'s own layout (the notes' W^k_ij).

Losses are scikit-learn's, per output activation, written with engine ops so that backward
gives their gradients: softmax + log loss (the engine's fused ``cross_entropy``), logistic +
binary log loss summed over labels, identity + half squared error, exp + half Poisson deviance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from memograd.engine import Tensor, cross_entropy, from_numpy, softmax
from memograd.nn import functional as F
from memograd.nn.layers import GELU, Dropout, LeakyReLU, Linear, ReLU, Sequential, Sigmoid, Tanh
from memograd.nn.module import Module

# scikit-learn's hidden activation names (plus memograd's leaky_relu and gelu) -> memograd layer.
HIDDEN_LAYERS: dict[str, type[Module] | None] = {
    "identity": None,
    "logistic": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leaky_relu": LeakyReLU,
    "gelu": GELU,
}


# The forward pass of predict (and of L-BFGS) runs over row chunks of at most this many bytes
# in the widest layer, so memory stays bounded however many rows come in; sparse input is
# densified one chunk (or one mini-batch) at a time, never whole.
CHUNK_BYTES = 32 * 2**20


def initial_parameters(
    sizes: Sequence[int], activation: str, dtype: np.dtype, rng: np.random.Generator
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Starting weights and biases by scikit-learn's rule (Glorot & Bengio's uniform).

    Every weight and bias of a layer is drawn from U(-b, b) with
    ``b = sqrt(factor / (fan_in + fan_out))``, factor 2 for logistic units and 6 otherwise.
    This is what scikit-learn documents, and on unscaled inputs (the digits' pixel counts
    0-16) it reaches scikit-learn's accuracy where memograd's own He initialisation falls
    short by almost a point.
    """
    factor = 2.0 if activation == "logistic" else 6.0
    coefs, intercepts = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = np.sqrt(factor / (fan_in + fan_out))
        coefs.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(dtype))
        intercepts.append(rng.uniform(-bound, bound, fan_out).astype(dtype))
    return coefs, intercepts


def build(
    coefs: Sequence[np.ndarray],
    intercepts: Sequence[np.ndarray],
    activation: str,
    dropout: float = 0.0,
    rng: np.random.Generator | None = None,
) -> Sequential:
    """A ``Sequential`` whose Linear layers hold ``coefs``/``intercepts`` themselves (no copy).

    ``dropout`` > 0 puts a ``Dropout`` after each hidden activation, drawing masks from ``rng``.
    """
    layer = HIDDEN_LAYERS[activation]
    modules: list[Module] = []
    for k, (weight, bias) in enumerate(zip(coefs, intercepts, strict=True)):
        fan_in, fan_out = weight.shape
        if bias.shape != (fan_out,) or (k and fan_in != coefs[k - 1].shape[1]):
            raise ValueError(
                f"coefs_[{k}] of shape {weight.shape} and intercepts_[{k}] of shape "
                f"{bias.shape} do not chain onto the layer before"
            )
        # "zeros" draws nothing and allocates lazily; the real arrays are put in right after.
        linear = Linear(fan_in, fan_out, init="zeros", dtype=weight.dtype)
        linear.weight = from_numpy(weight).requires_grad_()
        linear.bias = from_numpy(bias).requires_grad_()
        modules.append(linear)
        if k < len(coefs) - 1:
            if layer is not None:
                modules.append(layer())
            if dropout > 0:
                modules.append(Dropout(dropout, rng=rng))
    return Sequential(*modules)


def linear_layers(network: Module) -> list[Linear]:
    """The Linear layers of ``network``, in order."""
    return [m for m in network.modules() if isinstance(m, Linear)]


def output_activation(raw: Tensor, name: str) -> Tensor:
    """scikit-learn's output activation applied to the last layer's values."""
    if name == "softmax":
        return softmax(raw, axis=1)
    if name == "logistic":
        return raw.sigmoid()
    if name == "exp":
        return raw.exp()
    return raw


class Loss:
    """One of scikit-learn's MLP losses on the engine, for an output activation.

    ``targets`` are prepared once per fit (class indices for softmax, floats otherwise);
    ``__call__(raw, targets[rows], weights, normalizer)`` returns the Tensor whose gradient
    training follows (it takes the rows' targets, not the rows, so that a compiled step gets
    them as an argument) and ``report(value, rows, weights)`` turns its value into the number
    scikit-learn reports as ``loss_`` (adding the Poisson deviance's constant part). The
    gradient and the number differ in one more case, the squared error of several outputs:
    scikit-learn averages over outputs in the number it reports but steps along the gradient of
    the sum, and so does this class, so that training moves exactly as scikit-learn's does.
    """

    def __init__(self, out_activation: str, targets: np.ndarray, dtype: np.dtype) -> None:
        self.out_activation = out_activation
        self.n_outputs = targets.shape[1]
        if out_activation == "softmax":
            self.targets = targets.argmax(axis=1)
        else:
            self.targets = targets.astype(dtype, copy=False)
        if out_activation == "exp":
            # The part of the half Poisson deviance, y log y - y, that the network cannot change:
            # not needed for the gradient, but part of the loss scikit-learn reports.
            y = self.targets.astype(np.float64)
            logs = np.log(np.where(y > 0, y, 1.0))
            self.row_constants = (y * logs - y).sum(axis=1)

    @property
    def replayable(self) -> bool:
        """Whether a step on this loss can be compiled (``mg.compile``): every kind but the
        logistic one, whose ``binary_cross_entropy_with_logits`` checks each batch's target
        values in NumPy, a read a replayed plan would skip."""
        return self.out_activation != "logistic"

    def __call__(
        self, raw: Tensor, y: Any, weights: np.ndarray | None, normalizer: float
    ) -> Tensor:
        """The loss of ``raw`` outputs against ``y``, their rows of ``targets``: each row's loss
        (times its weight), summed and divided by ``normalizer`` (the batch's row count or
        weight sum; L-BFGS passes the whole data set's, chunk by chunk)."""
        kind = self.out_activation
        if kind == "softmax":
            if weights is None:
                if normalizer == raw.shape[0]:
                    return cross_entropy(raw, y, "mean")
                return cross_entropy(raw, y, "sum") / normalizer
            return (cross_entropy(raw, y, "none") * weights).sum() / normalizer
        if kind == "logistic":
            per_unit = F.binary_cross_entropy_with_logits(raw, y, reduction="none")
        elif kind == "exp":
            per_unit = raw.exp() - raw * y
        else:
            difference = raw - y
            per_unit = difference * difference * 0.5
        if weights is None:
            return per_unit.sum() / normalizer
        return (per_unit * weights[:, None]).sum() / normalizer

    def report(self, value: float, rows: Any, weights: np.ndarray | None) -> float:
        """The loss scikit-learn reports for these rows, from the value of ``__call__``."""
        if self.out_activation == "identity":
            return value / self.n_outputs
        if self.out_activation == "exp":
            return value + float(np.average(self.row_constants[rows], weights=weights))
        return value
