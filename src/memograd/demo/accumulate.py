"""Section 3: the ``a + a`` trap. A backward rule that overwrites instead of adding.

When a value is used twice (``b = a + a``, or O_11 feeding both O_21 and O_22), each use is a
path of the chain rule and its contribution must be added to the gradient. A hand-written
backward pass that assigns (``a.grad = ...``) keeps only the last contribution. Both rules are
run here for real: on ``a + a`` with the smallest possible node, and on the notes' network,
where the overwriting sweep keeps only the last path into each unit.
"""

from __future__ import annotations

import inspect
from typing import Any

from memograd.demo.settings import DemoSettings
from memograd.viz import html
from memograd.viz.mathml import unicode_symbol

ANCHOR = "accumulate"
HEADING = "The a + a trap: add every path, never overwrite"


class Node:
    """The smallest autodiff node: a value, its gradient, and the nodes it was made from."""

    def __init__(self, value: float, parents: tuple[Node, ...] = ()) -> None:
        self.value, self.grad, self.parents = value, 0.0, parents


def backward_add_overwriting(out: Node) -> None:
    a, b = out.parents  # out = a + b
    a.grad = out.grad
    b.grad = out.grad


def backward_add_accumulating(out: Node) -> None:
    a, b = out.parents  # out = a + b
    a.grad += out.grad
    b.grad += out.grad


def gradient_of_a_plus_a(rule: Any, a_value: float = 3.0) -> float:
    """∂(a + a)/∂a by one backward ``rule``, run on a fresh graph."""
    a = Node(a_value)
    out = Node(a.value + a.value, (a, a))
    out.grad = 1.0
    rule(out)
    return a.grad


def network_sweep(network: Any, *, overwrite: bool) -> dict[tuple[int, int], float]:
    """∂L/∂O for every unit of an explainer network, by a sweep whose rule adds (right) or
    assigns (the trap: each unit keeps the contribution of the last unit above it)."""
    arch, forward = network.arch, network.forward
    depth, sizes = arch.depth, arch.sizes
    adjoint = {(depth, j): float(forward.loss_gradient[j - 1]) for j in range(1, sizes[depth] + 1)}
    for layer in range(depth - 1, 0, -1):
        for i in range(1, sizes[layer] + 1):
            adjoint[(layer, i)] = 0.0
            for j in range(1, sizes[layer + 1] + 1):
                contribution = adjoint[(layer + 1, j)] * network.unit_to_unit(layer + 1, i, j)
                if overwrite:
                    adjoint[(layer, i)] = contribution
                else:
                    adjoint[(layer, i)] += contribution
    return adjoint


def measure(settings: DemoSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    import memograd as mg
    from memograd.explain import build_network, explain, parse_param

    a_value, h = 3.0, 1e-6
    engine_a = mg.Value(a_value)
    (engine_a + engine_a).backward()
    tiny = {
        "a": a_value,
        "overwriting": gradient_of_a_plus_a(backward_add_overwriting, a_value),
        "accumulating": gradient_of_a_plus_a(backward_add_accumulating, a_value),
        "engine": float(engine_a.grad),
        "finite_difference": (((a_value + h) * 2) - ((a_value - h) * 2)) / (2 * h),
    }
    network = build_network(settings.arch, seed=settings.seed)
    ref = parse_param(settings.param, network.arch)
    own = network.unit_to_param(ref)
    unit = (ref.layer, ref.unit)
    wrong = network_sweep(network, overwrite=True)[unit] * own
    right = network_sweep(network, overwrite=False)[unit] * own
    explanation = explain(settings.arch, settings.param, seed=settings.seed, show_paths=0)
    data = {
        "a_plus_a": tiny,
        "param": settings.param,
        "symbol": explanation.symbol,
        "arch": settings.arch,
        "network_overwriting": wrong,
        "network_accumulating": right,
        "engine_gradient": explanation.memo_gradient,
        "finite_difference": explanation.finite_difference,
        "paths": explanation.paths,
    }
    return data, {}


def render(section: html.Section, data: dict[str, Any], objects: dict[str, Any]) -> None:
    tiny = data["a_plus_a"]
    section.paragraph(
        "A value used twice is two paths of the chain rule, and both must be added into its "
        "gradient. A hand-written backward rule for + that assigns the gradient instead of "
        "adding it works for a + b and fails for a + a, where a and b are the same node: the "
        "second assignment replaces the first."
    )
    section.listing(
        inspect.getsource(backward_add_overwriting)
        + "\n"
        + inspect.getsource(backward_add_accumulating),
        "Two backward rules for out = a + b, run below on out = a + a with a = "
        f"{tiny['a']:g} (memograd/demo/accumulate.py). The first overwrites, the second adds.",
    )
    symbol = unicode_symbol(data["symbol"])
    section.table(
        ["computed by", "∂(a + a)/∂a", f"∂L/∂{symbol} on the {data['arch']} network"],
        [
            [
                "the overwriting rule",
                f"{tiny['overwriting']:g}",
                f"{data['network_overwriting']:.10g}",
            ],
            [
                "the adding rule",
                f"{tiny['accumulating']:g}",
                f"{data['network_accumulating']:.10g}",
            ],
            ["memograd's engine", f"{tiny['engine']:g}", f"{data['engine_gradient']:.10g}"],
            [
                "finite difference",
                f"{tiny['finite_difference']:.10g}",
                f"{data['finite_difference']:.10g}",
            ],
        ],
        f"Each rule run for real. On the network the same two rules sweep the adjoints ∂L/∂O "
        f"from the output down; the overwriting one keeps only the last of the "
        f"{data['paths']} paths from {symbol}, so its gradient is that one path's product.",
        numeric=[False, True, True],
    )
    section.paragraph(
        "The overwriting rule is wrong without any error: its numbers look like gradients. "
        "memograd's engine treats each use as its own edge and adds every contribution, which "
        "is what the notes' sum over paths says; the finite difference, which knows nothing of "
        "graphs, agrees with it."
    )
