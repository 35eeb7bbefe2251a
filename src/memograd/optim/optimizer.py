"""The ``Optimizer`` base: parameter groups, per-parameter state, ``zero_grad``, ``step``, state.

An optimizer only needs objects with two NumPy arrays, ``.data`` and ``.grad`` (None when the
parameter took no part in the loss): memograd Tensors, or anything else shaped like them. Updates
are written *into* ``.data`` in place, so a model keeps the very arrays it was built with and any
view of them (a plot, a saved reference) sees the new values.

The surface copies torch.optim's on purpose (``param_groups``, ``lr`` inside each group,
``add_param_group``, ``state[p]``, ``zero_grad()``, ``step()``, ``state_dict()`` with parameters
named by their position): a PyTorch user should need no documentation, and the tests check each
update against torch.optim number for number. Where torch accepts something silently wrong
(a misspelt hyperparameter, one parameter listed twice, the state of another optimizer) this
base refuses it, naming the value.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import numpy as np

from memograd.engine.compiler import host_call
from memograd.engine.tensor import Tensor, bump_version

# Keys a learning-rate schedule writes into a parameter group (torch's names): a group may carry
# them, and a saved state may hold them, beside the optimizer's own hyperparameters.
SCHEDULE_KEYS = frozenset({"initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"})
# Keys in torch's saved groups that choose an implementation (fused kernels, CUDA graphs, the
# autograd of the update itself), never the values computed on a CPU: ignored when loading.
TORCH_IMPLEMENTATION_KEYS = frozenset({"foreach", "fused", "capturable", "differentiable"})


class Optimizer:
    """Base class: subclasses pass their ``defaults`` and define ``_update``.

    ``state_arrays`` names the per-parameter arrays a subclass keeps (each shaped like its
    parameter); ``counts_steps`` says whether it keeps a ``step`` count as well. Both describe
    what :meth:`load_state_dict` accepts.
    """

    state_arrays: tuple[str, ...] = ()
    counts_steps = False

    def __init__(self, params: Iterable[Any], defaults: Mapping[str, Any]) -> None:
        name = type(self).__name__
        if hasattr(params, "data") or isinstance(params, Mapping):
            raise TypeError(
                f"{name} expects a list of parameters or of parameter groups (dicts), got a "
                f"{type(params).__name__}"
            )
        if isinstance(params, set | frozenset):
            raise TypeError(
                f"{name} expects the parameters in a list, not a set (a set's order changes "
                "between runs, and the saved state names parameters by position)"
            )
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        # Keyed by the parameter itself, as torch's ``optimizer.state[p]`` (Tensors hash by
        # identity); the groups hold every parameter, so a key never outlives its object.
        self.state: dict[Any, dict[str, Any]] = {}
        self._opt_called = False  # set by step(); a schedule warns when stepped before it
        self._scratch = Scratch()  # the updates' temporaries, kept from step to step
        groups = list(params)
        if not groups:
            raise ValueError(f"{name} got an empty list of parameters")
        if not isinstance(groups[0], Mapping):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    # ---- parameter groups --------------------------------------------------------------------

    def add_param_group(self, param_group: Mapping[str, Any]) -> None:
        """Add parameters with their own hyperparameters (missing ones come from ``defaults``).

        ``params`` is one parameter, a list of them, or a list of ``(name, parameter)`` pairs
        (``model.named_parameters()``), whose names are kept in ``param_names``.
        """
        if not isinstance(param_group, Mapping) or "params" not in param_group:
            raise TypeError(
                f"a parameter group must be a dict with a 'params' entry, got {param_group!r:.80}"
            )
        group_index = len(self.param_groups)
        params, names = _split_names(param_group["params"], group_index)
        if "param_names" in param_group:
            raise TypeError(
                "give parameter names as (name, parameter) pairs in 'params', not as 'param_names'"
            )
        named = [("param_names" in g) for g in self.param_groups]
        if named and (names is not None) != named[0]:
            raise ValueError(
                "all parameter groups must be given with names ((name, parameter) pairs) or "
                f"all without; group {group_index} differs from group 0"
            )
        owner = {id(p): i for i, g in enumerate(self.param_groups) for p in g["params"]}
        seen: dict[int, int] = {}
        for index, param in enumerate(params):
            _check_parameter(param, f"parameter {index} of group {group_index}")
            if id(param) in seen:
                raise ValueError(
                    f"parameter {index} of group {group_index} is parameter {seen[id(param)]} "
                    "again: it would be updated twice per step"
                )
            if id(param) in owner:
                raise ValueError(
                    f"parameter {index} of group {group_index} is already in parameter group "
                    f"{owner[id(param)]}: a parameter appears in more than one parameter group"
                )
            seen[id(param)] = index
        unknown = set(param_group) - set(self.defaults) - SCHEDULE_KEYS - {"params"}
        if unknown:
            raise TypeError(
                f"{type(self).__name__} has no hyperparameter(s) {sorted(unknown)}; its "
                f"hyperparameters are {sorted(self.defaults)}"
            )
        group = {**self.defaults, **param_group, "params": params}
        if names is not None:
            group["param_names"] = names
        self._check_hyperparameters(group)
        self.param_groups.append(group)
        self._init_state(group)

    def _init_state(self, group: dict[str, Any]) -> None:
        """Create state for a new group's parameters up front (most optimizers do it lazily)."""

    # ---- the update --------------------------------------------------------------------------

    @host_call  # a compiled step replays it whole
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of the last backward pass (None, or zeros in place)."""
        for group in self.param_groups:
            for param in group["params"]:
                if set_to_none:
                    param.grad = None
                elif param.grad is not None:
                    np.asarray(param.grad)[...] = 0
                    if isinstance(param.grad, Tensor):
                        bump_version(param.grad)

    @host_call  # a compiled step replays it whole, with the gradients its plan computed
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Update every parameter that has a gradient, in place; returns ``closure()`` if given.

        ``closure`` (torch's protocol) recomputes the loss and its gradients before the update.
        """
        loss = None if closure is None else closure()
        self._apply(self._update)
        return loss

    def _apply(self, update: Callable[[Any, np.ndarray, dict, dict], None]) -> None:
        """``update(param, grad, state, group)`` for every parameter that has a gradient, after
        step()'s checks; each updated tensor's version bumped."""
        state = self.state
        for index, group in enumerate(self.param_groups):
            checked_rate(index, group)
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
                entry = state.get(param)
                if entry is None:
                    entry = state[param] = {}
                update(param, grad, entry, group)
                if isinstance(param, Tensor):
                    bump_version(param)  # a graph that saved the old values must not backprop
        self._opt_called = True

    def _update(
        self, param: Any, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        raise NotImplementedError

    def _check_hyperparameters(self, group: dict[str, Any]) -> None:
        check_non_negative(group, "lr")

    def _required_state(self, group: Mapping[str, Any]) -> set[str]:
        """The state entries a parameter that has taken a step must have, under ``group``."""
        return {"step"} if self.counts_steps else set()

    # ---- saving and restoring ----------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """torch's layout: ``{"state": {index: {...}}, "param_groups": [{..., "params": [...]}]}``.

        Parameters are named by their position across the groups (0, 1, ...), so the state
        fits any optimizer built over the same parameters in the same order. Arrays are copies:
        a saved state does not change as training goes on.
        """
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for param in group["params"]:
                if self.state.get(param):
                    state[index[id(param)]] = {
                        k: (v.copy() if isinstance(v, np.ndarray) else v)
                        for k, v in self.state[param].items()
                    }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned, for the same parameters in the same order.

        Everything is checked before anything changes: the number and sizes of the groups,
        each group's hyperparameters (a state saved by another kind of optimizer is refused),
        each parameter's state entries and their shapes. Arrays are copied and cast to their
        parameter's dtype, as torch does.
        """
        name = type(self).__name__
        if not isinstance(state_dict, Mapping) or set(state_dict) != {"state", "param_groups"}:
            keys = sorted(map(str, state_dict)) if isinstance(state_dict, Mapping) else None
            raise ValueError(
                f"{name}.load_state_dict expects a dict with 'state' and 'param_groups' (what "
                f"state_dict() returns), got {type(state_dict).__name__}"
                + (f" with keys {keys}" if keys is not None else "")
            )
        saved_groups, saved_state = state_dict["param_groups"], state_dict["state"]
        if not isinstance(saved_groups, list | tuple) or not isinstance(saved_state, Mapping):
            raise ValueError("'param_groups' must be a list and 'state' a dict")
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"the state has {len(saved_groups)} parameter groups, this {name} has "
                f"{len(self.param_groups)}"
            )
        groups: list[dict[str, Any]] = []
        by_saved_id: dict[Any, tuple[Any, dict[str, Any]]] = {}
        for g, (saved, current) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            group = self._restored_group(saved, current, g)
            for saved_id, param in zip(saved["params"], current["params"], strict=True):
                if saved_id in by_saved_id:
                    raise ValueError(
                        f"parameter group {g} of the state lists parameter {saved_id!r}, which "
                        "another place in the state lists too"
                    )
                by_saved_id[saved_id] = (param, group)
            groups.append(group)
        state: dict[Any, dict[str, Any]] = {}
        for key, entry in saved_state.items():
            if key not in by_saved_id:
                raise ValueError(
                    f"the state has an entry for parameter {key!r}, which no parameter group "
                    f"lists (they list {sorted(by_saved_id, key=str)})"
                )
            param, group = by_saved_id[key]
            state[param] = self._restored_state(entry, param, group, key)
        for group, current in zip(groups, self.param_groups, strict=True):
            current.clear()
            current.update(group)
        self.state = state

    def _restored_group(self, saved: Any, current: dict[str, Any], g: int) -> dict[str, Any]:
        name = type(self).__name__
        if not isinstance(saved, Mapping) or "params" not in saved:
            raise ValueError(f"parameter group {g} of the state is not a dict with 'params'")
        if not isinstance(saved["params"], list | tuple):
            raise ValueError(f"parameter group {g} of the state: 'params' is not a list")
        if len(saved["params"]) != len(current["params"]):
            raise ValueError(
                f"parameter group {g} of the state has {len(saved['params'])} parameters, this "
                f"{name}'s has {len(current['params'])}"
            )
        keys = set(saved) - {"params", "param_names"} - TORCH_IMPLEMENTATION_KEYS
        unknown = keys - set(self.defaults) - SCHEDULE_KEYS
        if unknown:
            raise ValueError(
                f"parameter group {g} of the state has {sorted(unknown)}, which are not "
                f"hyperparameters of {name} (was it saved by another optimizer?)"
            )
        # Options torch added in later versions: a state saved before them meant their default.
        added_later = {
            "maximize": False,
            "decoupled_weight_decay": getattr(type(self), "decoupled_weight_decay", False),
        }
        missing = set(self.defaults) - keys
        backfill = {k: v for k, v in added_later.items() if k in missing}
        missing -= set(backfill)
        if missing:
            raise ValueError(
                f"parameter group {g} of the state lacks {sorted(missing)} (was it saved by "
                f"another optimizer?)"
            )
        group = {**backfill, **{k: v for k, v in saved.items() if k in keys}}
        group["params"] = current["params"]
        if "param_names" in saved:
            group["param_names"] = list(saved["param_names"])
        elif "param_names" in current:
            group["param_names"] = current["param_names"]
        if isinstance(group.get("betas"), list):
            group["betas"] = tuple(group["betas"])
        try:
            self._check_hyperparameters(group)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"parameter group {g} of the state: {exc}") from None
        return group

    def _restored_state(
        self, entry: Any, param: Any, group: Mapping[str, Any], key: Any
    ) -> dict[str, Any]:
        where = f"the state of parameter {key!r}"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where} is a {type(entry).__name__}, expected a dict")
        allowed = set(self.state_arrays) | ({"step"} if self.counts_steps else set())
        unknown = set(entry) - allowed
        if unknown:
            raise ValueError(
                f"{where} has {sorted(map(str, unknown))}, which {type(self).__name__} does not "
                f"keep (it keeps {sorted(allowed)}); was it saved by another optimizer?"
            )
        restored: dict[str, Any] = {}
        for name, value in entry.items():
            if value is None:  # torch's SGD once saved momentum_buffer=None for "no buffer yet"
                continue
            if name == "step":
                restored[name] = _step_count(value, where)
                continue
            array = np.asarray(value.data if isinstance(value, Tensor) else value)
            if array.shape != param.data.shape:
                raise ValueError(
                    f"{where}: {name!r} has shape {array.shape}, the parameter {param.data.shape}"
                )
            if array.dtype.kind not in "fiub":
                raise ValueError(f"{where}: {name!r} holds {array.dtype} values, not numbers")
            restored[name] = array.astype(param.data.dtype, copy=True)
        if restored:
            missing = self._required_state(group) - set(restored)
            if missing:
                raise ValueError(
                    f"{where} lacks {sorted(missing)}, which {type(self).__name__} needs with "
                    "these hyperparameters"
                )
        return restored

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            settings = ", ".join(
                f"{k}={v}" for k, v in group.items() if k not in ("params", "param_names")
            )
            lines.append(f"  group {i}: {len(group['params'])} parameters, {settings}")
        return "\n".join([*lines, ")"])


