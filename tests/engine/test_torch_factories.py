"""Factories, dtype names and conversions, against PyTorch's: same shapes, same dtypes (float32
by default, int64 for integers), same values where the values are determined, and the random
ones drawn from mg.manual_seed's generator (same seed, same numbers)."""

from __future__ import annotations

import numpy as np
import pytest

import memograd as mg

torch = pytest.importorskip("torch")

DTYPES = {  # memograd's name -> torch's
    "float16": torch.float16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int32": torch.int32,
    "int64": torch.int64,
    "uint8": torch.uint8,
    "bool": torch.bool,
}


def same(ours: mg.Tensor, theirs) -> None:
    assert isinstance(ours, mg.Tensor)
    assert ours.shape == tuple(theirs.shape)
    assert ours.dtype == theirs.detach().numpy().dtype, (ours.dtype, theirs.dtype)
    np.testing.assert_array_equal(ours.data, theirs.detach().numpy())
    assert ours.requires_grad == theirs.requires_grad


def test_dtype_names_are_numpys_dtypes_under_torchs_names():
    for name, theirs in DTYPES.items():
        ours = getattr(mg, name) if name != "bool" else mg.bool
        assert ours == torch.zeros(1, dtype=theirs).numpy().dtype
    assert mg.float == mg.float32 and mg.double == mg.float64 and mg.long == mg.int64
    assert mg.int == mg.int32 and mg.half == mg.float16 and mg.bool == np.bool_
    assert mg.zeros(2).dtype == mg.float32 == np.float32
    star: dict = {}
    exec("from memograd import *", star)  # noqa: S102
    assert star["float32"] == mg.float32 and "float" not in star and "bool" not in star


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda: mg.zeros(2, 3), lambda: torch.zeros(2, 3)),
        (lambda: mg.zeros((2, 3)), lambda: torch.zeros((2, 3))),
        (lambda: mg.ones([4]), lambda: torch.ones([4])),
        (lambda: mg.ones(2, dtype=mg.int64), lambda: torch.ones(2, dtype=torch.int64)),
        (lambda: mg.zeros(3, requires_grad=True), lambda: torch.zeros(3, requires_grad=True)),
        (lambda: mg.full((2, 2), 1.5), lambda: torch.full((2, 2), 1.5)),
        (lambda: mg.full((2,), 7), lambda: torch.full((2,), 7)),
        (lambda: mg.full((2,), True), lambda: torch.full((2,), True)),
        (
            lambda: mg.full((2,), 3, dtype=mg.float64),
            lambda: torch.full((2,), 3, dtype=torch.float64),
        ),
        (lambda: mg.arange(5), lambda: torch.arange(5)),
        (lambda: mg.arange(1, 10, 3), lambda: torch.arange(1, 10, 3)),
        (lambda: mg.arange(0, 1, 0.25), lambda: torch.arange(0, 1, 0.25)),
        (lambda: mg.arange(5.0), lambda: torch.arange(5.0)),
        (lambda: mg.arange(3, dtype=mg.float64), lambda: torch.arange(3, dtype=torch.float64)),
        (lambda: mg.arange(10, 0, -3), lambda: torch.arange(10, 0, -3)),
        (lambda: mg.linspace(0, 1, 5), lambda: torch.linspace(0, 1, 5)),
        (
            lambda: mg.linspace(-2, 2, 4, dtype=mg.float64),
            lambda: torch.linspace(-2, 2, 4, dtype=torch.float64),
        ),
        (lambda: mg.eye(3), lambda: torch.eye(3)),
        (lambda: mg.eye(2, 3, dtype=mg.int64), lambda: torch.eye(2, 3, dtype=torch.int64)),
        (lambda: mg.tensor([1.0, 2.0]), lambda: torch.tensor([1.0, 2.0])),
        (lambda: mg.tensor([[1, 2], [3, 4]]), lambda: torch.tensor([[1, 2], [3, 4]])),
        (lambda: mg.tensor([True, False]), lambda: torch.tensor([True, False])),
        (lambda: mg.tensor(2.5), lambda: torch.tensor(2.5)),
        (lambda: mg.tensor(np.arange(3.0)), lambda: torch.tensor(np.arange(3.0))),
        (
            lambda: mg.tensor([1, 2], dtype=mg.float64),
            lambda: torch.tensor([1, 2], dtype=torch.float64),
        ),
        (
            lambda: mg.tensor([1.0], requires_grad=True),
            lambda: torch.tensor([1.0], requires_grad=True),
        ),
    ],
)
def test_factories_make_what_torch_makes(ours, theirs):
    same(ours(), theirs())


