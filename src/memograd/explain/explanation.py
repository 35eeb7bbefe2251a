"""``explain(arch, param)``: everything the explainer knows about one parameter, in one object.

This is the API behind ``memograd paths`` and the report: the path count, the formula in
text and LaTeX, the first paths with every factor's value, the gradient computed naively,
with the memo table, by the engine's backward pass and by finite differences, and the
multiplications each method needed. The counts come from the architecture alone, so they are
answered for any size; the numbers are built only where they fit their budgets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from memograd._budget import Budget, check, refusal
from memograd._numbers import readable_count
from memograd.explain.arch import Architecture, ParamRef, parse_arch, parse_param
from memograd.explain.directions import (
    DirectionCosts,
    ForwardGradient,
    all_parameter_costs,
    engine_forward_gradient,
    forward_gradient,
    forward_multiplication_count,
)
from memograd.explain.formula import (
    DEFAULT_MAX_TERMS,
    chain_rule_latex,
    chain_rule_text,
    check_max_terms,
)
from memograd.explain.gradient import (
    NAIVE_SUM_MAX_PATHS,
    EngineGradient,
    MemoGradient,
    NaiveGradient,
    engine_gradient,
    finite_difference,
    finite_difference_resolution,
    memo_multiplication_count,
    memo_table_gradient,
    naive_gradient,
    naive_multiplication_count,
)
from memograd.explain.network import Network, build_network, check_network_arguments
from memograd.explain.paths import ChainPath, count_paths, iter_paths
from memograd.explain.sizes import (
    DEFAULT_MAX_ENGINE_NODES,
    DEFAULT_MAX_LISTED_FACTORS,
    DEFAULT_MAX_NAIVE_MULTIPLICATIONS,
    engine_estimate,
    listing_estimate,
    naive_estimate,
    network_estimate,
)
from memograd.explain.symbols import param_latex, param_text

DEFAULT_SHOW_PATHS = 4
"""Paths listed with their factor values unless asked otherwise."""


@dataclass(frozen=True)
class Explanation:
    """One parameter of one network, explained; :meth:`to_dict` is the CLI's ``--json``.

    Counts are exact for any size: ``paths``, ``formula``/``latex``, ``naive_multiplications``
    and ``memo_multiplications`` come from the architecture alone. Numbers need the network
    and are computed only within budget (see :mod:`memograd.explain.sizes`); each part left out
    is None and ``skipped`` says why, in one line:

    * ``network`` (and with it ``shown_paths``, ``memo``, ``finite_difference``, ``naive``,
      ``engine``) when its weights would pass the memory budget;
    * ``naive`` when its paths exceed ``max_naive_paths`` or its multiplications their budget;
    * ``engine`` when the engine's Value graph of the network would pass its node budget.

    ``memo_gradient`` is the engine's backpropagation (``strategy="memo"``) and, when the
    engine was not run, the neuron-level memo table's (``memo``), whose multiplications are
    ``memo_multiplications``.
    """

    arch: Architecture
    ref: ParamRef
    activations: tuple[str, ...]
    loss_function: str
    paths: int
    formula: str
    latex: str
    naive_multiplications: int
    network: Network | None
    shown_paths: tuple[ChainPath, ...]
    naive: NaiveGradient | None
    memo: MemoGradient | None
    engine: EngineGradient | None
    finite_difference: float | None
    skipped: dict[str, str] = field(default_factory=dict)
    forward: ForwardGradient | None = None  # forward mode at the neuron level
    engine_forward: EngineGradient | None = None  # the engine's forward sweep

    @property
    def symbol(self) -> str:
        """The parameter as the notes write it, e.g. ``W^1_11``."""
        return param_text(self.arch, self.ref)

    @property
    def naive_gradient(self) -> float | None:
        return None if self.naive is None else self.naive.gradient

    @property
    def memo_gradient(self) -> float | None:
        if self.engine is not None:
            return self.engine.gradient
        return None if self.memo is None else self.memo.gradient

    @property
    def memo_multiplications(self) -> int:
        return memo_multiplication_count(self.arch, self.ref)

    @property
    def forward_gradient(self) -> float | None:
        if self.engine_forward is not None:
            return self.engine_forward.gradient
        return None if self.forward is None else self.forward.gradient

    @property
    def forward_multiplications(self) -> int:
        return forward_multiplication_count(self.arch, self.ref)

    @property
    def direction_costs(self) -> DirectionCosts:
        """The gradient of every parameter, forward (a pass each) against reverse (one pass)."""
        return all_parameter_costs(self.arch)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready document; integers stay exact, floats are plain floats.

        Keys whose numbers were not computed are None, and ``skipped`` says why.
        """
        network, memo, engine = self.network, self.memo, self.engine
        forward = None if network is None else network.forward
        return {
            "param": self.ref.short_name,
            "param_name": self.ref.name,
            "symbol": self.symbol,
            "symbol_latex": param_latex(self.arch, self.ref),
            "arch": self.arch.text,
            "activations": list(self.activations),
            "loss_function": self.loss_function,
            "input": None if network is None else network.x.tolist(),
            "target": None if network is None else network.target.tolist(),
            "loss": None if forward is None else forward.loss,
            "output": None if forward is None else forward.outputs[-1].tolist(),
            "value": None if network is None else network.value_of(self.ref),
            "paths": self.paths,
            "formula": self.formula,
            "latex": self.latex,
            "shown_paths": [path.to_dict() for path in self.shown_paths],
            "naive_gradient": self.naive_gradient,
            "naive_multiplications": self.naive_multiplications,
            "naive_evaluated": self.naive is not None,
            "memo_gradient": self.memo_gradient,
            "memo_multiplications": self.memo_multiplications,
            "memo_table": None if memo is None else dict(memo.adjoints),
            "memo_table_gradient": None if memo is None else memo.gradient,
            "engine_strategy": None if engine is None else engine.strategy,
            "engine_stats": None if engine is None else engine.stats,
            "forward_gradient": self.forward_gradient,
            "forward_multiplications": self.forward_multiplications,
            "forward_table": None if self.forward is None else self.forward.table(),
            "engine_forward_stats": (
                None if self.engine_forward is None else self.engine_forward.stats
            ),
            "all_parameters": self.direction_costs.as_dict(),
            "finite_difference": self.finite_difference,
            "finite_difference_resolution": self.finite_difference_resolution,
            "max_abs_difference": self.max_abs_difference,
            "skipped": dict(self.skipped),
        }

    def text(self, *, latex: bool = False, mode: str = "reverse") -> str:
        """The report ``memograd paths`` prints (with the LaTeX formula when ``latex``);
        ``mode="forward"`` lists forward mode's stored tangents instead of the paths."""
        from memograd.explain.text import render_text

        return render_text(self, latex=latex, mode=mode)

    @property
    def finite_difference_resolution(self) -> float | None:
        """Gradients smaller than this read as 0 by finite differences (float64 rounding)."""
        if self.network is None:
            return None
        return finite_difference_resolution(self.network)

    @property
    def max_abs_difference(self) -> float | None:
        """Largest disagreement between the ways of computing the gradient that were run."""
        values = [
            value
            for value in (
                self.naive_gradient,
                None if self.memo is None else self.memo.gradient,
                None if self.engine is None else self.engine.gradient,
                None if self.forward is None else self.forward.gradient,
                None if self.engine_forward is None else self.engine_forward.gradient,
                self.finite_difference,
            )
            if value is not None
        ]
        return max(values) - min(values) if values else None