def _split_names(params: Any, group_index: int) -> tuple[list[Any], list[str] | None]:
    """A group's parameters as a list, and their names when given as (name, parameter) pairs."""
    if hasattr(params, "data"):
        return [params], None
    if isinstance(params, set | frozenset):
        raise TypeError(
            f"parameter group {group_index}: parameters must be in a list, not a set (a set's "
            "order changes between runs, and the saved state names parameters by position)"
        )
    if isinstance(params, str | bytes | Mapping) or not isinstance(params, Iterable):
        raise TypeError(
            f"parameter group {group_index}: 'params' must be a parameter or a list of them, "
            f"got a {type(params).__name__}"
        )
    params = list(params)
    pairs = [isinstance(p, tuple) for p in params]
    if not any(pairs):
        return params, None
    if not all(pairs) or any(len(p) != 2 or not isinstance(p[0], str) for p in params):
        raise ValueError(
            f"parameter group {group_index}: give every parameter with its name, as "
            "(name, parameter) pairs, or none of them"
        )
    return [p for _, p in params], [n for n, _ in params]


def _check_parameter(param: Any, where: str) -> None:
    data = getattr(param, "data", None)
    if not isinstance(data, np.ndarray):
        raise TypeError(
            f"{where} is a {type(param).__name__}, expected an object whose .data is a NumPy "
            "array (a memograd Tensor)"
        )
    if data.dtype.kind != "f":
        raise TypeError(f"{where} has dtype {data.dtype}; it must be floating")


