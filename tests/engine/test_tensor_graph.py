"""Tensor graph behaviour: requires_grad, no_grad, detach, accumulation, seeds, errors; and the
functional API (grad, value_and_grad, gradcheck)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import memograd as mg
from memograd.engine.transforms import GradcheckError


def test_requires_grad_propagates_and_constants_stay_leaves():
    w = mg.Tensor(np.ones((2, 2)), requires_grad=True)
    c = mg.Tensor(np.ones((2, 2)))
    assert (c * 2).requires_grad is False and (c * 2).parents == ()
    out = c @ w
    assert out.requires_grad and out.op == "matmul" and out.parents == (c, w)
    assert (w + 1).parents[0] is w and (w + 1).parents[1].requires_grad is False


def test_no_grad_builds_constants_and_backward_refuses():
    w = mg.Tensor(np.ones(3), requires_grad=True)
    with mg.no_grad():
        y = (w * 2).sum()
    assert not y.requires_grad and y.parents == () and y.item() == 6.0
    with pytest.raises(ValueError, match="does not require grad"):
        y.backward()
    assert (w * 2).requires_grad  # restored after the block


def test_detach_shares_data_but_cuts_the_graph():
    w = mg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    d = w.detach()
    assert d.data is w.data and not d.requires_grad
    (w * d).sum().backward()
    np.testing.assert_array_equal(w.grad, [1.0, 2.0])


def test_gradients_accumulate_until_zeroed_and_leaves_never_share_a_buffer():
    x = mg.Tensor(np.zeros(3), requires_grad=True)
    y = mg.Tensor(np.zeros(3), requires_grad=True)
    loss = (x + y).sum()
    loss.backward(retain_graph=True)
    assert x.grad is not y.grad and not np.shares_memory(x.grad, y.grad)
    x.grad *= 10  # an in-place edit of one gradient must not leak into the other
    np.testing.assert_array_equal(y.grad, [1.0, 1.0, 1.0])
    loss.backward()
    np.testing.assert_array_equal(y.grad, [2.0, 2.0, 2.0])
    y.zero_grad()
    assert y.grad is None


def test_sum_gradient_is_a_writable_array():
    x = mg.Tensor(np.zeros((2, 3)), requires_grad=True)
    x.sum().backward()
    x.grad -= 0.5  # would fail on a read-only broadcast view
    np.testing.assert_array_equal(x.grad, np.full((2, 3), 0.5))


def test_non_scalar_backward_needs_a_seed_of_the_same_shape():
    x = mg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    y = x * x
    with pytest.raises(ValueError, match=r"shape \(2,\); a seed gradient is needed"):
        y.backward()
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\), expected \(2,\)"):
        y.backward(np.ones(3))
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 40.0])


def test_strategy_may_be_given_positionally():
    x = mg.Tensor(np.array(3.0), requires_grad=True)
    stats = (x * x).backward("memo", stats=True)
    assert stats.strategy == "memo" and x.grad == 6.0


def test_numpy_arrays_on_the_left_give_tensors():
    t = mg.Tensor(np.ones(2, np.float32), requires_grad=True)
    out = np.array([2, 3]) * t + 1.0
    assert isinstance(out, mg.Tensor) and out.dtype == np.float32
    out.sum().backward()
    np.testing.assert_array_equal(t.grad, [2.0, 3.0])


def test_array_properties():
    t = mg.Tensor(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert (t.shape, t.dtype, t.ndim, t.size, len(t)) == ((2, 3), np.float32, 2, 6, 2)
    assert t.numpy() is t.data and t[1, 2].item() == 5.0
    assert np.asarray(t) is t.data and np.asarray(t, dtype=np.float64).dtype == np.float64


@pytest.mark.parametrize(
    ("thunk", "error", "message"),
    [
        (
            lambda: mg.Tensor(np.ones((3, 4))) @ mg.Tensor(np.ones((5, 2))),
            ValueError,
            r"matmul: \(3, 4\) @ \(5, 2\)",
        ),
        (
            lambda: mg.Tensor(np.ones(3)) @ mg.Tensor(np.ones(())),
            ValueError,
            r"matmul: \(3,\) @ \(\)",
        ),
        (
            lambda: mg.Tensor(np.ones((3, 4))) + mg.Tensor(np.ones(5)),
            ValueError,
            r"add: operands of shapes \(3, 4\) and \(5,\) do not broadcast",
        ),
        (lambda: mg.Tensor(np.ones(3)) * "a", TypeError, "mul: unsupported operand type 'str'"),
        (lambda: mg.Tensor(np.ones(3)) + {}, TypeError, "add: unsupported operand type 'dict'"),
        (lambda: mg.Tensor(np.ones((2, 3))).sum(axis=2), ValueError, "sum: axis 2 is out of range"),
        (lambda: mg.Tensor(np.ones((2, 3))).mean(axis=1.5), TypeError, "mean: axis must be an int"),
        (
            lambda: mg.Tensor(np.ones((2, 3))).reshape(4, 2),
            ValueError,
            r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into \(4, 2\)",
        ),
        (lambda: mg.Tensor(np.ones((2, 3))).transpose((0, 0)), ValueError, "transpose: axes"),
        (lambda: mg.Tensor(np.ones((2, 3)))[5], IndexError, r"getitem: .*tensor shape \(2, 3\)"),
        (lambda: mg.Tensor(np.ones((2, 3)))[0.5], TypeError, "getitem: indices must be integers"),
        (
            lambda: mg.Tensor(np.arange(3), requires_grad=True),
            TypeError,
            "requires_grad needs a floating dtype",
        ),
        (lambda: mg.Tensor(np.array(["a"])), TypeError, "expected numeric data"),
        (lambda: mg.Tensor(np.ones(3)).item(), ValueError, r"item: the tensor has shape \(3,\)"),
        (
            lambda: mg.linear(mg.Tensor(np.ones((2, 3))), mg.Tensor(np.ones((4, 5)))),
            ValueError,
            r"linear: input of shape \(2, 3\) does not match weight of shape \(4, 5\)",
        ),
        (
            lambda: mg.linear(
                mg.Tensor(np.ones((2, 3))), mg.Tensor(np.ones((3, 5))), mg.Tensor(np.ones(4))
            ),
            ValueError,
            r"linear: bias must have shape \(5,\)",
        ),
        (
            lambda: mg.cross_entropy(mg.Tensor(np.ones((2, 3))), np.array([0, 3])),
            ValueError,
            r"cross_entropy: targets\[1\] = 3 is not a class index for 3 classes",
        ),
        (
            lambda: mg.cross_entropy(mg.Tensor(np.ones((2, 3))), np.array([0.0, 1.0])),
            TypeError,
            "targets must be integer class indices",
        ),
        (
            lambda: mg.cross_entropy(mg.Tensor(np.ones((2, 3))), np.array([0, 1, 2])),
            ValueError,
            r"targets of shape \(3,\) do not match logits of shape \(2, 3\)",
        ),
        (
            lambda: mg.cross_entropy(mg.Tensor(np.ones((2, 3))), np.array([0, 1]), reduction="avg"),
            ValueError,
            "reduction must be one of",
        ),
        (
            lambda: mg.concat([mg.Tensor(np.ones((2, 3))), mg.Tensor(np.ones((3, 3)))], axis=1),
            ValueError,
            r"concat: shapes \(2, 3\) and \(3, 3\) differ outside axis 1",
        ),
        (lambda: mg.concat([]), ValueError, "concat: expected at least one tensor"),
        (
            lambda: mg.stack([mg.Tensor(np.ones(2)), mg.Tensor(np.ones(3))]),
            ValueError,
            "stack: all tensors must have the same shape",
        ),
        (
            lambda: mg.where(np.array([1, 0]), 1.0, 2.0),
            TypeError,
            "where: condition must be boolean",
        ),
        (
            lambda: mg.Tensor(np.ones(3)).clip(2.0, 1.0),
            ValueError,
            r"clip: min \(2.0\) is greater than max",
        ),
        (
            lambda: (
                (mg.Tensor(np.ones(2), requires_grad=True) * 2).sum().backward(strategy="quick")
            ),
            ValueError,
            "strategy must be one of sweep, memo, naive; got 'quick'",
        ),
    ],
)
def test_bad_input_gets_a_clear_error_naming_the_value(thunk, error, message):
    with pytest.raises(error, match=message):
        thunk()


@pytest.mark.parametrize("op", ["matmul", "add"])
def test_no_numpy_traceback_leaks_from_a_shape_error(op):
    x, y = mg.Tensor(np.ones((3, 4))), mg.Tensor(np.ones((5, 2)))
    with pytest.raises(ValueError) as info:
        x @ y if op == "matmul" else x + y
    error = info.value
    assert error.__cause__ is None
    assert error.__context__ is None or error.__suppress_context__


# ---- functional API ------------------------------------------------------------------------


def test_grad_of_a_function_of_arrays_and_numbers():
    f = lambda x, y: (x * x * y).sum()  # noqa: E731
    gx = mg.grad(f)(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_array_equal(gx, [6.0, 16.0])
    gx, gy = mg.grad(f, argnums=(0, 1))(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    np.testing.assert_array_equal(gy, [1.0, 4.0])
    assert mg.grad(lambda v: v * v + v.tanh())(2.0) == pytest.approx(4 + 1 - np.tanh(2.0) ** 2)


def test_value_and_grad_leaves_the_callers_tensor_untouched():
    w = mg.Tensor(np.array([1.0, -2.0]), requires_grad=True)
    value, g = mg.value_and_grad(lambda t: (t * t).sum())(w)
    assert value == 5.0 and w.grad is None
    np.testing.assert_array_equal(g, [2.0, -4.0])


def test_grad_of_an_integer_array_differentiates_it_as_float():
    g = mg.grad(lambda x: (x * x).sum())(np.array([1, 2]))
    assert g.dtype == np.float64 and list(g) == [2.0, 4.0]


def test_grad_errors_name_the_problem():
    with pytest.raises(ValueError, match=r"must return a scalar, got a tensor of shape \(2,\)"):
        mg.grad(lambda x: x * 2)(np.ones(2))
    with pytest.raises(TypeError, match="must return a Value or a one-element Tensor"):
        mg.grad(lambda x: 3.0)(np.ones(2))
    with pytest.raises(ValueError, match="argnums: position 2 is out of range for 1 arguments"):
        mg.grad(lambda x: x.sum(), argnums=2)(np.ones(2))


def test_gradcheck_reports_input_index_and_error_of_a_wrong_gradient():
    def wrong_square(x):  # forward x^2, backward claims 3x (through a detached trick)
        return x * x.detach() + x * x.detach() * 0.5 - (x.detach() * x.detach()) * 0.5

    with pytest.raises(GradcheckError, match=r"gradcheck: input 0 at index \(\d+,\): analytic"):
        mg.gradcheck(wrong_square, np.array([1.0, 2.0, 3.0]))
    assert mg.gradcheck(
        lambda x, y: (x * y).tanh(), np.array([0.3, -0.2]), np.array([[1.0], [2.0]])
    )


def test_keep_freed_memory_checks_its_arguments_and_reports_whether_it_applied():
    from memograd.engine import keep_freed_memory

    with pytest.raises(ValueError, match="trim_threshold must be an int >= 0, got -1"):
        keep_freed_memory(trim_threshold=-1)
    with pytest.raises(ValueError, match="mmap_threshold must be at most"):
        keep_freed_memory(mmap_threshold=2**40)


KEEP_FREED_PROBE = """
import sys
import numpy as np
if sys.argv[1] == "keep":
    from memograd.engine import keep_freed_memory
    assert keep_freed_memory() is True