def test_linspace_matches_torch_to_float32_rounding():
    np.testing.assert_allclose(
        mg.linspace(-np.pi, np.pi, 2000).data,
        torch.linspace(-np.pi, np.pi, 2000).numpy(),
        atol=1e-6,
    )


def test_like_factories_take_the_shape_and_dtype_of_their_input():
    base = mg.tensor(np.ones((2, 3), dtype=np.float64))
    tbase = torch.ones((2, 3), dtype=torch.float64)
    same(mg.zeros_like(base), torch.zeros_like(tbase))
    same(mg.ones_like(base), torch.ones_like(tbase))
    same(mg.full_like(base, 4), torch.full_like(tbase, 4))
    same(mg.zeros_like(base, dtype=mg.int64), torch.zeros_like(tbase, dtype=torch.int64))
    assert mg.empty_like(base).shape == (2, 3) and mg.empty(4, 2).dtype == mg.float32
    assert mg.ones_like(base, requires_grad=True).requires_grad
    for like in (mg.rand_like, mg.randn_like):
        assert like(base).shape == (2, 3) and like(base).dtype == mg.float64


def test_random_factories_draw_from_manual_seeds_generator():
    def draw():
        return [
            mg.rand(2, 3),
            mg.randn(4),
            mg.randint(10, (5,)),
            mg.randint(3, 6, size=(2, 2)),
            mg.randperm(6),
            mg.rand(2, dtype=mg.float64),
        ]

    mg.manual_seed(3)
    first = draw()
    mg.manual_seed(3)
    second = draw()
    for a, b in zip(first, second, strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    rand, randn, ints, ranged, perm, doubles = first
    assert rand.dtype == randn.dtype == mg.float32 and doubles.dtype == mg.float64
    assert ((rand.data >= 0) & (rand.data < 1)).all()
    assert ints.dtype == perm.dtype == mg.int64 and ((ranged.data >= 3) & (ranged.data < 6)).all()
    assert sorted(perm.tolist()) == list(range(6))
    generator = np.random.default_rng(1)
    again = np.random.default_rng(1)
    np.testing.assert_array_equal(
        mg.randn(3, generator=generator).data, again.standard_normal(3, dtype=np.float32)
    )
    assert mg.randn(2, 2, requires_grad=True).requires_grad


def test_copying_and_sharing_follow_torch():
    a = np.arange(3.0)
    assert not np.shares_memory(mg.tensor(a).data, a)
    assert np.shares_memory(mg.from_numpy(a).data, a) and np.shares_memory(mg.as_tensor(a).data, a)
    t = mg.tensor([1.0])
    assert mg.as_tensor(t) is t and mg.as_tensor(t, dtype=mg.float64).dtype == mg.float64


CONVERSIONS = [
    (lambda t: t.float(), lambda t: t.float()),
    (lambda t: t.double(), lambda t: t.double()),
    (lambda t: t.half(), lambda t: t.half()),
    (lambda t: t.long(), lambda t: t.long()),
    (lambda t: t.int(), lambda t: t.int()),
    (lambda t: t.bool(), lambda t: t.bool()),
    (lambda t: t.to(mg.float64), lambda t: t.to(torch.float64)),
    (lambda t: t.to("cpu"), lambda t: t.to("cpu")),
    (
        lambda t: t.to(mg.zeros(1, dtype=mg.float64)),
        lambda t: t.to(torch.zeros(1, dtype=torch.float64)),
    ),
    (
        lambda t: t.type_as(mg.zeros(1, dtype=mg.int64)),
        lambda t: t.type_as(torch.zeros(1, dtype=torch.int64)),
    ),
    (lambda t: t.cpu(), lambda t: t.cpu()),
    (lambda t: t.clone(), lambda t: t.clone()),
    (lambda t: t.detach(), lambda t: t.detach()),
    (lambda t: t.contiguous(), lambda t: t.contiguous()),
    (lambda t: t.T.contiguous(), lambda t: t.T.contiguous()),
]


@pytest.mark.parametrize("index", range(len(CONVERSIONS)))
def test_conversions_match_torch_values_dtypes_and_gradients(index, against_torch):
    ours, theirs = CONVERSIONS[index]
    x = np.array([[-1.5, 0.0, 2.25], [3.0, -0.5, 1.0]], dtype=np.float32)
    against_torch(ours, theirs, x, rtol=1e-3)


def test_a_float_cast_is_differentiable_and_an_integer_cast_is_a_constant():
    x = mg.tensor([1.5, -2.0], requires_grad=True)
    y = x.double()
    assert y.requires_grad and y.op == "cast" and x.float() is x and x.to(mg.float32) is x
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad, [3.0, -4.0])
    assert not x.long().requires_grad and x.long().tolist() == [1, -2]
    assert x.to(copy=True) is not x and np.array_equal(x.to(copy=True).data, x.data)


