"""Mini-batch training ('adam', 'sgd') with scikit-learn's schedule and stopping rule.

One epoch is one (shuffled) pass in batches of ``batch_size`` ('auto': min(200, n)). Each
batch is a forward pass through the estimator's ``Sequential``, the loss, the engine's backward
sweep and one step of ``memograd.optim.Adam`` or ``SGD``. The L2 term is the optimizer's weight
decay on the weights (not the biases), ``alpha / batch weight``, which is exactly the gradient
of scikit-learn's ``alpha / 2 * ||W||^2 / batch weight``; its value is added to the reported
loss, as scikit-learn does.

After each epoch: ``loss_curve_``, then the stopping rule. Without early stopping, training
stops once the epoch loss has failed to beat the best by ``tol`` more than ``n_iter_no_change``
times in a row; with it, the same on the validation score of a held-out
``validation_fraction`` (stratified for single-output classifiers), and the best epoch's weights
are put back. SGD's 'invscaling' rate is ``learning_rate_init / (t_ + 1) ** power_t``;
'adaptive' divides the rate by 5 where the rule would stop, until it is below 1e-6.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np
from scipy import sparse
from sklearn.base import is_classifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from memograd.engine import compile as compile_step
from memograd.nn.estimators import network
from memograd.nn.training import _progress, check_finite_parameters, diverged
from memograd.optim import SGD, Adam, Optimizer


def fit_stochastic(
    est: Any,
    X: Any,
    Y: np.ndarray,
    sample_weight: np.ndarray | None,
    random_state: np.random.RandomState,
    rng: np.random.Generator,
    incremental: bool,
    on_epoch: Any = None,
) -> None:
    """Train ``est`` in place: ``max_iter`` epochs, or one for ``partial_fit``."""
    if est.early_stopping and incremental:
        raise ValueError("partial_fit does not support early_stopping=True")
    if not hasattr(est, "loss_curve_"):  # a warm start after an L-BFGS fit
        est._start_stochastic_bookkeeping()
    dtype = est.coefs_[0].dtype
    if sample_weight is not None:
        sample_weight = sample_weight.astype(dtype, copy=False)
    X_val = y_val = weight_val = None
    if est.early_stopping:
        X, X_val, Y, y_val, sample_weight, weight_val = _hold_out(
            est, X, Y, sample_weight, random_state
        )
    if isinstance(X, np.ndarray) and not X.flags.c_contiguous:
        # Every mini-batch gathers rows. From C-ordered rows that is one block copy per row; from
        # a strided view (scikit-learn's load_digits hands out the columns of a wider array) or
        # a Fortran-ordered array it took 40 us a batch of 200 instead of 5. One copy per fit.
        X = np.ascontiguousarray(X)
    n = X.shape[0]
    if est.batch_size == "auto":
        batch_size = min(200, n)
    else:
        if est.batch_size > n:
            warnings.warn(
                "Got `batch_size` less than 1 or larger than sample size. It is going to be "
                "clipped",
                stacklevel=5,
            )
        batch_size = int(np.clip(est.batch_size, 1, n))
    kernels = _fused_kernels(est) if est.fuse else None
    net = network.build(est.coefs_, est.intercepts_, est.activation, est.dropout, rng).train()
    layers = network.linear_layers(net)
    optimizer = _optimizer(est, layers, incremental)
    decay = optimizer.param_groups[0]  # the weights' group: its weight_decay is the L2 term
    loss = network.Loss(est.out_activation_, Y, dtype)
    weights = [layer.weight.data for layer in layers]
    arrays = weights + [layer.bias.data for layer in layers]  # checked after each epoch

    def forward_backward(xb: Any, yb: Any, wb: Any, normalizer: float) -> Any:
        """The batch's loss; its gradients are left in the parameters' ``.grad``."""
        optimizer.zero_grad()
        value = loss(net(xb), yb, wb, normalizer)
        value.backward()
        return value

    if sample_weight is None and not est.dropout and loss.replayable:
        # Every batch of a shape builds the same graph: mg.compile records it and replays it as
        # a plan of NumPy kernels, the same arithmetic in the same order (the same weights, bit
        # for bit) without building a graph per batch. Dropout's masks and sample weights
        # (a normalizer per batch) would change the plan from batch to batch: those run eagerly.
        forward_backward = compile_step(forward_backward, fuse=est.fuse)
    fused_update = getattr(optimizer, "fused_step", None) if kernels is not None else None

    def step(rows: Any) -> float:
        """One mini-batch: forward, loss, backward, update; returns the loss times its rows."""
        if sparse.issparse(X):
            xb = X[rows].toarray()
        elif isinstance(rows, slice):  # shuffle=False: a view
            xb = X[rows]
        else:  # the rows of X[rows] in a third of its time (no fancy-indexing machinery)
            xb = X.take(rows, axis=0)
        wb = None if sample_weight is None else sample_weight[rows]
        weight_sum = xb.shape[0] if wb is None else float(wb.sum())
        if weight_sum == 0:  # rows of weight 0 only: nothing to learn (and no 0/0)
            return 0.0
        decay["weight_decay"] = est.alpha / weight_sum
        value = forward_backward(xb, loss.targets[rows], wb, weight_sum).item()
        if not math.isfinite(value):
            raise diverged(f"the loss is {value}", est.n_iter_ + 1, optimizer)
        batch_loss = loss.report(value, rows, wb)
        if est.alpha:
            squares = sum(float(np.dot(w.ravel(), w.ravel())) for w in weights)
            batch_loss += 0.5 * est.alpha * squares / weight_sum
        if fused_update is not None:
            fused_update(kernels)  # the update in one pass per parameter, the same arithmetic
        else:
            optimizer.step()
        return batch_loss * xb.shape[0]

    starts = range(0, n, batch_size)
    bar = _progress(est.progress_bar, (1 if incremental else est.max_iter) * len(starts))
    try:
        est.n_iter_ = 0
        # Overflow on the way to a non-finite loss would print NumPy's RuntimeWarnings; the
        # checks in step() and after each epoch raise one clear error instead (scikit-learn's
        # MLP raises a ValueError for non-finite weights too).
        with bar, np.errstate(all="ignore"):
            for _ in range(est.max_iter):
                order = rng.permutation(n) if est.shuffle else None
                total = 0.0
                for start in starts:
                    end = min(start + batch_size, n)
                    total += step(slice(start, end) if order is None else order[start:end])
                    bar.advance(est.n_iter_ + 1, total / end, None)
                if not all(np.isfinite(a).all() for a in arrays):  # then name the parameter
                    check_finite_parameters(net, est.n_iter_ + 1, optimizer)
                est.n_iter_ += 1
                est.loss_ = total / n
                est.t_ += n
                est.loss_curve_.append(est.loss_)
                if est.verbose:
                    print(f"Iteration {est.n_iter_}, loss = {est.loss_:.8f}")
                _count_no_improvement(est, X_val, y_val, weight_val)
                if est.solver == "sgd" and est.learning_rate == "invscaling":
                    _set_rate(optimizer, est.learning_rate_init / (est.t_ + 1) ** est.power_t)
                if on_epoch is not None:
                    on_epoch(est)
                if est._no_improvement_count > est.n_iter_no_change:
                    if _stops(est, optimizer):
                        break
                    est._no_improvement_count = 0
                if incremental:
                    break
                if est.n_iter_ == est.max_iter:
                    warnings.warn(
                        f"Stochastic Optimizer: Maximum iterations ({est.max_iter}) reached and "
                        "the optimization hasn't converged yet.",
                        ConvergenceWarning,
                        stacklevel=5,
                    )
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.", stacklevel=5)
    if est.early_stopping:  # the best epoch's weights, not the last one's
        # Copies: a warm start trains coefs_ in place, and must not change the best it keeps.
        est.coefs_ = [c.copy() for c in est._best_coefs]
        est.intercepts_ = [b.copy() for b in est._best_intercepts]
    est._optimizer_state = optimizer.state_dict()


def _hold_out(est: Any, X: Any, Y: np.ndarray, weights: np.ndarray | None, random_state: Any):
    """Split off ``validation_fraction`` for early stopping, as scikit-learn splits it."""
    stratify = Y if is_classifier(est) and est.n_outputs_ == 1 else None
    arrays = (X, Y) if weights is None else (X, Y, weights)
    parts = train_test_split(
        *arrays, random_state=random_state, test_size=est.validation_fraction, stratify=stratify
    )
    X_train, X_val, Y_train, Y_val = parts[:4]
    w_train, w_val = (None, None) if weights is None else parts[4:]
    if X_val.shape[0] < 2:
        raise ValueError(
            "The validation set is too small. Increase 'validation_fraction' or the size of "
            "your dataset."
        )
    return X_train, X_val, Y_train, est._validation_targets(Y_val), w_train, w_val


def _fused_kernels(est: Any) -> Any:
    """The fused kernels' module, or one line naming the extra that brings numba."""
    try:
        from memograd.engine.compiler import fused
    except ImportError:
        raise ImportError(
            f"{type(est).__name__}(fuse=True) needs numba: pip install 'memograd[fused]'"
        ) from None
    return fused


