"""Learning-rate schedules: set each group's ``lr`` from the epoch count, once per ``step()``.

As in torch, building a scheduler records each group's starting ``lr`` and ``step()`` is called
once per epoch, after the optimizer's steps. Both schedules here are closed forms of the epoch,
so resuming at any epoch gives the same rate as running up to it.
"""

from __future__ import annotations

import math

from memograd.optim.optimizer import Optimizer


class LRScheduler:
    """Base class: subclasses give ``rate(base_lr, epoch)``."""

    def __init__(self, optimizer: Optimizer) -> None:
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"expected a memograd optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lrs = [
            group.setdefault("initial_lr", group["lr"]) for group in optimizer.param_groups
        ]
        self.last_epoch = 0
        self._apply()

    def rate(self, base_lr: float, epoch: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and write the new rate into every parameter group."""
        self.last_epoch += 1
        self._apply()

    def get_last_lr(self) -> list[float]:
        return [group["lr"] for group in self.optimizer.param_groups]

    def _apply(self) -> None:
        for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
            group["lr"] = self.rate(base, self.last_epoch)


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs: lr = base * gamma**(t // s)."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be an int >= 1, got {step_size!r}")
        if not (isinstance(gamma, int | float) and math.isfinite(gamma) and gamma > 0):
            raise ValueError(f"gamma must be a finite number > 0, got {gamma!r}")
        self.step_size = step_size
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def rate(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from the base rate down to ``eta_min`` over ``T_max`` epochs.

    lr = eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2, the SGDR schedule without
    restarts (Loshchilov & Hutter).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0) -> None:  # noqa: N803
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"T_max must be an int >= 1, got {T_max!r}")
        if not (isinstance(eta_min, int | float) and math.isfinite(eta_min) and eta_min >= 0):
            raise ValueError(f"eta_min must be a finite number >= 0, got {eta_min!r}")
        self.T_max = T_max
        self.eta_min = float(eta_min)
        super().__init__(optimizer)

    def rate(self, base_lr: float, epoch: int) -> float:
        cosine = (1.0 + math.cos(math.pi * epoch / self.T_max)) / 2.0
        return self.eta_min + (base_lr - self.eta_min) * cosine
