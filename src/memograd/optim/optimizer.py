"""The ``Optimizer`` base: parameter groups, per-parameter state, ``zero_grad`` and ``step``.

An optimizer only needs objects with two NumPy arrays, ``.data`` and ``.grad`` (None when the
parameter took no part in the loss): memograd Tensors, or anything else shaped like them. Updates
are written *into* ``.data`` in place, so a model keeps the very arrays it was built with and any
view of them (a plot, a saved reference) sees the new values.

The surface copies torch.optim's on purpose (``param_groups``, ``lr`` inside each group,
``zero_grad()``, ``step()``): a PyTorch user should need no documentation, and the tests check
each update against torch.optim number for number.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from memograd.engine.compiler import host_call
from memograd.engine.tensor import Tensor, bump_version


class Optimizer:
    """Base class: subclasses define ``defaults`` and ``_update(param, grad, state, group)``."""

    def __init__(self, params: Iterable[Any], defaults: Mapping[str, Any]) -> None:
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[int, dict[str, Any]] = {}
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty list of parameters")
        if not isinstance(groups[0], Mapping):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: Mapping[str, Any]) -> None:
        """Add parameters with their own hyperparameters (missing ones come from ``defaults``)."""
        if not isinstance(group, Mapping) or "params" not in group:
            raise TypeError("a parameter group must be a dict with a 'params' entry")
        params = group["params"]
        params = [params] if hasattr(params, "data") else list(params)
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for index, param in enumerate(params):
            data = getattr(param, "data", None)
            if not isinstance(data, np.ndarray):
                raise TypeError(
                    f"parameter {index} is a {type(param).__name__}, expected an object whose "
                    ".data is a NumPy array (a memograd Tensor)"
                )
            if data.dtype.kind != "f":
                raise TypeError(f"parameter {index} has dtype {data.dtype}; it must be floating")
            if id(param) in seen:
                raise ValueError(f"parameter {index} appears in more than one parameter group")
            seen.add(id(param))
        unknown = set(group) - set(self.defaults) - {"params"}
        if unknown:
            raise TypeError(f"{type(self).__name__} has no hyperparameter(s) {sorted(unknown)}")
        full = {**self.defaults, **group, "params": params}
        self._check_hyperparameters(full)
        self.param_groups.append(full)

    @host_call  # a compiled step replays it whole
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of the last backward pass (None, or zeros in place)."""
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none:
                    param.grad = None
                elif param.grad is not None:
                    param.grad[...] = 0

    @host_call  # a compiled step replays it whole, with the gradients its plan computed
    def step(self) -> None:
        """Update every parameter that has a gradient, in place."""
        for group in self.param_groups:
            for param in group["params"]:
                grad = param.grad
                if grad is None:
                    continue
                grad = np.asarray(grad)
                if grad.shape != param.data.shape:
                    raise ValueError(
                        f"gradient of shape {grad.shape} for a parameter of shape "
                        f"{param.data.shape}"
                    )
                self._update(param, grad, self.state.setdefault(id(param), {}), group)
                if isinstance(param, Tensor):
                    bump_version(param)  # a graph that saved the old values must not backprop

    def _update(
        self, param: Any, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        raise NotImplementedError

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        check_non_negative(group, "lr")

    def state_dict(self) -> dict[str, Any]:
        """Hyperparameters and per-parameter state, parameters named by their position."""
        index = {id(p): i for i, p in enumerate(p for g in self.param_groups for p in g["params"])}
        return {
            "param_groups": [
                {
                    **{k: v for k, v in g.items() if k != "params"},
                    "params": [index[id(p)] for p in g["params"]],
                }
                for g in self.param_groups
            ],
            "state": {
                index[key]: {
                    k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s.items()
                }
                for key, s in self.state.items()
                if key in index
            },
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, for the same parameters in the same order."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"state has {len(groups)} parameter groups, this optimizer {len(self.param_groups)}"
            )
        params = [p for g in self.param_groups for p in g["params"]]
        for saved, group in zip(groups, self.param_groups, strict=True):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError("a parameter group in the state has a different size")
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = {}
        for position, entry in state_dict["state"].items():
            param = params[int(position)]
            restored = {
                k: (np.array(v) if isinstance(v, np.ndarray) else v) for k, v in entry.items()
            }
            for key, value in restored.items():
                if isinstance(value, np.ndarray) and value.shape != param.data.shape:
                    raise ValueError(
                        f"state {key!r} of parameter {position} has shape {value.shape}, "
                        f"the parameter {param.data.shape}"
                    )
            self.state[id(param)] = restored

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            settings = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} parameters, {settings}")
        return "\n".join([*lines, ")"])


def check_non_negative(group: Mapping[str, Any], name: str) -> None:
    value = group[name]
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def check_fraction(group: Mapping[str, Any], name: str, value: Any) -> None:
    if not (isinstance(value, int | float | np.floating) and 0.0 <= value < 1.0):
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