def _step_count(value: Any, where: str) -> int:
    """A saved step count as an int (torch saves it as a float tensor, such as tensor(3.))."""
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.item()
    if isinstance(value, np.integer | np.floating):
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{where}: 'step' is {value!r}, expected a whole number >= 0")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError(f"{where}: 'step' is {value!r}, expected a whole number >= 0")
    return int(value)


def followed_gradient(
    grad: np.ndarray, p: np.ndarray, scratch: Scratch, maximize: bool, weight_decay: float
) -> np.ndarray:
    """The gradient an update follows: negated for ``maximize``, then plus ``weight_decay * p``
    (L2 decay coupled to the gradient, torch's order), in scratch slots 0 and 1."""
    if maximize:
        grad = np.negative(grad, out=scratch(p, 0))
    if weight_decay:
        decayed = np.multiply(p, weight_decay, out=scratch(p, 1))
        grad = np.add(grad, decayed, out=decayed)
    return grad


def lerp_(start: np.ndarray, end: np.ndarray, weight: float, scratch: np.ndarray) -> None:
    """``start += weight * (end - start)`` in place, rounded as torch's ``lerp_`` rounds.

    torch switches formula at weight 0.5 so that both ends are exact; the weight is cast to the
    array's dtype first, as torch's kernel does. ``scratch`` (shaped like ``start``) holds the
    difference, so nothing is allocated.
    """
    w = start.dtype.type(weight)
    difference = np.subtract(end, start, out=scratch)
    if abs(w) < 0.5:
        difference *= w
        start += difference
    else:
        difference *= start.dtype.type(1) - w
        np.subtract(end, difference, out=start)


