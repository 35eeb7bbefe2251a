"""The Tensor API against PyTorch: each case is one program, written once and run with
``lib = memograd`` and with ``lib = torch`` (the same code, as a user's program would be), with
the same outputs (values, shapes, dtypes, requires_grad) and the same gradients."""

from __future__ import annotations

import numpy as np
import pytest

import memograd as mg

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(3)
X = RNG.uniform(-2, 2, size=(3, 4))  # float64: the two libraries agree to rounding
Y = RNG.uniform(-2, 2, size=(3, 4))
POSITIVE = RNG.uniform(0.5, 2, size=(3, 4))
BATCH_A, BATCH_B = RNG.normal(size=(2, 3, 4)), RNG.normal(size=(2, 4, 5))
INDEX = np.array([[0, 3], [2, 2], [1, 0]])

ELEMENTWISE = "sin cos tanh sigmoid relu exp expm1 abs sign".split()
POSITIVE_ONLY = "sqrt rsqrt log log1p".split()

ONE_INPUT = {
    # math, as functions and as methods
    **{f"{name}()": (lambda name: lambda lib, x: getattr(x, name)())(name) for name in ELEMENTWISE},
    **{
        f"lib.{name}": (lambda name: lambda lib, x: getattr(lib, name)(x))(name)
        for name in ELEMENTWISE
    },
    "pow method": lambda lib, x: x.pow(3),
    "pow function": lambda lib, x: lib.pow(x, 2),
    "pow of a number": lambda lib, x: lib.pow(2.0, x),
    "clamp": lambda lib, x: x.clamp(min=-0.5, max=1.0),
    "clamp min only": lambda lib, x: lib.clamp(x, min=0),
    "softmax": lambda lib, x: lib.softmax(x, dim=1),
    "log_softmax method": lambda lib, x: x.log_softmax(dim=-1),
    # shapes
    "t": lambda lib, x: x.t(),
    "lib.t": lambda lib, x: lib.t(x),
    "permute": lambda lib, x: x.permute(1, 0),
    "transpose": lambda lib, x: lib.transpose(x, 0, 1),
    "view": lambda lib, x: x.view(2, 6),
    "view -1": lambda lib, x: x.view(-1),
    "reshape": lambda lib, x: lib.reshape(x, (4, 3)),
    "flatten": lambda lib, x: x.unsqueeze(0).flatten(1),
    "unsqueeze": lambda lib, x: lib.unsqueeze(x, 1),
    "squeeze": lambda lib, x: x.unsqueeze(0).squeeze(),
    "squeeze dim": lambda lib, x: x.unsqueeze(2).squeeze(2),
    "expand": lambda lib, x: x[:, :1].expand(3, 5),
    "expand -1": lambda lib, x: x.unsqueeze(0).expand(2, -1, -1),
    "repeat": lambda lib, x: x.repeat(2, 3),
    "cat": lambda lib, x: lib.cat([x, x * 2], dim=1),
    "stack": lambda lib, x: lib.stack([x, -x], dim=1),
    "split size": lambda lib, x: x.split(3, dim=1),
    "split sizes": lambda lib, x: lib.split(x, [1, 3], dim=1),
    "chunk": lambda lib, x: x.chunk(2, dim=1),
    "gather": lambda lib, x: x.gather(1, lib.tensor(INDEX)),
    "lib.gather": lambda lib, x: lib.gather(x, 0, lib.tensor(INDEX[:, :1].T)),
    # reductions, with dim=/keepdim= and NumPy's axis=/keepdims= (torch takes both too)
    "sum": lambda lib, x: x.sum(),
    "sum dim": lambda lib, x: x.sum(dim=1),
    "sum dims": lambda lib, x: lib.sum(x, dim=(0, 1)),
    "sum keepdim": lambda lib, x: x.sum(1, keepdim=True),
    "sum axis keepdims": lambda lib, x: x.sum(axis=0, keepdims=True),
    "mean": lambda lib, x: x.mean(dim=0),
    "mean axis": lambda lib, x: lib.mean(x, axis=1),
    "var": lambda lib, x: x.var(),
    "var dim": lambda lib, x: x.var(dim=1, keepdim=True),
    "var correction 0": lambda lib, x: lib.var(x, dim=0, correction=0),
    "std": lambda lib, x: x.std(dim=1),
    "max": lambda lib, x: x.max(),
    "max dim": lambda lib, x: x.max(dim=1),
    "max dim keepdim": lambda lib, x: lib.max(x, 0, keepdim=True),
    "min dim": lambda lib, x: x.min(dim=0),
    "max dim values": lambda lib, x: x.max(dim=1).values * x.max(dim=1)[0],
    "min dim indices": lambda lib, x: x.min(1).indices,
    "argmax": lambda lib, x: x.argmax(),
    "argmax dim": lambda lib, x: lib.argmax(x, dim=1),
    "argmin dim keepdim": lambda lib, x: x.argmin(dim=0, keepdim=True),
    "amax": lambda lib, x: x.amax(dim=1),
    "amin": lambda lib, x: lib.amin(x, dim=(0, 1)),
    "prod": lambda lib, x: x.prod(dim=1),
    "prod all": lambda lib, x: lib.prod(x),
    "norm": lambda lib, x: x.norm(),
    "norm dim": lambda lib, x: lib.norm(x, dim=1),
    "norm p=1": lambda lib, x: x.norm(p=1, dim=0),
    # comparisons, where, masked_fill, boolean masks
    "greater": lambda lib, x: x > 0.1,
    "compare with a tensor": lambda lib, x: (x <= x * 0.5, x >= 0, x < 1, x == x, x != x * 2),
    "where": lambda lib, x: lib.where(x > 0, x, x * x),
    "where with a number": lambda lib, x: lib.where(x > 0, x, 0.0),
    "masked_fill": lambda lib, x: x.masked_fill(x < 0, 0.5),
    "boolean mask": lambda lib, x: x[x > 0],
    "boolean row mask": lambda lib, x: x[lib.tensor([True, False, True])],
    "sum of a mask": lambda lib, x: (x > 0).sum(),
    "argmax equal targets": lambda lib, x: (x.argmax(dim=1) == lib.tensor([0, 1, 2])).float(),
}


