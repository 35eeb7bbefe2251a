"""Every learning-rate schedule against torch.optim.lr_scheduler, step for step.

Each run trains twin parameters (conftest.Twin) with the schedule driving the optimizer, so a
wrong rate shows in the weights as well as in ``get_last_lr()``.
"""

from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import memograd as mg
from memograd import optim
from memograd.optim import lr_scheduler


def factor(epoch):
    return 0.95**epoch if epoch < 10 else 0.5 + 0.1 * math.cos(epoch)


class Warmup:
    """A callable object: its attributes travel in the schedule's state, as in torch."""

    def __init__(self, length):
        self.length = length

    def __call__(self, epoch):
        return min(1.0, (epoch + 1) / self.length)


# (schedule, options, optimizer, optimizer options, steps per schedule step, schedule steps)
CASES = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}, "SGD", {"lr": 0.001, "momentum": 0.5}, 2, 20),
    ("ExponentialLR", {"gamma": 0.9}, "Adam", {"lr": 0.01}, 2, 20),
    ("CosineAnnealingLR", {"T_max": 7, "eta_min": 1e-4}, "Adam", {"lr": 0.01}, 2, 22),
    ("CosineAnnealingLR", {"T_max": 1}, "SGD", {"lr": 0.001}, 1, 6),
    ("LambdaLR", {"lr_lambda": factor}, "RMSprop", {"lr": 0.001}, 2, 20),
    ("LambdaLR", {"lr_lambda": [factor, Warmup(5)]}, "Adagrad", {"lr": 0.05}, 2, 20),
    (
        "OneCycleLR",
        {"max_lr": 0.01, "total_steps": 40},
        "SGD",
        {"lr": 0.001, "momentum": 0.9},
        1,
        40,
    ),
    (
        "OneCycleLR",
        {"max_lr": [0.01, 0.02], "epochs": 4, "steps_per_epoch": 10, "anneal_strategy": "linear"},
        "Adam",
        {"lr": 0.001},
        1,
        40,
    ),
    (
        "OneCycleLR",
        {"max_lr": 0.005, "total_steps": 30, "three_phase": True, "pct_start": 0.25},
        "RMSprop",
        {"lr": 0.001, "momentum": 0.5},
        1,
        30,
    ),
    (
        "OneCycleLR",
        {"max_lr": 0.05, "total_steps": 30, "cycle_momentum": False, "div_factor": 10.0},
        "Adagrad",
        {},
        1,
        30,
    ),
]


def case_id(case):
    return f"{case[0]}-{case[2]}-" + ",".join(f"{k}" for k in case[1])


def groups(params, optimizer_options):
    """Two parameter groups, the second with twice the first's rate."""
    double = 2 * optimizer_options.get("lr", 0.01)
    return [{"params": params[:2]}, {"params": params[2:], "lr": double}]


def build(pair, name, options, optimizer, optimizer_options):
    ours = getattr(optim, optimizer)(groups(pair.ours, optimizer_options), **optimizer_options)
    theirs = getattr(torch.optim, optimizer)(
        groups(pair.theirs, optimizer_options), **optimizer_options
    )
    return (
        ours,
        theirs,
        getattr(lr_scheduler, name)(ours, **options),
        getattr(torch.optim.lr_scheduler, name)(theirs, **options),
    )


def same_groups(ours, theirs):
    for group, tgroup in zip(ours.param_groups, theirs.param_groups, strict=True):
        for key in ("lr", "initial_lr", "momentum", "betas", "max_lr", "min_lr"):
            if key in tgroup or key in group:
                assert np.allclose(group[key], tgroup[key], rtol=1e-12, atol=0), key


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=map(case_id, CASES))
def test_each_step_equals_torch(twin, case, dtype):
    name, options, optimizer, optimizer_options, per_step, steps = case
    pair = twin(dtype)
    ours, theirs, schedule, tschedule = build(pair, name, options, optimizer, optimizer_options)
    for epoch in range(steps):
        assert schedule.last_epoch == tschedule.last_epoch
        assert schedule.get_last_lr() == pytest.approx(tschedule.get_last_lr(), rel=1e-12)
        same_groups(ours, theirs)
        for _ in range(per_step):
            pair.set_gradients()
            ours.step()
            theirs.step()
            pair.check(f"epoch {epoch}")
        if not (name == "OneCycleLR" and epoch == steps - 1):
            schedule.step()
            tschedule.step()


