"""The same parameters in memograd and in torch, fed the same gradient at every step.

Each side computes its gradient from its own current values, so a wrong update anywhere changes
every later gradient and the trajectories drift apart. The problem is chosen so that the
comparison measures the optimizers and not the floating-point noise of a minimum: every target
lies 3 to 5 units above its start, further than any tested run travels, so no gradient crosses
zero. (Near a minimum, Adam- and RMSprop-like steps divide tiny gradients by tiny averages, and
torch itself turns a one-ulp change of the weights into differences of 1e-4 within 60 steps.)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest
import torch

import memograd as mg

SHAPES = ((4, 3), (5,), (2, 2, 2))
# Largest difference allowed between memograd's and torch's weights, relative to 1 + |w|.
TOLERANCE = {np.float32: 1e-6, np.float64: 1e-14}


def gradient(p: np.ndarray, target: np.ndarray) -> np.ndarray:
    """d/dp of sum((p - target)**2 * (1 + p**2 / 10)) / 2: non-linear, so errors propagate."""
    return ((p - target) * (1 + p**2 / 10) + (p - target) ** 2 * p / 10).astype(p.dtype)


class Twin:
    """Parameters in memograd (``ours``) and torch (``theirs``) from the same starting values."""

    def __init__(self, dtype=np.float32, seed: int = 0, shapes: Sequence = SHAPES) -> None:
        rng = np.random.default_rng(seed)
        starts = [rng.normal(size=s).astype(dtype) for s in shapes]
        self.targets = [(s + 3 + 2 * rng.random(s.shape)).astype(dtype) for s in starts]
        self.dtype = dtype
        self.ours = [mg.Tensor(s, requires_grad=True) for s in starts]
        self.theirs = [torch.tensor(s, requires_grad=True) for s in starts]
        self.worst = 0.0

    def set_gradients(self, skip: Sequence[int] = (), sign: float = 1.0) -> None:
        """Give every parameter but those in ``skip`` its gradient (times ``sign``).

        Each gradient is scaled, element by element, by a factor between 0.5 and 1.5 that
        changes from call to call (the same on both sides), as minibatch noise would: a steady
        gradient has no variance, and centered RMSprop then divides by the rounding error of
        zero.
        """
        self.calls = getattr(self, "calls", 0) + 1
        for i, (p, t, target) in enumerate(zip(self.ours, self.theirs, self.targets, strict=True)):
            if i in skip:
                p.grad, t.grad = None, None
                continue
            wobble = 1 + 0.5 * np.sin(0.9 * self.calls + np.arange(p.data.size) + i)
            scale = (sign * wobble.reshape(p.data.shape)).astype(self.dtype)
            p.grad = scale * gradient(p.data, target)
            t.grad = torch.from_numpy(scale * gradient(t.detach().numpy(), target))

    def check(self, where: str = "") -> float:
        """Assert both sides hold the same weights; returns (and records) the difference."""
        difference = 0.0
        for p, t in zip(self.ours, self.theirs, strict=True):
            theirs = t.detach().numpy()
            assert p.data.dtype == theirs.dtype
            assert np.isfinite(p.data).all(), where
            difference = max(
                difference, float(np.max(np.abs(p.data - theirs) / (1 + np.abs(theirs))))
            )
        self.worst = max(self.worst, difference)
        assert difference <= TOLERANCE[self.dtype], f"{where}: differs by {difference:.3g}"
        return difference

    @staticmethod
    def torch_state(optimizer: torch.optim.Optimizer) -> dict:
        """torch's optimizer state_dict with its tensors as NumPy arrays (what crosses over)."""
        saved = optimizer.state_dict()
        return {
            "state": {
                index: {
                    k: (v.numpy().copy() if torch.is_tensor(v) else v) for k, v in entry.items()
                }
                for index, entry in saved["state"].items()
            },
            "param_groups": [dict(g) for g in saved["param_groups"]],
        }


@pytest.fixture
def twin():
    """The :class:`Twin` class: ``twin(np.float64, seed=1)``."""
    return Twin
