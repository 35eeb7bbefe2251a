"""The plain-text report of one :class:`~memograd.explain.Explanation`.

Kept apart from the numbers so that the report's wording can change without touching them,
and so that ``print(explain(...).text())`` in a notebook shows what the command line shows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from memograd.explain.explanation import Explanation


def render_text(explanation: Explanation, *, latex: bool = False) -> str:
    """The report ``memograd paths`` prints: formula, listed paths, gradients, work done."""
    network = explanation.network
    hidden_layers = network.activations[:-1]
    if len(set(hidden_layers)) == 1 and len(hidden_layers) > 2:
        hidden = f"{hidden_layers[0]} in all {len(hidden_layers)} hidden layers"
    else:
        hidden = ", ".join(hidden_layers) or "none"
    lines = [
        f"{explanation.symbol} in {network.arch.text}  (hidden: {hidden}; output: "
        f"{network.activations[-1]}; loss: {network.loss}; L = {network.forward.loss:.6g})",
        "",
        f"chain-rule paths from {explanation.symbol} to L: {explanation.paths:,}",
        "",
        explanation.formula,
    ]
    if latex:
        lines += ["", explanation.latex]
    for path in explanation.shown_paths:
        lines += ["", f"path {path.index + 1}: {path.text} = {path.product:.6g}"]
        width = max(len(factor.symbol) for factor in path.factors)
        for factor in path.factors:
            lines.append(
                f"    {factor.symbol:<{width}} = {factor.value:>12.6g}    {factor.expression}"
            )
    if explanation.paths > len(explanation.shown_paths) and explanation.shown_paths:
        hidden_paths = explanation.paths - len(explanation.shown_paths)
        lines.append(f"    ... {hidden_paths:,} more (--show-paths N lists more)")
    naive = explanation.naive
    naive_value = f"{naive.gradient:.10g}" if naive is not None else "(not run: too many paths)"
    rows = [
        ("naive: every path's product on its own", naive_value, explanation.naive_multiplications),
        (
            "memoized: backprop, adjoints stored once",
            f"{explanation.memo_gradient:.10g}",
            explanation.memo_multiplications,
        ),
        (
            "finite difference (central, h = 1e-6)",
            f"{explanation.finite_difference:.10g}",
            f"(reads 0 below {explanation.finite_difference_resolution:.0e})",
        ),
    ]
    value_width = max(len(value) for _, value, _ in rows)
    lines += ["", f"{'gradient':<44}{'value':<{value_width + 3}}multiplications"]
    for label, value, count in rows:
        counted = count if isinstance(count, str) else f"{count:,}"
        lines.append(f"  {label:<42}{value:<{value_width + 3}}{counted}")
    ratio = explanation.naive_multiplications / max(explanation.memo_multiplications, 1)
    lines.append(
        f"memoization does {ratio:,.3g}x fewer multiplications here; "
        f"largest disagreement {explanation.max_abs_difference:.2e}"
    )
    return "\n".join(lines)
