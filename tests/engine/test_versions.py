"""In-place writes after an op saved an array: backward raises instead of a wrong gradient.

Also the two ways of making a tensor from an array: copying (``Tensor``, ``mg.tensor``) and
sharing (``from_numpy``, ``as_tensor``), as ``torch.tensor`` and ``torch.from_numpy`` do.
"""

from __future__ import annotations

import numpy as np
import pytest

import memograd as mg


def leaf(values=(1.0, 2.0, 3.0)) -> mg.Tensor:
    return mg.Tensor(np.array(values), requires_grad=True)


@pytest.mark.parametrize("strategy", ["sweep", "memo", "naive"])
def test_data_changed_in_place_after_use_raises_naming_the_op(strategy):
    x = leaf()
    y = (x * x).sum()
    x.data *= 10  # the example: gave [20, 40, 60] instead of [2, 4, 6]
    with pytest.raises(mg.InPlaceModificationError, match=r"input 0 of 'mul'"):
        y.backward(strategy=strategy)
    assert x.grad is None  # nothing half-delivered


def test_rebinding_data_after_use_raises():
    x = leaf()
    y = x.exp().sum()
    y_node = y.parents[0]
    y_node.data = np.zeros(3)  # the output exp saved
    with pytest.raises(mg.InPlaceModificationError, match=r"the output of 'exp'"):
        y.backward()


def test_ops_that_read_no_saved_value_still_run_after_a_write():
    # add's gradient needs only shapes: PyTorch allows this, and so do we.
    x = leaf()
    y = (x + 1).sum()
    x.data *= 10
    y.backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0, 1.0])


def test_write_through_a_view_is_seen_by_its_base():
    x = leaf()
    y = (x * x).sum()
    view = x.reshape(3, 1)
    view.data *= 2  # same memory as x
    with pytest.raises(mg.InPlaceModificationError):
        y.backward()


def test_detach_shares_memory_and_version():
    x = leaf()
    y = (x * x).sum()
    d = x.detach()
    assert np.shares_memory(d.data, x.data)
    d.data += 1
    assert x._version == d._version == 1
    with pytest.raises(mg.InPlaceModificationError):
        y.backward()


def test_write_before_the_op_ran_is_fine():
    x = leaf()
    x.data *= 10
    y = (x * x).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad, [20.0, 40.0, 60.0])


def test_optimizer_step_invalidates_a_graph_built_before_it():
    w = leaf()
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    mg.optim.SGD([w], lr=0.1).step()
    w.grad = None
    with pytest.raises(mg.InPlaceModificationError):
        loss.backward()


def test_tensor_copies_and_from_numpy_shares():
    a = np.array([1.0, 2.0, 3.0])
    copied = mg.Tensor(a, requires_grad=True)
    y = (copied * copied).sum()
    a *= 10  # the caller's array: no longer reaches the copy's saved values
    y.backward()
    np.testing.assert_array_equal(copied.grad, [2.0, 4.0, 6.0])
    assert not np.shares_memory(mg.tensor(a).data, a)
    assert np.shares_memory(mg.from_numpy(a).data, a)
    assert np.shares_memory(mg.as_tensor(a).data, a)
    assert mg.as_tensor(a, dtype=np.float32).dtype == np.float32
    t = mg.from_numpy(a)
    assert mg.as_tensor(t) is t


def test_from_numpy_refuses_what_is_not_an_array():
    with pytest.raises(TypeError, match="expected a NumPy array"):
        mg.from_numpy([1.0, 2.0])


def test_data_must_stay_an_array():
    x = leaf()
    with pytest.raises(TypeError, match="must be a NumPy array"):
        x.data = [1.0, 2.0]


def test_where_and_index_keep_their_own_copies():
    x = leaf()
    mask = np.array([True, False, True])
    index = np.array([0, 0, 2])
    y = mg.where(mask, x, 0.0).sum() + x[index].sum()
    mask[:] = False
    index[:] = 1
    y.backward()
    np.testing.assert_array_equal(x.grad, [3.0, 0.0, 2.0])


def test_value_relu_passes_nan_through_as_tensor_does():
    import math

    assert math.isnan(mg.Value(float("nan")).relu().data)
    assert np.isnan(mg.Tensor(np.array([np.nan])).relu().data[0])
