"""The MLP step's peers: memograd's three from :mod:`memograd.timing`, and five more.

The package writes the step for memograd, NumPy by hand and PyTorch (what the demo times). The
benchmark adds memograd through ``mg.nn`` and ``mg.optim`` as the README writes it (its cost over
"memograd" is the Module and Optimizer layers), JAX eager and jitted, MyGrad and HIPS autograd,
each the way its own documentation writes a training step, on the same :class:`Problem`.
:func:`check_agreement` runs one step of each before anything is timed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

import memograd as mg
from benchmarks.environment import peer_threads
from memograd.timing import BUILDERS, MLPStep, PeerUnavailable, Problem, StepBuilder


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


# --- memograd through mg.nn -------------------------------------------------------------------


def _memograd_nn_step(problem: Problem, lr: float) -> MLPStep:
    """memograd as its README writes it: ``mg.nn.MLP``, ``cross_entropy``, ``mg.optim.SGD``."""
    model = mg.nn.MLP(
        [problem.weights[0].shape[0], *(w.shape[1] for w in problem.weights)], activation="relu"
    )
    linears = [m for m in model.modules() if isinstance(m, mg.nn.Linear)]
    for layer, weight, bias in zip(linears, problem.weights, problem.biases, strict=True):
        layer.weight.data[...] = weight
        layer.bias.data[...] = bias
    optimizer = mg.optim.SGD(model.parameters(), lr=lr)
    inputs, labels = mg.Tensor(problem.inputs), problem.labels
    cross_entropy = mg.nn.functional.cross_entropy

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


# --- PyTorch, on the benchmark's thread count -----------------------------------------------------


def _torch_step(problem: Problem, lr: float) -> MLPStep:
    """The package's PyTorch step, with PyTorch on the thread count the header reports."""
    step = BUILDERS["torch"](problem, lr)
    import torch  # the build above succeeded, so torch is installed

    torch.set_num_threads(peer_threads())
    return MLPStep(
        step.peer,
        f"{step.description}, torch.set_num_threads({peer_threads()})",
        step.step,
        step.parameters,
    )


# --- JAX ----------------------------------------------------------------------------------------


def _import_jax():
    """jax and jax.numpy. XLA's platform and threads were set by the benchmark's entry point
    (:func:`benchmarks.environment.configure_xla`), before anything imported jax."""
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


# Every peer, in the order the tables list them. "numpy" is the hand-written floor.
PEER_BUILDERS: dict[str, StepBuilder] = {
    "memograd": BUILDERS["memograd"],
    "memograd_nn": _memograd_nn_step,
    "numpy": BUILDERS["numpy"],
    "torch": _torch_step,
    "jax": lambda problem, lr: _jax_step(problem, lr, jit=False),
    "jax_jit": lambda problem, lr: _jax_step(problem, lr, jit=True),
    "mygrad": _mygrad_step,
    "autograd": _autograd_step,
}
PEERS: tuple[str, ...] = tuple(PEER_BUILDERS)
