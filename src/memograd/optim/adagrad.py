"""Adagrad: per-coordinate step sizes that shrink with the sum of all past squared gradients.

The update, in torch.optim.Adagrad's order (so the two agree step for step)::

    t = t + 1
    g = grad (-grad with maximize=True)
    g = g + weight_decay * p
    lr_t = lr / (1 + (t - 1) * lr_decay)
    s = s + g * g                    s starts at initial_accumulator_value
    p = p - lr_t * g / (sqrt(s) + eps)

Duchi, Hazan & Singer, "Adaptive Subgradient Methods". As in torch, the accumulator exists
from the start (``state_dict()`` shows it before the first step); here a group added later gets
its accumulator when it is added (torch's, on its first step). Unlike torch, a group's own
``initial_accumulator_value`` is honoured, as any other hyperparameter of a group is: torch
fills every accumulator with the constructor's value, whatever the group says.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from memograd.optim.optimizer import (
    Optimizer,
    check_flag,
    check_non_negative,
    followed_gradient,
)


class Adagrad(Optimizer):
    """``Adagrad(params, lr=0.01, lr_decay=0, weight_decay=0, initial_accumulator_value=0,
    eps=1e-10, maximize=False)``, torch's defaults."""

    state_arrays = ("sum",)
    counts_steps = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.01,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            {
                "lr": lr,
                "lr_decay": lr_decay,
                "eps": eps,
                "weight_decay": weight_decay,
                "initial_accumulator_value": initial_accumulator_value,
                "maximize": maximize,
            },
        )

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        for name in ("lr", "lr_decay", "eps", "weight_decay", "initial_accumulator_value"):
            check_non_negative(group, name)
        check_flag(group, "maximize")

    def _required_state(self, group: dict[str, Any]) -> set[str]:
        return {"step", "sum"}

    def _init_state(self, group: dict[str, Any]) -> None:
        for param in group["params"]:
            self.state[param] = {
                "step": 0,
                "sum": np.full_like(param.data, group["initial_accumulator_value"]),
            }

    def _update(
        self, param: Any, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        p, scratch = param.data, self._scratch
        if not state:  # the state was loaded without this parameter's entry
            state.update(step=0, sum=np.full_like(p, group["initial_accumulator_value"]))
        state["step"] += 1
        grad = followed_gradient(grad, p, scratch, group["maximize"], float(group["weight_decay"]))
        rate = float(group["lr"]) / (1 + (state["step"] - 1) * float(group["lr_decay"]))
        accumulated = state["sum"]
        squared = np.multiply(grad, grad, out=scratch(p, 2))
        accumulated += squared
        denominator = np.sqrt(accumulated, out=scratch(p, 2))
        denominator += float(group["eps"])
        update = np.divide(grad, denominator, out=denominator)
        update *= rate
        p -= update
