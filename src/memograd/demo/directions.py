"""Section: Why backwards? The notes' path sum factored from either end, with the notes' numbers.

The sum over paths can be grouped from the loss's end (backprop stores ∂L/∂O once per unit) or
from the parameter's end (forward mode stores ∂O/∂p once per unit). For one parameter both cost
about the same; for every parameter at once reverse mode needs one pass and forward mode one pass
per parameter. For a function with few inputs and many outputs the balance flips, measured here
with ``mg.jacfwd`` against ``mg.jacrev``.
"""

from __future__ import annotations

from typing import Any

from memograd.demo.settings import DemoSettings
from memograd.viz import html
from memograd.viz.mathml import unicode_symbol
from memograd.viz.units import format_seconds

ANCHOR = "directions"
HEADING = "Why backwards? The same sum, factored from either end"
SHAPES = ((1, 100), (100, 1))


def measure(settings: DemoSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    from memograd.explain import explain
    from memograd.explain.directions import jacobian_costs

    e = explain(settings.arch, settings.param, seed=settings.seed, show_paths=0)
    costs = e.direction_costs
    data = {
        "arch": settings.arch,
        "symbol": e.symbol,
        "reverse_table": dict(e.memo.adjoints),
        "reverse_gradient": e.memo.gradient,
        "reverse_multiplications": e.memo_multiplications,
        "forward_steps": [
            {"symbol": s.symbol, "value": s.value, "expression": s.expression}
            for s in e.forward.steps
        ],
        "forward_gradient": e.forward.gradient,
        "forward_multiplications": e.forward_multiplications,
        "engine_forward_jvps": e.engine_forward.stats["jvp_evaluations"],
        "finite_difference": e.finite_difference,
        "all": costs.as_dict(),
        "jacobians": [jacobian_costs(n, m, measure=True) for n, m in SHAPES],
    }
    return data, {}


def render(section: html.Section, data: dict[str, Any], objects: dict[str, Any]) -> None:
    symbol = unicode_symbol(data["symbol"])
    section.paragraph(
        f"The notes group the two paths of ∂L/∂{symbol} from the loss's end: ∂L/∂Ŷ is taken "
        "first and every stored ∂L/∂O is reused on the way down. The same sum can be grouped "
        f"from the other end: start at {symbol}, store each unit's tangent t(O) = ∂O/∂{symbol} "
        "once, and carry it towards L. That is forward mode, and it is memoization too, with "
        "the table filled from the inputs instead of the loss."
    )
    reverse = [[f"∂L/∂{name}", f"{value:.6g}"] for name, value in data["reverse_table"].items()]
    reverse.append([f"∂L/∂{symbol}", f"{data['reverse_gradient']:.10g}"])
    section.table(
        ["stored adjoint (reverse)", "value"],
        reverse,
        f"Reverse mode on the {data['arch']} network: adjoints from Ŷ down, "
        f"{data['reverse_multiplications']} multiplications.",
        numeric=[False, True],
    )
    section.table(
        ["stored tangent (forward)", "value", "how it is made"],
        [[s["symbol"], f"{s['value']:.6g}", s["expression"]] for s in data["forward_steps"]],
        f"Forward mode on the same network: tangents from {symbol} up, "
        f"{data['forward_multiplications']} multiplications; the engine's own forward sweep "
        f"(mg.jvp's machinery) agrees, with {data['engine_forward_jvps']} JVP evaluations on the "
        f"Value graph. Finite difference: {data['finite_difference']:.10g}.",
        numeric=[False, True, False],
    )
    costs = data["all"]
    section.paragraph(
        "For this one weight the two orders cost about the same. The difference is what one "
        f"pass gives. A reverse pass ends with ∂L/∂O for every unit, so all {costs['parameters']} "
        "parameters' gradients follow with one multiplication each; a forward pass carries the "
        "tangent of one parameter, so the gradient of all of them takes one pass each."
    )
    section.table(
        ["all parameters' gradients", "passes", "multiplications"],
        [
            [
                "reverse mode (backprop)",
                f"{costs['reverse_passes']:,}",
                f"{costs['reverse_multiplications']:,}",
            ],  # noqa: E501
            [
                "forward mode",
                f"{costs['forward_passes']:,}",
                f"{costs['forward_multiplications']:,}",
            ],  # noqa: E501
        ],
        f"Counted exactly on {costs['arch']}: a loss has one output and many inputs "
        "(the parameters), which is why training runs backwards.",
    )
    rows = []
    for row in data["jacobians"]:
        forward, reverse = row["forward"], row["reverse"]
        rows.append(
            [
                f"{row['inputs']} → {row['outputs']}",
                f"{forward['passes']:,} / {reverse['passes']:,}",
                f"{format_seconds(forward['seconds'])} / {format_seconds(reverse['seconds'])}",
                row["cheaper"],
            ]
        )
    section.table(
        ["f: ℝⁿ → ℝᵐ", "passes (forward / reverse)", "time (forward / reverse)", "cheaper"],
        rows,
        "The full Jacobian of x ↦ tanh(xA)B by mg.jacfwd (one forward pass per input) and "
        "mg.jacrev (one reverse pass per output), each time the median of five calls on this "
        "machine. Few inputs and many outputs: forward mode wins. One output: reverse mode.",
        numeric=[False, True, True, False],
    )