@pytest.mark.parametrize("name", ONE_INPUT)
def test_one_input_programs_match_torch(name, against_torch):
    program = ONE_INPUT[name]
    against_torch(lambda x: program(mg, x), lambda x: program(torch, x), X)


@pytest.mark.parametrize("name", POSITIVE_ONLY)
def test_functions_of_positive_numbers_match_torch(name, against_torch):
    against_torch(lambda x: getattr(x, name)(), lambda x: getattr(x, name)(), POSITIVE)
    against_torch(lambda x: getattr(mg, name)(x), lambda x: getattr(torch, name)(x), POSITIVE)


TWO_INPUTS = {
    "matmul": (lambda lib, a, b: lib.matmul(a, b.t()), X, Y),
    "mm": (lambda lib, a, b: a.mm(b.t()), X, Y),
    "mm clamp mm": (lambda lib, a, b: a.t().mm(b).clamp(min=0).mm(b.t()), X, Y),
    "bmm": (lambda lib, a, b: lib.bmm(a, b), BATCH_A, BATCH_B),
    "bmm method": (lambda lib, a, b: a.bmm(b), BATCH_A, BATCH_B),
    "max of two": (lambda lib, a, b: lib.maximum(a, b) + lib.minimum(a, b), X, Y),
    "equal elementwise": (lambda lib, a, b: (a == b, a < b), X, Y),
    "where two": (lambda lib, a, b: lib.where(a > b, a, b), X, Y),
    "add alpha": (lambda lib, a, b: lib.add(a, b, alpha=2) - a.sub(b, alpha=0.5), X, Y),
    "mul div": (lambda lib, a, b: lib.mul(a, b) + lib.div(a, b + 3), X, Y),
    "cat stack": (lambda lib, a, b: lib.stack([lib.cat([a, b]), lib.cat([b, a])]), X, Y),
}


@pytest.mark.parametrize("name", TWO_INPUTS)
def test_two_input_programs_match_torch(name, against_torch):
    program, a, b = TWO_INPUTS[name]
    against_torch(lambda x, y: program(mg, x, y), lambda x, y: program(torch, x, y), a, b)


