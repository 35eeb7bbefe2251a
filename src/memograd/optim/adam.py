"""Adam and AdamW: per-parameter step sizes from running moments of the gradient.

Both follow torch.optim's arithmetic (so the tests can compare step for step)::

    g = grad (+ weight_decay * p for Adam's L2 form)
    m = beta1 * m + (1 - beta1) * g             first moment
    v = beta2 * v + (1 - beta2) * g * g         second moment
    p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

AdamW instead shrinks the weights directly, ``p = p * (1 - lr * weight_decay)``, before the Adam
step: decay that is not rescaled by ``v``, which is why it regularises better (Loshchilov &
Hutter, "Decoupled Weight Decay Regularization").
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from memograd.optim.optimizer import Optimizer, check_fraction, check_non_negative


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False)``."""

    decoupled_weight_decay = False

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(
            params,
            {
                "lr": lr,
                "betas": tuple(betas),
                "eps": eps,
                "weight_decay": weight_decay,
                "amsgrad": amsgrad,
            },
        )

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        for name in ("lr", "eps", "weight_decay"):
            check_non_negative(group, name)
        betas = group["betas"]
        if len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        check_fraction(group, "beta1", betas[0])
        check_fraction(group, "beta2", betas[1])

    def _update(
        self, param: Any, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        p = param.data
        lr, eps, decay = group["lr"], group["eps"], group["weight_decay"]
        beta1, beta2 = group["betas"]
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        if decay and self.decoupled_weight_decay:
            p *= 1.0 - lr * decay
        elif decay:
            grad = grad + decay * p
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1.0 - beta1) * (grad - m)  # the same lerp torch uses, for the same rounding
        v *= beta2
        v += (1.0 - beta2) * grad * grad
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        step_size = lr / (1.0 - beta1**t)
        denominator = np.sqrt(v) / math.sqrt(1.0 - beta2**t) + eps
        p -= step_size * (m / denominator)


class AdamW(Adam):
    """Adam with decoupled weight decay; ``weight_decay`` defaults to 0.01 as in torch."""

    decoupled_weight_decay = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.01,
        amsgrad: bool = False,
    ) -> None:
        super().__init__(
            params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad
        )