def explain(
    arch: str | Sequence[int] | Architecture,
    param: str | ParamRef,
    *,
    activation: str | Sequence[str] = "sigmoid",
    output_activation: str = "identity",
    loss: str = "squared",
    seed: int | None = 0,
    weights: Sequence[object] | None = None,
    biases: Sequence[object] | None = None,
    x: Sequence[float] | None = None,
    target: Sequence[float] | None = None,
    network: Network | None = None,
    show_paths: int = DEFAULT_SHOW_PATHS,
    max_terms: int = DEFAULT_MAX_TERMS,
    max_naive_paths: int = NAIVE_SUM_MAX_PATHS,
    strategy: str = "memo",
    force: bool = False,
) -> Explanation:
    """Explain ∂L/∂``param`` for an MLP, e.g. ``explain("2-2-2-1", "W1_11", seed=0)``.

    The network is built with :func:`build_network` from the keyword arguments unless a
    ready ``network`` is given. ``show_paths`` paths are listed with their factor values
    (lazily: 10^29 paths cost nothing to count or to start listing); the formula is elided
    beyond ``max_terms`` paths; the naive sum is evaluated only up to ``max_naive_paths``.

    Every count is exact whatever the size. The numbers are computed only within the budgets
    of :mod:`memograd.explain.sizes` (memory for the network, nodes for the engine check,
    multiplications for the naive sum); ``force=True`` lifts those soft budgets, never the
    machine's available memory. What was left out is listed in ``Explanation.skipped``.
    """
    spec = {
        "activation": activation,
        "output_activation": output_activation,
        "loss": loss,
        "seed": seed,
        "x": x,
        "target": target,
    }
    if network is None:
        arch = parse_arch(arch)
        activations = check_network_arguments(arch, **spec)  # before deciding to build it
    elif parse_arch(arch) != network.arch:
        raise ValueError(f"architecture {arch!r} does not match the network's {network.arch}")
    else:
        arch, activations, loss = network.arch, network.activations, network.loss
    if isinstance(show_paths, bool) or not isinstance(show_paths, int) or show_paths < 0:
        raise ValueError(f"show_paths must be a whole number >= 0, got {show_paths!r}")
    ref = parse_param(param, arch)
    check_max_terms(max_terms)
    # What the caller asked to see written out is refused as a whole rather than cut short.
    check(
        listing_estimate(arch, ref, show_paths, max_terms),
        Budget(work=DEFAULT_MAX_LISTED_FACTORS, force=force),
        instead="ask for fewer with show_paths / max_terms (--show-paths, --max-terms)",
    )
    budget = Budget(force=force)
    skipped: dict[str, str] = {}
    counts = {
        "arch": arch,
        "ref": ref,
        "activations": activations,
        "loss_function": loss,
        "paths": count_paths(arch, ref),
        "formula": chain_rule_text(arch, ref, max_terms=max_terms),
        "latex": chain_rule_latex(arch, ref, max_terms=max_terms),
        "naive_multiplications": naive_multiplication_count(arch, ref),
    }
    if network is None:
        too_big = refusal(network_estimate(arch), budget)
        if too_big is not None:
            skipped["network"] = str(too_big)
            return Explanation(
                **counts,
                network=None,
                shown_paths=(),
                naive=None,
                memo=None,
                engine=None,
                finite_difference=None,
                skipped=skipped,
            )
        network = build_network(arch, weights=weights, biases=biases, **spec)
    naive = None
    if counts["paths"] > max_naive_paths:
        skipped["naive"] = (
            f"the naive sum for {param_text(arch, ref)} has "
            f"{readable_count(counts['paths'], 'paths')}, "
            f"more than max_naive_paths={max_naive_paths:,}"
        )
    else:
        too_long = refusal(
            naive_estimate(arch, ref), Budget(work=DEFAULT_MAX_NAIVE_MULTIPLICATIONS, force=force)
        )
        if too_long is not None:
            skipped["naive"] = str(too_long)
        else:
            naive = naive_gradient(network, ref, max_paths=max_naive_paths)
    engine = None
    too_many = refusal(
        engine_estimate(arch, activations, loss),
        Budget(work=DEFAULT_MAX_ENGINE_NODES, force=force),
    )
    if too_many is not None:
        skipped["engine"] = str(too_many)
    else:
        engine = engine_gradient(network, ref, strategy=strategy)
        value, stats = engine_forward_gradient(network, ref)
        counts["engine_forward"] = EngineGradient(value, "forward", stats)
    return Explanation(
        **counts,
        network=network,
        shown_paths=tuple(iter_paths(network, ref, limit=show_paths)),
        naive=naive,
        memo=memo_table_gradient(network, ref),
        engine=engine,
        finite_difference=finite_difference(network, ref),
        skipped=skipped,
        forward=forward_gradient(network, ref),
    )
