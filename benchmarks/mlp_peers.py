"""The MLP step's peers: memograd's three from :mod:`memograd.timing`, and six more.

The package writes the step for memograd, NumPy by hand and PyTorch (what the demo times). The
benchmark adds memograd through ``mg.nn`` and ``mg.optim`` as the README writes it (its cost over
"memograd" is the Module and Optimizer layers), JAX eager and jitted, PyTorch's step in
``torch.compile``, MyGrad and HIPS autograd, each the way its own documentation writes a training
step, on the same :class:`Problem`. Before anything is timed, :func:`check_agreement` compares
one step of each with the NumPy floor's, or :func:`follow` and :func:`trajectory_disagreements`
a few steps (loss and weights after every one).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

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


def batch_loss(parameters: Sequence[np.ndarray], problem: Problem) -> float:
    """Mean cross-entropy of ``parameters`` (``[W1, b1, W2, b2, ...]``) on the problem's batch.

    One yardstick for every peer, in float64 so that its own rounding is far below float32's:
    two peers whose weights agree to float32 rounding get the same loss from it.
    """
    weights, biases = parameters[0::2], parameters[1::2]
    hidden = problem.inputs.astype(np.float64)
    for k, (weight, bias) in enumerate(zip(weights, biases, strict=True)):
        hidden = hidden @ weight.astype(np.float64) + bias
        if k < len(weights) - 1:
            hidden = np.maximum(hidden, 0.0)
    shifted = hidden - hidden.max(axis=1, keepdims=True)
    log_totals = np.log(np.exp(shifted).sum(axis=1))
    rows = np.arange(len(problem.labels))
    return float(np.mean(log_totals - shifted[rows, problem.labels]))


@dataclass(frozen=True)
class Trajectory:
    """A few steps of one peer from the problem's start: the loss before each step and after
    the last (:func:`batch_loss`), the weights after each step, and the steps' wall time
    (compiling included, for the peers that compile on their first calls)."""

    peer: str
    losses: tuple[float, ...]
    weights: tuple[tuple[np.ndarray, ...], ...]
    seconds: float


def follow(step: MLPStep, problem: Problem, steps: int) -> Trajectory:
    """Run ``steps`` steps of a freshly built ``step`` and record its :class:`Trajectory`.

    ``problem`` is the one the step was built from, its own: some peers (the NumPy floor) update
    the problem's arrays in place, so two peers never share one.
    """
    start = [p.copy() for pair in zip(problem.weights, problem.biases, strict=True) for p in pair]
    losses, weights, seconds = [batch_loss(start, problem)], [], 0.0
    for _ in range(steps):
        began = time.perf_counter()
        step()
        seconds += time.perf_counter() - began
        after = step.parameters()
        weights.append(tuple(after))
        losses.append(batch_loss(after, problem))
    return Trajectory(step.peer, tuple(losses), tuple(weights), seconds)


def trajectory_disagreements(
    trajectories: Sequence[Trajectory],
    reference: Trajectory,
    loss_rtol: float = 1e-6,
    weight_rtol: float = 1e-5,
) -> list[str]:
    """One line per peer whose trajectory leaves the reference's by more than float32 rounding.

    The weights after every step must agree elementwise (relative to the largest weight), and
    the loss after every step to ``loss_rtol``. Float32 rounding parts the peers (their kernels
    sum in different orders) by about 2e-7 in the weights and 4e-9 in the loss over five steps
    of the benchmark's problems; a learning rate 1% off parts them by more than the tolerances.
    """
    problems = []
    for trajectory in trajectories:
        if len(trajectory.weights) != len(reference.weights):
            problems.append(f"{trajectory.peer}: {len(trajectory.weights)} steps recorded")
            continue
        for k, (got, expected) in enumerate(
            zip(trajectory.weights, reference.weights, strict=True), start=1
        ):
            scale = max(float(np.abs(e).max()) for e in expected)
            close = len(got) == len(expected) and all(
                g.shape == e.shape and np.allclose(g, e, rtol=weight_rtol, atol=weight_rtol * scale)
                for g, e in zip(got, expected, strict=False)
            )
            loss, wanted = trajectory.losses[k], reference.losses[k]
            if not close or abs(loss - wanted) > loss_rtol * abs(wanted):
                problems.append(
                    f"{trajectory.peer}: after step {k} its loss is {loss:.7g} against "
                    f"{reference.peer}'s {wanted:.7g}"
                    + ("" if close else ", and its weights differ")
                )
                break
    return problems


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


# --- torch.compile ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CompilingStep(MLPStep):
    """A step that compiles on its first call; ``made()`` counts, after that, what it made."""

    made: Callable[[], dict[str, int]] = dict


SWITCHED_OFF = "switched off in this process (TORCH_COMPILE_DISABLE or TORCHDYNAMO_DISABLE)"


def _inductor_compiler_missing() -> str | None:
    """Why inductor, torch.compile's default backend, has no C++ compiler here; None if it has.

    Asked before building so a machine without one gets a one-line reason, not a traceback
    from deep inside the first compiled call. A torch whose internals moved answers None, and
    the first call then says what went wrong.
    """
    try:
        from torch._inductor import cpp_builder
        from torch._inductor.exc import InvalidCxxCompiler
    except ImportError:
        return None
    try:
        cpp_builder.get_cpp_compiler()
    except InvalidCxxCompiler:
        return "inductor (its default backend) needs a C++ compiler: none found ($CXX, g++)"
    return None


def _dynamo_counts() -> dict[str, int]:
    """What dynamo and inductor have made so far in this process (their own counters).

    Without them there is no telling a compiled step from one dynamo ran eagerly: the peer is
    then skipped rather than timed under a name it may not deserve.
    """
    try:
        from torch._dynamo.utils import counters
    except ImportError:
        raise PeerUnavailable(
            "torch_compile", "cannot tell what it compiled (torch._dynamo.utils.counters moved)"
        ) from None

    return {
        "graphs": counters["stats"]["unique_graphs"],
        "graph breaks": sum(counters["graph_break"].values()),
        "cache hits": counters["inductor"]["fxgraph_cache_hit"],
        "cache misses": counters["inductor"]["fxgraph_cache_miss"],
    }


def _one_line(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first[:160]}"


def _torch_compile_step(problem: Problem, lr: float) -> CompilingStep:
    """PyTorch's own step (the ``torch`` peer) with the whole step function in ``torch.compile``.

    Forward, loss, ``backward()`` and ``optimizer.step()``, as PyTorch's torch.compile tutorial
    compiles a training step (``torch.compile(train)``), default mode and backend. The first call
    compiles; a failure there, or a first call that compiled no graph at all (the step ran
    eagerly, under a torch.compile label), is :class:`PeerUnavailable` with one line saying why.
    """
    eager = _torch_step(problem, lr)
    import torch

    missing = _inductor_compiler_missing()
    if missing is not None:
        raise PeerUnavailable("torch_compile", missing)
    if torch._dynamo.config.disable or os.environ.get("TORCHDYNAMO_DISABLE") == "1":
        raise PeerUnavailable("torch_compile", SWITCHED_OFF)
    # Dynamo keys what it compiled on the code object, which every build of this step shares:
    # start each build afresh, or the next case's step would be a recompile of the last one's.
    torch._dynamo.reset()
    before = _dynamo_counts()
    compiled = torch.compile(eager.step)
    first = [True]

    def made() -> dict[str, int]:
        after = _dynamo_counts()
        return {key: after[key] - before[key] for key in after}

    def step() -> None:
        if not first[0]:
            compiled()
            return
        first[0] = False
        try:
            compiled()
        except Exception as exc:  # noqa: BLE001 - whatever the compiler raised: one line, skip
            raise PeerUnavailable("torch_compile", f"failed: {_one_line(exc)}") from exc
        if made()["graphs"] == 0:
            raise PeerUnavailable("torch_compile", "compiled no graph: the step ran eagerly")

    return CompilingStep(
        "torch_compile",
        "torch.compile of the whole step (zero_grad, forward, F.cross_entropy, backward, "
        "optimizer.step), as PyTorch's tutorial compiles training; default mode; "
        f"torch.set_num_threads({peer_threads()})",
        step,
        eager.parameters,
        made,
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
    """A training step as JAX users write one: ``jax.value_and_grad`` of a pure loss, returning
    the new parameter list and the loss (the loss comes free with the gradient, as every other
    peer's step computes it too)."""
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
        value, grads = jax.value_and_grad(loss)(params, inputs, labels)
        new = [(w - lr * dw, b - lr * db) for (w, b), (dw, db) in zip(params, grads, strict=True)]
        return new, value

    params = [
        (jnp.asarray(w), jnp.asarray(b))
        for w, b in zip(problem.weights, problem.biases, strict=True)
    ]
    return jax, update, params, jnp.asarray(problem.inputs), jnp.asarray(problem.labels)


def _jax_step(problem: Problem, lr: float, jit: bool) -> MLPStep:
    jax, update, params, inputs, labels = _jax_update(problem, lr)
    if jit:
        # The old parameters are dead once the new ones exist: donating them lets XLA write the
        # update into their buffers, as training loops written for jit do.
        update = jax.jit(update, donate_argnums=0)
    state = [params]

    def step() -> None:
        # Dispatch is asynchronous: wait for the result, or only the launch is timed.
        state[0], _ = jax.block_until_ready(update(state[0], inputs, labels))

    peer = "jax_jit" if jit else "jax"
    how = "jax.jit(donate_argnums=0) of the whole update" if jit else "eager, op by op"
    return MLPStep(
        peer,
        f"{how}: jax.value_and_grad of a jax.nn.log_softmax loss, new params returned",
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
    "torch_compile": _torch_compile_step,
    "jax": lambda problem, lr: _jax_step(problem, lr, jit=False),
    "jax_jit": lambda problem, lr: _jax_step(problem, lr, jit=True),
    "mygrad": _mygrad_step,
    "autograd": _autograd_step,
}
PEERS: tuple[str, ...] = tuple(PEER_BUILDERS)
