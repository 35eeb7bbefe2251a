"""solver='lbfgs': SciPy's L-BFGS-B on the full-batch loss, its gradient from the engine.

As in scikit-learn, the weights and biases are packed into one vector (weights first) and
``scipy.optimize.minimize`` runs with ``maxiter=max_iter``, ``maxfun=max_fun`` and
``gtol=tol``. Each evaluation writes the vector into ``coefs_``/``intercepts_`` in place, runs
the forward pass and the backward sweep over the rows in chunks (the leaves' gradients add up
across the chunks' backward calls, so sparse or large input is never densified whole), and
adds the L2 term ``alpha / 2 * ||W||^2 / weight`` and its gradient ``alpha * W / weight``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.optimize
from scipy import sparse
from sklearn.utils.optimize import _check_optimize_result

from memograd.nn.estimators import network


def fit_lbfgs(est: Any, X: Any, Y: np.ndarray, sample_weight: np.ndarray | None) -> None:
    """Fit ``est`` in place with L-BFGS-B; sets ``n_iter_`` and ``loss_``."""
    from memograd.nn.estimators.base import CHUNK_BYTES

    dtype = est.coefs_[0].dtype
    if sample_weight is not None:
        sample_weight = sample_weight.astype(dtype, copy=False)
    net = network.build(est.coefs_, est.intercepts_, est.activation).train()
    layers = network.linear_layers(net)
    params = [layer.weight for layer in layers] + [layer.bias for layer in layers]
    weights = [layer.weight.data for layer in layers]
    bounds = np.cumsum([0] + [p.data.size for p in params])
    loss = network.Loss(est.out_activation_, Y, dtype)
    n = X.shape[0]
    total_weight = float(n if sample_weight is None else sample_weight.sum())
    widest = max(X.shape[1], *(c.shape[1] for c in est.coefs_))
    step = max(1, CHUNK_BYTES // (widest * dtype.itemsize))
    chunks = [slice(start, start + step) for start in range(0, n, step)]

    def unpack(flat: np.ndarray) -> None:
        for p, lo, hi in zip(params, bounds[:-1], bounds[1:], strict=True):
            p.data[...] = flat[lo:hi].reshape(p.data.shape)
            p.grad = None

    def loss_and_gradient(flat: np.ndarray) -> tuple[float, np.ndarray]:
        unpack(flat)
        value = 0.0
        for rows in chunks:
            xb = X[rows]
            wb = None if sample_weight is None else sample_weight[rows]
            part = loss(net(xb.toarray() if sparse.issparse(xb) else xb), rows, wb, total_weight)
            part.backward()
            value += part.item()
        value = loss.report(value, slice(None), sample_weight)
        gradient = np.concatenate([p.grad.ravel() for p in params]).astype(np.float64)
        if est.alpha:
            squares = sum(float(np.dot(w.ravel(), w.ravel())) for w in weights)
            value += 0.5 * est.alpha * squares / total_weight
            for w, lo in zip(weights, bounds, strict=False):
                gradient[lo : lo + w.size] += est.alpha * w.ravel() / total_weight
        return value, gradient

    callback = None
    if est.verbose:

        def callback(intermediate_result: scipy.optimize.OptimizeResult) -> None:
            callback.count += 1
            print(f"Iteration {callback.count}, loss = {intermediate_result.fun:.8f}")

        callback.count = 0

    start = np.concatenate([p.data.ravel() for p in params]).astype(np.float64)
    result = scipy.optimize.minimize(
        loss_and_gradient,
        start,
        method="L-BFGS-B",
        jac=True,
        options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol},
        callback=callback,
    )
    est.n_iter_ = _check_optimize_result("lbfgs", result, est.max_iter)
    est.loss_ = float(result.fun)
    unpack(result.x)  # the point L-BFGS returns, which need not be the last one it evaluated
