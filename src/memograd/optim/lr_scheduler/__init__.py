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

from memograd.optim.lr_scheduler.base import LRScheduler
from memograd.optim.lr_scheduler.epochs import CosineAnnealingLR, ExponentialLR, LambdaLR, StepLR
from memograd.optim.lr_scheduler.one_cycle import OneCycleLR
from memograd.optim.lr_scheduler.plateau import ReduceLROnPlateau

__all__ = [
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "OneCycleLR",
    "ReduceLROnPlateau",
    "StepLR",
]
