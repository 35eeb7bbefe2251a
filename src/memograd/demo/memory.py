"""Section 5: what memoization costs. The activations backprop stores, and the trade back.

First the notes' network: which forward values the backward pass reads, and why they are kept
rather than computed again. Then the trade made the other way, counted: store-all, sqrt(n) and
revolve plans (``mg.checkpoint.schedule``) for chains of 8 to 1024 layers, their memory against
their recomputation; and one chain run by ``mg.nn.run_schedule`` under every plan, the memory
the engine held measured (``mg.engine.graph_memory``) and the gradients compared bit for bit.
"""

from __future__ import annotations

import math
from typing import Any

from memograd.demo.settings import DemoSettings
from memograd.explain.arch import ParamRef
from memograd.explain.symbols import param_text, unit_text
from memograd.viz import html, plots
from memograd.viz.mathml import unicode_symbol

ANCHOR = "memory"
HEADING = "What memoization costs"

OWN_DERIVATIVE = {
    "sigmoid": "σ′(z) = O(1 − O)",
    "tanh": "tanh′(z) = 1 − O²",
    "relu": "relu′(z) = 1 when O > 0",
    "leaky_relu": "its slope, chosen by the sign of O",
    "gelu": "gelu′(z), from z (kept beside O)",
}


def revolve_slots(n: int) -> int:
    """The slots the report gives revolve: log2(n), rounded up (at least 1)."""
    return max(1, math.ceil(math.log2(n)))


def stored_activations(network: Any) -> list[dict[str, Any]]:
    """Every forward value of the explainer's network that its backward pass reads, with what
    reads it: the unit's own activation derivative, and the weights it feeds."""
    arch = network.arch
    rows = []
    for k in range(arch.depth + 1):
        for j in range(1, arch.sizes[k] + 1):
            reads = []
            if 1 <= k < arch.depth and network.activations[k - 1] in OWN_DERIVATIVE:
                reads.append(f"its own slope {OWN_DERIVATIVE[network.activations[k - 1]]}")
            if k == arch.depth:
                reads.append("∂L/∂Ŷ = 2(Ŷ − y)" if network.loss == "squared" else "∂L/∂Ŷ")
            else:
                weights = [
                    unicode_symbol(param_text(arch, ParamRef("W", k + 1, unit, source=j)))
                    for unit in range(1, arch.sizes[k + 1] + 1)
                ]
                reads.append(
                    f"∂L/∂{', ∂L/∂'.join(weights)} (each: its unit's ∂L/∂O × slope × this)"
                )
            rows.append(
                {
                    "symbol": unit_text(arch, k, j),
                    "value": float(network.forward.outputs[k][j - 1]),
                    "layer": k,
                    "read_by": reads,
                }
            )
    return rows


