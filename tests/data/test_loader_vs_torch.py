"""TensorDataset, DataLoader and default_collate against torch.utils.data."""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np
import pytest
import torch
import torch.utils.data as tdata

import memograd as mg
from memograd.data import DataLoader, TensorDataset, default_collate, default_convert

Point = namedtuple("Point", ["x", "y"])


def same(ours, theirs, where="batch"):
    """Equal structure, types and values: memograd Tensors where torch has tensors."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, mg.Tensor), f"{where}: {type(ours).__name__}, torch a tensor"
        expected = theirs.numpy()
        assert ours.dtype == expected.dtype, f"{where}: {ours.dtype} vs {expected.dtype}"
        assert ours.shape == expected.shape, where
        np.testing.assert_array_equal(ours.data, expected, err_msg=where)
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs), where
        assert list(ours) == list(theirs), where
        for key in theirs:
            same(ours[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(theirs, list | tuple):
        assert type(ours) is type(theirs), f"{where}: {type(ours)} vs {type(theirs)}"
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
            same(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs and type(ours) is type(theirs), where


def data(rows=11, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(rows, 3)).astype(np.float32), rng.integers(0, 5, size=rows)


@pytest.mark.parametrize("batch_size", [1, 3, 4, 11, 20])
@pytest.mark.parametrize("drop_last", [False, True])
def test_batches_in_order_equal_torchs(batch_size, drop_last):
    X, y = data()
    ours = DataLoader(TensorDataset(X, y), batch_size=batch_size, drop_last=drop_last)
    theirs = tdata.DataLoader(
        tdata.TensorDataset(torch.from_numpy(X), torch.from_numpy(y)),
        batch_size=batch_size,
        drop_last=drop_last,
    )
    assert len(ours) == len(theirs)
    batches = list(ours)
    assert len(batches) == len(list(theirs))
    for i, (a, b) in enumerate(zip(batches, theirs, strict=True)):
        same(a, b, f"batch {i}")


class Samples:
    """A map-style dataset of a user's own, with every kind of sample default_collate takes."""

    def __init__(self, make):
        self.make = make

    def __len__(self):
        return 7

    def __getitem__(self, i):
        return self.make(i)


SAMPLES = {
    "tuple of arrays": lambda i: (np.full((2, 2), i, np.float32), np.int64(i % 3)),
    "dict": lambda i: {"x": np.arange(3.0) * i, "label": i, "weight": 0.5 * i, "name": f"s{i}"},
    "nested": lambda i: {"pair": (i, float(i)), "flags": [i % 2 == 0, np.bool_(i > 3)]},
    "ordered dict": lambda i: OrderedDict(b=np.float16(i), a=np.uint8(i)),
    "named tuple": lambda i: Point(np.array([i, -i]), i * 1.5),
    "list": lambda i: [np.array(i, dtype=np.float64), i],
    "bytes and strings": lambda i: (b"ab" * i, "x" * i),
    "plain float": lambda i: float(i) / 3,
    "tensor": lambda i: mg.Tensor(np.full(3, i, dtype=np.float32)),
}


def torch_sample(sample):
    if isinstance(sample, mg.Tensor):
        return torch.from_numpy(sample.data)
    return sample


@pytest.mark.parametrize("name", list(SAMPLES))
def test_a_users_dataset_collates_as_in_torch(name):
    make = SAMPLES[name]
    ours = list(DataLoader(Samples(make), batch_size=3))
    theirs = list(tdata.DataLoader(Samples(lambda i: torch_sample(make(i))), batch_size=3))
    same(ours, theirs)


@pytest.mark.parametrize("name", list(SAMPLES))
def test_unbatched_samples_convert_as_in_torch(name):
    make = SAMPLES[name]
    ours = list(DataLoader(Samples(make), batch_size=None))
    theirs = list(tdata.DataLoader(Samples(lambda i: torch_sample(make(i))), batch_size=None))
    same(ours, theirs)
    same(default_convert(make(2)), tdata.default_convert(torch_sample(make(2))))


@pytest.mark.parametrize(
    "batch",
    [
        [(1, 2), (3,)],
        [np.ones(2), np.ones(3)],
        [np.array(["a"]), np.array(["b"])],
        [object(), object()],
        [None, None],
        [{"a": 1}, {"b": 2}],
    ],
    ids=["sizes", "shapes", "strings", "objects", "none", "keys"],
)
def test_batches_torch_refuses_are_refused_with_the_reason(batch):
    with pytest.raises(Exception):  # noqa: B017 - torch raises several kinds
        tdata.default_collate(batch)
    with pytest.raises((TypeError, ValueError)) as info:
        default_collate(batch)
    assert "default_collate" in str(info.value)


def test_shuffled_passes_come_from_the_generator_and_cover_every_row():
    X, y = np.arange(10.0).reshape(10, 1), np.arange(10)
    loader = DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True, generator=3)
    reference = np.random.default_rng(3)
    orders = []
    for _ in range(3):
        order = np.concatenate([yb.data for _, yb in loader])
        np.testing.assert_array_equal(order, reference.permutation(10))
        orders.append(order)
    assert not np.array_equal(orders[0], orders[1])
    again = DataLoader(TensorDataset(X, y), batch_size=4, shuffle=True, generator=3)
    np.testing.assert_array_equal(np.concatenate([yb.data for _, yb in again]), orders[0])


def test_without_a_generator_the_order_follows_manual_seed():
    X = np.arange(12.0)
    loader = DataLoader(TensorDataset(X), batch_size=5, shuffle=True)
    mg.manual_seed(7)
    first = np.concatenate([xb.data for (xb,) in loader])
    mg.manual_seed(7)
    second = np.concatenate([xb.data for (xb,) in loader])
    np.testing.assert_array_equal(first, second)
    np.testing.assert_array_equal(first, np.random.default_rng(7).permutation(12))


