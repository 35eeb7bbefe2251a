"""Learning-rate schedules with torch.optim.lr_scheduler's names, semantics and saved state.

As in torch: building a schedule records each group's starting rate (``initial_lr``) and makes
the first step (``last_epoch`` becomes 0); ``step()`` is called after the optimizer's
``step()`` (once per epoch, or per batch for ``OneCycleLR``), and calling it before the
optimizer has stepped warns, because the schedule's first rate would be skipped;
``get_last_lr()`` is the rates the last step set; ``state_dict()`` holds everything but the
optimizer.

Most schedules are *chainable*, as torch's are: each step multiplies the rate the group has
now (StepLR, ExponentialLR) or moves it along the curve from where it is (CosineAnnealingLR), so
two schedules on one optimizer compose, and a rate set by hand is carried on. ``step(epoch)``,
deprecated in torch, jumps to the closed form of the epoch instead. ``LambdaLR`` is always
``initial_lr * lr_lambda(epoch)`` and ``OneCycleLR`` a function of the step, in torch too.
``ReduceLROnPlateau`` follows a metric rather than the clock: ``step(val_loss)``.
"""

from __future__ import annotations

import copy
import math
import types
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from memograd.engine.tensor import Tensor
from memograd.optim.optimizer import Optimizer

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "StepLR",
]

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
        self.optimizer = _checked_optimizer(optimizer, type(self).__name__)
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
        _check_group_count(len(values), len(groups), type(self).__name__)
        for group, lr in zip(groups, values, strict=True):
            group["lr"] = _number(lr, type(self).__name__, self.last_epoch)
        self._last_lr = [group["lr"] for group in groups]

    def _warn_if_called_outside_step(self) -> None:
        if not self._get_lr_called_within_step:
            warnings.warn(GET_LR_WARNING, UserWarning, stacklevel=3)

    def _bases(self) -> list[tuple[float, dict[str, Any]]]:
        """(initial rate, group) pairs; refused when groups were added after the schedule."""
        groups = self.optimizer.param_groups
        _check_group_count(len(self.base_lrs), len(groups), type(self).__name__)
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
        _checked_optimizer(optimizer, "LambdaLR")
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
        self.gamma = _positive(gamma, "gamma")
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
        self.gamma = _positive(gamma, "gamma")
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
        if not (_is_number(eta_min) and math.isfinite(eta_min) and eta_min >= 0):
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
        _checked_optimizer(optimizer, "OneCycleLR")
        if total_steps is not None:
            self.total_steps = _count(total_steps, "total_steps")
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = _count(epochs, "epochs") * _count(steps_per_epoch, "steps_per_epoch")
        else:
            raise ValueError("give total_steps, or both epochs and steps_per_epoch")
        if not (_is_number(pct_start) and 0 <= pct_start <= 1):
            raise ValueError(f"pct_start must be a number in [0, 1], got {pct_start!r}")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        div_factor = _positive(div_factor, "div_factor")
        final_div_factor = _positive(final_div_factor, "final_div_factor")
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
        max_lrs = _per_group(max_lr, "max_lr", optimizer)
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
            tops = _per_group(max_momentum, "max_momentum", optimizer)
            bottoms = _per_group(base_momentum, "base_momentum", optimizer)
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


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` when a metric has stopped improving for ``patience``
    epochs: ``scheduler.step(val_loss)`` once per epoch.

    ``mode="min"`` (a loss) or ``"max"`` (an accuracy); an improvement must beat the best so
    far by ``threshold``, relative (``"rel"``) or absolute (``"abs"``); after a reduction,
    ``cooldown`` epochs pass before bad epochs count again; no rate goes below ``min_lr``, and a
    change smaller than ``eps`` is not made. A NaN metric counts as no improvement.
    """

    def __init__(
        self,
        optimizer: Optimizer,
        mode: str = "min",
        factor: float = 0.1,
        patience: int = 10,
        threshold: float = 1e-4,
        threshold_mode: str = "rel",
        cooldown: int = 0,
        min_lr: float | Sequence[float] = 0,
        eps: float = 1e-8,
    ) -> None:
        self.optimizer = _checked_optimizer(optimizer, "ReduceLROnPlateau")
        if not (_is_number(factor) and 0 <= factor < 1):
            raise ValueError(f"factor must be a number in [0, 1), got {factor!r}")
        self.factor = factor
        if isinstance(min_lr, list | tuple):
            self.default_min_lr = None
            self.min_lrs = _per_group(min_lr, "min_lr", optimizer)
        else:
            self.default_min_lr = _non_negative(min_lr, "min_lr")
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        for value in self.min_lrs:
            _non_negative(value, "min_lr")
        self.patience = _whole(patience, "patience")
        self.cooldown = _whole(cooldown, "cooldown")
        self.eps = _non_negative(eps, "eps")
        self.last_epoch = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]
        self._init_is_better(mode, threshold, threshold_mode)
        self._reset()

    def _init_is_better(self, mode: str, threshold: float, threshold_mode: str) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self.mode = mode
        self.threshold = _non_negative(threshold, "threshold")
        self.threshold_mode = threshold_mode

    def _reset(self) -> None:
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def _is_better(self, current: float, best: float) -> bool:
        """Whether ``current`` improves on ``best`` by more than the threshold."""
        if self.threshold_mode == "rel":
            scale = 1.0 - self.threshold if self.mode == "min" else self.threshold + 1.0
            return current < best * scale if self.mode == "min" else current > best * scale
        if self.mode == "min":
            return current < best - self.threshold
        return current > best + self.threshold

    def step(self, metrics: Any, epoch: int | None = None) -> None:  # type: ignore[override]
        """Record this epoch's metric; reduce the rates after ``patience`` epochs without gain."""
        current = _metric(metrics)
        if epoch is None:
            epoch = self.last_epoch + 1
        else:
            warnings.warn(EPOCH_WARNING, UserWarning, stacklevel=2)
        self.last_epoch = epoch
        if self._is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # bad epochs in cooldown do not count
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        groups = self.optimizer.param_groups
        if len(groups) != len(self.min_lrs):
            if self.default_min_lr is None:
                raise ValueError(
                    f"the optimizer has {len(groups)} parameter groups, but min_lr was given "
                    f"for {len(self.min_lrs)}; set scheduler.min_lrs to one rate per group"
                )
            self.min_lrs = [self.default_min_lr] * len(groups)
        for group, floor in zip(groups, self.min_lrs, strict=True):
            old = float(group["lr"])
            new = max(old * self.factor, floor)
            if old - new > self.eps:
                group["lr"] = new

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self._init_is_better(self.mode, self.threshold, self.threshold_mode)


# ---- argument checks -------------------------------------------------------------------------


def _checked_optimizer(optimizer: Any, name: str) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{name} expects a memograd optimizer, got {type(optimizer).__name__}")
    return optimizer


def _check_group_count(values: int, groups: int, name: str) -> None:
    if values != groups:
        raise ValueError(
            f"{name} was built for {values} parameter groups but the optimizer now has "
            f"{groups}; build the schedule after add_param_group"
        )


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool)


def _positive(value: Any, name: str) -> float:
    if not (_is_number(value) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def _non_negative(value: Any, name: str) -> float:
    if not (_is_number(value) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return value


def _whole(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name} must be an int >= 0, got {value!r}")
    return value


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return value


def _per_group(value: Any, name: str, optimizer: Optimizer) -> list[float]:
    """One number per parameter group: a list of that length, or one number for all."""
    count = len(optimizer.param_groups)
    values = list(value) if isinstance(value, list | tuple) else [value] * count
    if len(values) != count:
        raise ValueError(f"{name} has {len(values)} values but the optimizer {count} groups")
    for v in values:
        _non_negative(v, name)
    return values


def _phase(end: float, start_lr: str, end_lr: str, start_m: str, end_m: str) -> dict[str, Any]:
    return {
        "end_step": end,
        "start_lr": start_lr,
        "end_lr": end_lr,
        "start_momentum": f"{start_m}_momentum",
        "end_momentum": f"{end_m}_momentum",
    }


def _factor(value: Any, epoch: int) -> float:
    if not _is_number(value):
        raise TypeError(f"LambdaLR: lr_lambda({epoch}) returned {value!r:.60}, not a number")
    return value


def _number(lr: Any, name: str, epoch: int) -> Any:
    """A computed rate must be a number; its range is checked when a step uses it.

    (OneCycleLR's last step, which no optimizer step follows, is negative with linear
    annealing, in torch too: refusing it here would break the habitual loop.)
    """
    if not _is_number(lr):
        raise TypeError(f"{name} computed learning rate {lr!r:.60} for epoch {epoch}, not a number")
    return float(lr) if isinstance(lr, np.integer | np.floating) else lr


def _metric(metrics: Any) -> float:
    if isinstance(metrics, Tensor):
        metrics = metrics.item()
    elif isinstance(metrics, np.ndarray) and metrics.size == 1:
        metrics = metrics.item()
    if isinstance(metrics, bool) or not _is_number(metrics):
        raise TypeError(
            f"ReduceLROnPlateau.step expects the metric as a number, got {metrics!r:.60}"
        )
    return float(metrics)
