"""The schedules of the epoch: ``LambdaLR``, ``StepLR``, ``ExponentialLR``, ``CosineAnnealingLR``.

Step, exponential and cosine are chainable, as torch's are: each step works from the rate the
group has now, so two schedules compose and a rate set by hand is carried on; their closed
forms serve ``step(epoch)``. ``LambdaLR`` is ``initial_lr * lr_lambda(epoch)``, always.
"""

from __future__ import annotations

import copy
import math
import types
from collections.abc import Callable, Sequence
from typing import Any

from memograd.optim.lr_scheduler.base import (
    LRScheduler,
    checked_optimizer,
    is_number,
    positive_number,
)
from memograd.optim.optimizer import Optimizer


class LambdaLR(LRScheduler):
    """``lr = initial_lr * lr_lambda(epoch)``; one function, or one per parameter group.

    In the saved state a plain function is None (code is never saved), as in torch; a callable
    object contributes its attributes.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
        last_epoch: int = -1,
    ) -> None:
        checked_optimizer(optimizer, "LambdaLR")
        count = len(optimizer.param_groups)
        if isinstance(lr_lambda, list | tuple):
            if len(lr_lambda) != count:
                raise ValueError(
                    f"expected {count} lr_lambdas (one per parameter group), got {len(lr_lambda)}"
                )
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * count
        for i, function in enumerate(self.lr_lambdas):
            if not callable(function):
                raise TypeError(f"lr_lambda {i} is a {type(function).__name__}, not a function")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_called_outside_step()
        return [
            base * _factor(function(self.last_epoch), self.last_epoch)
            for function, (base, _) in zip(self.lr_lambdas, self._bases(), strict=True)
        ]

    def state_dict(self) -> dict[str, Any]:
        state = {
            k: copy.deepcopy(v)
            for k, v in vars(self).items()
            if k not in ("optimizer", "lr_lambdas")
        }
        state["lr_lambdas"] = [
            None if isinstance(f, types.FunctionType) else copy.deepcopy(vars(f))
            for f in self.lr_lambdas
        ]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        saved = state_dict.get("lr_lambdas") if isinstance(state_dict, dict) else None
        if not isinstance(saved, list | tuple) or len(saved) != len(self.lr_lambdas):
            raise ValueError(
                f"the state's 'lr_lambdas' is {saved!r:.60}, expected a list of "
                f"{len(self.lr_lambdas)} entries (one per parameter group)"
            )
        for i, (function, attributes) in enumerate(zip(self.lr_lambdas, saved, strict=True)):
            if attributes is not None and (
                isinstance(function, types.FunctionType) or not isinstance(attributes, dict)
            ):
                raise ValueError(
                    f"the state's lr_lambdas[{i}] is {attributes!r:.60}, which does not fit "
                    f"lr_lambda {i} (a {type(function).__name__})"
                )
        rest = {k: v for k, v in state_dict.items() if k != "lr_lambdas"}
        self._restore(rest, set(self.state_dict()) - {"lr_lambdas"})
        for function, attributes in zip(self.lr_lambdas, saved, strict=True):
            if attributes is not None:
                vars(function).update(copy.deepcopy(attributes))


class StepLR(LRScheduler):
    """Multiply the rate by ``gamma`` every ``step_size`` epochs: base * gamma**(t // s)."""

    def __init__(
        self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1
    ) -> None:
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be an int >= 1, got {step_size!r}")
        self.step_size = step_size
        self.gamma = positive_number(gamma, "gamma")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_called_outside_step()
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma ** (self.last_epoch // self.step_size) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """Multiply the rate by ``gamma`` every epoch: base * gamma**t."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = positive_number(gamma, "gamma")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_called_outside_step()
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def _get_closed_form_lr(self) -> list[float]:
        return [base * self.gamma**self.last_epoch for base in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """Half a cosine from the base rate down to ``eta_min`` over ``T_max`` epochs, then back up.

    The closed form is eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2, the SGDR
    schedule without restarts (Loshchilov & Hutter); each step applies it as torch does, as
    the ratio of two consecutive values of the curve, so a rate changed by hand is carried on.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        T_max: int,  # noqa: N803
        eta_min: float = 0.0,
        last_epoch: int = -1,
    ) -> None:
        if isinstance(T_max, bool) or not isinstance(T_max, int) or T_max < 1:
            raise ValueError(f"T_max must be an int >= 1, got {T_max!r}")
        if not (is_number(eta_min) and math.isfinite(eta_min) and eta_min >= 0):
            raise ValueError(f"eta_min must be a finite number >= 0, got {eta_min!r}")
        self.T_max = T_max
        self.eta_min = float(eta_min)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float]:
        self._warn_if_called_outside_step()
        t, period, low = self.last_epoch, self.T_max, self.eta_min
        groups = self.optimizer.param_groups
        if self._is_initial:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and t > 0:
            return [
                low + (base - low) * (1 + math.cos(t * math.pi / period)) / 2
                for base, _ in self._bases()
            ]
        if (t - 1 - period) % (2 * period) == 0:  # the bottom of the curve: the ratio is 0/0
            return [
                group["lr"] + (base - low) * (1 - math.cos(math.pi / period)) / 2
                for base, group in self._bases()
            ]
        return [
            (1 + math.cos(math.pi * t / period))
            / (1 + math.cos(math.pi * (t - 1) / period))
            * (group["lr"] - low)
            + low
            for group in groups
        ]

    def _get_closed_form_lr(self) -> list[float]:
        low = self.eta_min
        cosine = (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
        return [low + (base - low) * cosine for base in self.base_lrs]


def _factor(value: Any, epoch: int) -> float:
    if not is_number(value):
        raise TypeError(f"LambdaLR: lr_lambda({epoch}) returned {value!r:.60}, not a number")
    return value