def _optimizer(est: Any, layers: list, incremental: bool) -> Optimizer:
    """Adam or SGD over two groups (weights with the L2 decay, biases without).

    ``partial_fit`` continues the previous call's optimizer (its moments, step count and
    learning rate); ``fit`` starts a new one, as scikit-learn does.
    """
    groups = [
        {"params": [layer.weight for layer in layers], "weight_decay": 0.0},
        {"params": [layer.bias for layer in layers], "weight_decay": 0.0},
    ]
    if est.solver == "adam":
        optimizer: Optimizer = Adam(
            groups, lr=est.learning_rate_init, betas=(est.beta_1, est.beta_2), eps=est.epsilon
        )
    else:
        optimizer = SGD(
            groups,
            lr=est.learning_rate_init,
            momentum=est.momentum,
            nesterov=bool(est.nesterovs_momentum and est.momentum > 0),
        )
    state = getattr(est, "_optimizer_state", None)
    if incremental and state is not None:
        optimizer.load_state_dict(state)
    return optimizer


def _count_no_improvement(est: Any, X_val: Any, y_val: Any, weight_val: Any) -> None:
    """Update the count of epochs without progress (and the best weights, early stopping)."""
    if est.early_stopping:
        score = est._score(X_val, y_val, weight_val)
        est.validation_scores_.append(score)
        if est.verbose:
            print(f"Validation score: {score:f}")
        if score < est.best_validation_score_ + est.tol:
            est._no_improvement_count += 1
        else:
            est._no_improvement_count = 0
        if score > est.best_validation_score_:
            est.best_validation_score_ = score
            est._best_coefs = [c.copy() for c in est.coefs_]
            est._best_intercepts = [b.copy() for b in est.intercepts_]
        return
    last = est.loss_curve_[-1]
    if last > est.best_loss_ - est.tol:
        est._no_improvement_count += 1
    else:
        est._no_improvement_count = 0
    if last < est.best_loss_:
        est.best_loss_ = last


def _stops(est: Any, optimizer: Optimizer) -> bool:
    """Whether to stop after ``n_iter_no_change`` epochs without progress; 'adaptive' SGD
    first divides its rate by 5 (until it falls below 1e-6)."""
    watched = "Validation score" if est.early_stopping else "Training loss"
    message = (
        f"{watched} did not improve more than tol={est.tol:f} for "
        f"{est.n_iter_no_change:d} consecutive epochs."
    )
    if est.solver != "sgd" or est.learning_rate != "adaptive":
        if est.verbose:
            print(message + " Stopping.")
        return True
    rate = optimizer.param_groups[0]["lr"]
    if rate <= 1e-6:
        if est.verbose:
            print(message + " Learning rate too small. Stopping.")
        return True
    _set_rate(optimizer, rate / 5.0)
    if est.verbose:
        print(message + f" Setting learning rate to {rate / 5.0:f}")
    return False


def _set_rate(optimizer: Optimizer, rate: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = rate
