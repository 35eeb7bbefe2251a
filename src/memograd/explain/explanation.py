"""``explain(arch, param)``: everything the explainer knows about one parameter, in one object.

This is the API behind ``memograd paths`` and the report: the path count, the formula in
text and LaTeX, the first paths with every factor's value, the gradient computed naively,
with the memo table, by the engine's backward pass and by finite differences, and the
multiplications each method needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from memograd.explain.arch import Architecture, ParamRef, parse_arch, parse_param
from memograd.explain.formula import DEFAULT_MAX_TERMS, chain_rule_latex, chain_rule_text
from memograd.explain.gradient import (
    DEFAULT_MAX_PATHS,
    EngineGradient,
    MemoGradient,
    NaiveGradient,
    engine_gradient,
    finite_difference,
    finite_difference_resolution,
    memo_gradient,
    naive_gradient,
    naive_multiplication_count,
)
from memograd.explain.network import Network, build_network
from memograd.explain.paths import ChainPath, count_paths, iter_paths
from memograd.explain.symbols import param_latex, param_text

DEFAULT_SHOW_PATHS = 4
"""Paths listed with their factor values unless asked otherwise."""


@dataclass(frozen=True)
class Explanation:
    """One parameter of one network, explained; :meth:`to_dict` is the CLI's ``--json``.

    ``naive`` is None when the paths exceed the naive budget; ``naive_multiplications`` is
    exact all the same, counted rather than performed. ``memo_gradient`` is the engine's
    backpropagation (``strategy="memo"``); ``memo`` holds the neuron-level memo table whose
    multiplications are ``memo_multiplications``.
    """

    network: Network
    ref: ParamRef
    paths: int
    formula: str
    latex: str
    shown_paths: tuple[ChainPath, ...]
    naive: NaiveGradient | None
    naive_multiplications: int
    memo: MemoGradient
    engine: EngineGradient
    finite_difference: float

    @property
    def arch(self) -> Architecture:
        return self.network.arch

    @property
    def symbol(self) -> str:
        """The parameter as the notes write it, e.g. ``W^1_11``."""
        return param_text(self.arch, self.ref)

    @property
    def naive_gradient(self) -> float | None:
        return None if self.naive is None else self.naive.gradient

    @property
    def memo_gradient(self) -> float:
        return self.engine.gradient

    @property
    def memo_multiplications(self) -> int:
        return self.memo.multiplications

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready document; integers stay exact, floats are plain floats."""
        network = self.network
        return {
            "param": self.ref.short_name,
            "param_name": self.ref.name,
            "symbol": self.symbol,
            "symbol_latex": param_latex(self.arch, self.ref),
            "arch": self.arch.text,
            "activations": list(network.activations),
            "loss_function": network.loss,
            "input": network.x.tolist(),
            "target": network.target.tolist(),
            "loss": network.forward.loss,
            "output": network.forward.outputs[-1].tolist(),
            "value": network.value_of(self.ref),
            "paths": self.paths,
            "formula": self.formula,
            "latex": self.latex,
            "shown_paths": [path.to_dict() for path in self.shown_paths],
            "naive_gradient": self.naive_gradient,
            "naive_multiplications": self.naive_multiplications,
            "naive_evaluated": self.naive is not None,
            "memo_gradient": self.memo_gradient,
            "memo_multiplications": self.memo_multiplications,
            "memo_table": dict(self.memo.adjoints),
            "memo_table_gradient": self.memo.gradient,
            "engine_strategy": self.engine.strategy,
            "engine_stats": self.engine.stats,
            "finite_difference": self.finite_difference,
            "finite_difference_resolution": self.finite_difference_resolution,
            "max_abs_difference": self.max_abs_difference,
        }

    def text(self, *, latex: bool = False) -> str:
        """The report ``memograd paths`` prints (with the LaTeX formula when ``latex``)."""
        from memograd.explain.text import render_text

        return render_text(self, latex=latex)

    @property
    def finite_difference_resolution(self) -> float:
        """Gradients smaller than this read as 0 by finite differences (float64 rounding)."""
        return finite_difference_resolution(self.network)

    @property
    def max_abs_difference(self) -> float:
        """Largest disagreement between the ways of computing the gradient."""
        values = [self.memo.gradient, self.engine.gradient, self.finite_difference]
        if self.naive is not None:
            values.append(self.naive.gradient)
        return max(values) - min(values)


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
    max_naive_paths: int = DEFAULT_MAX_PATHS,
    strategy: str = "memo",
) -> Explanation:
    """Explain ∂L/∂``param`` for an MLP, e.g. ``explain("2-2-2-1", "W1_11", seed=0)``.

    The network is built with :func:`build_network` from the keyword arguments unless a
    ready ``network`` is given. ``show_paths`` paths are listed with their factor values
    (lazily: 10^29 paths cost nothing to count or to start listing); the formula is elided
    beyond ``max_terms`` paths; the naive sum is evaluated only up to ``max_naive_paths``.
    """
    if network is None:
        network = build_network(
            arch,
            activation=activation,
            output_activation=output_activation,
            loss=loss,
            seed=seed,
            weights=weights,
            biases=biases,
            x=x,
            target=target,
        )
    elif parse_arch(arch) != network.arch:
        raise ValueError(f"architecture {arch!r} does not match the network's {network.arch}")
    if isinstance(show_paths, bool) or not isinstance(show_paths, int) or show_paths < 0:
        raise ValueError(f"show_paths must be a whole number >= 0, got {show_paths!r}")
    ref = parse_param(param, network.arch)
    paths = count_paths(network.arch, ref)
    naive = (
        naive_gradient(network, ref, max_paths=max_naive_paths)
        if paths <= max_naive_paths
        else None
    )
    memo = memo_gradient(network, ref)
    return Explanation(
        network=network,
        ref=ref,
        paths=paths,
        formula=chain_rule_text(network.arch, ref, max_terms=max_terms),
        latex=chain_rule_latex(network.arch, ref, max_terms=max_terms),
        shown_paths=tuple(iter_paths(network, ref, limit=show_paths)),
        naive=naive,
        naive_multiplications=naive_multiplication_count(network, ref),
        memo=memo,
        engine=engine_gradient(network, ref, strategy=strategy),
        finite_difference=finite_difference(network, ref),
    )