class Scratch:
    """Temporaries for the updates, allocated once and reused on every step.

    An update written ``p -= lr * grad`` makes a new array per parameter per step. For a large
    parameter that is fresh memory from the system each time (malloc hands big blocks back),
    and faulting it in costs more than the arithmetic: in a small MLP's eager step it was all of
    the step's page faults. Each slot is one flat buffer per dtype, as large as the largest
    parameter seen, viewed in each parameter's shape; slots are for temporaries that live at the
    same time within one update.
    """

    def __init__(self) -> None:
        self._flat: dict[tuple[int, np.dtype], np.ndarray] = {}
        self._views: dict[tuple[int, tuple[int, ...], np.dtype], np.ndarray] = {}

    def __call__(self, like: np.ndarray, slot: int = 0) -> np.ndarray:
        """A buffer shaped and typed like ``like`` (its contents are left over from before)."""
        key = (slot, like.shape, like.dtype)
        view = self._views.get(key)
        if view is None:
            view = self._view(slot, like)
            self._views[key] = view
        return view

    def _view(self, slot: int, like: np.ndarray) -> np.ndarray:
        flat = self._flat.get((slot, like.dtype))
        if flat is None or flat.size < like.size:
            flat = self._flat[(slot, like.dtype)] = np.empty(like.size, like.dtype)
            self._views = {
                k: v for k, v in self._views.items() if (k[0], k[2]) != (slot, like.dtype)
            }
        return flat[: like.size].reshape(like.shape)


def checked_rate(index: int, group: Mapping[str, Any]) -> float:
    """Group ``index``'s learning rate, refused unless finite and >= 0 (a schedule or a hand may
    have set it since the group was checked; NaN too)."""
    lr = group["lr"]
    if not 0 <= lr < math.inf:
        raise ValueError(
            f"parameter group {index} has learning rate {lr!r}; a rate must be a finite "
            "number >= 0 (use maximize=True to ascend)"
        )
    return lr


def check_non_negative(group: Mapping[str, Any], name: str) -> None:
    value = group[name]
    if isinstance(value, bool) or not isinstance(value, int | float | np.floating | np.integer):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


def check_fraction(group: Mapping[str, Any], name: str, value: Any) -> None:
    if not (
        isinstance(value, int | float | np.floating)
        and not isinstance(value, bool)
        and 0.0 <= value < 1.0
    ):
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")


def check_flag(group: Mapping[str, Any], name: str) -> None:
    if not isinstance(group[name], bool | np.bool_):
        raise TypeError(f"{name} must be True or False, got {group[name]!r}")