def test_plain_python_views_of_a_tensor():
    t = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    tt = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert t.size() == tuple(tt.size()) and t.size(1) == tt.size(1) and t.size(-1) == 3
    assert t.size == 6 and t.numel() == tt.numel() and t.dim() == tt.dim() == t.ndim
    assert t.tolist() == tt.tolist() and t[1, 2].item() == tt[1, 2].item()
    assert float(t[0, 0]) == 1.0 and int(t[1, 1]) == 5 and f"{t[0, 1]:.3f}" == f"{tt[0, 1]:.3f}"
    assert [row.tolist() for row in t] == [row.tolist() for row in tt]
    assert list(range(10))[mg.tensor(3)] == 3
    assert t.device == "cpu" and t.is_leaf and not (t * 2).requires_grad
    assert np.shares_memory(t.numpy(), t.data)
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(mg.tensor(1.0))
    with pytest.raises(IndexError, match="size: dim 2 is out of range"):
        t.size(2)


@pytest.mark.parametrize(
    ("thunk", "error", "message"),
    [
        (lambda: mg.zeros(2, dtype="complex128"), TypeError, "holds real numbers or booleans"),
        (lambda: mg.zeros(2, dtype="nonsense"), TypeError, "is not a dtype"),
        (lambda: mg.zeros(-1), ValueError, r"zeros: sizes must be >= 0"),
        (lambda: mg.zeros(2.5), TypeError, "zeros: sizes must be ints"),
        (lambda: mg.ones(2, dtype=mg.int64, requires_grad=True), TypeError, "only floating"),
        (lambda: mg.arange(0, 1, 0), ValueError, "step must not be 0"),
        (lambda: mg.randint(5, 2, (3,)), ValueError, "low < high"),
        (lambda: mg.randint(5), TypeError, "randint"),
        (lambda: mg.randn(2, dtype=mg.int64), TypeError, "not floating"),
        (lambda: mg.zeros(2, device="cuda"), RuntimeError, "on the CPU"),
        (lambda: mg.zeros(2).to("cuda:0"), RuntimeError, "on the CPU"),
        (lambda: mg.zeros(2).cuda(), RuntimeError, "on the CPU"),
        (lambda: mg.full((2,), "a"), TypeError, "fill_value must be a number"),
        (lambda: mg.tensor(["a"]), TypeError, "expected numeric data"),
        (lambda: mg.linspace(0, 1, -1), ValueError, "steps must be an int >= 0"),
    ],
)
def test_bad_factory_arguments_get_a_clear_error(thunk, error, message):
    with pytest.raises(error, match=message):
        thunk()
