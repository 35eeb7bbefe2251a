"""``against_torch``: run one program in memograd and in PyTorch from the same arrays, and assert
the same outputs and the same gradients (the PyTorch API tests are built on it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pytest

import memograd as mg


def _outputs(out: Any) -> list[Any]:
    """A result as a flat list: tensors, (named) tuples of tensors, numbers."""
    if isinstance(out, tuple | list):
        return [leaf for item in out for leaf in _outputs(item)]
    return [out]


def _array(value: Any) -> np.ndarray:
    torch = pytest.importorskip("torch")
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    if isinstance(value, mg.Tensor):
        return value.data
    return np.asarray(value)


def compare(
    ours: Callable[..., Any],
    theirs: Callable[..., Any],
    *arrays: np.ndarray,
    grad: Sequence[bool] | bool = True,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> tuple[Any, Any]:
    """``ours(*memograd leaves)`` against ``theirs(*torch leaves)``: every output equal (values,
    shapes, dtypes), then the gradients of sum(output * cotangent) over the floating outputs
    equal for every leaf that requires grad. Returns both results."""
    torch = pytest.importorskip("torch")
    wants = [grad] * len(arrays) if isinstance(grad, bool) else list(grad)
    floating = [np.asarray(a).dtype.kind == "f" for a in arrays]
    leaves = [
        mg.tensor(a, requires_grad=w and f) for a, w, f in zip(arrays, wants, floating, strict=True)
    ]
    tensors = [
        torch.tensor(a, requires_grad=w and f)
        for a, w, f in zip(arrays, wants, floating, strict=True)
    ]
    mine, expected = ours(*leaves), theirs(*tensors)
    mine_list, expected_list = _outputs(mine), _outputs(expected)
    assert len(mine_list) == len(expected_list), (mine, expected)
    rng = np.random.default_rng(7)
    total_ours, total_theirs = None, None
    for m, e in zip(mine_list, expected_list, strict=True):
        got, want = _array(m), _array(e)
        assert got.shape == want.shape, (got.shape, want.shape)
        assert got.dtype == want.dtype, (got.dtype, want.dtype)
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
        if isinstance(m, mg.Tensor) and isinstance(e, torch.Tensor):
            assert m.requires_grad == e.requires_grad, (m, e)
        if isinstance(m, mg.Tensor) and m.requires_grad:
            c = rng.uniform(-1, 1, size=got.shape).astype(got.dtype)
            term_ours, term_theirs = (m * c).sum(), (e * torch.from_numpy(c)).sum()
            total_ours = term_ours if total_ours is None else total_ours + term_ours
            total_theirs = term_theirs if total_theirs is None else total_theirs + term_theirs
    if total_ours is not None:
        total_ours.backward()
        total_theirs.backward()
        for leaf, tensor in zip(leaves, tensors, strict=True):
            if not tensor.requires_grad:
                continue
            want = np.zeros(leaf.shape) if tensor.grad is None else tensor.grad.numpy()
            got = np.zeros(leaf.shape) if leaf.grad is None else leaf.grad
            np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    return mine, expected


@pytest.fixture
def against_torch() -> Callable[..., tuple[Any, Any]]:
    return compare