def measure(settings: DemoSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    from memograd.engine.schedules import schedule
    from memograd.explain import build_network
    from memograd.nn.checkpoint_costs import measure_plans, standard_plans

    network = build_network(settings.arch, seed=settings.seed)
    rows = []
    for n in settings.checkpoint_depths:
        plans = [
            schedule(n, kind="all"),
            schedule(n, kind="sqrt"),
            schedule(n, revolve_slots(n), "revolve"),
        ]
        rows.append({"depth": n, "plans": [p.to_dict() for p in plans]})
    curves = {}
    for n in settings.checkpoint_curve_depths:
        slot_counts = sorted({s for s in (1, 2, 3, 4, 6, 8, 12, 16, 32, 64, 128) if s < n})
        revolve = [schedule(n, s, "revolve").counts for s in slot_counts]
        others = [schedule(n, kind=k).counts for k in ("all", "sqrt")]
        curves[str(n)] = {
            "revolve": [[c.peak_stored, c.forward_evaluations / n] for c in revolve],
            "revolve_slots": slot_counts,
            "store-all": [[others[0].peak_stored, others[0].forward_evaluations / n]],
            "sqrt": [[others[1].peak_stored, others[1].forward_evaluations / n]],
        }
    depth, width, batch = settings.checkpoint_measured
    plans = standard_plans(depth, [revolve_slots(depth)])
    measured = measure_plans(plans, width, batch, seed=settings.seed, repeats=0)
    data = {
        "arch": settings.arch,
        "seed": settings.seed,
        "activations": stored_activations(network),
        "rows": rows,
        "curves": curves,
        "measured": {
            "depth": depth,
            "width": width,
            "batch": batch,
            "state_bytes": batch * width * 4,
            "plans": [
                {**p.to_dict(), "measured": m.to_dict()}
                for p, m in zip(plans, measured, strict=True)
            ],
        },
    }
    return data, {}


def render(section: html.Section, data: dict[str, Any], objects: dict[str, Any]) -> None:
    activations = data["activations"]
    section.paragraph(
        "Memoization buys time with memory, and so does backpropagation: it computes every "
        "adjoint once because it stores what each one needs. The adjoints are small and short-"
        "lived (each is freed once it has been passed on); what must be kept from the forward "
        "pass until the backward pass reaches it is every activation a local derivative reads. "
        f"On the notes' {data['arch']} network, these are all of them:"
    )
    section.table(
        ["value", "forward value", "read in the backward pass by"],
        [
            [
                unicode_symbol(row["symbol"]),
                f"{row['value']:.4g}",
                "; ".join(row["read_by"]),
            ]
            for row in activations
        ],
        f"Every value of the forward pass (seed {data['seed']}) and the backward computations "
        "that read it. A weight's gradient is the stored adjoint ∂L/∂O of the unit it feeds, "
        "times that unit's slope, times the value at the weight's other end; a sigmoid's slope "
        "is computed from its own output.",
        numeric=[False, True, False],
    )
    section.paragraph(
        f"So all {len(activations)} are stored. Dropping one would not lose the gradient, only "
        "cost a recomputation: O₁₁ can be made again from x₁ and x₂ whenever the backward pass "
        "wants it. That is the trade this section counts. For a network of n layers, plain "
        "backprop (store-all) keeps all n layers' activations; checkpointing keeps a few states "
        "and recomputes the layers between them. Three schedules, each a list of actions "
        "(advance without recording, keep a state in a slot, restore it, record steps, run "
        "their backward pass) from ",
        html.code("mg.checkpoint.schedule(n, slots, kind)"),
        ": store-all records everything once; sqrt keeps the input of each of about √n "
        "segments on a first pass, then records one segment at a time (one extra forward pass); "
        "revolve (Griewank) keeps s states and records one layer at a time, with the fewest "
        "recomputations any such schedule can make: r·n − C(s + r, s + 1) unrecorded layer "
        "evaluations, r the least integer with C(s + r, s) ≥ n.",
    )
    depths = [row["depth"] for row in data["rows"]]
    names = ["store-all", "sqrt", "revolve"]
    stored = {
        name if name != "revolve" else "revolve (log₂ n slots)": [
            row["plans"][k]["peak_stored"] for row in data["rows"]
        ]
        for k, name in enumerate(names)
    }
    curves = {
        int(n): {k: [tuple(p) for p in v] for k, v in c.items() if k != "revolve_slots"}
        for n, c in data["curves"].items()
    }
    section.figure_pair(
        plots.checkpoint_plots(depths, stored, curves),
        "Memory against recomputation, counted",
        "Left: the states each plan holds at once for the backward pass (its snapshots and the "
        "inputs and outputs of the layers it has recorded). Right: at three depths, revolve's "
        "curve as its slots grow (1, 2, 3, 4, 6, 8, ... slots), against sqrt's and store-all's "
        "single points; lower left is better. Revolve records one layer at a time, so every "
        "layer but the last runs at least twice and its curve stays above 2 evaluations per "
        "layer: it wins where memory is scarcest.",
    )
    section.table(
        [
            "layers",
            "store-all: held",
            "sqrt: held",
            "sqrt: evaluations",
            "revolve: slots",
            "revolve: held",
            "revolve: evaluations",
        ],  # fmt: skip
        [
            [
                f"{row['depth']:,}",
                f"{row['plans'][0]['peak_stored']:,}",
                f"{row['plans'][1]['peak_stored']:,}",
                _work(row["plans"][1]),
                str(row["plans"][2]["slots"]),
                f"{row['plans'][2]['peak_stored']:,}",
                _work(row["plans"][2]),
            ]
            for row in data["rows"]
        ],
        "Counted by running each plan's actions on symbols: held, the most states kept at once; "
        "evaluations, the layers run forward in all, and that over store-all's n. Revolve's "
        "count equals the closed form above (the tests also check it against a brute-force "
        "search over every schedule of small chains).",
    )
    _measured(section, data["measured"])


def _work(plan: dict[str, Any]) -> str:
    return f"{plan['forward_evaluations']:,} ({plan['forward_evaluations'] / plan['n']:.2f}×)"


def _measured(section: html.Section, measured: dict[str, Any]) -> None:
    state = measured["state_bytes"]
    plans = measured["plans"]
    same = all(p["measured"]["same_gradients"] for p in plans)
    section.subheading("The same plans, run")
    section.paragraph(
        "Each plan run by ",
        html.code("mg.nn.run_schedule"),
        f" on a chain of {measured['depth']} layers Linear({measured['width']}, "
        f"{measured['width']}) → ReLU with a batch of {measured['batch']} (one state is "
        f"{state:,} bytes of float32), the engine's memory counted from the live graph after "
        "every action. A recorded layer keeps its input and output states and one array more, "
        "the linear's output that the ReLU's slope reads, so at its peak a plan holds its "
        "states plus one array per recorded layer. "
        + (
            "Every plan's gradients are plain backprop's, bit for bit."
            if same
            else "Some plan's gradients differ from plain backprop's: see the table."
        ),
    )
    section.table(
        [
            "plan",
            "evaluations (counted)",
            "states held (plan)",
            "engine held (measured)",
            "gradients",
        ],  # fmt: skip
        [
            [
                p["label"],
                f"{p['measured']['forward_evaluations']:,}",
                f"({p['peak_stored']:,} + {p['peak_recorded']:,}) × {state:,} B",
                f"{p['measured']['held_bytes']:,} B",
                "identical" if p["measured"]["same_gradients"] else "different",
            ]
            for p in plans
        ],
        html.join(
            "Layer evaluations counted by the layers themselves; memory counted by ",
            html.code("mg.engine.graph_memory"),
            " (parameters and their gradients excluded). ",
            html.code("memograd checkpoint --depth 64 --slots 4 --measure"),
            " measures a 64-layer MLP of width 512 the same way, with the process's peak and "
            "the time.",
        ),
        numeric=[False, True, True, True, False],
    )
