"""Every optimizer against torch.optim, step for step, from the same start (see conftest.Twin)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import memograd as mg
from memograd import optim

STEPS = 150

# (optimizer, options, gradient sign): with maximize=True the twins are given the gradient of
# -loss, so that both still walk towards the targets (and the run stays well conditioned).
CASES = [
    ("SGD", {"lr": 0.002}),
    ("SGD", {"lr": 0.0005, "momentum": 0.9}),
    ("SGD", {"lr": 0.0005, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.0005, "momentum": 0.9, "nesterov": True}),
    ("SGD", {"lr": 0.001, "momentum": 0.5, "maximize": True}),
    ("Adam", {"lr": 0.005}),
    ("Adam", {"lr": 0.005, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.05}),
    ("Adam", {"lr": 0.005, "betas": (0.3, 0.9), "amsgrad": True}),
    ("Adam", {"lr": 0.005, "weight_decay": 0.1, "decoupled_weight_decay": True, "maximize": True}),
    ("AdamW", {"lr": 0.005}),
    ("AdamW", {"lr": 0.005, "weight_decay": 0.2, "amsgrad": True}),
    ("RMSprop", {}),
    ("RMSprop", {"lr": 0.001, "alpha": 0.9, "eps": 1e-6, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.0002, "momentum": 0.9}),
    ("RMSprop", {"lr": 0.001, "centered": True}),
    ("RMSprop", {"lr": 0.0005, "alpha": 0.3, "centered": True, "momentum": 0.5, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.05, "lr_decay": 0.01, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.05, "initial_accumulator_value": 0.5, "eps": 1e-6, "maximize": True}),
]


def case_id(case):
    name, options = case
    return name + "(" + ", ".join(f"{k}={v}" for k, v in options.items()) + ")"


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize(("name", "options"), CASES, ids=map(case_id, CASES))
def test_each_step_equals_torch_optim(twin, name, options, dtype):
    pair = twin(dtype)
    ours = getattr(optim, name)(pair.ours, **options)
    theirs = getattr(torch.optim, name)(pair.theirs, **options)
    sign = -1.0 if options.get("maximize") else 1.0
    for step in range(STEPS):
        # Every fifth step one parameter has no gradient: both must leave it (and its state) be.
        pair.set_gradients(skip=(step % 3,) if step % 5 == 4 else (), sign=sign)
        ours.step()
        theirs.step()
        pair.check(f"step {step + 1}")


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_parameter_groups_and_added_groups_equal_torch(twin, name):
    """Per-group hyperparameters, a group added mid-run, and rates changed by hand."""
    pair = twin(np.float32, seed=1, shapes=((3, 2), (4,), (2, 2), (5,)))
    extra = {
        "SGD": ({"momentum": 0.9}, {"weight_decay": 0.1, "momentum": 0.5}),
        "Adam": ({"betas": (0.8, 0.95)}, {"weight_decay": 0.1, "amsgrad": True}),
        "AdamW": ({"betas": (0.8, 0.95)}, {"weight_decay": 0.3}),
        "RMSprop": ({"momentum": 0.5}, {"centered": True, "alpha": 0.9}),
        "Adagrad": ({"lr_decay": 0.05}, {"weight_decay": 0.1}),
    }[name]
    lr = 0.0005 if name == "SGD" else 0.005

    def groups(params):
        return [
            {"params": [params[0]]},
            {"params": [params[1]], "lr": lr * 2, **extra[0]},
            {"params": params[2], **extra[1]},  # a single parameter, not in a list
        ]

    ours = getattr(optim, name)(groups(pair.ours), lr=lr)
    theirs = getattr(torch.optim, name)(groups(pair.theirs), lr=lr)
    for step in range(60):
        if step == 20:
            ours.add_param_group({"params": [pair.ours[3]], "lr": lr / 2})
            theirs.add_param_group({"params": [pair.theirs[3]], "lr": lr / 2})
        if step == 30:
            for group in (*ours.param_groups, *theirs.param_groups):
                group["lr"] *= 0.5
        pair.set_gradients(skip=() if step >= 20 else (3,))
        ours.step()
        theirs.step()
        pair.check(f"step {step + 1}")
    assert [len(g["params"]) for g in ours.param_groups] == [
        len(g["params"]) for g in theirs.param_groups
    ]


def test_adagrad_honours_a_groups_own_initial_accumulator_value(twin):
    """torch fills every accumulator with the constructor's value, even for a group that sets
    its own (at construction or added later); memograd uses the group's, as it does every other
    hyperparameter of a group."""
    pair = twin(np.float64, shapes=((3,), (2,), (4,)))
    ours = optim.Adagrad(
        [{"params": [pair.ours[0]]}, {"params": [pair.ours[1]], "initial_accumulator_value": 2.0}]
    )
    theirs = torch.optim.Adagrad(
        [
            {"params": [pair.theirs[0]]},
            {"params": [pair.theirs[1]], "initial_accumulator_value": 2.0},
        ]
    )
    ours.add_param_group({"params": [pair.ours[2]], "initial_accumulator_value": 0.5})
    theirs.add_param_group({"params": [pair.theirs[2]], "initial_accumulator_value": 0.5})
    pair.set_gradients()
    ours.step()
    theirs.step()
    for p, t, start in zip(pair.ours, pair.theirs, (0.0, 2.0, 0.5), strict=True):
        np.testing.assert_allclose(ours.state[p]["sum"], start + p.grad**2, rtol=1e-12)
        np.testing.assert_allclose(theirs.state[t]["sum"].numpy(), p.grad**2, rtol=1e-12)


def test_defaults_are_torchs():
    p = mg.Tensor(np.zeros(2), requires_grad=True)
    t = torch.zeros(2, requires_grad=True)
    for name in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad"):
        ours = getattr(optim, name)([p]).param_groups[0]
        theirs = getattr(torch.optim, name)([t]).param_groups[0]
        for key, value in ours.items():
            if key != "params":
                assert theirs[key] == value, (name, key)


def test_named_parameters_are_kept_as_param_names_like_torch():
    model = mg.nn.MLP([3, 4, 2])
    opt = optim.Adam(model.named_parameters(), lr=0.01)
    names = [name for name, _ in model.named_parameters()]
    assert opt.param_groups[0]["param_names"] == names
    assert opt.param_groups[0]["params"] == model.parameters()
    assert opt.state_dict()["param_groups"][0]["param_names"] == names
    with pytest.raises(ValueError, match="with names"):
        opt.add_param_group({"params": [mg.Tensor(np.ones(2), requires_grad=True)]})


def test_state_is_keyed_by_the_parameter_like_torch(twin):
    pair = twin(np.float64)
    ours = optim.Adam(pair.ours, lr=0.01)
    pair.set_gradients()
    ours.step()
    first = pair.ours[0]
    assert set(ours.state[first]) == {"step", "exp_avg", "exp_avg_sq"}
    assert ours.state[first]["step"] == 1


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("SGD", {"lr": 0.001, "momentum": 0.9}),
        ("Adam", {"lr": 0.01, "amsgrad": True}),
        ("AdamW", {"lr": 0.01}),
        ("RMSprop", {"lr": 0.001, "momentum": 0.5, "centered": True}),
        ("Adagrad", {"lr": 0.05}),
    ],
)
def test_state_dict_has_torchs_layout_and_values(twin, name, options):
    pair = twin(np.float32, shapes=((3,), (2, 2), (4,)))
    groups = [{"params": pair.ours[:2]}, {"params": [pair.ours[2]], "lr": 0.002}]
    tgroups = [{"params": pair.theirs[:2]}, {"params": [pair.theirs[2]], "lr": 0.002}]
    ours = getattr(optim, name)(groups, **options)
    theirs = getattr(torch.optim, name)(tgroups, **options)
    for _ in range(4):
        pair.set_gradients(skip=(1,))  # parameter 1 never steps: no state, in both
        ours.step()
        theirs.step()
    mine, reference = ours.state_dict(), pair.torch_state(theirs)
    assert set(mine) == {"state", "param_groups"}
    for g, (group, tgroup) in enumerate(
        zip(mine["param_groups"], reference["param_groups"], strict=True)
    ):
        implementation = set(tgroup) - set(group)
        assert implementation <= {"foreach", "fused", "capturable", "differentiable"}, g
        for key, value in group.items():
            assert tgroup[key] == value, (g, key)
    assert list(mine["state"]) == list(reference["state"])
    for index, entry in mine["state"].items():
        assert set(entry) == set(reference["state"][index])
        for key, value in entry.items():
            np.testing.assert_allclose(value, reference["state"][index][key], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("SGD", {"lr": 0.0005, "momentum": 0.9, "nesterov": True}),
        ("Adam", {"lr": 0.005, "amsgrad": True, "weight_decay": 0.01}),
        ("AdamW", {"lr": 0.005}),
        ("RMSprop", {"lr": 0.0005, "momentum": 0.5, "centered": True}),
        ("Adagrad", {"lr": 0.05, "lr_decay": 0.01}),
    ],
)
def test_resuming_from_a_state_equals_the_uninterrupted_run_and_torch(twin, name, options):
    pair = twin(np.float32)
    ours = getattr(optim, name)(pair.ours, **options)
    theirs = getattr(torch.optim, name)(pair.theirs, **options)
    for step in range(40):
        if step == 20:
            # A new optimizer over the same parameters, its state from the old one's.
            saved = ours.state_dict()
            ours = getattr(optim, name)(pair.ours, lr=123.0)
            ours.load_state_dict(saved)
            assert ours.param_groups[0]["lr"] == options["lr"]
        pair.set_gradients()
        ours.step()
        theirs.step()
        pair.check(f"step {step + 1}")


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("SGD", {"lr": 0.0005, "momentum": 0.9}),
        ("Adam", {"lr": 0.005, "amsgrad": True}),
        ("AdamW", {"lr": 0.005, "weight_decay": 0.1}),
        ("RMSprop", {"lr": 0.0005, "centered": True, "momentum": 0.3}),
        ("Adagrad", {"lr": 0.05}),
    ],
)
def test_a_torch_optimizer_state_loads_and_continues_in_step(twin, name, options):
    """torch's state_dict, tensors turned into arrays, continues in memograd as in torch."""
    pair = twin(np.float32)
    theirs = getattr(torch.optim, name)(pair.theirs, **options)
    for _ in range(10):
        pair.set_gradients()
        theirs.step()
    for p, t in zip(pair.ours, pair.theirs, strict=True):
        p.data[...] = t.detach().numpy()
    ours = getattr(optim, name)(pair.ours)
    ours.load_state_dict(pair.torch_state(theirs))
    for step in range(20):
        pair.set_gradients()
        ours.step()
        theirs.step()
        pair.check(f"step {step + 11}")


def test_a_failed_load_changes_nothing(twin):
    pair = twin(np.float64, shapes=((3,), (2,)))
    opt = optim.Adam(pair.ours, lr=0.01)
    pair.set_gradients()
    opt.step()
    before = opt.state_dict()
    broken = opt.state_dict()
    broken["param_groups"][0]["lr"] = 0.5
    broken["state"][1]["exp_avg"] = np.zeros(7)  # the wrong shape, found after group 0
    with pytest.raises(ValueError, match=r"'exp_avg' has shape \(7,\), the parameter \(2,\)"):
        opt.load_state_dict(broken)
    after = opt.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for index in before["state"]:
        for key, value in before["state"][index].items():
            np.testing.assert_array_equal(after["state"][index][key], value)


def saved_adam_state():
    p = mg.Tensor(np.ones(3), requires_grad=True)
    opt = optim.Adam([p], lr=0.01)
    p.grad = np.ones(3)
    opt.step()
    return opt.state_dict()


def edit(state, change):
    change(state)
    return state


@pytest.mark.parametrize(
    ("make", "state", "message"),
    [
        (
            lambda p: optim.SGD([p], momentum=0.9),
            saved_adam_state(),
            r"\['amsgrad', 'betas', 'decoupled_weight_decay', 'eps'\], which are not "
            r"hyperparameters of SGD \(was it saved by another optimizer\?\)",
        ),
        (
            lambda p: optim.Adam([p]),
            edit(saved_adam_state(), lambda s: s["state"][0].update(momentum_buffer=np.ones(3))),
            r"has \['momentum_buffer'\], which Adam does not keep",
        ),
        (
            lambda p: optim.Adam([p]),
            edit(saved_adam_state(), lambda s: s["state"][0].pop("exp_avg_sq")),
            r"lacks \['exp_avg_sq'\], which Adam needs",
        ),
        (
            lambda p: optim.Adam([p], amsgrad=False),
            edit(saved_adam_state(), lambda s: s["param_groups"][0].update(amsgrad=True)),
            r"lacks \['max_exp_avg_sq'\]",
        ),
        (
            lambda p: optim.Adam([p]),
            edit(saved_adam_state(), lambda s: s["state"][0].update(step=2.5)),
            r"'step' is 2.5, expected a whole number >= 0",
        ),
        (
            lambda p: optim.Adam([p]),
            edit(saved_adam_state(), lambda s: s["param_groups"][0].update(lr=-1)),
            r"parameter group 0 of the state: lr must be a finite number >= 0, got -1",
        ),
        (
            lambda p: optim.Adam([p]),
            edit(saved_adam_state(), lambda s: s["param_groups"][0].pop("eps")),
            r"lacks \['eps'\]",
        ),
        (
            lambda p: optim.Adam([p]),
            edit(saved_adam_state(), lambda s: s["state"].update({5: {}})),
            r"an entry for parameter 5, which no parameter group lists",
        ),
        (
            lambda p: optim.Adam([p, mg.Tensor(np.ones(2), requires_grad=True)]),
            saved_adam_state(),
            r"parameter group 0 of the state has 1 parameters, this Adam's has 2",
        ),
        (
            lambda p: optim.Adam([{"params": [p]}, {"params": [mg.Tensor(np.ones(1))]}]),
            saved_adam_state(),
            r"the state has 1 parameter groups, this Adam has 2",
        ),
        (
            lambda p: optim.Adam([p, mg.Tensor(np.ones(2), requires_grad=True)]),
            edit(saved_adam_state(), lambda s: s["param_groups"][0].update(params=[0, 0])),
            r"lists parameter 0, which another place in the state lists too",
        ),
        (
            lambda p: optim.Adam([p]),
            {"param_groups": []},
            r"expects a dict with 'state' and 'param_groups'",
        ),
    ],
)
def test_a_state_that_does_not_fit_is_refused_naming_the_problem(make, state, message):
    opt = make(mg.Tensor(np.ones(3), requires_grad=True))
    with pytest.raises(ValueError, match=message):
        opt.load_state_dict(state)


def test_loaded_arrays_are_copies_cast_to_the_parameters_dtype():
    p = mg.Tensor(np.ones(3, np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    buffer = np.array([1.0, 2.0, 3.0])  # float64, as a converted checkpoint might hold
    opt.load_state_dict(
        {
            "state": {0: {"momentum_buffer": buffer}},
            "param_groups": [{**opt.state_dict()["param_groups"][0]}],
        }
    )
    stored = opt.state[p]["momentum_buffer"]
    assert stored.dtype == np.float32 and stored is not buffer
    buffer[0] = 100
    assert stored[0] == 1.0


class Param:
    """The whole interface an optimizer needs: ``.data`` and ``.grad`` arrays."""

    def __init__(self, array: np.ndarray) -> None:
        self.data = array.copy()
        self.grad: np.ndarray | None = None


def test_updates_write_into_the_same_array():
    p = Param(np.ones(3, dtype=np.float32))
    array = p.data
    p.grad = np.full(3, 2.0, dtype=np.float32)
    optim.SGD([p], lr=0.25).step()
    assert p.data is array
    np.testing.assert_array_equal(array, np.full(3, 0.5, dtype=np.float32))


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_every_step_bumps_the_version_of_what_it_updates(name):
    w = mg.Tensor(np.ones(3), requires_grad=True)
    frozen = mg.Tensor(np.ones(3), requires_grad=True)
    loss = (w * w).sum() + (frozen * frozen).sum()
    loss.backward(retain_graph=True)
    frozen.grad = None
    opt = getattr(optim, name)([w, frozen])
    opt.step()
    assert w._version == 1 and frozen._version == 0
    w.grad = None
    with pytest.raises(mg.InPlaceModificationError):
        loss.backward()


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


def test_step_calls_the_closure_and_returns_its_loss_like_torch():
    w = mg.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    t = torch.tensor([1.0, -2.0], dtype=torch.float64, requires_grad=True)
    ours, theirs = optim.SGD([w], lr=0.1), torch.optim.SGD([t], lr=0.1)

    def closure():
        ours.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    def torch_closure():
        theirs.zero_grad()
        loss = (t * t).sum()
        loss.backward()
        return loss

    for _ in range(3):
        assert ours.step(closure).item() == theirs.step(torch_closure).item()
    np.testing.assert_array_equal(w.data, t.detach().numpy())


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: optim.SGD([p], lr=-1.0), "lr must be a finite number >= 0, got -1.0"),
        (lambda p: optim.SGD([p], lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
        (lambda p: optim.Adam([p], betas=(0.9, 1.0)), "beta2 must be in [0, 1), got 1.0"),
        (lambda p: optim.Adam([p], amsgrad="yes"), "amsgrad must be True or False, got 'yes'"),
        (lambda p: optim.RMSprop([p], alpha=-0.5), "alpha must be a finite number >= 0, got -0.5"),
        (lambda p: optim.RMSprop([p], momentum=float("nan")), "momentum must be a finite number"),
        (lambda p: optim.Adagrad([p], lr_decay=-1), "lr_decay must be a finite number >= 0"),
        (
            lambda p: optim.Adagrad([p], initial_accumulator_value=-1),
            "initial_accumulator_value must be a finite number >= 0, got -1",
        ),
        (lambda p: optim.Adam([], lr=0.1), "Adam got an empty list of parameters"),
        (lambda p: optim.Adam([p, p]), "parameter 1 of group 0 is parameter 0 again"),
        (
            lambda p: optim.Adam([{"params": [p]}, {"params": [p]}]),
            "parameter 0 of group 1 is already in parameter group 0",
        ),
        (lambda p: optim.Adam({p}), "not a set"),
        (lambda p: optim.Adam([{"params": {p}}]), "not a set"),
        (lambda p: optim.Adam(p), "expects a list of parameters"),
        (lambda p: optim.SGD([np.ones(3)]), "parameter 0 of group 0 is a ndarray"),
        (
            lambda p: optim.SGD([mg.Tensor(np.ones(3, np.int64))]),
            "parameter 0 of group 0 has dtype int64; it must be floating",
        ),
        (
            lambda p: optim.SGD([{"params": [p], "momentun": 0.9}]),
            "SGD has no hyperparameter(s) ['momentun']",
        ),
        (lambda p: optim.SGD([("w", p), p]), "give every parameter with its name"),
    ],
)
def test_bad_arguments_are_named(make, message):
    with pytest.raises((ValueError, TypeError)) as info:
        make(Param(np.ones(2, np.float32)))
    assert message in str(info.value)
