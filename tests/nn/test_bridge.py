"""The bridge: PyTorch models become memograd models and back, computing the same numbers."""

from __future__ import annotations

import sys
from collections import OrderedDict

import numpy as np
import pytest
import torch

import memograd as mg
from memograd import nn

DTYPES = [(np.float32, torch.float32), (np.float64, torch.float64)]


def torch_model(dtype):
    """Every layer both libraries share, in one network, with non-trivial statistics."""
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        OrderedDict(
            flatten=torch.nn.Flatten(),
            fc1=torch.nn.Linear(6, 8),
            bn=torch.nn.BatchNorm1d(8),
            act1=torch.nn.ReLU(),
            block=torch.nn.Sequential(
                torch.nn.Linear(8, 8, bias=False),
                torch.nn.LayerNorm(8),
                torch.nn.Tanh(),
                torch.nn.Dropout(0.3),
                torch.nn.Identity(),
                torch.nn.LeakyReLU(0.2),
                torch.nn.Sigmoid(),
                torch.nn.GELU(approximate="tanh"),
            ),
            fc2=torch.nn.Linear(8, 3),
            out=torch.nn.LogSoftmax(dim=1),
        )
    ).to(dtype)
    with torch.no_grad():  # statistics and affine terms away from their initial values
        model.bn.running_mean.uniform_(-0.5, 0.5)
        model.bn.running_var.uniform_(0.5, 2.0)
        model.bn.num_batches_tracked.fill_(7)
        model.bn.weight.uniform_(0.5, 1.5)
        model.bn.bias.uniform_(-0.5, 0.5)
        model.block[1].weight.uniform_(0.5, 1.5)
        model.block[1].bias.uniform_(-0.5, 0.5)
    return model.eval()


def inputs(dtype, shape=(5, 2, 3), seed=1):
    return np.random.default_rng(seed).normal(size=shape).astype(dtype)


