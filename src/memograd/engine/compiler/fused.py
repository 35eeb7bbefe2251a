"""Fused kernels for ``mg.compile(step, fuse=True)``: a run of elementwise work in one pass.

The plan's own kernels (:mod:`kernels`) call NumPy one ufunc at a time. Each call costs about a
microsecond before any arithmetic and makes one pass over its operands, so at a small batch a
training step's time goes largely to the calls around its matmuls: cross-entropy alone is a dozen
of them. Here each such run is one loop, compiled to machine code by numba (an optional extra,
``memograd[fused]``; this module is imported only when a step asks for fusion). The matmuls stay
NumPy's (its BLAS is faster than any loop written here).

What each kernel computes, against the NumPy calls it replaces:

=========================  ===================================================================
``bias_relu``              ``h = a + b`` (b along the last axis), ``o = max(h, 0)``: the same
                           add and the same maximum per element, so **bitwise equal** (NaN kept,
                           ``-0.0`` made ``+0.0`` as ``np.maximum`` does)
``relu_backward``          ``g * (out > 0)``: the same multiply by 1.0 or 0.0, and when asked,
                           the result's column sums (a bias gradient) added row after row from
                           0, NumPy's own order for ``add.reduce(g, 0)``: **bitwise equal**
``softmax_cross_entropy``  per row: the max, ``exp(x - max)``, their sum, ``log(sum)`` minus the
                           target's shifted logit, the probabilities, and the losses' sum (or
                           mean). The C library's ``exp`` and ``log`` and running sums, where
                           NumPy has its own vectorized ``exp`` and sums pairwise: **equal to
                           float rounding** (a few ulp)
``cross_entropy_grad``     ``(probs - onehot) * (g / n)``, and the column sums as above: the
                           same subtraction, division and multiply, **bitwise equal** given the
                           same probabilities
``sgd_update``             ``p -= lr * g`` over contiguous 1-D views: the same multiply (rounded
                           to the parameter's dtype) and subtract, **bitwise equal** (no fused
                           multiply-add: numba contracts only under fastmath, which is off)
``adam_update``            Adam's and AdamW's whole update (decays, torch's lerp, the moments,
                           amsgrad's maximum, the corrected step), one pass instead of about 15:
                           the same operations in the same order, **bitwise equal**
=========================  ===================================================================

The kernels take float32 and float64 operands; a step in another dtype (float16) keeps its NumPy
calls under ``fuse=True``, and the optimizers their own update.

So a fused step equals the eager step to float rounding where it has a cross-entropy, and bit for
bit where it has not. The step's kernels work on 2-D operands of any strides (the updates on
flat views of contiguous arrays); the planner may give an
output the memory of an input (``kernels`` says which pairs), so each reads an element before it
writes the element at the same index, and never reads an index it has already written. The
elementwise kernels go through one row of scratch: an output that may be its input's memory
keeps LLVM from vectorizing a loop that reads one and writes the other (it cannot rule out a
partial overlap), and a row copied out first removes the doubt; at batch 32 that is 3 µs a
call instead of 8.

numba does not check bounds: the loss kernel checks each target before it reads with it and
returns the first bad row, and the plan then raises the eager op's error.
"""

from __future__ import annotations

from typing import Any

try:
    import numba
except ImportError as exc:  # tests/engine/test_compile_fused.py hides numba to check this
    raise ImportError("mg.compile(fuse=True) needs numba: pip install 'memograd[fused]'") from exc

import numpy as np

_jit = numba.njit(cache=True, nogil=True, error_model="numpy")

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
"""The dtypes every kernel here takes: an operand in any other (float16, integers) keeps its
NumPy calls under fuse=True (kernels.py), and a parameter its optimizer's own update."""


@_jit
def bias_relu(a: Any, b: Any, h: Any, o: Any) -> None:
    n, m = a.shape
    zero = np.zeros(1, o.dtype)[0]
    row = np.empty(m, a.dtype)
    keep_sum = h.ctypes.data != o.ctypes.data  # else the ReLU is written over the sum
    for i in range(n):
        for j in range(m):
            row[j] = a[i, j] + b[j]
        if keep_sum:
            for j in range(m):
                h[i, j] = row[j]
        for j in range(m):
            v = row[j]
            o[i, j] = zero if v <= 0 else v  # NaN is not <= 0: kept, as np.maximum keeps it


