"""The plain-text report of one :class:`~memograd.explain.Explanation`.

Kept apart from the numbers so that the report's wording can change without touching them,
and so that ``print(explain(...).text())`` in a notebook shows what the command line shows.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

from memograd._numbers import readable_count, short_count, short_ratio

if TYPE_CHECKING:
    from memograd.explain.explanation import Explanation


MODES = ("reverse", "forward")


def render_text(explanation: Explanation, *, latex: bool = False, mode: str = "reverse") -> str:
    """The report ``memograd paths`` prints: formula, listed paths, gradients, work done.

    ``mode="forward"`` replaces the listed paths by forward mode's tangents, stored once each
    from the parameter towards L. Counts are written in full up to 40 digits and as
    ``about 4.41e+476 (477 digits)`` beyond; a part that was not computed says so, with the
    one-line reason from ``skipped``.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    network = explanation.network
    hidden_layers = explanation.activations[:-1]
    if len(set(hidden_layers)) == 1 and len(hidden_layers) > 2:
        hidden = f"{hidden_layers[0]} in all {len(hidden_layers)} hidden layers"
    else:
        hidden = ", ".join(hidden_layers) or "none"
    loss_value = "" if network is None else f"; L = {network.forward.loss:.6g}"
    lines = [
        f"{explanation.symbol} in {explanation.arch.text}  (hidden: {hidden}; output: "
        f"{explanation.activations[-1]}; loss: {explanation.loss_function}{loss_value})",
        "",
        f"chain-rule paths from {explanation.symbol} to L: {readable_count(explanation.paths)}",
        "",
        explanation.formula,
    ]
    if latex:
        lines += ["", explanation.latex]
    if mode == "forward":
        lines += _forward_lines(explanation)
    for path in explanation.shown_paths if mode == "reverse" else ():
        lines += ["", f"path {path.index + 1}: {path.text} = {path.product:.6g}"]
        width = max(len(factor.symbol) for factor in path.factors)
        for factor in path.factors:
            lines.append(
                f"    {factor.symbol:<{width}} = {factor.value:>12.6g}    {factor.expression}"
            )
    if (
        explanation.paths > len(explanation.shown_paths)
        and explanation.shown_paths
        and (mode == "reverse")
    ):
        hidden_paths = explanation.paths - len(explanation.shown_paths)
        lines.append(f"    ... {readable_count(hidden_paths)} more (--show-paths N lists more)")
    skipped = explanation.skipped
    if network is None:
        lines += ["", f"numbers not computed: {skipped['network']}"]
    naive, memo = explanation.naive, explanation.memo
    rows = [
        (
            "naive: every path's product on its own",
            f"{naive.gradient:.10g}" if naive is not None else "(not run)",
            explanation.naive_multiplications,
        ),
        (
            "memoized: backprop, adjoints stored once",
            f"{explanation.memo_gradient:.10g}" if memo is not None else "(not run)",
            explanation.memo_multiplications,
        ),
        (
            "forward mode: tangents stored once",
            f"{explanation.forward_gradient:.10g}"
            if explanation.forward is not None
            else "(not run)",
            explanation.forward_multiplications,
        ),
    ]
    if network is not None:
        rows.append(
            (
                "finite difference (central, h = 1e-6)",
                f"{explanation.finite_difference:.10g}",
                f"(reads 0 below {explanation.finite_difference_resolution:.0e})",
            )
        )
    value_width = max(len(value) for _, value, _ in rows)
    lines += ["", f"{'gradient':<44}{'value':<{value_width + 3}}multiplications"]
    for label, value, count in rows:
        counted = count if isinstance(count, str) else short_count(count)
        lines.append(f"  {label:<42}{value:<{value_width + 3}}{counted}")
    for part, label in (("naive", "naive sum"), ("engine", "engine check")):
        if part in skipped and network is not None:
            lines.append(f"{label} not run: {skipped[part]}")
    costs = explanation.direction_costs
    lines.append(
        f"all {costs.parameters:,} parameters of {costs.arch}: one reverse pass, "
        f"{short_count(costs.reverse_multiplications)} multiplications; forward mode needs "
        f"{costs.forward_passes:,} passes (one per parameter), "
        f"{short_count(costs.forward_multiplications)} multiplications"
    )
    lines.append(
        f"{_saving(explanation.naive_multiplications, explanation.memo_multiplications)}"
        + (
            ""
            if explanation.max_abs_difference is None
            else f"; largest disagreement {explanation.max_abs_difference:.2e}"
        )
    )
    return "\n".join(lines)


def _forward_lines(explanation: Explanation) -> list[str]:
    """Forward mode's tangents t(O) = ∂O/∂p, in the order they were stored."""
    forward = explanation.forward
    if forward is None:
        return []
    lines = [
        "",
        f"forward mode: ∂O/∂{explanation.symbol} carried from {explanation.symbol} towards L, "
        "each tangent stored once",
    ]
    width = max(len(step.symbol) for step in forward.steps)
    for step in forward.steps:
        lines.append(f"    {step.symbol:<{width}} = {step.value:>12.6g}    {step.expression}")
    engine = explanation.engine_forward
    if engine is not None:
        lines.append(
            f"    the engine's forward sweep (mg.jvp's machinery) on the Value graph: "
            f"{engine.gradient:.10g}, {engine.stats['jvp_evaluations']:,} JVP evaluations"
        )
    return lines


def _saving(naive: int, memo: int) -> str:
    """How many times fewer multiplications memoization needs, as an exact ratio."""
    if naive == memo:
        return "memoization does as many multiplications as the naive sum here"
    ratio = Fraction(naive, max(memo, 1))
    if ratio > 1:
        return f"memoization does {short_ratio(ratio)}x fewer multiplications here"
    return f"the naive sum does {short_ratio(1 / ratio)}x fewer multiplications here"
