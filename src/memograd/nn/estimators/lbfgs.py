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


class FullBatchObjective:
    """The loss over all rows (with the L2 term) and its gradient, as functions of one flat
    vector of every weight and bias; evaluating it writes the vector into the estimator."""

    def __init__(self, est: Any, X: Any, Y: np.ndarray, sample_weight: np.ndarray | None):
        dtype = est.coefs_[0].dtype
        self.alpha = est.alpha
        self.X = X
        self.weights = None if sample_weight is None else sample_weight.astype(dtype, copy=False)
        self.net = network.build(est.coefs_, est.intercepts_, est.activation).train()
        layers = network.linear_layers(self.net)
        self.params = [layer.weight for layer in layers] + [layer.bias for layer in layers]
        self.bounds = np.cumsum([0] + [p.data.size for p in self.params])
        self.loss = network.Loss(est.out_activation_, Y, dtype)
        n = X.shape[0]
        self.total_weight = float(n if self.weights is None else self.weights.sum())
        widest = max(X.shape[1], *(c.shape[1] for c in est.coefs_))
        step = max(1, network.CHUNK_BYTES // (widest * dtype.itemsize))
        self.chunks = [slice(start, start + step) for start in range(0, n, step)]

    def start(self) -> np.ndarray:
        """The current parameters as one float64 vector (weights first, then biases)."""
        return np.concatenate([p.data.ravel() for p in self.params]).astype(np.float64)

    def unpack(self, flat: np.ndarray) -> None:
        """Write ``flat`` into the parameters, in place (so into ``coefs_``/``intercepts_``)."""
        for p, lo, hi in zip(self.params, self.bounds[:-1], self.bounds[1:], strict=True):
            p.data[...] = flat[lo:hi].reshape(p.data.shape)
            p.grad = None

    def __call__(self, flat: np.ndarray) -> tuple[float, np.ndarray]:
        self.unpack(flat)
        value = 0.0
        for rows in self.chunks:
            xb = self.X[rows]
            wb = None if self.weights is None else self.weights[rows]
            xb = xb.toarray() if sparse.issparse(xb) else xb
            part = self.loss(self.net(xb), self.loss.targets[rows], wb, self.total_weight)
            part.backward()  # the leaves' gradients add up over the chunks
            value += part.item()
        value = self.loss.report(value, slice(None), self.weights)
        gradient = np.concatenate([p.grad.ravel() for p in self.params]).astype(np.float64)
        if self.alpha:
            for p, lo in zip(self.params, self.bounds, strict=False):
                if p.data.ndim == 2:  # weights only, not biases
                    w = p.data.ravel()
                    value += 0.5 * self.alpha * float(np.dot(w, w)) / self.total_weight
                    gradient[lo : lo + w.size] += self.alpha * w / self.total_weight
        return value, gradient


def fit_lbfgs(est: Any, X: Any, Y: np.ndarray, sample_weight: np.ndarray | None) -> None:
    """Fit ``est`` in place with L-BFGS-B; sets ``n_iter_`` and ``loss_``."""
    objective = FullBatchObjective(est, X, Y, sample_weight)
    callback = None
    if est.verbose:

        def callback(intermediate_result: scipy.optimize.OptimizeResult) -> None:
            callback.count += 1
            print(f"Iteration {callback.count}, loss = {intermediate_result.fun:.8f}")

        callback.count = 0

    result = scipy.optimize.minimize(
        objective,
        objective.start(),
        method="L-BFGS-B",
        jac=True,
        options={"maxfun": est.max_fun, "maxiter": est.max_iter, "gtol": est.tol},
        callback=callback,
    )
    est.n_iter_ = _check_optimize_result("lbfgs", result, est.max_iter)
    est.loss_ = float(result.fun)
    objective.unpack(result.x)  # the point L-BFGS returns, which need not be the last evaluated
