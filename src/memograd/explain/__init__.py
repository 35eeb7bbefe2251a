"""The explainer: the chain rule of one MLP parameter, in the notes' notation, with numbers.

The notes derive ∂L/∂W^1_11 for a 2-2-2-1 network as a sum over two paths, then observe
that deeper nets have exponentially many paths repeating the same sub-products. This
package makes that page a tool::

    import memograd as mg

    e = mg.explain.explain("2-2-2-1", "W1_11", seed=0)
    e.paths                 # 2, exact (a Python int even for 10^29 paths)
    e.formula               # ∂L/∂W^1_11 = ∂L/∂Ŷ [ ∂Ŷ/∂O_21 × ∂O_21/∂O_11 × ... + ... ]
    e.latex                 # \\frac{\\partial L}{\\partial W^{1}_{11}} = ...
    e.shown_paths[0].factors  # each factor: symbol, latex, value, expression
    e.naive_gradient, e.memo_gradient, e.finite_difference
    e.naive_multiplications, e.memo_multiplications
    print(e.text())         # the report `memograd paths` prints

    rows = mg.explain.cost_table(width=3, max_depth=12)   # exact counts per depth
    mg.viz.plot_cost(rows, "cost.png")                     # the chart (matplotlib), in viz

Modules: :mod:`.arch` (architectures, parameter names), :mod:`.network` (the neuron-level
graph with numbers), :mod:`.paths` (count and list paths), :mod:`.formula` (text and
LaTeX), :mod:`.gradient` (naive, memo, engine, finite difference), :mod:`.cost` (exact
cost over depth), :mod:`.measure` (timing the engine),
:mod:`.sizes` (what each part would cost, estimated before building it),
:mod:`.explanation` (``explain`` and its result), :mod:`.text` (the printed report).

Counts are exact for any size; numbers (the network, the naive sum, the engine check) are
built only within their budgets, and ``Explanation.skipped`` says what was left out and why.
"""

from __future__ import annotations

from memograd.explain.arch import Architecture, ParamRef, parse_arch, parse_param
from memograd.explain.cost import (
    CostRow,
    backprop_multiplications,
    backprop_multiplications_closed_form,
    cost_row,
    cost_table,
    naive_multiplications,
    naive_multiplications_closed_form,
    paths_per_first_layer_weight,
    uniform_arch,
    weight_count,
)
from memograd.explain.explanation import Explanation, explain
from memograd.explain.formula import chain_rule_latex, chain_rule_text
from memograd.explain.gradient import (
    EngineGradient,
    MemoGradient,
    NaiveGradient,
    build_value_graph,
    engine_gradient,
    finite_difference,
    finite_difference_resolution,
    memo_multiplication_count,
    memo_table_gradient,
    naive_gradient,
    naive_multiplication_count,
)
from memograd.explain.measure import measure_cost_table
from memograd.explain.network import ACTIVATIONS, LOSSES, Network, build_network
from memograd.explain.paths import (
    ChainPath,
    Factor,
    count_paths,
    iter_paths,
    path_at,
    unit_path_counts,
)

__all__ = [
    "ACTIVATIONS",
    "LOSSES",
    "Architecture",
    "ChainPath",
    "CostRow",
    "EngineGradient",
    "Explanation",
    "Factor",
    "MemoGradient",
    "NaiveGradient",
    "Network",
    "ParamRef",
    "backprop_multiplications",
    "backprop_multiplications_closed_form",
    "build_network",
    "build_value_graph",
    "chain_rule_latex",
    "chain_rule_text",
    "cost_row",
    "cost_table",
    "count_paths",
    "engine_gradient",
    "explain",
    "finite_difference",
    "finite_difference_resolution",
    "iter_paths",
    "measure_cost_table",
    "memo_table_gradient",
    "memo_multiplication_count",
    "naive_gradient",
    "naive_multiplication_count",
    "naive_multiplications",
    "naive_multiplications_closed_form",
    "parse_arch",
    "parse_param",
    "path_at",
    "paths_per_first_layer_weight",
    "uniform_arch",
    "unit_path_counts",
    "weight_count",
]
