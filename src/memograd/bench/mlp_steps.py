"""One float32 MLP training step, written once per peer the way its own docs write it.

A step is: forward through ``Linear -> ReLU -> ... -> Linear``, mean
cross-entropy against integer class labels, backward, and a plain SGD update
of every weight and bias. Every peer starts from the same weights and the same
batch (both drawn from ``seed``), so one step of any two peers gives the same
new weights up to float32 rounding: :func:`check_agreement` verifies that
before anything is timed, which is what makes the timings comparable.

The public entry point is :func:`make_step`; the report's speed section reuses
it, so its signature is kept stable.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from memograd.bench.environment import peer_threads

# Peers in the order the table lists them. "numpy" is the hand-written floor.
# "memograd" is the engine's tensor ops written out; "memograd_nn" the same network through
# mg.nn.MLP and mg.optim.SGD, as the README writes it (its cost over "memograd" is the
# Module and Optimizer layers).
PEERS: tuple[str, ...] = (
    "memograd",
    "memograd_nn",
    "numpy",
    "torch",
    "jax",
    "jax_jit",
    "mygrad",
    "autograd",
)

LEARNING_RATE = 0.01


class PeerUnavailable(RuntimeError):
    """The library a peer needs is not installed (the bench skips it with this note)."""

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


def make_step(
    peer: str, sizes: Sequence[int], batch: int, seed: int = 0, lr: float = LEARNING_RATE
) -> MLPStep:
    """Build one peer's float32 MLP training step on a fixed random batch.

    ``peer`` is one of :data:`PEERS`; ``sizes`` the layer widths, input first
    (``(64, 256, 256, 10)``); ``batch`` the number of rows per step. The result
    is callable (one step) and exposes ``parameters()`` for checking.

    Raises :class:`PeerUnavailable` when the peer's library is not installed,
    ``ValueError`` for an unknown peer or bad sizes.
    """
    if peer not in _BUILDERS:
        raise ValueError(f"unknown peer {peer!r}; expected one of {', '.join(PEERS)}")
    problem = make_problem(sizes, batch, seed)
    return _BUILDERS[peer](_copy(problem), lr)


def _copy(problem: Problem) -> Problem:
    """A private copy, since several peers update their weights in place."""
    return Problem(
        [w.copy() for w in problem.weights],
        [b.copy() for b in problem.biases],
        problem.inputs.copy(),
        problem.labels.copy(),
    )


def check_agreement(steps: Sequence[MLPStep], reference: MLPStep, rtol: float = 2e-3) -> list[str]:
    """Run one step of each (freshly built) peer and compare its new weights to ``reference``.

    Returns the peers that disagree. Every step here must have been built from
    the same problem and not yet run.
    """
    reference()
    expected = reference.parameters()
    scale = max(float(np.abs(p).max()) for p in expected)
    disagree = []
    for candidate in steps:
        candidate()
        got = candidate.parameters()
        ok = len(got) == len(expected) and all(
            g.shape == e.shape and np.allclose(g, e, rtol=rtol, atol=rtol * scale)
            for g, e in zip(got, expected, strict=False)
        )
        if not ok:
            disagree.append(candidate.peer)
    return disagree


# --- memograd ---------------------------------------------------------------------------------


def _memograd_step(problem: Problem, lr: float) -> MLPStep:
    """memograd's tensor API: fused ``linear``, ``relu``, fused ``cross_entropy``, SGD in place.

    This is the step a user writes without ``mg.nn``; each op is one graph
    node, so the engine's per-op cost is exactly what is measured.
    """
    try:
        import memograd as mg

        linear, cross_entropy, tensor = mg.linear, mg.cross_entropy, mg.Tensor
    except AttributeError as exc:
        raise PeerUnavailable("memograd", f"the engine does not provide {exc.name}") from None
    weights = [tensor(w, requires_grad=True) for w in problem.weights]
    biases = [tensor(b, requires_grad=True) for b in problem.biases]
    params = [p for pair in zip(weights, biases, strict=True) for p in pair]
    inputs, labels = tensor(problem.inputs), problem.labels
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


def _memograd_nn_step(problem: Problem, lr: float) -> MLPStep:
    """memograd as its README writes it: ``mg.nn.MLP``, ``cross_entropy``, ``mg.optim.SGD``."""
    try:
        import memograd as mg
        from memograd import nn, optim
        from memograd.nn.functional import cross_entropy

        MLP, Linear, SGD = nn.MLP, nn.Linear, optim.SGD
    except (ImportError, AttributeError) as exc:
        raise PeerUnavailable("memograd_nn", f"memograd.nn is not available ({exc})") from None
    model = MLP(
        [problem.weights[0].shape[0], *(w.shape[1] for w in problem.weights)], activation="relu"
    )
    linears = [m for m in model.modules() if isinstance(m, Linear)]
    for layer, weight, bias in zip(linears, problem.weights, problem.biases, strict=True):
        layer.weight.data[...] = weight
        layer.bias.data[...] = bias
    optimizer = SGD(model.parameters(), lr=lr)
    inputs, labels = mg.Tensor(problem.inputs), problem.labels

    def step() -> None:
        optimizer.zero_grad()
        loss = cross_entropy(model(inputs), labels)
        loss.backward()
        optimizer.step()

    return MLPStep(
        "memograd_nn",
        "mg.nn.MLP + mg.nn.functional.cross_entropy + mg.optim.SGD",
        step,
        lambda: [p.data.copy() for layer in linears for p in (layer.weight, layer.bias)],
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
    """PyTorch eager as its tutorials write it: nn.Sequential, F.cross_entropy, optim.SGD."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError as exc:
        raise PeerUnavailable("torch", f"not installed ({exc.name})") from None
    torch.set_num_threads(peer_threads())
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
        f"nn.Sequential + F.cross_entropy + optim.SGD, torch.set_num_threads({peer_threads()})",
        step,
        parameters,
    )


