"""``ReduceLROnPlateau``: lower the rates when a metric stops improving."""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from memograd.engine.tensor import Tensor
from memograd.optim.lr_scheduler.base import (
    EPOCH_WARNING,
    LRScheduler,
    checked_optimizer,
    is_number,
    non_negative_number,
    per_group_values,
    whole_number,
)
from memograd.optim.optimizer import Optimizer


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` when a metric has stopped improving for ``patience``
    epochs: ``scheduler.step(val_loss)`` once per epoch.

    ``mode="min"`` (a loss) or ``"max"`` (an accuracy); an improvement must beat the best so
    far by ``threshold``, relative (``"rel"``) or absolute (``"abs"``); after a reduction,
    ``cooldown`` epochs pass before bad epochs count again; no rate goes below ``min_lr``, and a
    change smaller than ``eps`` is not made. A NaN metric counts as no improvement.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0,
        eps: float = 1e-8,
    ) -> None:
        self.optimizer = checked_optimizer(optimizer, "ReduceLROnPlateau")
        if not (is_number(factor) and 0 <= factor < 1):
            raise ValueError(f"factor must be a number in [0, 1), got {factor!r}")
        self.factor = factor
        if isinstance(min_lr, list | tuple):
            self.default_min_lr = None
            self.min_lrs = per_group_values(min_lr, "min_lr", optimizer)
        else:
            self.default_min_lr = non_negative_number(min_lr, "min_lr")
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        for value in self.min_lrs:
            non_negative_number(value, "min_lr")
        self.patience = whole_number(patience, "patience")
        self.cooldown = whole_number(cooldown, "cooldown")
        self.eps = non_negative_number(eps, "eps")
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self._init_is_better(mode, threshold, threshold_mode)
        self._reset()

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = non_negative_number(threshold, "threshold")
        self.threshold_mode = threshold_mode

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, current: float, best: float) -> bool:
        """Whether ``current`` improves on ``best`` by more than the threshold."""
        if self.threshold_mode == "rel":
            scale = 1.0 - self.threshold if self.mode == "min" else self.threshold + 1.0
            return current < best * scale if self.mode == "min" else current > best * scale
        if self.mode == "min":
            return current < best - self.threshold
        return current > best + self.threshold

    def step(self, metrics: Any, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record this epoch's metric; reduce the rates after ``patience`` epochs without gain."""
        current = _metric(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(EPOCH_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise ValueError(
                    f"the optimizer has {len(groups)} parameter groups, but min_lr was given "
                    f"for {len(self.min_lrs)}; set scheduler.min_lrs to one rate per group"
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, floor in zip(groups, self.min_lrs, strict=True):
            old = float(group["lr"])
            new = max(old * self.factor, floor)
            if old - new > self.eps:
                group["lr"] = new

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)


def _metric(metrics: Any) -> float:
    if isinstance(metrics, Tensor):
        metrics = metrics.item()
    elif isinstance(metrics, np.ndarray) and metrics.size == 1:
        metrics = metrics.item()
    if isinstance(metrics, bool) or not is_number(metrics):
        raise TypeError(
            f"ReduceLROnPlateau.step expects the metric as a number, got {metrics!r:.60}"
        )
    return float(metrics)
