"""Every Tensor op: gradients against central differences (float64) and against PyTorch
(float32 and float64), including broadcasting corners and repeated fancy indices."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

import memograd as mg

torch = pytest.importorskip("torch")
F = torch.nn.functional


@dataclass(frozen=True)
class Case:
    name: str
    ours: Callable[..., Any]
    theirs: Callable[..., Any]
    shapes: tuple[tuple[int, ...], ...]
    positive: bool = False  # inputs drawn from (0.5, 2) instead of (-2, 2)


CONDITION = np.array([[True, False, True], [False, False, True]])
REPEATED = np.array([0, 2, 0, 0, 1])
TARGETS = np.array([2, 0, 1, 2])

CASES = [
    # elementwise binary, with broadcasting corners
    Case("add", lambda x, y: x + y, lambda x, y: x + y, ((3, 4), (3, 4))),
    Case("add_column_row", lambda x, y: x + y, lambda x, y: x + y, ((3, 1), (1, 4))),
    Case("add_scalar_shape", lambda x, y: x + y, lambda x, y: x + y, ((), (2, 3))),
    Case("add_batch_dims", lambda x, y: x + y, lambda x, y: x + y, ((2, 3, 4), (4,))),
    Case("sub_column_row", lambda x, y: x - y, lambda x, y: x - y, ((3, 1), (1, 4))),
    Case("mul_batch", lambda x, y: x * y, lambda x, y: x * y, ((2, 1, 4), (3, 1))),
    Case("div", lambda x, y: x / y, lambda x, y: x / y, ((3, 4), (1, 4)), positive=True),
    Case("rdiv_number", lambda x: 2 / x, lambda x: 2 / x, ((3,),), positive=True),
    Case("pow_tensor", lambda x, y: x**y, lambda x, y: x**y, ((3, 4), (4,)), positive=True),
    Case("pow_number", lambda x: x**3, lambda x: x**3, ((3, 4),)),
    Case("number_pow", lambda x: 2.0**x, lambda x: 2.0**x, ((5,),)),
    Case("number_ops", lambda x: 1 - 3 * x + x / 2, lambda x: 1 - 3 * x + x / 2, ((4,),)),
    # matmul: 1-D, 2-D, batched, broadcast batch
    Case("matmul_2d", lambda x, y: x @ y, lambda x, y: x @ y, ((3, 4), (4, 2))),
    Case("matmul_vec_mat", lambda x, y: x @ y, lambda x, y: x @ y, ((4,), (4, 2))),
    Case("matmul_mat_vec", lambda x, y: x @ y, lambda x, y: x @ y, ((3, 4), (4,))),
    Case("matmul_vec_vec", lambda x, y: x @ y, lambda x, y: x @ y, ((4,), (4,))),
    Case("matmul_batched", lambda x, y: x @ y, lambda x, y: x @ y, ((2, 3, 4), (4, 5))),
    Case("matmul_broadcast", lambda x, y: x @ y, lambda x, y: x @ y, ((2, 1, 3, 4), (5, 4, 2))),
    Case("matmul_vec_batched", lambda x, y: x @ y, lambda x, y: x @ y, ((4,), (2, 4, 3))),
    # elementwise unary
    Case("neg", lambda x: -x, lambda x: -x, ((3, 4),)),
    Case("exp", lambda x: x.exp(), lambda x: x.exp(), ((3, 4),)),
    Case("log", lambda x: x.log(), lambda x: x.log(), ((3, 4),), positive=True),
    Case("tanh", lambda x: x.tanh(), lambda x: x.tanh(), ((3, 4),)),
    Case("relu", lambda x: x.relu(), lambda x: x.relu(), ((3, 4),)),
    Case("sigmoid", lambda x: x.sigmoid(), lambda x: x.sigmoid(), ((3, 4),)),
    Case("sqrt", lambda x: x.sqrt(), lambda x: x.sqrt(), ((3, 4),), positive=True),
    Case("abs", lambda x: x.abs(), lambda x: x.abs(), ((3, 4),)),
    Case("clip", lambda x: x.clip(-0.5, 0.7), lambda x: x.clamp(-0.5, 0.7), ((3, 4),)),
    Case("clip_min_only", lambda x: x.clip(min=0.1), lambda x: x.clamp(min=0.1), ((6,),)),
    # reductions
    Case("sum_all", lambda x: x.sum(), lambda x: x.sum(), ((3, 4),)),
    Case("sum_axis", lambda x: x.sum(axis=1), lambda x: x.sum(dim=1), ((3, 4),)),
    Case(
        "sum_axes_keepdims",
        lambda x: x.sum(axis=(0, 2), keepdims=True),
        lambda x: x.sum(dim=(0, 2), keepdim=True),
        ((2, 3, 4),),
    ),
    Case("sum_negative_axis", lambda x: x.sum(axis=-1), lambda x: x.sum(dim=-1), ((2, 3, 4),)),
    Case("mean_all", lambda x: x.mean(), lambda x: x.mean(), ((3, 4),)),
    Case("mean_axis", lambda x: x.mean(axis=0), lambda x: x.mean(dim=0), ((3, 4),)),
    Case("max_all", lambda x: x.max(), lambda x: x.max(), ((3, 4),)),
    Case("max_axis", lambda x: x.max(axis=1), lambda x: x.amax(dim=1), ((3, 4),)),
    Case(
        "min_axis_keepdims",
        lambda x: x.min(axis=0, keepdims=True),
        lambda x: x.amin(dim=0, keepdim=True),
        ((3, 4),),
    ),
    Case(
        "logsumexp_axis",
        lambda x: mg.logsumexp(x, axis=1),
        lambda x: torch.logsumexp(x, dim=1),
        ((3, 4),),
    ),
    Case(
        "logsumexp_all",
        lambda x: x.logsumexp(),
        lambda x: torch.logsumexp(x, dim=(0, 1)),
        ((3, 4),),
    ),
    Case("softmax", lambda x: mg.softmax(x), lambda x: torch.softmax(x, dim=-1), ((3, 4),)),
    Case(
        "log_softmax_axis0",
        lambda x: mg.log_softmax(x, axis=0),
        lambda x: torch.log_softmax(x, dim=0),
        ((3, 4),),
    ),
    # shape
    Case("reshape", lambda x: x.reshape(4, 3) * 1.5, lambda x: x.reshape(4, 3) * 1.5, ((3, 4),)),
    Case("reshape_infer", lambda x: x.reshape((-1,)), lambda x: x.reshape(-1), ((3, 4),)),
    Case("T", lambda x: x.T, lambda x: x.T, ((3, 4),)),
    Case("transpose", lambda x: x.transpose(1, 0, 2), lambda x: x.permute(1, 0, 2), ((2, 3, 4),)),
    Case("getitem_int", lambda x: x[1], lambda x: x[1], ((3, 4),)),
    Case("getitem_slice", lambda x: x[:, 1:3], lambda x: x[:, 1:3], ((3, 4),)),
    Case(
        "getitem_repeated_indices",
        lambda x: x[REPEATED],
        lambda x: x[torch.from_numpy(REPEATED)],
        ((3, 4),),
    ),
    Case(
        "getitem_repeated_list_pairs",
        lambda x: x[[0, 0, 2], [1, 1, 3]],
        lambda x: x[[0, 0, 2], [1, 1, 3]],
        ((3, 4),),
    ),
    Case(
        "getitem_bool_mask",
        lambda x: x[CONDITION],
        lambda x: x[torch.from_numpy(CONDITION)],
        ((2, 3),),
    ),
    # n-ary
    Case(
        "concat",
        lambda x, y: mg.concat([x, y, x], axis=1),
        lambda x, y: torch.cat([x, y, x], dim=1),
        ((2, 3), (2, 2)),
    ),
    Case(
        "stack",
        lambda x, y: mg.stack([x, y], axis=1),
        lambda x, y: torch.stack([x, y], dim=1),
        ((2, 3), (2, 3)),
    ),
    Case(
        "where_broadcast",
        lambda x, y: mg.where(CONDITION, x, y),
        lambda x, y: torch.where(torch.from_numpy(CONDITION), x, y),
        ((2, 3), (1, 3)),
    ),
    # fused
    Case(
        "linear",
        lambda x, w, b: mg.linear(x, w, b),
        lambda x, w, b: F.linear(x, w.T, b),
        ((5, 3), (3, 4), (4,)),
    ),
    Case("linear_no_bias", lambda x, w: mg.linear(x, w), lambda x, w: x @ w, ((5, 3), (3, 4))),
    Case(
        "linear_batched_input",
        lambda x, w, b: mg.linear(x, w, b),
        lambda x, w, b: F.linear(x, w.T, b),
        ((2, 5, 3), (3, 4), (4,)),
    ),
    Case("linear_vector_input", lambda x, w: mg.linear(x, w), lambda x, w: x @ w, ((3,), (3, 4))),
    Case(
        "cross_entropy_mean",
        lambda z: mg.cross_entropy(z, TARGETS),
        lambda z: F.cross_entropy(z, torch.from_numpy(TARGETS)),
        ((4, 3),),
    ),
    Case(
        "cross_entropy_sum",
        lambda z: mg.cross_entropy(z, TARGETS, reduction="sum"),
        lambda z: F.cross_entropy(z, torch.from_numpy(TARGETS), reduction="sum"),
        ((4, 3),),
    ),
    Case(
        "cross_entropy_none",
        lambda z: mg.cross_entropy(z, TARGETS, reduction="none"),
        lambda z: F.cross_entropy(z, torch.from_numpy(TARGETS), reduction="none"),
        ((4, 3),),
    ),
    Case(
        "cross_entropy_single_row",
        lambda z: mg.cross_entropy(z, np.array(1)),
        lambda z: F.cross_entropy(z, torch.tensor(1)),
        ((3,),),
    ),
]
IDS = [case.name for case in CASES]


def _inputs(case: Case, dtype: type, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    low, high = (0.5, 2.0) if case.positive else (-2.0, 2.0)
    # Distinct values, so max/min have no ties and relu/abs/clip no kinks at the samples.
    arrays = []
    for shape in case.shapes:
        values = rng.uniform(low, high, size=shape)
        values = np.where(np.abs(values) < 0.05, values + 0.1, values)
        arrays.append(values.astype(dtype))
    return arrays


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_gradient_matches_central_differences_in_float64(case):
    assert mg.gradcheck(case.ours, *_inputs(case, np.float64), eps=1e-6, atol=1e-6, rtol=1e-5)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_value_and_gradient_match_pytorch_and_keep_the_dtype(case, dtype):
    arrays = _inputs(case, dtype, seed=1)
    ours = [mg.Tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, reference = case.ours(*ours), case.theirs(*theirs)
    weights = np.random.default_rng(2).uniform(0.5, 1.5, size=out.shape).astype(dtype)
    (out * weights).sum().backward()
    (reference * torch.from_numpy(weights)).sum().backward()
    tol = {"rtol": 1e-5, "atol": 1e-6} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}
    assert out.dtype == dtype
    np.testing.assert_allclose(out.data, reference.detach().numpy(), **tol)
    for mine, theirs_leaf in zip(ours, theirs, strict=True):
        assert mine.grad.dtype == dtype and mine.grad.shape == mine.shape
        np.testing.assert_allclose(mine.grad, theirs_leaf.grad.numpy(), **tol)


def test_float32_stays_float32_with_python_numbers_and_integer_arrays():
    x = mg.Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    y = (x * 2 + np.arange(3) - 1.5) / 3 + np.array([1, 2, 3], dtype=np.int64) ** 2
    y = mg.cross_entropy(y, np.array([0, 2]))
    y.backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32


def test_repeated_indices_accumulate_their_gradients():
    x = mg.Tensor(np.zeros(4), requires_grad=True)
    x[[1, 1, 1, 3]].sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 3.0, 0.0, 1.0])


def test_softmax_family_is_finite_for_huge_logits():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
    for fn in (mg.softmax, mg.log_softmax, mg.logsumexp):
        z = mg.Tensor(logits, requires_grad=True)
        out = fn(z) if fn is not mg.logsumexp else fn(z, axis=1)
        out.sum().backward()
        assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(z.grad)), fn.__name__
    z = mg.Tensor(logits, requires_grad=True)
    loss = mg.cross_entropy(z, np.array([1, 0]))
    loss.backward()
    assert loss.item() == pytest.approx((2e4 + np.log1p(2 * np.exp(-1e4))) / 2 + np.log(3) / 2)
    assert np.all(np.isfinite(z.grad))


def test_cross_entropy_gradient_is_softmax_minus_onehot_over_n():
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((5, 4))
    targets = np.array([0, 3, 3, 1, 2])
    z = mg.Tensor(logits, requires_grad=True)
    mg.cross_entropy(z, targets).backward()
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(z.grad, (p - np.eye(4)[targets]) / 5, rtol=1e-12, atol=1e-15)


def test_linear_weight_indexing_follows_the_notes():
    # W[i, j] connects input unit i to output unit j: out_j = sum_i x_i W_ij + b_j.
    x = np.array([1.0, 2.0])
    w = np.array([[1.0, 10.0, 100.0], [2.0, 20.0, 200.0]])
    out = mg.linear(mg.Tensor(x), mg.Tensor(w), mg.Tensor(np.array([0.5, 0.5, 0.5])))
    np.testing.assert_array_equal(out.data, [5.5, 50.5, 500.5])
