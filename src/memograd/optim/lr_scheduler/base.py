"""``LRScheduler``, the base every schedule shares, and the checks of their arguments.

The base does torch's bookkeeping: ``initial_lr`` in each group, the first step at
construction, ``last_epoch``, the warning when the schedule steps before the optimizer, the
closed form for ``step(epoch)``, and ``state_dict()`` / ``load_state_dict()`` with torch's keys
(checked on load, so another schedule's state is refused). A schedule gives ``get_lr()``.
"""

from __future__ import annotations

import copy
import math
import warnings
from typing import Any

import numpy as np

from memograd.optim.optimizer import Optimizer

ORDER_WARNING = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`: call them in the "
    "opposite order, `optimizer.step()` before `lr_scheduler.step()`, or the first value of "
    "the learning rate schedule is skipped (as in PyTorch)."
)
EPOCH_WARNING = (
    "scheduler.step(epoch) is deprecated in PyTorch: call scheduler.step() once per epoch. "
    "With an epoch the closed form is used instead of the chainable form, where one exists."
)
GET_LR_WARNING = "To get the last learning rate computed by the scheduler, use `get_last_lr()`."
# Keys of torch's saved schedules that an older torch wrote and memograd has no use for.
LEGACY_KEYS = frozenset({"verbose"})


class LRScheduler:
    """Base class: subclasses give ``get_lr()`` (the chainable rule) and, where one exists,
    ``_get_closed_form_lr()``."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        self.optimizer = checked_optimizer(optimizer, type(self).__name__)
        if isinstance(last_epoch, bool) or not isinstance(last_epoch, int) or last_epoch < -1:
            raise ValueError(f"last_epoch must be an int >= -1, got {last_epoch!r}")
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise ValueError(
                        f"param_groups[{i}] has no 'initial_lr', which resuming a schedule "
                        f"with last_epoch={last_epoch} needs: load the optimizer's saved state "
                        "first, or leave last_epoch at -1 for a fresh run"
                    )
        self.base_lrs: list[float] = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self) -> None:
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def get_lr(self) -> list[float]:
        """The rates for the epoch ``last_epoch`` (called by :meth:`step`)."""
        raise NotImplementedError

    def get_last_lr(self) -> list[float]:
        """The rates the last :meth:`step` set, one per parameter group."""
        return list(self._last_lr)

    def step(self, epoch: int | None = None) -> None:
        """Advance one epoch and write the new rate into every parameter group."""
        if self._step_count == 1 and not getattr(self.optimizer, "_opt_called", False):
            warnings.warn(ORDER_WARNING, UserWarning, stacklevel=2)
        self._step_count += 1
        self._get_lr_called_within_step = True
        try:
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                warnings.warn(EPOCH_WARNING, UserWarning, stacklevel=2)
                if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
                    raise ValueError(f"epoch must be an int >= 0, got {epoch!r}")
                self.last_epoch = epoch
                closed_form = getattr(self, "_get_closed_form_lr", None)
                values = closed_form() if closed_form is not None else self.get_lr()
        finally:
            self._get_lr_called_within_step = False
        groups = self.optimizer.param_groups
        check_group_count(len(values), len(groups), type(self).__name__)
        for group, lr in zip(groups, values, strict=True):
            group["lr"] = checked_rate(lr, type(self).__name__, self.last_epoch)
        self._last_lr = [group["lr"] for group in groups]

    def _warn_if_called_outside_step(self) -> None:
        if not self._get_lr_called_within_step:
            warnings.warn(GET_LR_WARNING, UserWarning, stacklevel=3)

    def _bases(self) -> list[tuple[float, dict[str, Any]]]:
        """(initial rate, group) pairs; refused when groups were added after the schedule."""
        groups = self.optimizer.param_groups
        check_group_count(len(self.base_lrs), len(groups), type(self).__name__)
        return list(zip(self.base_lrs, groups, strict=True))

    # ---- saving and restoring ----------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Every setting and counter of the schedule (torch's keys), not the optimizer."""
        return {k: copy.deepcopy(v) for k, v in vars(self).items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned; a state of another schedule is refused."""
        self._restore(state_dict, set(self.state_dict()))

    def _restore(self, state_dict: Any, own: set[str]) -> None:
        """Check ``state_dict`` against this schedule's own keys ``own``, then set it."""
        name = type(self).__name__
        if not isinstance(state_dict, dict):
            raise TypeError(
                f"{name}.load_state_dict expects a dict, got {type(state_dict).__name__}"
            )
        unknown = set(state_dict) - own - LEGACY_KEYS
        missing = {k for k in own - set(state_dict) if not k.startswith("_")}
        if unknown or missing:
            problems = [f"has {sorted(map(str, unknown))}"] if unknown else []
            problems += [f"lacks {sorted(missing)}"] if missing else []
            raise ValueError(
                f"the state {' and '.join(problems)}, which {name} does not match (was it "
                "saved by another schedule?)"
            )
        groups = len(self.optimizer.param_groups)
        restored = {}
        for key, value in state_dict.items():
            if key in LEGACY_KEYS:
                continue
            if key in ("base_lrs", "_last_lr", "min_lrs"):
                if not isinstance(value, list | tuple) or len(value) != groups:
                    raise ValueError(
                        f"the state's {key!r} is {value!r:.60}, expected a list of {groups} "
                        "rates (one per parameter group)"
                    )
                value = list(value)
            restored[key] = copy.deepcopy(value)
        last = restored.get("last_epoch", self.last_epoch)
        if isinstance(last, bool) or not isinstance(last, int) or last < -1:
            raise ValueError(f"the state's 'last_epoch' is {last!r}, expected an int >= -1")
        vars(self).update(restored)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, last_lr={self._last_lr})"


# ---- argument checks, shared by the schedules ----------------------------------------


def checked_optimizer(optimizer: Any, name: str) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{name} expects a memograd optimizer, got {type(optimizer).__name__}")
    return optimizer


def check_group_count(values: int, groups: int, name: str) -> None:
    if values != groups:
        raise ValueError(
            f"{name} was built for {values} parameter groups but the optimizer now has "
            f"{groups}; build the schedule after add_param_group"
        )


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def positive_number(value: Any, name: str) -> float:
    if not (is_number(value) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def non_negative_number(value: Any, name: str) -> float:
    if not (is_number(value) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def whole_number(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return value


def positive_count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return value


def per_group_values(value: Any, name: str, optimizer: Optimizer) -> list[float]:
    """One number per parameter group: a list of that length, or one number for all."""
    count = len(optimizer.param_groups)
    values = list(value) if isinstance(value, list | tuple) else [value] * count
    if len(values) != count:
        raise ValueError(f"{name} has {len(values)} values but the optimizer {count} groups")
    for v in values:
        non_negative_number(v, name)
    return values


def checked_rate(lr: Any, name: str, epoch: int) -> Any:
    """A computed rate must be a number; its range is checked when a step uses it.

    (OneCycleLR's last step, which no optimizer step follows, is negative with linear
    annealing, in torch too: refusing it here would break the habitual loop.)
    """
    if not is_number(lr):
        raise TypeError(f"{name} computed learning rate {lr!r:.60} for epoch {epoch}, not a number")
    return float(lr) if isinstance(lr, np.integer | np.floating) else lr
