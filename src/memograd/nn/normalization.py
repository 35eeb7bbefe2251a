"""``LayerNorm`` and ``BatchNorm1d``: normalisation layers with PyTorch's settings and state.

Both are bookkeeping around :func:`memograd.nn.functional.layer_norm` and
:func:`~memograd.nn.functional.batch_norm`, which compose the engine's ops (mean, subtraction,
square root, division), so their gradients, through the batch's own mean and variance too, come
from the derivative table. ``BatchNorm1d`` keeps PyTorch's buffers: ``running_mean``,
``running_var`` (updated with the unbiased batch variance) and ``num_batches_tracked``.
"""

from __future__ import annotations

from numbers import Number
from typing import Any

import numpy as np

from memograd.engine.tensor import Tensor, bump_version, from_numpy
from memograd.nn import functional as F
from memograd.nn.layers import check_device, dtype_name
from memograd.nn.module import Module, as_tensor, register_module
from memograd.nn.parameter import Parameter


def _flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _eps(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Number) or not value >= 0:
        raise ValueError(f"eps must be a number >= 0, got {value!r}")
    return float(value)


@register_module
class LayerNorm(Module):
    """Normalise each sample over its last axes (``normalized_shape``), then scale and shift.

    ``weight`` (ones) and ``bias`` (zeros) have ``normalized_shape``; ``elementwise_affine=False``
    leaves both out, ``bias=False`` only the bias. Same in training and evaluation.
    """

    def __init__(
        self,
        normalized_shape: int | list[int] | tuple[int, ...],
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_device(device)
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        shape = tuple(shape)
        if not shape or any(
            isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1 for n in shape
        ):
            raise ValueError(f"normalized_shape must be sizes >= 1, got {normalized_shape!r}")
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps = _eps(eps)
        self.elementwise_affine = _flag(elementwise_affine, "elementwise_affine")
        name = dtype_name(dtype)
        if self.elementwise_affine:
            self.weight = Parameter(from_numpy(np.ones(self.normalized_shape, dtype=name)))
        else:
            self.register_parameter("weight", None)
        if self.elementwise_affine and _flag(bias, "bias"):
            self.bias = Parameter(from_numpy(np.zeros(self.normalized_shape, dtype=name)))
        else:
            self.register_parameter("bias", None)
        self._dtype = name

    @property
    def dtype(self) -> str:
        return self._dtype if self.weight is None else self.weight.data.dtype.name

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x, np.dtype(self.dtype))
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def config(self) -> dict[str, Any]:
        return {
            "normalized_shape": list(self.normalized_shape),
            "eps": self.eps,
            "elementwise_affine": self.elementwise_affine,
            "bias": self.bias is not None,
            "dtype": self.dtype,
        }

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, "
            f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}"
        )


@register_module
class BatchNorm1d(Module):
    """Normalise each of ``num_features`` channels of (N, C) or (N, C, L) input over the batch.

    Training: the batch's statistics normalise, and ``running_mean``/``running_var`` move by
    ``momentum`` towards them (``momentum=None``: their plain average over every batch so far,
    counted by ``num_batches_tracked``). Evaluation (``eval()``): the running statistics
    normalise. ``affine`` adds a per-channel ``weight`` (ones) and ``bias`` (zeros);
    ``track_running_stats=False`` keeps no running statistics and always uses the batch's.
    """

    optional_state = ("num_batches_tracked",)  # older PyTorch checkpoints lack it

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device: Any = None,
        dtype: Any = None,
        *,
        bias: bool = True,
    ) -> None:
        super().__init__()
        check_device(device)
        if (
            isinstance(num_features, bool)
            or not isinstance(num_features, int | np.integer)
            or num_features < 1
        ):
            raise ValueError(f"num_features must be an int >= 1, got {num_features!r}")
        if momentum is not None and (
            isinstance(momentum, bool) or not isinstance(momentum, Number) or not 0 <= momentum <= 1
        ):
            raise ValueError(f"momentum must be a number in [0, 1] or None, got {momentum!r}")
        self.num_features = int(num_features)
        self.eps = _eps(eps)
        self.momentum = None if momentum is None else float(momentum)
        self.affine = _flag(affine, "affine")
        self.track_running_stats = _flag(track_running_stats, "track_running_stats")
        name = dtype_name(dtype)
        n = self.num_features
        if self.affine:
            self.weight = Parameter(from_numpy(np.ones(n, dtype=name)))
        else:
            self.register_parameter("weight", None)
        if self.affine and _flag(bias, "bias"):
            self.bias = Parameter(from_numpy(np.zeros(n, dtype=name)))
        else:
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", from_numpy(np.zeros(n, dtype=name)))
            self.register_buffer("running_var", from_numpy(np.ones(n, dtype=name)))
            self.register_buffer("num_batches_tracked", from_numpy(np.array(0, dtype=np.int64)))
        else:
            for buffer in ("running_mean", "running_var", "num_batches_tracked"):
                self.register_buffer(buffer, None)
        self._dtype = name

    @property
    def dtype(self) -> str:
        for array in (self.weight, self.running_mean):
            if array is not None:
                return array.data.dtype.name
        return self._dtype

    def forward(self, x: Any) -> Tensor:
        x = as_tensor(x, np.dtype(self.dtype))
        shape = x.data.shape
        if len(shape) not in (2, 3):
            raise ValueError(
                f"BatchNorm1d: expected 2-D (N, C) or 3-D (N, C, L) input, got shape {shape}"
            )
        if shape[1] != self.num_features:
            raise ValueError(
                f"BatchNorm1d: input of shape {shape} has {shape[1]} channels (axis 1), the "
                f"layer has num_features={self.num_features}"
            )
        use_batch = self.training or not self.track_running_stats
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data[...] += 1
            bump_version(self.num_batches_tracked)
            if self.momentum is None:  # the average of every batch so far
                factor = 1.0 / float(self.num_batches_tracked.data)
        track = self.training and self.track_running_stats
        return F.batch_norm(
            x,
            self.running_mean if track or not use_batch else None,
            self.running_var if track or not use_batch else None,
            self.weight,
            self.bias,
            use_batch,
            factor,
            self.eps,
        )

    def config(self) -> dict[str, Any]:
        return {
            "num_features": self.num_features,
            "eps": self.eps,
            "momentum": self.momentum,
            "affine": self.affine,
            "track_running_stats": self.track_running_stats,
            "bias": self.bias is not None,
            "dtype": self.dtype,
        }

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
            f"affine={self.affine}, bias={self.bias is not None}, "
            f"track_running_stats={self.track_running_stats}"
        )
