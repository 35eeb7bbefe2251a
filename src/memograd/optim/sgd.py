"""Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay.

The update, exactly as torch.optim.SGD computes it (so the two agree step for step)::

    g = grad (-grad with maximize=True)
    g = g + weight_decay * p
    b = g                                   on the first step
    b = momentum * b + (1 - dampening) * g  afterwards
    g = g + momentum * b  (nesterov)  or  g = b  (plain momentum)
    p = p - lr * g
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from memograd.engine.tensor import bump_version
from memograd.optim.optimizer import (
    Optimizer,
    check_flag,
    check_non_negative,
    checked_rate,
    followed_gradient,
)


class SGD(Optimizer):
    """``SGD(params, lr=0.001, momentum=0, dampening=0, weight_decay=0, nesterov=False,
    maximize=False)``, torch's defaults."""

    state_arrays = ("momentum_buffer",)

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 0.001,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            {
                "lr": lr,
                "momentum": momentum,
                "dampening": dampening,
                "weight_decay": weight_decay,
                "nesterov": nesterov,
                "maximize": maximize,
            },
        )
        self._one_pass_views: list[tuple] | None = None  # fused_step's, made on its first call

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        for name in ("lr", "momentum", "dampening", "weight_decay"):
            check_non_negative(group, name)
        check_flag(group, "nesterov")
        check_flag(group, "maximize")
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(
                "nesterov=True needs momentum > 0 and dampening = 0, got "
                f"momentum={group['momentum']!r}, dampening={group['dampening']!r}"
            )

    def _update(
        self, param: Any, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        # Each line computes what the formula above says, in the parameter's dtype, into the
        # optimizer's scratch buffers (no array is allocated after the first step).
        p, scratch = param.data, self._scratch
        step = followed_gradient(grad, p, scratch, group["maximize"], float(group["weight_decay"]))
        momentum = float(group["momentum"])
        if momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = np.array(step, dtype=p.dtype, copy=True)
            else:
                buffer *= momentum
                buffer += np.multiply(step, 1.0 - float(group["dampening"]), out=scratch(p, 2))
            if group["nesterov"]:
                step = np.add(
                    step, np.multiply(buffer, momentum, out=scratch(p, 2)), out=scratch(p, 2)
                )
            else:
                step = buffer
        p -= np.multiply(step, float(group["lr"]), out=scratch(p, 2))

    def fused_step(self, kernels: Any) -> None:
        """``step()`` as ``mg.compile(step, fuse=True)`` replays it: where no group has momentum,
        weight decay or maximize, each ``p -= lr * grad`` is one pass of ``kernels.sgd_update``
        (bitwise equal to step()'s multiply and subtract); otherwise step() itself. Checked on
        every call, so hyperparameters set between calls are followed.

        The flat views the kernel takes are made once and kept while the groups hold the same
        parameters, each with the same array and the same gradient array (a replay hands the
        same buffers every step), so a call costs one identity check and one kernel call per
        parameter."""
        groups = self.param_groups
        if any(g["momentum"] or g["weight_decay"] or g["maximize"] for g in groups):
            self.step()
            return
        views = self._one_pass_views
        if views is None or not self._views_hold(views):
            views = self._one_pass_views = self._flat_views(kernels.DTYPES)
            if views is None:  # a gradient step() must check or convert: step() does it
                self.step()
                return
        rates = [checked_rate(index, group) for index, group in enumerate(groups)]
        one_pass = kernels.sgd_update
        for param, data, grad, p_flat, g_flat, k in views:
            if grad is not None:
                one_pass(p_flat, g_flat, data.dtype.type(rates[k]))
                bump_version(param)
        self._opt_called = True

    def _views_hold(self, views: list[tuple]) -> bool:
        """Whether ``views`` still describe the groups: the same parameters in the same groups
        (one added with ``add_param_group`` must not be skipped), the same arrays."""
        current = [(k, p) for k, group in enumerate(self.param_groups) for p in group["params"]]
        return len(current) == len(views) and all(
            v[0] is p and v[5] == k and p._data is v[1] and p.grad is v[2]
            for (k, p), v in zip(current, views, strict=True)
        )

    def _flat_views(self, dtypes: tuple[np.dtype, ...]) -> list[tuple] | None:
        """(param, its array, its gradient, both as flat views, group index) for every
        parameter, or None where a gradient is not a contiguous array of its parameter's shape
        and dtype, or that dtype is not one of the kernel's ``dtypes``."""
        views = []
        for k, group in enumerate(self.param_groups):
            for param in group["params"]:
                data, grad = param._data, param.grad
                if grad is None:
                    views.append((param, data, None, None, None, k))
                    continue
                if not (
                    type(grad) is np.ndarray
                    and grad.shape == data.shape
                    and grad.dtype == data.dtype
                    and data.dtype in dtypes
                    and grad.flags.c_contiguous
                    and data.flags.c_contiguous
                ):
                    return None
                self.state.setdefault(param, {})
                views.append((param, data, grad, data.reshape(-1), grad.reshape(-1), k))
        return views
