"""``OneCycleLR``: the 1cycle policy, a function of the batch count, stepped after every batch."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from memograd.optim.lr_scheduler.base import (
    LRScheduler,
    checked_optimizer,
    is_number,
    per_group_values,
    positive_count,
    positive_number,
)
from memograd.optim.optimizer import Optimizer


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin, "Super-Convergence"), stepped after every batch.

    The rate climbs from ``max_lr / div_factor`` to ``max_lr`` over the first ``pct_start`` of
    ``total_steps`` (or ``epochs * steps_per_epoch``), then anneals to ``initial_lr /
    final_div_factor``; with ``cycle_momentum`` the momentum (SGD, RMSprop) or beta1 (Adam)
    moves the opposite way between ``max_momentum`` and ``base_momentum``. ``three_phase``
    comes back to the starting rate before annealing. Stepping past ``total_steps`` raises.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        max_lr: float | Sequence[float],
        total_steps: int | None = None,
        epochs: int | None = None,
        steps_per_epoch: int | None = None,
        pct_start: float = 0.3,
        anneal_strategy: str = "cos",
        cycle_momentum: bool = True,
        base_momentum: float | Sequence[float] = 0.85,
        max_momentum: float | Sequence[float] = 0.95,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        three_phase: bool = False,
        last_epoch: int = -1,
    ) -> None:
        checked_optimizer(optimizer, "OneCycleLR")
        if total_steps is not None:
            self.total_steps = positive_count(total_steps, "total_steps")
        elif epochs is not None and steps_per_epoch is not None:
            per_epoch = positive_count(steps_per_epoch, "steps_per_epoch")
            self.total_steps = positive_count(epochs, "epochs") * per_epoch
        else:
            raise ValueError("give total_steps, or both epochs and steps_per_epoch")
        if not (is_number(pct_start) and 0 <= pct_start <= 1):
            raise ValueError(f"pct_start must be a number in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        div_factor = positive_number(div_factor, "div_factor")
        final_div_factor = positive_number(final_div_factor, "final_div_factor")
        total = self.total_steps
        if three_phase:
            self._schedule_phases = [
                _phase(float(pct_start * total) - 1, "initial_lr", "max_lr", "max", "base"),
                _phase(float(2 * pct_start * total) - 2, "max_lr", "initial_lr", "base", "max"),
                _phase(total - 1, "initial_lr", "min_lr", "max", "max"),
            ]
        else:
            self._schedule_phases = [
                _phase(float(pct_start * total) - 1, "initial_lr", "max_lr", "max", "base"),
                _phase(total - 1, "max_lr", "min_lr", "base", "max"),
            ]
        self._anneal_func_type = anneal_strategy
        max_lrs = per_group_values(max_lr, "max_lr", optimizer)
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group, top in zip(groups, max_lrs, strict=True):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        if not isinstance(cycle_momentum, bool):
            raise TypeError(f"cycle_momentum must be True or False, got {cycle_momentum!r}")
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError(
                    f"cycle_momentum=True needs an optimizer with momentum or betas; "
                    f"{type(optimizer).__name__} has neither (pass cycle_momentum=False)"
                )
            self.use_beta1 = "betas" in optimizer.defaults
            tops = per_group_values(max_momentum, "max_momentum", optimizer)
            bottoms = per_group_values(base_momentum, "base_momentum", optimizer)
            if last_epoch == -1:
                for group, top, bottom in zip(groups, tops, bottoms, strict=True):
                    self._set_momentum(group, top)
                    group["max_momentum"] = top
                    group["base_momentum"] = bottom
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict[str, Any], value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, fraction: float) -> float:
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * fraction) + 1)
        return (end - start) * fraction + start

    def get_lr(self) -> list[float]:
        self._warn_if_called_outside_step()
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(
                f"OneCycleLR stepped {step} times, past its total_steps={self.total_steps}"
            )
        rates = []
        last = len(self._schedule_phases) - 1
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end = phase["end_step"]
                if step <= end or i == last:
                    fraction = (step - start) / (end - start)
                    rate = self._anneal(group[phase["start_lr"]], group[phase["end_lr"]], fraction)
                    if self.cycle_momentum:
                        momentum = self._anneal(
                            group[phase["start_momentum"]], group[phase["end_momentum"]], fraction
                        )
                    break
                start = end
            rates.append(rate)
            if self.cycle_momentum:
                self._set_momentum(group, momentum)
        return rates


def _phase(end: float, start_lr: str, end_lr: str, start_m: str, end_m: str) -> dict[str, Any]:
    return {
        "end_step": end,
        "start_lr": start_lr,
        "end_lr": end_lr,
        "start_momentum": f"{start_m}_momentum",
        "end_momentum": f"{end_m}_momentum",
    }