@_jit
def _add_row(sums: Any, row: Any) -> None:
    """One more row into column sums that started at 0: NumPy's ``add.reduce(a, 0)`` for a 2-D
    C-ordered ``a`` with two or more columns adds the rows in order, from its identity 0 (so a
    column of ``-0.0`` sums to ``+0.0``, as here)."""
    for j in range(sums.shape[0]):
        sums[j] += row[j]


@_jit
def relu_backward(g: Any, out: Any, result: Any, sums: Any) -> None:
    n, m = g.shape
    one = np.ones(1, g.dtype)[0]
    zero = np.zeros(1, g.dtype)[0]
    row = np.empty(m, result.dtype)
    summing = sums.shape[0] > 0  # the bias gradient too (an empty ``sums``: not wanted)
    if summing:
        sums[:] = 0
    for i in range(n):
        for j in range(m):
            row[j] = g[i, j] * (one if out[i, j] > 0 else zero)
        for j in range(m):
            result[i, j] = row[j]
        if summing:
            _add_row(sums, row)


@_jit
def softmax_cross_entropy(
    x: Any, targets: Any, losses: Any, probs: Any, total: Any, divisor: Any
) -> int:
    n, c = x.shape
    for i in range(n):
        t = targets[i]
        if t < 0 or t >= c:
            return i + 1  # a target out of range: nothing read with it; the plan raises
        top = x[i, 0]
        for j in range(1, c):
            v = x[i, j]
            if v > top or v != v:
                top = v
        picked = x[i, t] - top
        s = np.exp(x[i, 0] - top)
        probs[i, 0] = s
        for j in range(1, c):
            e = np.exp(x[i, j] - top)
            probs[i, j] = e
            s += e
        losses[i] = np.log(s) - picked
        for j in range(c):
            probs[i, j] = probs[i, j] / s
    if total.shape[0] > 0:  # the reduction too: their sum, divided (by n for a mean, else 1)
        acc = np.zeros(1, losses.dtype)[0]
        for i in range(n):
            acc += losses[i]
        total[0] = acc / divisor
    return 0


@_jit
def cross_entropy_grad(
    probs: Any, targets: Any, g: Any, divisor: Any, result: Any, sums: Any
) -> None:
    n, c = probs.shape
    per_row = g.shape[0] > 1  # reduction="none": each row's own incoming gradient
    one = np.ones(1, probs.dtype)[0]  # 1 in the probabilities' dtype: p - 1 rounds as NumPy's
    row = np.empty(c, result.dtype)
    summing = sums.shape[0] > 0
    if summing:
        sums[:] = 0
    for i in range(n):
        s = g[i if per_row else 0, 0] / divisor  # g / n for a mean, as the NumPy plan divides
        t = targets[i]
        for j in range(c):
            p = probs[i, j]
            if j == t:
                p = p - one
            row[j] = p * s
        for j in range(c):
            result[i, j] = row[j]
        if summing:
            _add_row(sums, row)


@_jit
def sgd_update(p: Any, g: Any, lr: Any) -> None:
    for k in range(p.size):
        p[k] = p[k] - g[k] * lr


@_jit
def adam_update(
    p: Any,
    g: Any,
    m: Any,
    v: Any,
    v_max: Any,
    shrink: Any,
    negate: bool,
    decay: Any,
    w: Any,
    small_w: bool,
    beta2: Any,
    one_minus_beta2: Any,
    correction2: Any,
    eps: Any,
    step_size: Any,
) -> None:
    """``Adam._update`` over flat views, each element through the same operations in the same
    order as its NumPy calls (scalars already in the parameter's dtype): bitwise equal."""
    one = np.ones(1, p.dtype)[0]
    amsgrad = v_max.shape[0] > 0
    for k in range(p.size):
        pk = p[k] * shrink  # decoupled decay's 1 - lr * decay (1: no decay, exact)
        gk = -g[k] if negate else g[k]
        if decay != 0:  # coupled (L2) decay
            gk = gk + pk * decay
        difference = gk - m[k]  # torch's lerp, as optimizer.lerp_ rounds it
        if small_w:
            mk = m[k] + difference * w
        else:
            mk = gk - difference * (one - w)
        m[k] = mk
        vk = v[k] * beta2 + (gk * one_minus_beta2) * gk
        v[k] = vk
        if amsgrad:
            top = v_max[k]
            vk = top if (top > vk or top != top) else vk  # np.maximum(v_max, v)
            v_max[k] = vk
        denominator = np.sqrt(vk) / correction2 + eps
        p[k] = pk - (mk / denominator) * step_size