def test_drop_last_drops_only_the_short_batch_when_shuffled():
    loader = DataLoader(TensorDataset(np.arange(10)), batch_size=4, shuffle=True, drop_last=True)
    sizes = [len(xb) for (xb,) in loader]
    assert sizes == [4, 4] and len(loader) == 2


def test_the_tensor_dataset_shortcut_equals_collating_row_by_row():
    X, y = data(rows=23)
    dataset = TensorDataset(mg.tensor(X), y)
    fast = DataLoader(dataset, batch_size=5, shuffle=True, generator=1)
    slow = DataLoader(dataset, batch_size=5, shuffle=True, generator=1, collate_fn=default_collate)
    for a, b in zip(fast, slow, strict=True):
        same(a, [torch.from_numpy(t.data) for t in b])


def test_a_batch_is_a_copy_that_can_be_changed_in_place():
    X = np.zeros((6, 2))
    for shuffle in (False, True):
        for (xb,) in DataLoader(TensorDataset(X), batch_size=3, shuffle=shuffle):
            xb.data[...] = 99.0
    np.testing.assert_array_equal(X, 0.0)


def test_rows_of_a_tensor_dataset_are_views_as_in_torch():
    X = np.arange(6.0).reshape(3, 2)
    ours, theirs = TensorDataset(X)[1], tdata.TensorDataset(torch.from_numpy(X.copy()))[1]
    assert isinstance(ours, tuple) and isinstance(theirs, tuple)
    same(ours, theirs)


def test_gradients_flow_into_a_dataset_that_requires_them_as_in_torch():
    X = np.arange(8.0).reshape(4, 2)
    ours = mg.Tensor(X, requires_grad=True)
    theirs = torch.tensor(X, requires_grad=True)
    for (xb,), (tb,) in zip(
        DataLoader(TensorDataset(ours), batch_size=3),
        tdata.DataLoader(tdata.TensorDataset(theirs), batch_size=3),
        strict=True,
    ):
        (xb * xb).sum().backward()
        (tb * tb).sum().backward()
    np.testing.assert_array_equal(ours.grad, theirs.grad.numpy())


def test_a_training_loop_over_the_loader_equals_torchs():
    """Linear regression by minibatch SGD: the loop as torch users write it."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(50, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5], np.float32) + 0.1).astype(np.float32)
    w, b = (
        mg.Tensor(np.zeros(3, np.float32), requires_grad=True),
        mg.Tensor(np.zeros(1, np.float32), requires_grad=True),
    )
    tw, tb = torch.zeros(3, requires_grad=True), torch.zeros(1, requires_grad=True)
    opt, topt = mg.optim.SGD([w, b], lr=0.05), torch.optim.SGD([tw, tb], lr=0.05)
    loader = DataLoader(TensorDataset(X, y), batch_size=8)
    tloader = tdata.DataLoader(tdata.TensorDataset(torch.from_numpy(X), torch.from_numpy(y)), 8)
    for _ in range(3):
        for (xb, yb), (txb, tyb) in zip(loader, tloader, strict=True):
            loss = ((xb @ w + b - yb) ** 2).mean()
            tloss = ((txb @ tw + tb - tyb) ** 2).mean()
            opt.zero_grad()
            topt.zero_grad()
            loss.backward()
            tloss.backward()
            opt.step()
            topt.step()
            assert loss.item() == pytest.approx(tloss.item(), rel=1e-5)
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_getitems_is_used_when_a_dataset_has_it():
    class Batched:
        calls = []

        def __len__(self):
            return 5

        def __getitem__(self, i):
            raise AssertionError("row by row")

        def __getitems__(self, indices):
            self.calls.append(indices)
            return [float(i) for i in indices]

    dataset = Batched()
    batches = list(DataLoader(dataset, batch_size=2))
    assert dataset.calls == [[0, 1], [2, 3], [4]]
    np.testing.assert_array_equal(batches[2].data, [4.0])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: DataLoader(iter(range(3))), "must have __len__ and __getitem__"),
        (
            lambda: DataLoader(mg.data.load_digits()),
            "a loaded data set unpacks as X, y: pass TensorDataset(X, y)",
        ),
        (lambda: DataLoader(TensorDataset(np.ones(3)), batch_size=0), "batch_size must be >= 1"),
        (
            lambda: DataLoader(TensorDataset(np.ones(3)), batch_size=2.0),
            "batch_size must be an int",
        ),
        (
            lambda: DataLoader(TensorDataset(np.ones(3)), batch_size=None, drop_last=True),
            "cannot be combined",
        ),
        (lambda: DataLoader(TensorDataset(np.ones(3)), shuffle="yes"), "shuffle must be True"),
        (
            lambda: DataLoader(TensorDataset(np.ones(3)), generator=torch.Generator()),
            "generator must be a numpy.random.Generator or an int seed, got Generator",
        ),
        (
            lambda: TensorDataset(np.ones(3), np.ones(4)),
            "different numbers of rows 3 (tensor 0), 4 (tensor 1)",
        ),
        (lambda: TensorDataset([1, 2]), "argument 0 is a list, expected a Tensor or a NumPy array"),
        (lambda: TensorDataset(np.array(1.0)), "tensor 0 is 0-dimensional"),
        (lambda: TensorDataset(), "needs at least one tensor"),
    ],
)
def test_bad_arguments_are_named(make, message):
    with pytest.raises((TypeError, ValueError)) as info:
        make()
    assert message in str(info.value)


def test_subclassing_the_loaders_record_says_what_to_do_instead():
    with pytest.raises(TypeError, match="not a base class.*drop the base class"):

        class MyDataset(mg.data.Dataset):
            pass