@pytest.mark.parametrize(("np_dtype", "torch_dtype"), DTYPES, ids=["float32", "float64"])
def test_a_torch_model_crosses_to_memograd_with_the_same_outputs_and_gradients(
    np_dtype, torch_dtype
):
    theirs = torch_model(torch_dtype)
    ours = nn.from_torch(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)
    assert ours.fc1.weight.data.dtype == np_dtype
    np.testing.assert_array_equal(ours.fc1.weight.data, theirs.fc1.weight.detach().numpy().T)
    x = inputs(np_dtype)
    out = ours(x)
    tx = torch.from_numpy(x).requires_grad_(True)
    tout = theirs(tx)
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-6, atol=1e-6)
    upstream = inputs(np_dtype, (5, 3), seed=2)
    (out * mg.tensor(upstream)).sum().backward()
    tout.backward(torch.from_numpy(upstream))
    np.testing.assert_allclose(
        ours.fc1.weight.grad, theirs.fc1.weight.grad.numpy().T, rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(
        ours.block[1].weight.grad, theirs.block[1].weight.grad.numpy(), rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(("np_dtype", "torch_dtype"), DTYPES, ids=["float32", "float64"])
def test_a_memograd_model_crosses_to_torch_and_back_unchanged(np_dtype, torch_dtype):
    mg.manual_seed(3)
    dtype = np.dtype(np_dtype).name
    ours = nn.Sequential(
        nn.Embedding(10, 4, padding_idx=0, dtype=dtype),
        nn.Flatten(),
        nn.Linear(12, 6, dtype=dtype),
        nn.BatchNorm1d(6, momentum=None, dtype=dtype),
        nn.GELU(),
        nn.LayerNorm(6, bias=False, dtype=dtype),
        nn.Linear(6, 2, dtype=dtype),
        nn.Softmax(dim=-1),
    )
    indices = np.array([[1, 2, 3], [0, 9, 4], [5, 5, 0], [7, 8, 1]])
    ours(indices)  # one training step of the batch norm's statistics
    ours.eval()
    theirs = ours.to_torch()
    assert isinstance(theirs, torch.nn.Sequential)
    assert not theirs.training and not theirs[3].training
    assert theirs[2].weight.dtype == torch_dtype
    assert list(theirs.state_dict()) == list(ours.state_dict())
    assert int(theirs[3].num_batches_tracked) == 1
    expected = ours(indices).data
    got = theirs(torch.from_numpy(indices)).detach().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    back = nn.from_torch(theirs)
    for (name, a), (_, b) in zip(back.state_dict().items(), ours.state_dict().items(), strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
    np.testing.assert_array_equal(back(indices).data, expected)


def test_an_mlp_crosses_as_a_sequential_with_the_same_state_dict_keys():
    model = nn.MLP([4, 5, 3], activation="tanh", dropout=0.1, rng=0)
    theirs = model.to_torch()
    assert list(theirs.state_dict()) == list(model.state_dict())
    x = inputs(np.float32, (3, 4))
    model.eval()
    theirs.eval()
    np.testing.assert_allclose(
        theirs(torch.from_numpy(x)).detach().numpy(), model(x).data, rtol=1e-6, atol=1e-6
    )


def test_square_linear_weights_are_transposed_by_a_converted_state_dict():
    """A (4, 4) weight fits either way round: only the layout tag keeps it right."""

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(4, 4)
            self.head = nn.Linear(4, 2)

        def forward(self, x):
            return self.head(nn.functional.relu(self.hidden(x)))

    class TorchNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = torch.nn.Linear(4, 4)
            self.head = torch.nn.Linear(4, 2)

        def forward(self, x):
            return self.head(torch.relu(self.hidden(x)))

    torch.manual_seed(0)
    theirs = TorchNet()
    ours = Net()
    result = ours.load_state_dict(nn.from_torch(theirs.state_dict()))
    assert repr(result) == "<All keys matched successfully>"
    x = inputs(np.float32, (3, 4))
    np.testing.assert_allclose(
        ours(x).data, theirs(torch.from_numpy(x)).detach().numpy(), rtol=1e-6, atol=1e-6
    )
    # Raw torch tensors are refused: their layout cannot be told from their shape.
    with pytest.raises(TypeError, match=r"'hidden.weight' is a torch tensor; .*from_torch"):
        ours.load_state_dict(theirs.state_dict())
    # And a torch module with its own forward has no memograd counterpart.
    with pytest.raises(TypeError) as info:
        nn.from_torch(theirs)
    assert "no memograd counterpart for the model itself (TorchNet)" in str(info.value)
    assert "model.load_state_dict(mg.nn.from_torch(torch_model.state_dict()))" in str(info.value)


def test_unsupported_layers_are_refused_each_named():
    theirs = torch.nn.Sequential(
        torch.nn.Linear(2, 2),
        torch.nn.GELU(),  # the erf form
        torch.nn.Sequential(torch.nn.Conv1d(1, 1, 1), torch.nn.ReLU()),
        torch.nn.Embedding(3, 2, max_norm=1.0),
    )
    with pytest.raises(TypeError) as info:
        nn.from_torch(theirs)
    message = str(info.value)
    assert "'1' (GELU), '2.0' (Conv1d), '3' (Embedding)" in message
    ours = nn.Sequential(nn.Standardize(2), nn.Linear(2, 2), nn.Sequential(nn.MSELoss()))
    with pytest.raises(TypeError) as info:
        ours.to_torch()
    assert "no PyTorch counterpart for '0' (Standardize), '2.0' (MSELoss)" in str(info.value)
    with pytest.raises(TypeError, match="expects a torch.nn.Module or a state dict"):
        nn.from_torch(np.ones(3))


def test_flags_modes_and_statistics_cross_both_ways():
    theirs = torch.nn.Sequential(
        torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3, affine=False), torch.nn.Dropout(0.5)
    )
    theirs[0].weight.requires_grad_(False)
    theirs[2].eval()
    ours = nn.from_torch(theirs)
    assert ours.training and ours[1].training and not ours[2].training
    assert not ours[0].weight.requires_grad and ours[0].bias.requires_grad
    assert [n for n, _ in ours.named_parameters()] == ["0.weight", "0.bias"]
    back = ours.to_torch()
    assert not back[0].weight.requires_grad and back[0].bias.requires_grad
    assert back.training and back[1].training and not back[2].training
    assert back[1].weight is None and back[1].running_var is not None


def test_torch_is_imported_only_by_the_bridge_functions():
    import subprocess

    code = (
        "import sys, memograd as mg; m = mg.nn.MLP([2, 2]); "
        "assert 'torch' not in sys.modules; m.to_torch(); assert 'torch' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
