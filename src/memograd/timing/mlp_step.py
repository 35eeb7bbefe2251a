"""One float32 MLP training step, written by memograd, by hand in NumPy, and by PyTorch.

A step is: forward through ``Linear -> ReLU -> ... -> Linear``, mean cross-entropy against
integer class labels, backward, and a plain SGD update of every weight and bias. Every peer
starts from the same weights and the same batch (both drawn from ``seed``), so one step of any
two peers gives the same new weights up to float32 rounding: that is what makes their timings
comparable. The hand-written NumPy step is the floor: the least work a NumPy-based engine can
do for this computation.

The demo's speed section times these three with :func:`memograd.timing.compare`. The
repository's benchmark adds more peers (JAX, MyGrad, autograd, memograd through ``mg.nn``) by
passing its own ``builders`` table to :func:`make_step`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from memograd.engine import Tensor, cross_entropy, linear

LEARNING_RATE = 0.01


class PeerUnavailable(RuntimeError):
    """The library a peer needs is not installed (callers skip the peer with this note)."""

    def __init__(self, peer: str, reason: str) -> None:
        super().__init__(f"{peer}: {reason}")
        self.peer = peer
        self.reason = reason


@dataclass(frozen=True)
class MLPStep:
    """A ready-to-time training step and a way to read the weights it updates.

    ``step`` is what gets timed; ``parameters`` returns copies of the weights
    as float32 arrays ``[W1, b1, W2, b2, ...]`` with ``W[i, j]`` from input
    unit i to output unit j (the notes' layout), whatever layout the peer
    keeps internally.
    """

    peer: str
    description: str
    step: Callable[[], None]
    parameters: Callable[[], list[np.ndarray]]

    def __call__(self) -> None:
        self.step()


@dataclass(frozen=True)
class Problem:
    """Initial weights and one batch, shared by every peer."""

    weights: list[np.ndarray]
    biases: list[np.ndarray]
    inputs: np.ndarray
    labels: np.ndarray


def make_problem(sizes: Sequence[int], batch: int, seed: int) -> Problem:
    """Float32 weights (uniform in +-1/sqrt(fan_in), PyTorch's default) and a random batch."""
    sizes = _check_sizes(sizes)
    if batch < 1:
        raise ValueError(f"batch must be >= 1, got {batch}")
    rng = np.random.default_rng(seed)
    weights, biases = [], []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
        bound = 1.0 / np.sqrt(fan_in)
        weights.append(rng.uniform(-bound, bound, (fan_in, fan_out)).astype(np.float32))
        biases.append(rng.uniform(-bound, bound, fan_out).astype(np.float32))
    inputs = rng.standard_normal((batch, sizes[0])).astype(np.float32)
    labels = rng.integers(0, sizes[-1], batch).astype(np.int64)
    return Problem(weights, biases, inputs, labels)


def _check_sizes(sizes: Sequence[int]) -> list[int]:
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or any(s < 1 for s in sizes):
        raise ValueError(f"sizes must be at least two layer widths >= 1, got {list(sizes)}")
    return sizes


StepBuilder = Callable[[Problem, float], MLPStep]


def make_step(
    peer: str,
    sizes: Sequence[int],
    batch: int,
    seed: int = 0,
    lr: float = LEARNING_RATE,
    builders: Mapping[str, StepBuilder] | None = None,
) -> MLPStep:
    """Build one peer's float32 MLP training step on a fixed random batch.

    ``peer`` is a key of ``builders`` (default :data:`BUILDERS`: ``memograd``, ``numpy``,
    ``torch``); ``sizes`` the layer widths, input first (``(64, 256, 256, 10)``); ``batch`` the
    number of rows per step. The result is callable (one step) and exposes ``parameters()`` for
    checking. Each call draws its own copy of the problem, since steps update their weights in
    place.

    Raises :class:`PeerUnavailable` when the peer's library is not installed,
    ``ValueError`` for an unknown peer or bad sizes.
    """
    table = BUILDERS if builders is None else builders
    if peer not in table:
        raise ValueError(f"unknown peer {peer!r}; expected one of {', '.join(table)}")
    return table[peer](make_problem(sizes, batch, seed), lr)


# --- memograd ---------------------------------------------------------------------------------


def _memograd_step(problem: Problem, lr: float) -> MLPStep:
    """memograd's tensor API: fused ``linear``, ``relu``, fused ``cross_entropy``, SGD in place.

    This is the step a user writes without ``mg.nn``; each op is one graph
    node, so the engine's per-op cost is exactly what is measured.
    """
    weights = [Tensor(w, requires_grad=True) for w in problem.weights]
    biases = [Tensor(b, requires_grad=True) for b in problem.biases]
    params = [p for pair in zip(weights, biases, strict=True) for p in pair]
    inputs, labels = Tensor(problem.inputs), problem.labels
    last = len(weights) - 1

    def step() -> None:
        hidden = inputs
        for k, (weight, bias) in enumerate(zip(weights, biases, strict=True)):
            hidden = linear(hidden, weight, bias)
            if k < last:
                hidden = hidden.relu()
        loss = cross_entropy(hidden, labels)
        for p in params:
            p.grad = None
        loss.backward()
        for p in params:
            p.data -= lr * p.grad

    return MLPStep(
        "memograd",
        "mg.linear + relu + mg.cross_entropy, backward(), p.data -= lr * p.grad",
        step,
        lambda: [p.data.copy() for p in params],
    )


# --- hand-written NumPy: the floor --------------------------------------------------------------


def _numpy_step(problem: Problem, lr: float) -> MLPStep:
    """The same step by hand in NumPy: the least work a NumPy-based engine can do.

    Forward keeps each ReLU output (its own mask for backward); the softmax and
    cross-entropy gradient are fused into ``softmax - onehot``; every update
    and most temporaries are in place, float32 throughout.
    """
    weights, biases = problem.weights, problem.biases
    inputs, labels = problem.inputs, problem.labels
    rows = np.arange(len(labels))
    inverse_batch = np.float32(1.0 / len(labels))
    last = len(weights) - 1
    losses: list[float] = []

    def step() -> None:
        activations = [inputs]
        hidden = inputs
        for k in range(last):
            hidden = hidden @ weights[k]
            hidden += biases[k]
            np.maximum(hidden, 0, out=hidden)
            activations.append(hidden)
        logits = hidden @ weights[last]
        logits += biases[last]
        logits -= logits.max(axis=1, keepdims=True)
        probabilities = np.exp(logits)
        totals = probabilities.sum(axis=1, keepdims=True)
        losses.append(float(np.mean(np.log(totals[:, 0]) - logits[rows, labels])))
        probabilities /= totals
        probabilities[rows, labels] -= 1
        probabilities *= inverse_batch
        adjoint = probabilities  # dL/dlogits = (softmax - onehot) / batch
        for k in range(last, -1, -1):
            weight_grad = activations[k].T @ adjoint
            bias_grad = adjoint.sum(axis=0)
            if k > 0:
                adjoint = adjoint @ weights[k].T
                adjoint *= activations[k] > 0
            weight_grad *= lr
            weights[k] -= weight_grad
            bias_grad *= lr
            biases[k] -= bias_grad
        del losses[:-1]

    return MLPStep(
        "numpy",
        "by hand: forward, fused softmax-CE gradient, backward, in-place update",
        step,
        lambda: [p.copy() for pair in zip(weights, biases, strict=True) for p in pair],
    )


# --- PyTorch ------------------------------------------------------------------------------------


def _torch_step(problem: Problem, lr: float) -> MLPStep:
    """PyTorch eager as its tutorials write it: nn.Sequential, F.cross_entropy, optim.SGD.

    PyTorch's thread count is left as the caller set it (the demo runs it on one thread while
    timing, the benchmark on the count it reports).
    """
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as exc:
        raise PeerUnavailable("torch", f"not installed ({exc.name})") from None
    layers: list[torch.nn.Module] = []
    for k, (w, b) in enumerate(zip(problem.weights, problem.biases, strict=True)):
        linear = torch.nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.T.copy()))  # torch keeps (out, in)
            linear.bias.copy_(torch.from_numpy(b))
        layers.append(linear)
        if k < len(problem.weights) - 1:
            layers.append(torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    inputs = torch.from_numpy(problem.inputs)
    labels = torch.from_numpy(problem.labels)

    def step() -> None:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(inputs), labels)
        loss.backward()
        optimizer.step()

    def parameters() -> list[np.ndarray]:
        out = []
        for module in model:
            if isinstance(module, torch.nn.Linear):
                out.append(module.weight.detach().numpy().T.copy())
                out.append(module.bias.detach().numpy().copy())
        return out

    return MLPStep(
        "torch",
        "nn.Sequential + F.cross_entropy + optim.SGD",
        step,
        parameters,
    )


# The peers this module writes, in the order a table lists them.
BUILDERS: dict[str, StepBuilder] = {
    "memograd": _memograd_step,
    "numpy": _numpy_step,
    "torch": _torch_step,
}
