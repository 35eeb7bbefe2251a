"""RMSprop: divide each step by a running root mean square of the gradient.

The update, in torch.optim.RMSprop's order (so the two agree step for step)::

    g = grad (-grad with maximize=True)
    g = g + weight_decay * p
    s = alpha * s + (1 - alpha) * g * g                  running mean of the squared gradient
    a = alpha * a + (1 - alpha) * g                      centered=True: running mean gradient
    d = sqrt(s - a * a) + eps   (centered)   or   sqrt(s) + eps
    b = momentum * b + g / d;  p = p - lr * b            momentum > 0
    p = p - lr * g / d                                   otherwise

Tieleman & Hinton's lecture 6.5; ``centered`` is Graves' variant ("Generating Sequences With
Recurrent Neural Networks"), which normalises by an estimate of the variance instead of the
raw second moment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from memograd.optim.optimizer import (
    Optimizer,
    check_flag,
    check_non_negative,
    followed_gradient,
    lerp_,
)


class RMSprop(Optimizer):
    """``RMSprop(params, lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0,
    centered=False, maximize=False)``, torch's defaults."""

    state_arrays = ("square_avg", "momentum_buffer", "grad_avg")
    counts_steps = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            {
                "lr": lr,
                "momentum": momentum,
                "alpha": alpha,
                "eps": eps,
                "centered": centered,
                "weight_decay": weight_decay,
                "maximize": maximize,
            },
        )

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        for name in ("lr", "alpha", "eps", "weight_decay", "momentum"):
            check_non_negative(group, name)
        for name in ("centered", "maximize"):
            check_flag(group, name)

    def _required_state(self, group: Mapping[str, Any]) -> set[str]:
        needed = {"step", "square_avg"}
        if group["momentum"] > 0:
            needed.add("momentum_buffer")
        if group["centered"]:
            needed.add("grad_avg")
        return needed

    def _update(
        self, param: Any, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        # The update in the parameter's dtype, into the optimizer's scratch buffers.
        p, scratch = param.data, self._scratch
        alpha, momentum = float(group["alpha"]), float(group["momentum"])
        if not state:
            state["step"] = 0
            state["square_avg"] = np.zeros_like(p)
            if momentum > 0:
                state["momentum_buffer"] = np.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p)
        state["step"] += 1
        grad = followed_gradient(grad, p, scratch, group["maximize"], float(group["weight_decay"]))
        square_avg = state["square_avg"]
        square_avg *= alpha
        squared = np.multiply(grad, 1.0 - alpha, out=scratch(p, 2))
        squared *= grad
        square_avg += squared
        denominator = scratch(p, 2)
        if group["centered"]:
            grad_avg = state["grad_avg"]
            lerp_(grad_avg, grad, 1.0 - alpha, denominator)
            np.multiply(grad_avg, grad_avg, out=denominator)
            np.subtract(square_avg, denominator, out=denominator)
            np.sqrt(denominator, out=denominator)
        else:
            np.sqrt(square_avg, out=denominator)
        denominator += float(group["eps"])
        update = np.divide(grad, denominator, out=denominator)
        if momentum > 0:
            buffer = state["momentum_buffer"]
            buffer *= momentum
            buffer += update
            update = np.multiply(buffer, float(group["lr"]), out=denominator)
        else:
            update *= float(group["lr"])
        p -= update
