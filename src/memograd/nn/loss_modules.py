"""The loss modules: ``nn.CrossEntropyLoss()(logits, targets)`` as PyTorch writes them.

Each holds its settings (and, as PyTorch's, its ``weight``/``pos_weight`` as buffers) and calls
the loss function of :mod:`memograd.nn.losses`; ``criterion(input, target)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from memograd.engine.tensor import Tensor, check_reduction
from memograd.nn import losses
from memograd.nn.module import Module, register_module


def _optional_array(value: Any, name: str) -> np.ndarray | None:
    """A copy in float64 (the loss casts it to the input's dtype; float64 loses nothing)."""
    if value is None:
        return None
    array = np.array(value.data if isinstance(value, Tensor) else value)
    if array.dtype == object or array.dtype.kind not in "fiub":
        raise TypeError(f"{name} must be numbers, got dtype {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} holds a value that is not finite")
    return array.astype(np.float64)


class _Loss(Module):
    """Common to the losses: ``reduction`` ("mean", "sum" or "none"), checked once."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        check_reduction(reduction, type(self).__name__)
        self.reduction = reduction

    def _weights(self, **arrays: Any) -> None:
        for name, value in arrays.items():
            self.register_buffer(name, _optional_array(value, f"{type(self).__name__}: {name}"))

    def _shape_of(self, name: str) -> list[int] | None:
        value = getattr(self, name)
        return None if value is None else list(value.shape)

    @classmethod
    def _with_placeholders(cls, config: Mapping[str, Any], names: tuple[str, ...]) -> _Loss:
        """Rebuild from a config whose weights are their shapes (the values come from the
        state dict, loaded next)."""
        settings = dict(config)
        for name in names:
            shape = settings.get(name)
            if shape is not None:
                if not isinstance(shape, list):
                    raise TypeError(f"{name} must be a shape (a list) or null, got {shape!r}")
                settings[name] = np.ones(shape)
        return cls(**settings)


@register_module
class CrossEntropyLoss(_Loss):
    """:func:`memograd.nn.functional.cross_entropy` with its settings: ``weight`` (one per
    class), ``ignore_index``, ``reduction``, ``label_smoothing``."""

    def __init__(
        self,
        weight: Any = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> None:
        super().__init__(reduction)
        self._weights(weight=weight)
        self.ignore_index = losses.check_ignore_index(ignore_index, "CrossEntropyLoss")
        self.label_smoothing = losses.check_label_smoothing(label_smoothing, "CrossEntropyLoss")

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return losses.cross_entropy(
            input,
            target,
            self.weight,
            ignore_index=self.ignore_index,
            reduction=self.reduction,
            label_smoothing=self.label_smoothing,
        )

    def config(self) -> dict[str, Any]:
        return {
            "weight": self._shape_of("weight"),
            "ignore_index": self.ignore_index,
            "reduction": self.reduction,
            "label_smoothing": self.label_smoothing,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CrossEntropyLoss:
        return cls._with_placeholders(config, ("weight",))


@register_module
class NLLLoss(_Loss):
    """:func:`memograd.nn.functional.nll_loss`: log-probabilities (``LogSoftmax``'s output) in."""

    def __init__(self, weight: Any = None, ignore_index: int = -100, reduction: str = "mean"):
        super().__init__(reduction)
        self._weights(weight=weight)
        self.ignore_index = losses.check_ignore_index(ignore_index, "NLLLoss")

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return losses.nll_loss(
            input, target, self.weight, ignore_index=self.ignore_index, reduction=self.reduction
        )

    def config(self) -> dict[str, Any]:
        return {
            "weight": self._shape_of("weight"),
            "ignore_index": self.ignore_index,
            "reduction": self.reduction,
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> NLLLoss:
        return cls._with_placeholders(config, ("weight",))


@register_module
class BCEWithLogitsLoss(_Loss):
    """:func:`memograd.nn.functional.binary_cross_entropy_with_logits` with ``weight`` (per
    element, broadcast) and ``pos_weight`` (per class, along the last axis)."""

    def __init__(self, weight: Any = None, reduction: str = "mean", pos_weight: Any = None):
        super().__init__(reduction)
        self._weights(weight=weight, pos_weight=pos_weight)

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return losses.binary_cross_entropy_with_logits(
            input, target, self.weight, reduction=self.reduction, pos_weight=self.pos_weight
        )

    def config(self) -> dict[str, Any]:
        return {
            "weight": self._shape_of("weight"),
            "reduction": self.reduction,
            "pos_weight": self._shape_of("pos_weight"),
        }

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BCEWithLogitsLoss:
        return cls._with_placeholders(config, ("weight", "pos_weight"))


@register_module
class MSELoss(_Loss):
    """:func:`memograd.nn.functional.mse_loss`: the mean (or sum) of squared differences."""

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return losses.mse_loss(input, target, reduction=self.reduction)

    def config(self) -> dict[str, Any]:
        return {"reduction": self.reduction}


@register_module
class L1Loss(_Loss):
    """:func:`memograd.nn.functional.l1_loss`: the mean (or sum) of absolute differences."""

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return losses.l1_loss(input, target, reduction=self.reduction)

    def config(self) -> dict[str, Any]:
        return {"reduction": self.reduction}


@register_module
class HuberLoss(_Loss):
    """:func:`memograd.nn.functional.huber_loss`: squared below ``delta``, linear above."""

    def __init__(self, reduction: str = "mean", delta: float = 1.0) -> None:
        super().__init__(reduction)
        self.delta = losses.check_delta(delta, "HuberLoss")

    def forward(self, input: Any, target: Any) -> Tensor:  # noqa: A002
        return losses.huber_loss(input, target, reduction=self.reduction, delta=self.delta)

    def config(self) -> dict[str, Any]:
        return {"reduction": self.reduction, "delta": self.delta}


LOSSES = (CrossEntropyLoss, NLLLoss, BCEWithLogitsLoss, MSELoss, L1Loss, HuberLoss)
