"""Every optimizer and schedule against torch.optim, step for step, from the same start."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from memograd import optim


class Param:
    """The whole interface an optimizer needs: ``.data`` and ``.grad`` arrays."""

    def __init__(self, array: np.ndarray) -> None:
        self.data = array.copy()
        self.grad: np.ndarray | None = None


def gradient(p: np.ndarray, target: np.ndarray) -> np.ndarray:
    # The gradient of sum((p - target)**2 * (1 + p**2)/2): non-linear in p, so a wrong step
    # anywhere changes every later gradient and the trajectories drift apart.
    return ((p - target) * (1 + p**2) + (p - target) ** 2 * p).astype(p.dtype)


CASES = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05}),
    ("Adam", {"lr": 0.01, "amsgrad": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.03, "weight_decay": 0.2, "amsgrad": True}),
]


@pytest.mark.parametrize(("name", "kwargs"), CASES)
def test_each_step_equals_torch_optim(name, kwargs):
    rng = np.random.default_rng(7)
    starts = [rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=5).astype(np.float32)]
    targets = [rng.normal(size=s.shape).astype(np.float32) for s in starts]
    ours = [Param(s) for s in starts]
    theirs = [torch.tensor(s, requires_grad=True) for s in starts]
    opt = getattr(optim, name)(ours, **kwargs)
    topt = getattr(torch.optim, name)(theirs, **kwargs)
    for step in range(25):
        for p, t, target in zip(ours, theirs, targets, strict=True):
            p.grad = gradient(p.data, target)
            t.grad = torch.from_numpy(gradient(t.detach().numpy(), target))
        opt.step()
        topt.step()
        for p, t in zip(ours, theirs, strict=True):
            assert p.data.dtype == np.float32
            np.testing.assert_allclose(
                p.data, t.detach().numpy(), rtol=1e-6, atol=1e-6, err_msg=f"step {step + 1}"
            )


def test_updates_write_into_the_same_array():
    p = Param(np.ones(3, dtype=np.float32))
    array = p.data
    p.grad = np.full(3, 2.0, dtype=np.float32)
    optim.SGD([p], lr=0.25).step()
    assert p.data is array
    np.testing.assert_array_equal(array, np.full(3, 0.5, dtype=np.float32))


def test_parameters_without_gradient_are_left_alone():
    a, b = Param(np.ones(2, np.float32)), Param(np.ones(2, np.float32))
    a.grad = np.ones(2, np.float32)
    opt = optim.Adam([a, b], lr=0.1)
    opt.step()
    np.testing.assert_array_equal(b.data, np.ones(2, np.float32))
    assert not np.array_equal(a.data, np.ones(2, np.float32))
    opt.zero_grad()
    assert a.grad is None


def test_zero_grad_in_place_keeps_the_arrays():
    a = Param(np.ones(2, np.float32))
    a.grad = grad = np.ones(2, np.float32)
    optim.SGD([a]).zero_grad(set_to_none=False)
    assert a.grad is grad
    np.testing.assert_array_equal(grad, 0)


def test_parameter_groups_use_their_own_rates_like_torch():
    rng = np.random.default_rng(1)
    s1, s2 = rng.normal(size=3).astype(np.float32), rng.normal(size=2).astype(np.float32)
    p1, p2 = Param(s1), Param(s2)
    t1, t2 = torch.tensor(s1, requires_grad=True), torch.tensor(s2, requires_grad=True)
    opt = optim.SGD([{"params": [p1]}, {"params": [p2], "lr": 0.5}], lr=0.1, momentum=0.9)
    topt = torch.optim.SGD([{"params": [t1]}, {"params": [t2], "lr": 0.5}], lr=0.1, momentum=0.9)
    for _ in range(3):
        for p, t in ((p1, t1), (p2, t2)):
            p.grad = p.data * 2
            t.grad = t.detach() * 2
        opt.step()
        topt.step()
    np.testing.assert_allclose(p1.data, t1.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(p2.data, t2.detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    ("scheduler", "kwargs"),
    [
        ("StepLR", {"step_size": 3, "gamma": 0.5}),
        ("CosineAnnealingLR", {"T_max": 7, "eta_min": 1e-3}),
    ],
)
def test_schedules_match_torch_epoch_by_epoch(scheduler, kwargs):
    ours = optim.SGD([Param(np.zeros(1, np.float32))], lr=0.1)
    theirs = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = getattr(optim, scheduler)(ours, **kwargs)
    tsched = getattr(torch.optim.lr_scheduler, scheduler)(theirs, **kwargs)
    for epoch in range(12):
        assert sched.get_last_lr()[0] == pytest.approx(
            tsched.get_last_lr()[0], rel=1e-9, abs=1e-12
        ), epoch
        theirs.step()
        sched.step()
        tsched.step()


def test_optimizer_state_round_trips():
    rng = np.random.default_rng(3)
    start = rng.normal(size=4).astype(np.float32)
    a, b = Param(start), Param(start)
    opt_a = optim.Adam([a], lr=0.05)
    for _ in range(3):
        a.grad = a.data * 3
        opt_a.step()
    b.data[...] = a.data
    opt_b = optim.Adam([b], lr=0.05)
    opt_b.load_state_dict(opt_a.state_dict())
    for p, opt in ((a, opt_a), (b, opt_b)):
        p.grad = p.data * 3
        opt.step()
    np.testing.assert_array_equal(a.data, b.data)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: optim.SGD([p], lr=-1.0), "lr must be a finite number >= 0, got -1.0"),
        (lambda p: optim.SGD([p], lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
        (lambda p: optim.Adam([p], betas=(0.9, 1.0)), "beta2 must be in [0, 1), got 1.0"),
        (lambda p: optim.Adam([], lr=0.1), "Adam got an empty list of parameters"),
        (lambda p: optim.Adam([p, p]), "appears in more than one parameter group"),
        (lambda p: optim.SGD([np.ones(3)]), "parameter 0 is a ndarray"),
        (
            lambda p: optim.SGD([{"params": [p], "momentun": 0.9}]),
            "no hyperparameter(s) ['momentun']",
        ),
        (lambda p: optim.StepLR(optim.SGD([p]), step_size=0), "step_size must be an int >= 1"),
        (lambda p: optim.CosineAnnealingLR(optim.SGD([p]), T_max=0), "T_max must be an int >= 1"),
    ],
)
def test_bad_hyperparameters_are_named(make, message):
    with pytest.raises((ValueError, TypeError)) as info:
        make(Param(np.ones(2, np.float32)))
    assert message in str(info.value)