PLATEAU_CASES = [
    {},
    {"mode": "max", "factor": 0.5, "patience": 2, "threshold": 0.01},
    {"threshold_mode": "abs", "threshold": 0.05, "patience": 1, "cooldown": 2},
    {"mode": "max", "threshold_mode": "abs", "patience": 0, "min_lr": [1e-3, 5e-3]},
    {"factor": 0.5, "patience": 1, "min_lr": 2e-3, "eps": 1e-3},
]


@pytest.mark.parametrize("options", PLATEAU_CASES, ids=lambda o: ",".join(o) or "defaults")
def test_reduce_on_plateau_equals_torch(twin, options):
    pair = twin(np.float32)
    schedule = lr_scheduler.ReduceLROnPlateau(
        optim.Adam([{"params": pair.ours[:1]}, {"params": pair.ours[1:], "lr": 0.02}], lr=0.01),
        **options,
    )
    tschedule = torch.optim.lr_scheduler.ReduceLROnPlateau(
        torch.optim.Adam(
            [{"params": pair.theirs[:1]}, {"params": pair.theirs[1:], "lr": 0.02}], lr=0.01
        ),
        **options,
    )
    rng = np.random.default_rng(3)
    # A metric that improves, stalls (with noise), improves a little, then stalls for good.
    metrics = np.concatenate(
        [
            np.linspace(1.0, 0.5, 10),
            0.5 + 0.01 * rng.normal(size=15),
            np.linspace(0.5, 0.45, 5),
            0.45 + 0.001 * rng.normal(size=30),
            [float("nan"), 0.44],
        ]
    )
    for epoch, metric in enumerate(metrics):
        value = np.float32(metric) if epoch % 3 == 0 else float(metric)
        schedule.step(mg.Tensor(np.array(metric)) if epoch % 4 == 1 else value)
        tschedule.step(value)
        assert schedule.get_last_lr() == pytest.approx(tschedule.get_last_lr(), rel=1e-12)
        for key in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch"):
            assert getattr(schedule, key) == pytest.approx(getattr(tschedule, key)), (epoch, key)
    assert schedule.get_last_lr()[0] < 0.01  # the rates did come down


def test_two_schedules_on_one_optimizer_compose_like_torch(twin):
    pair = twin(np.float64)
    ours, theirs = optim.SGD(pair.ours, lr=0.001), torch.optim.SGD(pair.theirs, lr=0.001)
    first = [lr_scheduler.ExponentialLR(ours, 0.9), lr_scheduler.StepLR(ours, 3, gamma=0.5)]
    second = [
        torch.optim.lr_scheduler.ExponentialLR(theirs, 0.9),
        torch.optim.lr_scheduler.StepLR(theirs, 3, gamma=0.5),
    ]
    for epoch in range(12):
        pair.set_gradients()
        ours.step()
        theirs.step()
        pair.check(f"epoch {epoch}")
        for s, t in zip(first, second, strict=True):
            s.step()
            t.step()
            assert s.get_last_lr() == pytest.approx(t.get_last_lr(), rel=1e-12)
    assert ours.param_groups[0]["lr"] == pytest.approx(0.001 * 0.9**12 * 0.5**4, rel=1e-12)


