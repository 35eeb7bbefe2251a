"""The closing summary: the notes' three points, each with the number this run measured.

Not measured on its own: it reads the other sections' data, so it is rendered by the runner
after them, before the appendix.
"""

from __future__ import annotations

from typing import Any

from memograd.viz import html
from memograd.viz.units import format_ratio

ANCHOR = "summary"
HEADING = "Summary: the notes' three points"


def as_many(ratio: float) -> str:
    """``256× as many``; ``about as many`` when within 5%."""
    text = format_ratio(ratio)
    return "about as many" if text == "about the same" else f"{text} as many"


def render(
    section: html.Section, sections: dict[str, dict[str, Any]], labels: dict[str, str]
) -> None:
    """``sections``: every section's data by anchor; ``labels``: their numbers (``4.``)."""

    def see(*anchors: str) -> html.Markup:
        links = [f'<a href="#{a}">section {labels[a].rstrip(".")}</a>' for a in anchors]
        return html.Markup(f" ({' and '.join(links)}).")

    fib = sections["memoization"]
    network = sections["network"]
    deepest = sections["depth"]["rows"][-1]
    last = max(i for i, calls in enumerate(fib["calls"]["naive"]) if calls is not None)
    n = fib["n"][last]
    naive, memo = fib["calls"]["naive"][last], fib["calls"]["memo"][last]
    width = sections["depth"]["width"]
    items = [
        (
            "Memoization turns repeated work into a lookup. ",
            f"Plain recursion calls fib {naive:,} times for F({n}); with a dict of results it "
            f"calls {memo}, each value computed once",
            see("memoization"),
        ),
        (
            "The chain rule is a sum over paths, and the paths multiply with depth. ",
            f"∂L/∂W¹₁₁ of the 2-2-2-1 network is a sum over {network['paths']} paths; with "
            f"{deepest['depth']} hidden layers of width {width}, each first-layer weight has "
            f"{deepest['paths_per_first_layer_weight']:,} and the naive sum for every weight "
            f"takes {deepest['naive_multiplications']:,} multiplications",
            see("depth"),
        ),
        (
            "Backpropagation is the chain rule plus memoization. ",
            f"Each adjoint ∂L/∂O is computed once, stored and reused by every path through it: "
            f"{deepest['backprop_multiplications']:,} multiplications for every weight's "
            f"gradient, where the path sum needs {deepest['naive_multiplications']:,} "
            f"({as_many(deepest['ratio'])}), and the same gradient as the path sum and finite "
            f"differences, to {network['max_abs_difference']:.0e}",
            see("network", "accumulate"),
        ),
    ]
    section.html(
        html.Markup(
            '<ol class="summary">'
            + "".join(f"<li>{html.strong(head)}{html.join(*rest)}</li>" for head, *rest in items)
            + "</ol>"
        )
    )