def test_equality_of_whole_tensors_is_torch_equal_not_identity():
    a, b = mg.tensor([1.0, 2.0]), mg.tensor([1.0, 2.0])
    assert mg.equal(a, b) and not mg.equal(a, b + 1) and not mg.equal(a, mg.tensor([1.0]))
    assert torch.equal(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0]))
    assert mg.allclose(a, b + 1e-9) and not mg.allclose(a, b + 1e-3)
    assert (a == b).tolist() == [True, True] and len({a, b}) == 2  # hashable by identity


def test_a_device_names_the_cpu_and_refuses_others():
    assert str(mg.device("cpu")) == "cpu" and mg.device("cpu") == "cpu"
    assert mg.zeros(2, device=mg.device("cpu")).device == "cpu"
    assert repr(mg.device("cpu")) == repr(torch.device("cpu"))
    with pytest.raises(RuntimeError, match="device 'cuda' is not available"):
        mg.device("cuda")


DTYPE_PROGRAMS = {
    "int / number": lambda lib: lib.tensor([1, 2]) / 2,
    "int / int tensor": lambda lib: lib.tensor([1, 2]) / lib.tensor([2, 4]),
    "number / int": lambda lib: 1 / lib.tensor([1, 2]),
    "int * float number": lambda lib: lib.tensor([1, 2]) * 2.5,
    "count of a mask / number": lambda lib: (lib.tensor([1.0, -1.0]) > 0).sum() / 2,
    "int + int number": lambda lib: lib.tensor([1, 2]) + 1,
    "float64 * number": lambda lib: lib.tensor([1.0], dtype=lib.float64) * 2.5,
    "float32 * float64 tensor": lambda lib: lib.ones(2) * lib.ones(2, dtype=lib.float64),
}


@pytest.mark.parametrize("name", DTYPE_PROGRAMS)
def test_result_dtypes_follow_torchs_promotion(name):
    ours, theirs = DTYPE_PROGRAMS[name](mg), DTYPE_PROGRAMS[name](torch)
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch.")
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_grad_mode_switches_behave_as_torchs():
    x, tx = mg.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    for lib, t in ((mg, x), (torch, tx)):
        with lib.no_grad():
            assert not (t * 2).requires_grad and not lib.is_grad_enabled()
            with lib.enable_grad():
                assert (t * 2).requires_grad
        with lib.set_grad_enabled(False):
            assert not (t * 2).requires_grad
        assert lib.is_grad_enabled()
        lib.set_grad_enabled(False)  # called: switches at once, until switched back
        assert not (t * 2).requires_grad
        lib.set_grad_enabled(True)
        with lib.inference_mode():
            assert not (t * 2).requires_grad
        with lib.inference_mode(False):
            assert (t * 2).requires_grad

        @lib.no_grad()
        def doubled(v):
            return v * 2

        @lib.set_grad_enabled(False)
        def tripled(v):
            return v * 3

        assert lib.is_grad_enabled()  # decorating switches nothing
        assert not doubled(t).requires_grad and not tripled(t).requires_grad
        assert lib.is_grad_enabled() and (t * 2).requires_grad
    with pytest.raises(TypeError, match="mode must be True or False"):
        mg.set_grad_enabled("train")


def test_torchs_legacy_constructor_spelling_gets_a_clear_error():
    with pytest.raises(TypeError, match=r"requires_grad must be True or False, got 4.*mg.empty"):
        mg.Tensor(3, 4)
    assert mg.Tensor([1, 2]).dtype == np.int64  # the data's dtype kept (docs/pytorch.md)


def _writes_in_place(lib, x):
    h = x * 2
    h[h > 0] = 0.5  # a boolean-mask write, recorded
    h[:, 1] = x[:, 2]  # a column from the graph
    h.clamp_(min=-1)
    h.mul_(x)
    h /= 3
    return h


def test_a_chain_of_recorded_in_place_writes_matches_torch(against_torch):
    against_torch(lambda x: _writes_in_place(mg, x), lambda x: _writes_in_place(torch, x), X)
