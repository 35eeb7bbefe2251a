"""Optimizers and learning-rate schedules with torch.optim's names, arithmetic and saved state.

``opt = mg.optim.Adam(model.parameters(), lr=1e-3)``, then per batch ``opt.zero_grad()``,
``loss.backward()``, ``opt.step()``. Parameters are updated in place. Schedules live in
``mg.optim.lr_scheduler`` (as in torch) and are re-exported here.
"""

from __future__ import annotations

from memograd.optim import lr_scheduler
from memograd.optim.adagrad import Adagrad
from memograd.optim.adam import Adam, AdamW
from memograd.optim.lr_scheduler import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LRScheduler,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)
from memograd.optim.optimizer import Optimizer
from memograd.optim.rmsprop import RMSprop
from memograd.optim.sgd import SGD

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "CosineAnnealingLR",
    "ExponentialLR",
    "LRScheduler",
    "LambdaLR",
    "OneCycleLR",
    "Optimizer",
    "RMSprop",
    "ReduceLROnPlateau",
    "StepLR",
    "lr_scheduler",
]