def resident():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096
base = resident()
block = np.ones(8 * 2**20 // 8)   # 8 MB, touched
del block
print(resident() - base)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc: Linux only")
def test_keep_freed_memory_keeps_a_freed_block_in_the_process():
    # In a child process: it changes malloc for the whole process, which must not leak into
    # the rest of the test run. Without it, glibc hands an 8 MB block straight back (mmap);
    # with it, the block is served from the heap and kept there for the next step.
    import subprocess

    kept = {}
    for mode in ("default", "keep"):
        result = subprocess.run(
            [sys.executable, "-c", KEEP_FREED_PROBE, mode], capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        kept[mode] = int(result.stdout)
    assert kept["default"] < 2 * 2**20
    assert kept["keep"] >= 7 * 2**20


def test_in_place_accumulation_never_writes_into_a_shared_pass_through_buffer():
    # ``add`` hands the same g to both inputs; h then receives four contributions, the first
    # two being that very buffer. Summing in place into it would corrupt b's gradient.
    a = mg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = mg.Tensor(np.array([3.0, 4.0]), requires_grad=True)
    h = a + b
    out = h + h + h * 3.0 + h * a
    for strategy in ("sweep", "memo", "naive"):
        a.grad = b.grad = None
        out.backward(np.ones(2), strategy=strategy, retain_graph=True)
        # d/da = 2 + 3 + (a + h) = 5 + 2a + b ; d/db = 2 + 3 + a = 5 + a
        np.testing.assert_array_equal(a.grad, 5 + 2 * a.data + b.data, err_msg=strategy)
        np.testing.assert_array_equal(b.grad, 5 + a.data, err_msg=strategy)


@pytest.mark.parametrize("strategy", ["sweep", "memo", "naive"])
def test_a_second_backward_through_a_freed_graph_raises_and_retain_graph_allows_it(strategy):
    x = mg.Tensor(np.array([1.0, 2.0]), requires_grad=True)
    loss = (x * x).sum()
    loss.backward(strategy=strategy)
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward(strategy=strategy)
    x.grad = None
    kept = (x * x).sum()
    kept.backward(strategy=strategy, retain_graph=True)
    kept.backward(strategy=strategy)
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])
