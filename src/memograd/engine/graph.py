"""The computation graph and the three ways to run the chain rule backwards over it.

Every node (a scalar :class:`~memograd.engine.value.Value` or a
:class:`~memograd.engine.tensor.Tensor`) carries:

* ``parents``: the input nodes of the op that made it, in order (``()`` for a leaf);
* ``op``: that op's name (``""`` for a leaf);
* ``requires_grad``: whether gradients flow into it;
* ``_vjps``: the op's vector-Jacobian products, one per input: ``_vjps[i](adjoint, node)`` is the
  contribution that ``adjoint = dL/dnode`` makes to ``dL/dparents[i]`` (one chain-rule step
  along one edge). Functions shared by every node of an op, never closures made per node.

An *edge* is a pair (node, input slot ``i``) whose parent requires grad: a node that uses the same
input twice (``b = a * a``) has two edges to it, and each is a separate term of the chain rule.

The three strategies below compute the same adjoints ``dL/dnode`` and differ only in how much work
they do, which they count in a :class:`BackwardStats`:

========  ==========================================================  =========================
strategy  how                                                         VJP evaluations
========  ==========================================================  =========================
sweep     reverse topological order (Kahn), each adjoint complete      one per edge
          before it is pushed to the inputs; no recursion at all
memo      top-down recursion ``adjoint(n) = sum over consumers c of    one per edge
          vjp_c(adjoint(c))``, each adjoint stored in a memo table
          the first time (explicit stack: no recursion limit)
naive     the same chain rule with no table: every path from the      one per (path, edge):
          output to a node is multiplied out on its own               exponential in depth
========  ==========================================================  =========================

``sweep`` is the default: it is the bottom-up table of dynamic programming, needs no memo lookups
and no stack of pending requests, and touches each node exactly once.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ContextDecorator, contextmanager, nullcontext
from typing import Any, ClassVar, Protocol, runtime_checkable

import numpy as np

from memograd.engine.stats import BackwardStats


@runtime_checkable
class Node(Protocol):
    """What every algorithm of this module needs of a node; ``Value`` and ``Tensor`` provide it.

    * ``parents``: the op's inputs, in order (``()`` for a leaf); ``requires_grad``: whether
      gradients flow into it; ``op``: the op's name (``""`` for a leaf).
    * ``_vjps[i](adjoint, node)``: the contribution that ``adjoint = dL/dnode`` makes to
      ``dL/dparents[i]``, one chain-rule step along one edge;
      ``_graph_vjps()``: the same steps computed on graph values (``create_graph``).
    * ``_push_tangent(incoming)``: forward mode's step, the node's tangent from its inputs'.
    * ``_keeps_grad``: whether a backward pass stores the node's gradient in ``.grad``;
      ``_deliver_grads(pairs)``: adds the adjoints of one pass to the nodes' ``.grad``.
    * ``_check_saved()``: raises if an array the node's op saved was changed in place since.
    * ``_SCALAR``: True for Values, whose plain sweep is the fused ``_sweep_scalar``.
    """

    _SCALAR: ClassVar[bool]
    parents: tuple[Any, ...]
    requires_grad: bool
    _keeps_grad: bool
    _vjps: Any

    @property
    def op(self) -> str: ...

    def _graph_vjps(self) -> Any: ...

    def _push_tangent(self, incoming: tuple[Any, ...]) -> Any: ...

    def _check_saved(self) -> None: ...

    @staticmethod
    def _deliver_grads(pairs: list[tuple[Any, Any]]) -> None: ...


BACKWARD_STRATEGIES = ("sweep", "memo", "naive")
DEFAULT_MAX_PATHS = 10**6

# Held while gradients are added into nodes, and for the whole scalar sweep (whose working state
# lives in the Value nodes): two threads backpropagating through graphs that share a leaf must
# not interleave their read-modify-write of its ``.grad``. Backward never calls user code, so
# holding it cannot deadlock; the GIL serialises this pure-Python work anyway.
_grad_lock = threading.Lock()

# The tracer of a compiled step while one records its first run (engine/compiler/trace.py): a
# pass of the engine that it did not start itself (a transform, a Value's backward) is refused,
# since the plan could not replay it.
_tracer: Any = None


# --------------------------------------------------------------------------------------------
# Gradient mode: ``with no_grad():`` builds no graph.
# --------------------------------------------------------------------------------------------


class _GradMode(threading.local):
    """Per-thread switch read by every op; thread-local so one thread's no_grad is not another's."""

    enabled = True


grad_mode = _GradMode()


@contextmanager
def _recording(enabled: bool) -> Iterator[None]:
    """Grad mode set to ``enabled`` within the block, and restored after it."""
    previous = grad_mode.enabled
    grad_mode.enabled = enabled
    try:
        yield
    finally:
        grad_mode.enabled = previous


def no_grad() -> AbstractContextManager[None]:
    """Within the block, ops record no parents: results are constants and cost no graph memory.
    (A block or, as ``@no_grad()``, a decorator.)"""
    return _recording(False)


def is_grad_enabled() -> bool:
    """Whether ops currently record the graph (False inside ``no_grad``)."""
    return grad_mode.enabled


def enable_grad() -> AbstractContextManager[None]:
    """Within the block ops record again, even inside ``no_grad`` (PyTorch's ``enable_grad``)."""
    return _recording(True)


def inference_mode(mode: bool = True) -> Any:
    """PyTorch's ``inference_mode``: ``no_grad`` (memograd has no separate inference tensors,
    so the two are the same thing here); ``inference_mode(False)`` changes nothing."""
    _check_mode(mode, "inference_mode")
    return no_grad() if mode else nullcontext()


def _check_mode(mode: Any, name: str) -> None:
    if not isinstance(mode, bool):
        raise TypeError(f"{name}: mode must be True or False, got {mode!r}")


class set_grad_enabled(ContextDecorator):  # noqa: N801 (PyTorch's name)
    """Switch recording on or off: at once when called (``mg.set_grad_enabled(False)``), for a
    block (``with mg.set_grad_enabled(phase == "train"):``, restored on exit) or for a function
    (as a decorator), as PyTorch's does."""

    def __init__(self, mode: bool) -> None:
        _check_mode(mode, "set_grad_enabled")
        self.mode = mode
        self.previous = grad_mode.enabled
        grad_mode.enabled = mode

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        grad_mode.enabled = self.previous  # a decorator switches per call, not from now on
        return super().__call__(function)

    def __enter__(self) -> None:
        grad_mode.enabled = self.mode

    def __exit__(self, *exc: object) -> None:
        grad_mode.enabled = self.previous


# --------------------------------------------------------------------------------------------
# Graph structure: consumer counts, edges, paths.
# --------------------------------------------------------------------------------------------


def consumer_counts(root: Node) -> dict[Any, int]:
    """For every node that gradients reach from ``root``: the number of edges consuming it.

    Iterative (an explicit stack), so graph depth is limited by memory, not by the interpreter's
    recursion limit. The dict's keys are the graph's nodes; the values drive Kahn's ordering.
    """
    counts = {root: 0}
    stack = [root]
    while stack:
        node = stack.pop()
        for parent in node.parents:
            if not parent.requires_grad:
                continue
            if parent in counts:
                counts[parent] += 1
            else:
                counts[parent] = 1
                stack.append(parent)
    return counts


def reverse_topological_order(root: Node) -> list[Any]:
    """The graph's nodes, ``root`` first, each before all of its inputs (Kahn's algorithm)."""
    pending = consumer_counts(root)
    order = []
    ready = [root]
    while ready:
        node = ready.pop()
        order.append(node)
        for parent in node.parents:
            if parent.requires_grad:
                left = pending[parent] - 1
                pending[parent] = left
                if not left:
                    ready.append(parent)
    return order


def count_edges(root: Node) -> int:
    """Edges that gradients cross from ``root``: the VJP count of ``sweep`` and ``memo``."""
    return sum(consumer_counts(root).values())


def paths_to_nodes(root: Node) -> dict[Any, int]:
    """For every node, the number of distinct paths from ``root`` down to it (root: 1).

    A dynamic program over the reverse topological order: paths(p) = sum over the edges c -> p of
    paths(c). Python integers, so the count is exact however large it grows.
    """
    paths = {}
    for node in reverse_topological_order(root):
        here = paths.setdefault(node, 1 if node is root else 0)
        for parent in node.parents:
            if parent.requires_grad:
                paths[parent] = paths.get(parent, 0) + here
    return paths


# --------------------------------------------------------------------------------------------
# backward(): check the request, run one strategy, hand the adjoints to the nodes.
# --------------------------------------------------------------------------------------------


class _Freed:
    """What a node's VJPs become once a backward pass without ``retain_graph`` has used them."""

    def __getitem__(self, i: int) -> Callable[[Any, Any], Any]:
        return _raise_freed


def _raise_freed(g: Any, node: Any) -> Any:
    raise RuntimeError(
        f"backward: the graph through {node.op!r} was already differentiated and its saved "
        "values freed; pass retain_graph=True to the first backward() to run another pass "
        "through it (or build the graph again)"
    )


FREED = _Freed()


def backward(
    root: Node,
    seed: Any,
    strategy: str = "sweep",
    *,
    stats: bool = False,
    max_paths: int = DEFAULT_MAX_PATHS,
    create_graph: bool = False,
    retain_graph: bool | None = None,
) -> BackwardStats | None:
    """Accumulate ``d(root)/d(node) * seed`` into ``node.grad`` for the nodes that keep gradients.

    Which nodes keep them is the node class's choice (``_keeps_grad``): every Value, as micrograd
    does, and only the leaf Tensors, as PyTorch does. Gradients add up across calls until zeroed.

    ``create_graph``: run the rules on graph values instead of plain numbers, so that the
    gradients are themselves differentiable (second and higher derivatives); ``sweep`` only.
    ``retain_graph`` (default: ``create_graph``): keep a Tensor graph's saved values for another
    pass; without it a second pass through the same nodes raises. A Value graph is always kept,
    as micrograd keeps it: its saved values are one float per edge.
    """
    _check_root(root)
    report = BackwardStats(_checked_strategy(strategy, create_graph), passes=1)
    start = time.perf_counter()
    adjoints, visited = _run(root, seed, report, max_paths, create_graph, keep=None)
    if adjoints is not None:  # the scalar sweep delivers as it goes
        with _grad_lock:
            if create_graph:
                for node, adjoint in adjoints:
                    node.grad = adjoint if node.grad is None else node.grad + adjoint
            else:
                type(root)._deliver_grads(adjoints)
    _free_unless(retain_graph, create_graph, root, visited)
    report.seconds = time.perf_counter() - start
    return report if stats else None


def gradients(
    root: Node,
    seed: Any,
    inputs: list[Any],
    *,
    create_graph: bool = False,
    retain_graph: bool | None = None,
    report: BackwardStats | None = None,
) -> list[Any]:
    """d(root)/d(input) * seed for each of ``inputs``, returned: no ``.grad`` is touched.

    The functional form of backward (PyTorch's ``torch.autograd.grad``) that ``mg.grad`` and the
    other transforms are built on. An input the root does not depend on gets None. ``report``,
    when given, adds this pass's VJP evaluations and one pass to its counts.
    """
    _check_root(root)
    this_pass = BackwardStats("sweep")
    wanted = set(inputs)
    pairs, visited = _run(root, seed, this_pass, DEFAULT_MAX_PATHS, create_graph, keep=wanted)
    if report is not None:
        report.vjp_evaluations += this_pass.vjp_evaluations
        report.accumulations += this_pass.accumulations
        report.nodes_visited += this_pass.nodes_visited
        report.passes += 1
    _free_unless(retain_graph, create_graph, root, visited)
    found = dict(pairs)
    return [found.get(node) for node in inputs]


def _check_root(root: Node) -> None:
    if not root.requires_grad:
        raise ValueError(
            "backward: this value does not require grad (it was built under no_grad, "
            "detached, or from inputs that do not require grad)"
        )


def _checked_strategy(strategy: Any, create_graph: bool) -> str:
    if not isinstance(strategy, str) or strategy not in BACKWARD_STRATEGIES:
        raise ValueError(
            f"backward: strategy must be one of {', '.join(BACKWARD_STRATEGIES)}; got {strategy!r}"
        )
    if create_graph and strategy != "sweep":
        raise ValueError(
            f"backward: create_graph=True runs with strategy='sweep' only, got {strategy!r} "
            "(memo and naive are there to count the work of first derivatives)"
        )
    return strategy


Pairs = list[tuple[Any, Any]]


def _run(
    root: Node, seed: Any, report: BackwardStats, max_paths: int, create_graph: bool, keep: Any
) -> tuple[Pairs | None, Any]:
    """Run the report's strategy: the (node, adjoint) pairs to hand over (None: the scalar sweep
    handed them over itself), and the nodes it visited."""
    if _tracer is not None:
        _tracer.engine_pass("a backward pass")
    if create_graph:
        return _sweep(root, seed, report, max_paths, keep=keep, graph=True)
    if report.strategy == "sweep":
        if type(root)._SCALAR and keep is None:
            _sweep_scalar(root, seed, report)
            return None, ()
        return _sweep(root, seed, report, max_paths, keep=keep)
    if keep is not None:
        raise ValueError("gradients(): only the sweep strategy returns chosen adjoints")
    return _STRATEGY_RUNNERS[report.strategy](root, seed, report, max_paths)


def _free_unless(retain_graph: bool | None, create_graph: bool, root: Node, visited: Any) -> None:
    """Release a Tensor graph's saved values after a pass, unless asked to keep them."""
    keep = create_graph if retain_graph is None else retain_graph
    if keep or type(root)._SCALAR:
        return
    for node in visited:
        if node.parents:
            node._vjps = FREED
            node._ctx = None


class _Holder:
    """An input seen by a rule that runs on graph values: ``._data`` is the Tensor itself."""

    __slots__ = ("_data",)

    def __init__(self, value: Any) -> None:
        self._data = value


class _AsGraph:
    """A node as its rules see it with ``create_graph``: inputs and output as graph values.

    The table's rules read ``n.parents[i]._data``, ``n._data`` and ``n._ctx``; handing them this
    view instead of the node makes them compute with Tensors, so their arithmetic is recorded
    and can be differentiated again.
    """

    __slots__ = ("_data", "parents", "_ctx", "op")

    def __init__(self, node: Any) -> None:
        self._data = node
        self.parents = tuple(_Holder(p) for p in node.parents)
        self._ctx = node._ctx
        self.op = node.op


def _spent_refcount() -> int | None:
    """``sys.getrefcount`` of an adjoint that only the sweep's local variable holds.

    Measured, not assumed, in the very shape the sweep has (an array popped from a dict into a
    local): an array referenced from anywhere else (delivered as a gradient, kept by a hook,
    stored for another node, the base of a view) counts more, and keeps its own buffer.
    None where the interpreter has no reference counts: nothing is then written in place.
    """
    if not hasattr(sys, "getrefcount"):
        return None
    g = {0: np.empty(1)}.pop(0)
    return sys.getrefcount(g)


_SPENT_REFS = _spent_refcount()


def _sweep(
    root: Node,
    seed: Any,
    report: BackwardStats,
    max_paths: int = DEFAULT_MAX_PATHS,
    *,
    keep: set[Any] | None = None,
    graph: bool = False,
) -> tuple[Pairs, Any]:
    """Bottom-up table: visit nodes in reverse topological order, each adjoint complete on arrival.

    Kahn's algorithm does the ordering and the propagation in one loop: a node becomes ready when
    all the edges consuming it have delivered their contribution, so its adjoint is final.
    Returns the adjoints of the nodes that keep gradients (or of the nodes in ``keep``) and the
    nodes visited. ``graph``: the rules run on graph values (``create_graph``). Value nodes run
    here too when their adjoints are wanted back (``gradients``) or built as graph values.
    """
    pending = consumer_counts(root)
    scalar = type(root)._SCALAR
    adjoint = {root: seed}
    owned = set()  # nodes whose adjoint buffer this pass allocated (safe to add into in place)
    ready = [root]
    delivered = []
    vjps = accumulations = 0
    while ready:
        node = ready.pop()
        g = adjoint.pop(node)
        if node._keeps_grad if keep is None else node in keep:
            delivered.append((node, g))
        if not node.parents:
            continue
        if scalar:
            rules = node._graph_vjps() if graph else node._vjps
            view = node
        else:
            row = node._row
            if row.saves:
                node._check_saved()
            rules = node._vjps
            view = _AsGraph(node) if graph else node
            if (
                row.vjp_into is not None
                and type(g) is np.ndarray
                and g.base is None
                and sys.getrefcount(g) == _SPENT_REFS
                and g.flags.writeable
                and rules is row.vjps
            ):
                rules = (row.vjp_into,)  # nothing else holds g: write the product into it
        for i, parent in enumerate(node.parents):
            if not parent.requires_grad:
                continue
            contribution = rules[i](g, view)
            vjps += 1
            if parent not in adjoint:
                adjoint[parent] = contribution  # the first one is stored as is: no copy
            elif graph or scalar:
                adjoint[parent] = adjoint[parent] + contribution
                accumulations += 1
            elif parent in owned:
                adjoint[parent] += contribution  # our own buffer: add in place
                accumulations += 1
            else:
                # The stored array may be a VJP's pass-through of another adjoint (add hands
                # ``g`` to both inputs): never write into it; allocate the sum once and own it.
                adjoint[parent] = adjoint[parent] + contribution
                owned.add(parent)
                accumulations += 1
            left = pending[parent] - 1
            pending[parent] = left
            if not left:
                ready.append(parent)
        contribution = g = None  # free this adjoint before the next VJP allocates
    report.vjp_evaluations = vjps
    report.accumulations = accumulations
    report.nodes_visited = len(pending)
    return delivered, pending


def _sweep_scalar(root: Node, seed: float, report: BackwardStats) -> None:
    """``_sweep`` specialised to scalar Values: the one fused loop of the engine.

    A Value has at most two inputs, held in slots ``_a``/``_b`` with their local derivatives
    ``_da``/``_db`` computed at forward time, so a VJP is one float multiply and needs no call.
    Inlining it, and keeping each node's running adjoint and pending-edge count in slots instead
    of dicts, makes backward a tight multiply-add loop (docs/performance.md has its figures).
    Same order, same counts. Because that working state lives in the nodes, the whole pass runs
    under ``_grad_lock``: threads whose graphs share a leaf take turns instead of corrupting it.
    """
    with _grad_lock:
        _sweep_scalar_locked(root, seed, report)


def _sweep_scalar_locked(root: Node, seed: float, report: BackwardStats) -> None:
    # Pass 1: count each node's consuming edges (iterative DFS). ``_pending`` is 0 outside a
    # backward pass, so 0 also means "not seen yet" and no visited set is needed.
    nodes = [root]
    stack = [root]
    edges = 0
    try:
        while stack:
            node = stack.pop()
            a = node._a
            if a is not None and a.requires_grad:
                edges += 1
                if a._pending == 0:
                    a._adjoint = 0.0
                    nodes.append(a)
                    stack.append(a)
                a._pending += 1
            b = node._b
            if b is not None and b.requires_grad:
                edges += 1
                if b._pending == 0:
                    b._adjoint = 0.0
                    nodes.append(b)
                    stack.append(b)
                b._pending += 1
        # Pass 2: Kahn order. A node is ready once every consuming edge has delivered, so its
        # adjoint is complete when it is pushed on to its inputs.
        root._adjoint = seed
        ready = [root]
        while ready:
            node = ready.pop()
            g = node._adjoint
            node.grad += g
            a = node._a
            if a is not None and a.requires_grad:
                a._adjoint += g * node._da
                a._pending -= 1
                if a._pending == 0:
                    ready.append(a)
            b = node._b
            if b is not None and b.requires_grad:
                b._adjoint += g * node._db
                b._pending -= 1
                if b._pending == 0:
                    ready.append(b)
    except BaseException:
        for node in nodes:  # leave no half-counted node behind for the next pass
            node._pending = 0
        raise
    report.vjp_evaluations = edges
    report.accumulations = edges - (len(nodes) - 1)
    report.nodes_visited = len(nodes)


def _memo(root: Node, seed: Any, report: BackwardStats, max_paths: int) -> tuple[Pairs, Any]:
    """Top-down with a memo table: adjoint(n) = sum over edges c -> n of vjp_c(adjoint(c)).

    The recursion of the notes, asked for every node that keeps a gradient; each adjoint is
    computed once and stored in ``memo``, so every edge's VJP runs once. The recursion is
    unrolled onto an explicit stack: a node is expanded once (its missing consumers pushed), then
    completed once they are all in the table.
    """
    consumers: dict[Any, list[tuple[Any, int]]] = {root: []}
    stack = [root]
    while stack:
        node = stack.pop()
        node._check_saved()
        for i, parent in enumerate(node.parents):
            if not parent.requires_grad:
                continue
            if parent not in consumers:
                consumers[parent] = []
                stack.append(parent)
            consumers[parent].append((node, i))

    memo = {root: seed}
    vjps = accumulations = 0
    for target in consumers:
        stack = [target]
        while stack:
            node = stack[-1]
            if node in memo:
                stack.pop()
                continue
            missing = [c for c, _ in consumers[node] if c not in memo]
            if missing:
                stack.extend(missing)
                continue
            total = None
            for consumer, i in consumers[node]:
                contribution = consumer._vjps[i](memo[consumer], consumer)
                vjps += 1
                if total is None:
                    total = contribution
                else:
                    total = total + contribution
                    accumulations += 1
            memo[node] = total
            stack.pop()
    report.vjp_evaluations = vjps
    report.accumulations = accumulations
    report.nodes_visited = len(memo)
    return [(n, a) for n, a in memo.items() if n._keeps_grad], consumers


def _naive(root: Node, seed: Any, report: BackwardStats, max_paths: int) -> tuple[Pairs, Any]:
    """The chain rule with no table: every output-to-node path multiplied out on its own.

    This is the sum the notes write by hand, dL/dw = sum over paths of the product of the local
    derivatives along the path. Work grows with the number of paths, which is exponential in
    depth for a dense network, so the paths are counted first (exactly, by a DP) and the run is
    refused when they exceed ``max_paths``.
    """
    paths_to = paths_to_nodes(root)
    paths = sum(paths_to.values()) - 1
    if paths > max_paths:
        raise ValueError(
            f"backward: strategy 'naive' would multiply out {paths:,} paths, more than "
            f"max_paths={max_paths:,}; use strategy='memo' or 'sweep', or raise max_paths"
        )
    totals: dict[Any, Any] = {}
    vjps = accumulations = visits = 0
    stack = [(root, seed)]
    while stack:
        node, g = stack.pop()
        visits += 1
        if node._keeps_grad:
            if node in totals:
                totals[node] = totals[node] + g
                accumulations += 1
            else:
                totals[node] = g
        node._check_saved()
        for i, parent in enumerate(node.parents):
            if parent.requires_grad:
                stack.append((parent, node._vjps[i](g, node)))
                vjps += 1
    report.vjp_evaluations = vjps
    report.accumulations = accumulations
    report.nodes_visited = visits
    report.paths = paths
    return list(totals.items()), paths_to


# One runner per strategy name (_run picks _sweep_scalar for a Value's plain sweep).
_STRATEGY_RUNNERS: dict[str, Callable[[Any, Any, BackwardStats, int], tuple[Pairs, Any]]] = {
    "sweep": _sweep,
    "memo": _memo,
    "naive": _naive,
}


# --------------------------------------------------------------------------------------------
# Forward mode: the same path sum, factored from the inputs' end
# --------------------------------------------------------------------------------------------


def forward_order(outputs: list[Any]) -> list[Any]:
    """Every node the outputs depend on through grad-requiring inputs, each after its inputs.

    Iterative (an explicit stack), like the reverse order, so depth is limited by memory only.
    """
    order: list[Any] = []
    seen: set[Any] = set()
    for output in outputs:
        stack = [(output, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if node in seen:
                continue
            seen.add(node)
            stack.append((node, True))
            for parent in node.parents:
                if parent.requires_grad and parent not in seen:
                    stack.append((parent, False))
    return order


def forward_sweep(
    outputs: list[Any], seeds: dict[Any, Any], report: BackwardStats | None = None
) -> list[Any]:
    """d(output)/d(seeded leaves) . tangents, for each output: one forward-mode pass.

    ``seeds`` maps leaves to their tangents ``dx``. Nodes are visited inputs first; each node's
    tangent ``dO = sum over its inputs of (dO/dinput) dinput`` is computed once from its inputs'
    stored tangents (the JVP column of the table) and stored in turn: the memo table of forward
    mode, filled from the other end. An output the seeds do not reach gets None. ``report``
    counts one JVP evaluation per edge that carries a tangent, and one pass.
    """
    if _tracer is not None:
        _tracer.engine_pass("a forward-mode pass")
    tangent = dict(seeds)
    jvps = 0
    order = forward_order(outputs)
    for node in order:
        if not node.parents or node in tangent:
            continue
        incoming = tuple(tangent.get(parent) for parent in node.parents)
        live = sum(t is not None for t in incoming)
        if live:
            jvps += live
            tangent[node] = node._push_tangent(incoming)
    if report is not None:
        report.jvp_evaluations += jvps
        report.nodes_visited += len(order)
        report.passes += 1
    return [tangent.get(output) for output in outputs]