def one_weight(name):
    """SGD on one weight in each library, and the schedule ``name`` on each."""
    options = {"StepLR": {"step_size": 2}, "ExponentialLR": {"gamma": 0.8}}.get(name, {"T_max": 5})
    ours = optim.SGD([mg.Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    theirs = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    schedules = (
        getattr(lr_scheduler, name)(ours, **options),
        getattr(torch.optim.lr_scheduler, name)(theirs, **options),
    )
    return ours, theirs, *schedules


@pytest.mark.parametrize("name", ["StepLR", "ExponentialLR", "CosineAnnealingLR"])
def test_a_rate_changed_by_hand_is_carried_on_like_torch(name):
    ours, theirs, schedule, tschedule = one_weight(name)
    for epoch in range(8):
        if epoch == 3:
            ours.param_groups[0]["lr"] = theirs.param_groups[0]["lr"] = 0.05
        ours.step()
        theirs.step()
        schedule.step()
        tschedule.step()
        assert schedule.get_last_lr() == pytest.approx(tschedule.get_last_lr(), rel=1e-12)


@pytest.mark.parametrize("name", ["StepLR", "ExponentialLR", "CosineAnnealingLR"])
def test_step_with_an_epoch_uses_the_closed_form_and_warns_like_torch(name):
    ours, theirs, schedule, tschedule = one_weight(name)
    ours.step()
    theirs.step()
    for epoch in (4, 1, 7):
        with pytest.warns(UserWarning, match="deprecated"):
            schedule.step(epoch)
        with pytest.warns(UserWarning):
            tschedule.step(epoch)
        assert schedule.last_epoch == tschedule.last_epoch == epoch
        assert schedule.get_last_lr() == pytest.approx(tschedule.get_last_lr(), rel=1e-12)


STATE_CASES = [
    ("StepLR", {"step_size": 3, "gamma": 0.5}, "SGD", 10),
    ("ExponentialLR", {"gamma": 0.9}, "Adam", 10),
    ("CosineAnnealingLR", {"T_max": 6, "eta_min": 1e-4}, "AdamW", 10),
    ("LambdaLR", {"lr_lambda": [factor, Warmup(4)]}, "RMSprop", 10),
    ("OneCycleLR", {"max_lr": 0.01, "total_steps": 25, "three_phase": True}, "Adam", 12),
]


@pytest.mark.parametrize(("name", "options", "optimizer", "at"), STATE_CASES, ids=lambda c: c)
def test_state_dict_has_torchs_keys_and_values(twin, name, options, optimizer, at):
    pair = twin(np.float64)
    ours, theirs, schedule, tschedule = build(pair, name, options, optimizer, {"lr": 0.001})
    for _ in range(at):
        ours.step()
        theirs.step()
        schedule.step()
        tschedule.step()
    mine, reference = schedule.state_dict(), tschedule.state_dict()
    assert set(mine) == set(reference)
    for key, value in mine.items():
        if key == "lr_lambdas":
            assert value == [None, {"length": 4}] == reference[key]
        else:
            assert_same(value, reference[key], key)


def assert_same(value, reference, where):
    """Equal, floats to 1e-12 relative, containers element by element."""
    if isinstance(reference, list | tuple):
        assert len(value) == len(reference), where
        for i, (v, r) in enumerate(zip(value, reference, strict=True)):
            assert_same(v, r, f"{where}[{i}]")
    elif isinstance(reference, dict):
        assert set(value) == set(reference), where
        for k in reference:
            assert_same(value[k], reference[k], f"{where}[{k!r}]")
    elif isinstance(reference, float):
        assert value == pytest.approx(reference, rel=1e-12), where
    else:
        assert value == reference, where


@pytest.mark.parametrize(("name", "options", "optimizer", "at"), STATE_CASES, ids=lambda c: c)
def test_resuming_through_mg_save_equals_the_uninterrupted_run_and_torch(
    twin, tmp_path, name, options, optimizer, at
):
    """A checkpoint of optimizer and schedule, written with mg.save and read with mg.load, into
    a new optimizer and schedule: the rest of the run equals torch's uninterrupted one."""
    pair = twin(np.float32)
    ours, theirs, schedule, tschedule = build(pair, name, options, optimizer, {"lr": 0.001})
    steps = 25 if name == "OneCycleLR" else 20
    for step in range(steps):
        if step == at:
            path = tmp_path / "checkpoint.pt"
            mg.save({"optimizer": ours.state_dict(), "schedule": schedule.state_dict()}, path)
            checkpoint = mg.load(path)
            # torch's order: build the optimizer and the schedule afresh, then load the
            # optimizer's state, then the schedule's.
            ours = getattr(optim, optimizer)(groups(pair.ours, {"lr": 0.5}), lr=0.5)
            schedule = getattr(lr_scheduler, name)(ours, **options)
            ours.load_state_dict(checkpoint["optimizer"])
            schedule.load_state_dict(checkpoint["schedule"])
        pair.set_gradients()
        ours.step()
        theirs.step()
        pair.check(f"step {step}")
        if step < steps - 1:
            schedule.step()
            tschedule.step()
            assert schedule.get_last_lr() == pytest.approx(tschedule.get_last_lr(), rel=1e-12)


def test_the_plateau_schedule_resumes_from_its_state_like_torch():
    ours = optim.SGD([mg.Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    theirs = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    schedule = lr_scheduler.ReduceLROnPlateau(ours, patience=1, cooldown=1)
    tschedule = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs, patience=1, cooldown=1)
    metrics = [1.0, 0.9, 0.95, 0.96, 0.97, 0.8, 0.81, 0.82, 0.83]
    for metric in metrics[:4]:
        schedule.step(metric)
        tschedule.step(metric)
    assert schedule.state_dict() == tschedule.state_dict()
    restored = lr_scheduler.ReduceLROnPlateau(ours)
    restored.load_state_dict(mg_round_trip(schedule.state_dict()))
    for metric in metrics[4:]:
        restored.step(metric)
        tschedule.step(metric)
        assert restored.get_last_lr() == tschedule.get_last_lr()
        assert restored.state_dict() == tschedule.state_dict()


def mg_round_trip(obj):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.npz"
        mg.save(obj, path)
        return mg.load(path)


def test_stepping_the_schedule_before_the_optimizer_warns_like_torch():
    ours = optim.SGD([mg.Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    theirs = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    schedule = lr_scheduler.StepLR(ours, 1)
    tschedule = torch.optim.lr_scheduler.StepLR(theirs, 1)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        schedule.step()
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        tschedule.step()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours.step()
        schedule.step()  # only the first step is checked, as in torch
    assert schedule.get_last_lr() == pytest.approx([0.001])


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_one_cycle_steps_once_per_batch_to_the_end_like_torch(strategy):
    """The habitual loop steps the schedule after every batch, the last one included; with
    linear annealing that last rate is negative (in torch too) and is never used."""
    ours = optim.SGD([mg.Tensor(np.zeros(1), requires_grad=True)], lr=0.1, momentum=0.9)
    theirs = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    options = {"max_lr": 0.01, "epochs": 2, "steps_per_epoch": 5, "anneal_strategy": strategy}
    schedule = lr_scheduler.OneCycleLR(ours, **options)
    tschedule = torch.optim.lr_scheduler.OneCycleLR(theirs, **options)
    for _ in range(10):
        ours.step()
        theirs.step()
        schedule.step()
        tschedule.step()
        assert schedule.get_last_lr() == pytest.approx(tschedule.get_last_lr(), rel=1e-12)
        assert ours.param_groups[0]["momentum"] == pytest.approx(theirs.param_groups[0]["momentum"])
    if strategy == "linear":
        assert schedule.get_last_lr()[0] < 0
        with pytest.raises(ValueError, match="parameter group 0 has learning rate -0.00142"):
            ours.step()  # memograd refuses to use it; torch would ascend


def test_get_lr_outside_step_warns_like_torch():
    schedule = lr_scheduler.ExponentialLR(
        optim.SGD([mg.Tensor(np.zeros(1), requires_grad=True)], lr=0.1), 0.5
    )
    with pytest.warns(UserWarning, match="get_last_lr"):
        schedule.get_lr()


def test_one_cycle_refuses_to_step_past_its_total_like_torch():
    ours = optim.SGD([mg.Tensor(np.zeros(1), requires_grad=True)], lr=0.1, momentum=0.9)
    theirs = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
    schedule = lr_scheduler.OneCycleLR(ours, max_lr=1.0, total_steps=3)
    tschedule = torch.optim.lr_scheduler.OneCycleLR(theirs, max_lr=1.0, total_steps=3)
    for _ in range(3):
        ours.step()
        theirs.step()
        schedule.step()
        tschedule.step()
    with pytest.raises(ValueError, match="stepped 4 times, past its total_steps=3"):
        schedule.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        tschedule.step()


def test_a_group_added_after_a_schedule_fails_where_torchs_does_with_a_clear_error():
    """The cosine's chainable step needs no base rate, except at the bottom of the curve."""
    ours = optim.SGD([mg.Tensor(np.zeros(1), requires_grad=True)], lr=0.1)
    theirs = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    schedule = lr_scheduler.CosineAnnealingLR(ours, T_max=3)
    tschedule = torch.optim.lr_scheduler.CosineAnnealingLR(theirs, T_max=3)
    ours.add_param_group({"params": [mg.Tensor(np.zeros(1), requires_grad=True)], "lr": 0.2})
    theirs.add_param_group({"params": [torch.zeros(1, requires_grad=True)], "lr": 0.2})
    ours.step()
    theirs.step()
    for _ in range(3):
        schedule.step()
        tschedule.step()
        assert schedule.get_last_lr() == pytest.approx(tschedule.get_last_lr(), rel=1e-12)
    with pytest.raises(ValueError, match="built for 1 parameter groups but the optimizer now has"):
        schedule.step()
    with pytest.raises(ValueError):
        tschedule.step()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda o: lr_scheduler.StepLR(o, step_size=0), "step_size must be an int >= 1, got 0"),
        (lambda o: lr_scheduler.ExponentialLR(o, gamma=-1), "gamma must be a finite number > 0"),
        (lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=0), "T_max must be an int >= 1"),
        (lambda o: lr_scheduler.LambdaLR(o, lr_lambda=3), "lr_lambda 0 is a int, not a function"),
        (lambda o: lr_scheduler.LambdaLR(o, [factor, factor]), "expected 1 lr_lambdas"),
        (lambda o: lr_scheduler.StepLR(o, 2, last_epoch=3), "has no 'initial_lr'"),
        (lambda o: lr_scheduler.StepLR("sgd", 2), "expects a memograd optimizer, got str"),
        (lambda o: lr_scheduler.OneCycleLR(o, 0.1), "give total_steps, or both epochs"),
        (
            lambda o: lr_scheduler.OneCycleLR(o, 0.1, total_steps=5, pct_start=1.5),
            "pct_start must be a number in [0, 1], got 1.5",
        ),
        (
            lambda o: lr_scheduler.OneCycleLR(o, 0.1, total_steps=5, anneal_strategy="exp"),
            "anneal_strategy must be 'cos' or 'linear'",
        ),
        (
            lambda o: lr_scheduler.OneCycleLR(optim.Adagrad(o.param_groups[0]["params"]), 1, 5),
            "cycle_momentum=True needs an optimizer with momentum or betas; Adagrad has neither",
        ),
        (
            lambda o: lr_scheduler.OneCycleLR(o, [0.1, 0.2], total_steps=5),
            "max_lr has 2 values but the optimizer 1 groups",
        ),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), "factor must be a number in"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="low"), "mode must be 'min' or 'max'"),
        (
            lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="pct"),
            "threshold_mode must be 'rel' or 'abs'",
        ),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=-1), "patience must be an int"),
        (lambda o: lr_scheduler.ReduceLROnPlateau(o).step("low"), "expects the metric as a num"),
        (
            lambda o: lr_scheduler.LambdaLR(o, lambda e: None).step(),
            "lr_lambda(0) returned None, not a number",
        ),
        (
            lambda o: lr_scheduler.StepLR(o, 2).load_state_dict({"T_max": 3}),
            "has ['T_max'] and lacks ['base_lrs', 'gamma', 'last_epoch', 'step_size']",
        ),
        (
            lambda o: lr_scheduler.StepLR(o, 2).load_state_dict(
                {**lr_scheduler.StepLR(o, 2).state_dict(), "base_lrs": [0.1, 0.2]}
            ),
            "the state's 'base_lrs' is [0.1, 0.2], expected a list of 1 rates",
        ),
    ],
)
def test_bad_arguments_are_named(make, message):
    opt = optim.SGD([mg.Tensor(np.zeros(1), requires_grad=True)], lr=0.1, momentum=0.9)
    opt._opt_called = True  # no order warning in these
    with pytest.raises((ValueError, TypeError)) as info:
        make(opt)
    assert message in str(info.value)