# --- JAX ----------------------------------------------------------------------------------------


def _import_jax():
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if "jax" not in sys.modules and peer_threads() == 1:
        # XLA reads its thread settings once, when the backend starts.
        flags = os.environ.get("XLA_FLAGS", "")
        os.environ["XLA_FLAGS"] = (
            f"{flags} --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1".strip()
        )
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as exc:
        raise PeerUnavailable("jax", f"not installed ({exc.name})") from None
    return jax, jnp


def _jax_update(problem: Problem, lr: float):
    """The update of JAX's own MLP example: ``grad`` of a pure loss, a new parameter list."""
    jax, jnp = _import_jax()

    def loss(params, inputs, labels):
        hidden = inputs
        for weight, bias in params[:-1]:
            hidden = jax.nn.relu(hidden @ weight + bias)
        weight, bias = params[-1]
        logits = hidden @ weight + bias
        log_probabilities = jax.nn.log_softmax(logits)
        return -jnp.mean(jnp.take_along_axis(log_probabilities, labels[:, None], axis=1))

    def update(params, inputs, labels):
        grads = jax.grad(loss)(params, inputs, labels)
        return [(w - lr * dw, b - lr * db) for (w, b), (dw, db) in zip(params, grads, strict=True)]

    params = [
        (jnp.asarray(w), jnp.asarray(b))
        for w, b in zip(problem.weights, problem.biases, strict=True)
    ]
    return jax, update, params, jnp.asarray(problem.inputs), jnp.asarray(problem.labels)


def _jax_step(problem: Problem, lr: float, jit: bool) -> MLPStep:
    jax, update, params, inputs, labels = _jax_update(problem, lr)
    if jit:
        update = jax.jit(update)
    state = [params]

    def step() -> None:
        # Dispatch is asynchronous: wait for the result, or only the launch is timed.
        state[0] = jax.block_until_ready(update(state[0], inputs, labels))

    peer = "jax_jit" if jit else "jax"
    how = "jax.jit of the whole update" if jit else "eager jax.grad, op by op"
    return MLPStep(
        peer,
        f"{how}, jax.nn.log_softmax loss",
        step,
        lambda: [np.asarray(p).copy() for pair in state[0] for p in pair],
    )


# --- MyGrad -------------------------------------------------------------------------------------


def _mygrad_step(problem: Problem, lr: float) -> MLPStep:
    """MyGrad as its docs write it: tensors, ``softmax_crossentropy``, ``w.data -= lr * w.grad``."""
    try:
        import mygrad
        from mygrad.nnet.activations import relu
        from mygrad.nnet.losses import softmax_crossentropy
    except ImportError as exc:
        raise PeerUnavailable("mygrad", f"not installed ({exc.name})") from None
    weights = [mygrad.tensor(w) for w in problem.weights]
    biases = [mygrad.tensor(b) for b in problem.biases]
    params = [p for pair in zip(weights, biases, strict=True) for p in pair]
    inputs, labels = problem.inputs, problem.labels
    last = len(weights) - 1

    def step() -> None:
        hidden = inputs
        for k, (weight, bias) in enumerate(zip(weights, biases, strict=True)):
            hidden = hidden @ weight + bias
            if k < last:
                hidden = relu(hidden)
        loss = softmax_crossentropy(hidden, labels)
        loss.backward()
        for p in params:
            p.data -= lr * p.grad

    return MLPStep(
        "mygrad",
        "mygrad tensors + softmax_crossentropy, w.data -= lr * w.grad",
        step,
        lambda: [p.data.copy() for p in params],
    )


# --- HIPS autograd ------------------------------------------------------------------------------


def _autograd_step(problem: Problem, lr: float) -> MLPStep:
    """HIPS autograd: ``grad`` of a loss written in (wrapped) NumPy, then an SGD update."""
    try:
        import autograd.numpy as anp
        from autograd import grad
        from autograd.scipy.special import logsumexp
    except ImportError as exc:
        raise PeerUnavailable("autograd", f"not installed ({exc.name})") from None
    params = [(w, b) for w, b in zip(problem.weights, problem.biases, strict=True)]
    inputs, labels = problem.inputs, problem.labels
    rows = np.arange(len(labels))

    def loss(params, inputs, labels):
        hidden = inputs
        for weight, bias in params[:-1]:
            hidden = anp.maximum(anp.dot(hidden, weight) + bias, 0.0)
        weight, bias = params[-1]
        logits = anp.dot(hidden, weight) + bias
        return anp.mean(logsumexp(logits, axis=1) - logits[rows, labels])

    loss_grad = grad(loss)

    def step() -> None:
        grads = loss_grad(params, inputs, labels)
        for (w, b), (dw, db) in zip(params, grads, strict=True):
            w -= lr * dw
            b -= lr * db

    return MLPStep(
        "autograd",
        "autograd.grad of an autograd.numpy loss, in-place SGD",
        step,
        lambda: [p.copy() for pair in params for p in pair],
    )


_BUILDERS: dict[str, Callable[[Problem, float], MLPStep]] = {
    "memograd": _memograd_step,
    "memograd_nn": _memograd_nn_step,
    "numpy": _numpy_step,
    "torch": _torch_step,
    "jax": lambda problem, lr: _jax_step(problem, lr, jit=False),
    "jax_jit": lambda problem, lr: _jax_step(problem, lr, jit=True),
    "mygrad": _mygrad_step,
    "autograd": _autograd_step,
}
