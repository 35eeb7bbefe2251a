"""Adam and AdamW: per-parameter step sizes from running moments of the gradient.

Both follow torch.optim's arithmetic (so the tests can compare step for step)::

    g = grad (-grad with maximize=True)
    g = g + weight_decay * p                    Adam's L2 form
    m = beta1 * m + (1 - beta1) * g             first moment
    v = beta2 * v + (1 - beta2) * g * g         second moment
    p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

AdamW (or ``Adam(..., decoupled_weight_decay=True)``, as in torch) instead shrinks the weights
directly, ``p = p * (1 - lr * weight_decay)``, before the Adam step: decay that is not rescaled
by ``v``, which is why it regularises better (Loshchilov & Hutter, "Decoupled Weight Decay
Regularization").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from memograd.optim.optimizer import (
    Optimizer,
    check_flag,
    check_fraction,
    check_non_negative,
    followed_gradient,
    lerp_,
)

# fused_step's ``v_max`` without amsgrad: an empty array of the parameter's dtype, made once
# per dtype (not per parameter per step).
_NO_MAXIMUM: dict[np.dtype, np.ndarray] = {}


class Adam(Optimizer):
    """``Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
    maximize=False, decoupled_weight_decay=False)``, torch's defaults."""

    decoupled_weight_decay = False  # the class's default; each group has its own setting
    state_arrays = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
    counts_steps = True

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
    ) -> None:
        super().__init__(
            params,
            {
                "lr": lr,
                "betas": tuple(betas),
                "eps": eps,
                "weight_decay": weight_decay,
                "amsgrad": amsgrad,
                "maximize": maximize,
                "decoupled_weight_decay": decoupled_weight_decay,
            },
        )

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        for name in ("lr", "eps", "weight_decay"):
            check_non_negative(group, name)
        for name in ("amsgrad", "maximize", "decoupled_weight_decay"):
            check_flag(group, name)
        betas = group["betas"]
        if not isinstance(betas, tuple | list) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        check_fraction(group, "beta1", betas[0])
        check_fraction(group, "beta2", betas[1])

    def _required_state(self, group: Mapping[str, Any]) -> set[str]:
        needed = {"step", "exp_avg", "exp_avg_sq"}
        return needed | {"max_exp_avg_sq"} if group["amsgrad"] else needed

    def _update(
        self, param: Any, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        # The formula above, in the parameter's dtype, into the optimizer's scratch buffers.
        p, scratch = param.data, self._scratch
        lr, eps, decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = map(float, group["betas"])
        if not state:
            state["step"] = 0
            state["exp_avg"] = np.zeros_like(p)
            state["exp_avg_sq"] = np.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = np.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        decoupled = group["decoupled_weight_decay"]
        if decay and decoupled:
            p *= 1.0 - lr * decay
        grad = followed_gradient(grad, p, scratch, group["maximize"], 0.0 if decoupled else decay)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        lerp_(m, grad, 1.0 - beta1, scratch(p, 2))  # torch's lerp, for the same rounding
        v *= beta2
        squared = np.multiply(grad, 1.0 - beta2, out=scratch(p, 2))
        squared *= grad
        v += squared
        if group["amsgrad"]:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        step_size = lr / (1.0 - beta1**t)
        denominator = np.sqrt(v, out=scratch(p, 2))
        denominator /= (1.0 - beta2**t) ** 0.5  # ** 0.5 as torch, not sqrt
        denominator += eps
        update = np.divide(m, denominator, out=denominator)
        update *= step_size
        p -= update

    def fused_step(self, kernels: Any) -> None:
        """``step()`` as ``mg.compile(step, fuse=True)`` replays it: each parameter's whole
        update is one pass of ``kernels.adam_update`` over flat views, the same operations in
        the same order as :meth:`_update`'s NumPy calls (bitwise equal); a parameter whose
        state is not made yet, or whose arrays are not contiguous in its dtype, takes
        :meth:`_update`."""
        one_pass = kernels.adam_update

        def update(param: Any, grad: np.ndarray, state: dict, group: dict) -> None:
            p = param.data
            if not (
                state
                and grad.dtype == p.dtype
                and p.dtype in kernels.DTYPES
                and p.flags.c_contiguous
                and grad.flags.c_contiguous
                and state["exp_avg"].flags.c_contiguous
                and state["exp_avg_sq"].flags.c_contiguous
            ):
                self._update(param, grad, state, group)
                return
            state["step"] += 1
            t = state["step"]
            cast = p.dtype.type
            lr, eps, decay = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
            beta1, beta2 = map(float, group["betas"])
            decoupled = group["decoupled_weight_decay"]
            w = cast(1.0 - beta1)
            if group["amsgrad"]:
                v_max = state["max_exp_avg_sq"].reshape(-1)
            else:
                v_max = _NO_MAXIMUM.get(p.dtype)
                if v_max is None:
                    v_max = _NO_MAXIMUM[p.dtype] = np.empty(0, p.dtype)
            one_pass(
                p.reshape(-1),
                grad.reshape(-1),
                state["exp_avg"].reshape(-1),
                state["exp_avg_sq"].reshape(-1),
                v_max,
                cast(1.0 - lr * decay) if decay and decoupled else cast(1.0),
                bool(group["maximize"]),
                cast(0.0 if decoupled else decay),
                w,
                bool(abs(w) < 0.5),
                cast(beta2),
                cast(1.0 - beta2),
                cast((1.0 - beta2**t) ** 0.5),
                cast(eps),
                cast(lr / (1.0 - beta1**t)),
            )

        self._apply(update)


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
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )
