"""In-place ops with PyTorch's rules, each checked against PyTorch doing the same.

The three silent differences of a PyTorch program run on memograd are gone: ``p -= lr * p.grad``
updates the model's parameter in place, keeps it the leaf that requires grad, and ``==`` is
elementwise. Leaves that require grad are refused outside ``no_grad`` with PyTorch's message;
recorded writes to inner nodes give PyTorch's gradients; a write memograd cannot record is
refused; a saved value written afterwards makes backward raise.
"""

from __future__ import annotations

import numpy as np
import pytest

import memograd as mg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
X = RNG.uniform(-2, 2, size=(3, 4))
Y = RNG.uniform(0.5, 2, size=(3, 4))


# ---- the three silent differences of the issue ------------------------------------------------


def test_updating_model_parameters_in_a_loop_changes_the_model_as_in_torch():
    mg.manual_seed(0)
    model = mg.nn.Linear(4, 2)
    before = [p.data.copy() for p in model.parameters()]
    ids = [id(p) for p in model.parameters()]
    x = X.astype(np.float32)
    (model(x) ** 2).sum().backward()
    grads = [p.grad.copy() for p in model.parameters()]
    with mg.no_grad():
        for p in model.parameters():
            p -= 0.1 * p.grad  # rebound the loop name before: the model never changed
    for p, b, g, i in zip(model.parameters(), before, grads, ids, strict=True):
        np.testing.assert_array_equal(p.data, b - np.float32(0.1) * g)
        assert id(p) == i and p.requires_grad and p.is_leaf
    # torch, from the same weights: the same parameters after the same update
    linear = torch.nn.Linear(4, 2).double()
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(before[0].T.astype(np.float64)))
        linear.bias.copy_(torch.from_numpy(before[1].astype(np.float64)))
    (linear(torch.from_numpy(X)) ** 2).sum().backward()
    with torch.no_grad():
        for p in linear.parameters():
            p -= 0.1 * p.grad
    np.testing.assert_allclose(model.weight.data.T, linear.weight.detach().numpy(), rtol=1e-5)
    np.testing.assert_allclose(model.bias.data, linear.bias.detach().numpy(), rtol=1e-5)


def test_a_minus_equals_under_no_grad_keeps_the_same_leaf_that_requires_grad():
    a = mg.tensor(X, requires_grad=True)
    ta = torch.tensor(X, requires_grad=True)
    for step in range(3):  # the polynomial tutorial's loop: the leaf must survive every step
        (a * a * a).sum().backward()
        (ta * ta * ta).sum().backward()
        same = a
        with mg.no_grad():
            a -= 1e-2 * a.grad
        with torch.no_grad():
            ta -= 1e-2 * ta.grad
        assert a is same and a.requires_grad and a.is_leaf and a._version == step + 1
        assert a._version == ta._version
        np.testing.assert_allclose(a.data, ta.detach().numpy(), rtol=1e-12)
        a.grad = None
        ta.grad = None


def test_equality_is_elementwise_and_tensors_stay_hashable():
    t1, t2 = mg.tensor([1.0, 2.0, 3.0]), mg.tensor([1.0, 5.0, 3.0])
    np.testing.assert_array_equal((t1 == t2).data, [True, False, True])
    np.testing.assert_array_equal((t1 != t2).data, [False, True, False])
    assert len({t1: 1, t2: 2}) == 2 and t1 in {t1}


# ---- leaves, PyTorch's refusal ---------------------------------------------------------------


def _torch_message(thunk) -> str:
    with pytest.raises(RuntimeError) as info:
        thunk()
    return str(info.value)


@pytest.mark.parametrize(
    "op",
    [
        lambda t: t.add_(1.0),
        lambda t: t.sub_(1.0),
        lambda t: t.mul_(2.0),
        lambda t: t.div_(2.0),
        lambda t: t.zero_(),
        lambda t: t.fill_(3.0),
        lambda t: t.clamp_(0.0, 1.0),
        lambda t: t.masked_fill_(t > 0, 0.0),
        lambda t: t.__setitem__(0, 1.0),
        lambda t: t.__iadd__(1.0),
        lambda t: t.__isub__(1.0),
        lambda t: t.__imul__(2.0),
        lambda t: t.__itruediv__(2.0),
    ],
)
def test_a_leaf_that_requires_grad_is_refused_with_torchs_reason(op):
    theirs = _torch_message(lambda: op(torch.tensor(X, requires_grad=True)))
    leaf = mg.tensor(X, requires_grad=True)
    with pytest.raises(RuntimeError) as info:
        op(leaf)
    reason = "leaf Variable that requires grad is being used in an in-place operation"
    assert reason in theirs and reason in str(info.value)
    assert leaf._version == 0 and np.array_equal(leaf.data, X)  # nothing half-written


IN_PLACE = {
    "add_": (lambda t, o: t.add_(o), lambda t, o: t.add_(o)),
    "add_alpha": (lambda t, o: t.add_(o, alpha=-0.5), lambda t, o: t.add_(o, alpha=-0.5)),
    "sub_": (lambda t, o: t.sub_(o), lambda t, o: t.sub_(o)),
    "mul_": (lambda t, o: t.mul_(o), lambda t, o: t.mul_(o)),
    "div_": (lambda t, o: t.div_(o), lambda t, o: t.div_(o)),
    "iadd": (lambda t, o: t.__iadd__(o), lambda t, o: t.__iadd__(o)),
    "isub": (lambda t, o: t.__isub__(o), lambda t, o: t.__isub__(o)),
    "imul": (lambda t, o: t.__imul__(o), lambda t, o: t.__imul__(o)),
    "idiv": (lambda t, o: t.__itruediv__(o), lambda t, o: t.__itruediv__(o)),
    "copy_": (lambda t, o: t.copy_(o), lambda t, o: t.copy_(o)),
    "fill_": (lambda t, o: t.fill_(o[0, 0]), lambda t, o: t.fill_(o[0, 0])),
    "zero_": (lambda t, o: t.zero_(), lambda t, o: t.zero_()),
    "clamp_": (lambda t, o: t.clamp_(-0.5, 1.0), lambda t, o: t.clamp_(-0.5, 1.0)),
    "clamp_tensor": (lambda t, o: t.clamp_(max=o), lambda t, o: t.clamp_(max=o)),
    "relu_": (lambda t, o: t.relu_(), lambda t, o: t.relu_()),
    "masked_fill_": (
        lambda t, o: t.masked_fill_(o > 1.0, -1.0),
        lambda t, o: t.masked_fill_(o > 1.0, -1.0),
    ),
    "setitem_index": (lambda t, o: t.__setitem__(1, o[0]), lambda t, o: t.__setitem__(1, o[0])),
    "setitem_mask": (
        lambda t, o: t.__setitem__(o > 1.0, 0.0),
        lambda t, o: t.__setitem__(o > 1.0, 0.0),
    ),
    "setitem_fancy": (
        lambda t, o: t.__setitem__((slice(None), [0, 2]), o[:, :2]),
        lambda t, o: t.__setitem__((slice(None), [0, 2]), o[:, :2]),
    ),
}


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_under_no_grad_a_leaf_is_written_in_place_as_in_torch(name):
    ours_op, theirs_op = IN_PLACE[name]
    leaf, other = mg.tensor(X, requires_grad=True), mg.tensor(Y)
    tleaf, tother = torch.tensor(X, requires_grad=True), torch.tensor(Y)
    memory = leaf.data
    with mg.no_grad():
        result = ours_op(leaf, other)
    with torch.no_grad():
        theirs_op(tleaf, tother)
    np.testing.assert_allclose(leaf.data, tleaf.detach().numpy(), rtol=1e-12)
    assert leaf.data is memory and leaf.requires_grad and leaf.is_leaf
    assert leaf._version == tleaf._version == 1
    assert result is None or result is leaf


@pytest.mark.parametrize("name", sorted(IN_PLACE))
def test_on_an_inner_node_the_write_is_recorded_with_torchs_gradients(name, against_torch):
    ours_op, theirs_op = IN_PLACE[name]

    def program(op):
        def run(x, y):
            h = x * 1.5  # a fresh inner node: nothing has used it yet
            op(h, y)
            return h * y

        return run

    against_torch(program(ours_op), program(theirs_op), X, Y)


def test_a_constant_that_takes_a_graph_value_in_place_joins_the_graph(against_torch):
    def program(zeros):
        def run(w):
            total = zeros((3, 4), dtype=w.dtype)
            total += w * w
            total.mul_(w)
            return total

        return run

    against_torch(program(mg.zeros), program(torch.zeros), X)


def test_a_write_keeps_views_and_shared_arrays_in_step():
    memory = X.copy()
    t = mg.from_numpy(memory)
    view = t.reshape(12)
    t += 1.0
    np.testing.assert_array_equal(memory, X + 1.0)
    np.testing.assert_array_equal(view.data, (X + 1.0).reshape(12))
    view.mul_(2.0)
    np.testing.assert_array_equal(t.data, (X + 1.0) * 2.0)
    assert t._version == view._version == 2


def test_a_value_saved_for_backward_then_changed_in_place_raises_as_in_torch():
    x = mg.tensor(X, requires_grad=True)
    h = x.exp()  # exp saves its output
    h2 = h + 0.0  # add saves nothing: the check that fires is exp's
    with mg.no_grad():
        h.add_(1.0)
    with pytest.raises(mg.InPlaceModificationError, match="'exp'"):
        (h2 * h2).sum().backward()
    tx = torch.tensor(X, requires_grad=True)
    th = tx.exp()
    th2 = th + 0.0
    with torch.no_grad():
        th.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        (th2 * th2).sum().backward()


def test_a_recorded_write_over_a_saved_value_raises_as_in_torch():
    x = mg.tensor(X, requires_grad=True)
    h = x.exp()  # saves its output, which add_ then overwrites
    h.add_(1.0)
    with pytest.raises(mg.InPlaceModificationError, match="output of 'exp'"):
        h.sum().backward()
    th = torch.tensor(X, requires_grad=True).exp()
    th.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        th.sum().backward()


def test_a_write_to_a_tensor_an_op_already_used_is_refused():
    x = mg.tensor(X, requires_grad=True)
    h = x * 2.0
    later = h + 1.0  # add saves nothing: no version check could catch a rewrite of h
    with pytest.raises(RuntimeError, match="already used by an op recorded"):
        h += 1.0
    with pytest.raises(RuntimeError, match=r"`x = x \+ y` for `x \+= y`"):
        h.mul_(3.0)
    assert h._version == 0 and h.op == "mul"  # untouched
    (later.sum() + h.sum()).backward()
    np.testing.assert_array_equal(x.grad, np.full(X.shape, 4.0))


def test_a_write_through_a_view_of_a_graph_tensor_is_refused():
    x = mg.tensor(X, requires_grad=True)
    h = x * 2.0
    row = h[0]
    with pytest.raises(RuntimeError, match="is a view"):
        row.add_(1.0)
    with pytest.raises(RuntimeError, match="is a view .* of a leaf that requires grad"):
        x[0].zero_()


def test_no_grad_views_and_detached_tensors_write_through_to_the_leaf():
    w = mg.tensor(X, requires_grad=True)
    w.detach().zero_()  # PyTorch's way to reset a parameter outside no_grad
    assert not w.data.any() and w._version == 1
    with mg.no_grad():
        w[0] = 5.0
    np.testing.assert_array_equal(w.data[0], 5.0)


def test_in_place_refusals_name_what_went_wrong():
    ints = mg.tensor([1, 2, 3])
    with pytest.raises(TypeError, match="add_: .*int64"):
        ints += 1.5  # torch refuses too: float cannot be stored in an integer tensor
    with pytest.raises(ValueError, match="add_: .*shape"):
        mg.zeros(3).add_(mg.zeros(2, 3))
    with pytest.raises(ValueError, match="read-only"):
        mg.zeros(3).expand(2, 3).add_(1.0)
    with pytest.raises(ValueError, match="setitem: .*more than once"):
        h = mg.tensor(X, requires_grad=True) * 1.0
        h[[0, 0]] = mg.zeros(2, 4, dtype=mg.float64)


# ---- gradients: p.grad.zero_() and p.grad = None --------------------------------------------


def test_grad_zero_and_grad_none_reset_accumulation_as_in_torch():
    w, tw = mg.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    for reset in ("zero_", "none", "zero_"):
        for _ in range(2):  # two passes accumulate
            (w * w).sum().backward()
            (tw * tw).sum().backward()
        np.testing.assert_allclose(w.grad, tw.grad.numpy(), rtol=1e-12)
        assert isinstance(w.grad, np.ndarray)
        if reset == "zero_":
            assert w.grad.zero_() is w.grad  # PyTorch's p.grad.zero_()
            tw.grad.zero_()
        else:
            w.grad = None
            tw.grad = None
    np.testing.assert_allclose(w.grad, tw.grad.numpy())


def test_arithmetic_on_a_gradient_gives_plain_arrays():
    w = mg.tensor(X, requires_grad=True)
    (w * w).sum().backward()
    assert type(w.grad) is mg.GradArray
    assert type(0.1 * w.grad) is np.ndarray and type(w.grad.sum()) is np.float64
    assert type(np.asarray(w.grad)) is np.ndarray


def test_the_older_spelling_through_grad_data_updates_as_in_torch():
    """The first edition of PyTorch's tutorial: ``w.data -= lr * w.grad.data`` and
    ``w.grad.data.zero_()``."""
    w, tw = mg.tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    for step in range(2):
        (w * w * w).sum().backward()
        (tw * tw * tw).sum().backward()
        w.data -= 1e-2 * w.grad.data
        tw.data -= 1e-2 * tw.grad.data
        np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-12)
        assert w.grad.data is w.grad and w._version == step + 1
        w.grad.data.zero_()
        tw.grad.data.zero_()
        assert not w.grad.any()


@pytest.mark.parametrize("fill", ["uniform_", "normal_"])
def test_random_fills_follow_the_in_place_rules_and_manual_seed(fill):
    args = (-0.5, 0.5) if fill == "uniform_" else (2.0, 0.5)
    w, tw = mg.zeros(4000, requires_grad=True), torch.zeros(4000, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(w, fill)(*args)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        getattr(tw, fill)(*args)
    mg.manual_seed(3)
    with mg.no_grad():
        assert getattr(w, fill)(*args) is w
    assert w.is_leaf and w.requires_grad and w._version == 1 and w.dtype == np.float32
    mg.manual_seed(3)
    again = getattr(mg.empty(4000), fill)(*args)
    np.testing.assert_array_equal(again.data, w.data)  # the manual_seed generator
    if fill == "uniform_":
        assert -0.5 <= w.data.min() and w.data.max() < 0.5
    else:  # 4000 draws: the mean within 5 standard errors, the spread within 10%
        assert abs(w.data.mean() - 2.0) < 5 * 0.5 / np.sqrt(4000)
        assert abs(w.data.std() - 0.5) < 0.05
    # on an inner node the values replace the old ones: no gradient flows back, as in torch
    x, tx = mg.ones(3, requires_grad=True), torch.ones(3, requires_grad=True)
    h, th = x * 2, tx * 2
    getattr(h, fill)(*args)
    getattr(th, fill)(*args)
    (h * x).sum().backward()
    (th * tx).sum().backward()
    np.testing.assert_array_equal(x.grad, h.data)
    np.testing.assert_array_equal(tx.grad.numpy(), th.detach().numpy())
