"""The autodiff engine: graph bookkeeping, the derivative table, Value and Tensor.

``graph``: gradient mode, topological order, path counts and the three backward strategies.
``ops``: every Tensor op's forward and VJPs side by side. ``value``/``tensor``: the two front
ends. ``functional``: ``grad``, ``value_and_grad``, ``gradcheck``. ``stats``: ``BackwardStats``.
``allocator``: the opt-in ``keep_freed_memory()`` for large-batch training loops.
``recompute``: ``checkpoint``, store or recompute; ``schedules``: the plans for a chain;
``memory``: ``graph_memory``, the arrays a graph keeps alive, counted.
"""

from memograd.engine.allocator import keep_freed_memory
from memograd.engine.compiler import CompiledStep, TraceError, compile
from memograd.engine.graph import (
    BACKWARD_STRATEGIES,
    count_edges,
    is_grad_enabled,
    no_grad,
    paths_to_nodes,
    reverse_topological_order,
)
from memograd.engine.memory import GraphMemory, graph_memory
from memograd.engine.recompute import RecomputationError, checkpoint
from memograd.engine.schedules import Plan, schedule
from memograd.engine.stats import BackwardStats
from memograd.engine.tensor import (
    InPlaceModificationError,
    Tensor,
    as_tensor,
    concat,
    cross_entropy,
    from_numpy,
    linear,
    log_softmax,
    logsumexp,
    softmax,
    stack,
    tensor,
    where,
)
from memograd.engine.transforms import (
    GradcheckError,
    grad,
    gradcheck,
    hessian,
    hvp,
    jacfwd,
    jacrev,
    jvp,
    value_and_grad,
    vjp,
)
from memograd.engine.value import Value

__all__ = [
    "BACKWARD_STRATEGIES",
    "BackwardStats",
    "CompiledStep",
    "GradcheckError",
    "GraphMemory",
    "InPlaceModificationError",
    "Plan",
    "RecomputationError",
    "Tensor",
    "TraceError",
    "Value",
    "as_tensor",
    "checkpoint",
    "compile",
    "concat",
    "count_edges",
    "paths_to_nodes",
    "cross_entropy",
    "from_numpy",
    "grad",
    "gradcheck",
    "graph_memory",
    "hessian",
    "hvp",
    "jacfwd",
    "jacrev",
    "jvp",
    "is_grad_enabled",
    "keep_freed_memory",
    "linear",
    "log_softmax",
    "logsumexp",
    "no_grad",
    "reverse_topological_order",
    "schedule",
    "softmax",
    "stack",
    "tensor",
    "value_and_grad",
    "vjp",
    "where",
]
