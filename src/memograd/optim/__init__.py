"""Optimizers and learning-rate schedules with torch.optim's names and arithmetic.

``opt = mg.optim.Adam(model.parameters(), lr=1e-3)``, then per batch ``opt.zero_grad()``,
``loss.backward()``, ``opt.step()``. Parameters are updated in place.
"""

from __future__ import annotations

from memograd.optim.adam import Adam, AdamW
from memograd.optim.lr_scheduler import CosineAnnealingLR, LRScheduler, StepLR
from memograd.optim.optimizer import Optimizer
from memograd.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "CosineAnnealingLR", "LRScheduler", "Optimizer", "StepLR"]
