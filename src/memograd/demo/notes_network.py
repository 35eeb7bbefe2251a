"""Section 2: the notes' 2-2-2-1 network, ∂L/∂W^1_11 as a two-path sum, and the sweep.

The numbers are :func:`memograd.explain.explain`'s, called exactly as ``memograd paths
--arch 2-2-2-1 --param W1_11 --seed S`` calls it, so the report and the command agree.
"""

from __future__ import annotations

from typing import Any

from memograd.demo.settings import DemoSettings
from memograd.demo.sweep import SweepStep, backward_sweep
from memograd.explain.arch import ParamRef
from memograd.explain.symbols import param_text, subscript, unit_text
from memograd.viz import html
from memograd.viz.drawing import draw
from memograd.viz.mathml import unicode_expression, unicode_symbol
from memograd.viz.network import draw_network, network_keys

ANCHOR = "network"
HEADING = "The notes' network: two paths, one stored adjoint"
SHOWN_PATHS = 8


def measure(settings: DemoSettings) -> tuple[dict[str, Any], dict[str, Any]]:
    from memograd.explain import build_value_graph, explain

    explanation = explain(settings.arch, settings.param, seed=settings.seed, show_paths=SHOWN_PATHS)
    steps = backward_sweep(explanation.network, explanation.ref)
    graph = build_value_graph(explanation.network)
    graph.loss.backward()
    data = {
        **explanation.to_dict(),
        "seed": settings.seed,
        "sweep": [step.to_dict() for step in steps],
    }
    return data, {"explanation": explanation, "steps": steps, "value_graph": graph}


def _fmt(value: float | None) -> str:
    return "not evaluated" if value is None else f"{value:.10g}"


def render(section: html.Section, data: dict[str, Any], objects: dict[str, Any]) -> None:
    explanation = objects["explanation"]
    steps: list[SweepStep] = objects["steps"]
    network = explanation.network
    symbol = data["symbol"]
    pretty = unicode_symbol(symbol)
    hidden_layers = network.activations[:-1]
    hidden = hidden_layers[0] if len(set(hidden_layers)) == 1 else ", ".join(hidden_layers)
    x = ", ".join(f"{v:.4g}" for v in data["input"])
    y = ", ".join(f"{v:.4g}" for v in data["target"])
    section.paragraph(
        f"The notes work one example by hand: a network with two inputs, two hidden layers of "
        f"two units and one output ({data['arch']}), {hidden} in the hidden layers, an "
        f"{network.activations[-1]} output and a squared-error loss L = (Ŷ − y)². With seed "
        f"{data['seed']} its weights are drawn at random, the input is x = ({x}) and the "
        f"target y = {y}; the loss is L = {data['loss']:.6g}. W^k_ij is the weight from unit i "
        "of layer k−1 to unit j of layer k, and O_kj the output of unit j of layer k.".replace(
            "W^k_ij", "Wᵏᵢⱼ"
        ).replace("O_kj", "Oₖⱼ")
    )
    section.figure(
        draw_network(network, explanation.ref, title=f"{data['arch']} network").svg,
        f"The {data['arch']} network, with the paths from {pretty} to the loss",
        f"Each box is a unit with its output on this run's input; the {data['paths']} "
        f"highlighted chains are the chain-rule paths along which {pretty} changes L.",
    )
    section.paragraph(
        f"The chain rule sums one product per path. {pretty} feeds O₁₁, and O₁₁ reaches Ŷ "
        "through O₂₁ and through O₂₂, so the notes write:"
        if data["paths"] == 2
        else f"The chain rule sums one product per path ({data['paths']} paths):"
    )
    section.math(data["formula"])
    rows, shaded, shared = _factor_rows(data)
    section.table(
        ["path", "factor", "how its value is made", "value"],
        rows,
        f"Every factor of every path of ∂L/∂{pretty}, evaluated on this run's weights and input; "
        "a path's contribution is the product of its factors. Shaded: the factors that occur "
        f"on more than one path ({', '.join(unicode_expression(f) for f in shared)}).",
        numeric=[False, False, False, True],
        shaded=shaded,
    )
    section.facts(
        [
            ("chain-rule paths", str(data["paths"])),
            ("naive sum of path products", _fmt(data["naive_gradient"])),
            ("backprop (engine, memoized)", _fmt(data["memo_gradient"])),
            ("finite difference", _fmt(data["finite_difference"])),
        ]
    )
    _regrouped(section, data)
    _engine_graph(section, explanation, objects["value_graph"])
    section.subheading("The backward sweep, step by step")
    section.paragraph(
        "Backpropagation computes the adjoints ∂L/∂O in reverse order and stores each one. "
        "This is the loop of memograd's engine that does it, its memo strategy:"
    )
    section.listing(
        engine_memo_listing(),
        html.join(
            "The memo table of ",
            html.code('loss.backward(strategy="memo")'),
            " (memograd/engine/graph.py): a node's adjoint is the sum, over the edges to the "
            "nodes that consume it, of each consumer's stored adjoint times the edge's local "
            "derivative (its VJP); it is computed once, stored in memo, and only read after "
            "that. The default sweep fills the same table in reverse topological order.",
        ),
    )
    others = _other_units(network, explanation.ref)
    section.paragraph(
        "Each panel below is one step of it on this network, and each box shows its unit's "
        "adjoint once it is known (∂L/∂L = 1 to start): the orange unit is the adjoint being "
        "computed, green units are already in the memo table, and the green edges are the "
        "stored adjoints the step reads. No step ever recomputes a stored value."
        + (
            f" The sweep also computes {', '.join(f'∂L/∂{u}' for u, _ in others)}, which "
            f"∂L/∂{pretty} does not need: "
            + "; ".join(f"{', '.join(needs)} need ∂L/∂{u}" for u, needs in others)
            + ". One sweep stores every adjoint once, for all the weights."
            if others
            else ""
        )
    )
    section.steps(
        [_panel(network, explanation.ref, steps, k) for k in range(len(steps))],
        f"The memo table of the {data['arch']} network filling up, from ∂L/∂Ŷ to "
        f"∂L/∂{pretty}, with this run's numbers; each adjoint is one sum over the stored "
        "adjoints of the layer above.",
    )


def _factor_rows(
    data: dict[str, Any],
) -> tuple[list[list[html.Content]], list[bool], list[str]]:
    """The factor table's rows, which rows to shade, and the factors on more than one path."""
    paths = data["shown_paths"]
    seen: dict[str, int] = {}
    for path in paths:
        for symbol in {factor["symbol"] for factor in path["factors"]}:
            seen[symbol] = seen.get(symbol, 0) + 1
    shared = [f["symbol"] for f in paths[0]["factors"] if seen[f["symbol"]] > 1] if paths else []
    rows: list[list[html.Content]] = []
    shaded: list[bool] = []
    for path in paths:
        via = " → ".join(unicode_symbol(u) for u in path["units"])
        for k, factor in enumerate(path["factors"]):
            rows.append(
                [
                    f"{path['index'] + 1} ({via})" if k == 0 else "",
                    html.formula(factor["symbol"]),
                    unicode_expression(factor["expression"]),
                    f"{factor['value']:.6g}",
                ]
            )
            shaded.append(factor["symbol"] in shared)
        rows.append(["", html.strong("product"), "", html.strong(f"{path['product']:.6g}")])
        shaded.append(False)
    return rows, shaded, shared


def _regrouped(section: html.Section, data: dict[str, Any]) -> None:
    """The sum regrouped around the stored adjoint, and which multiplication that saves."""
    paths = data["shown_paths"]
    if data["param"].startswith("O") or len(paths) < 2 or len(paths) != data["paths"]:
        section.paragraph(
            f"All three agree: the largest difference between them is "
            f"{data['max_abs_difference']:.2e}."
        )
        return
    symbol = data["symbol"]
    end = paths[0]["factors"][-1]  # ∂O_11/∂W^1_11: the factor every path ends with
    unit = end["symbol"].split("/")[0].removeprefix("∂")
    adjoint = data["memo_table"][unit]
    unit_pretty = unicode_symbol(unit)
    saved = data["naive_multiplications"] - data["memo_multiplications"]
    section.paragraph(
        f"All three agree: the largest difference between them is "
        f"{data['max_abs_difference']:.2e}. Every path starts at L and ends with the same "
        f"factor {unicode_expression(end['symbol'])}, so the sum regroups around the adjoint "
        f"∂L/∂{unit_pretty}, the sum of the path products above {unit_pretty}, which "
        "backpropagation computes once and stores:"
    )
    section.math(f"∂L/∂{symbol} = ∂L/∂{unit} × {end['symbol']}")
    section.math(
        f"∂L/∂{symbol} = {adjoint:.6g} × {end['value']:.6g} = {adjoint * end['value']:.6g}"
    )
    at_end = data["paths"] - 1  # the products with the end factor that the regrouping saves
    saving = (
        "that is the whole saving here"
        if saved == at_end
        else f"with the other shared sub-products, {saved} fewer in all"
    )
    # Only when nothing else is shared does ∂L/∂Ŷ meet a different factor on every path.
    single_output = len(data["output"]) == 1 and saved == at_end
    section.paragraph(
        f"The naive sum multiplied {data['naive_multiplications']} times: each of the "
        f"{data['paths']} paths multiplies its own factors, and so multiplies by "
        f"{unicode_expression(end['symbol'])}, the factor shared at the end of every path, "
        f"{data['paths']} times. Backpropagation multiplied {data['memo_multiplications']} "
        f"times: it adds the paths up to {unit_pretty} first, into the stored ∂L/∂"
        f"{unit_pretty}, and multiplies by {unicode_expression(end['symbol'])} once instead "
        f"of {data['paths']} times; {saving}. "
        + (
            "∂L/∂Ŷ is on every path too, but it starts them and meets a different factor on "
            "each, so no product with it is saved. "
            if single_output
            else ""
        )
        + "Here the saving is small; the section on depth shows it growing exponentially, "
        f"and every weight feeding {unit_pretty} reuses the same stored ∂L/∂{unit_pretty}."
    )


def engine_memo_listing() -> str:
    """The loop of the engine's memo strategy that fills its table, as the engine has it now.

    Read from the engine's source, so the report shows the code that ran; the whole
    ``backward`` function stands in if that loop is ever renamed.
    """
    import inspect
    import textwrap

    from memograd.engine import graph

    source = inspect.getsource(graph)
    start = source.find("\ndef _memo(")
    end = source.find("\ndef ", start + 1)
    function = source[start + 1 : end if end > 0 else None] if start >= 0 else ""
    lines = function.splitlines()
    first = next((i for i, line in enumerate(lines) if "memo = {" in line), None)
    last = next((i for i, line in enumerate(lines) if "memo[node] =" in line), None)
    if first is None or last is None:
        return inspect.getsource(graph.backward)
    return textwrap.dedent("\n".join(lines[first : last + 2])).rstrip() + "\n"


def _needed_by(network: Any, layer: int, unit: int) -> list[str]:
    """The parameters that feed unit (layer, unit): the weights into it and its bias."""
    arch = network.arch
    names = [
        unicode_symbol(param_text(arch, ParamRef("W", layer, unit, source=s)))
        for s in range(1, arch.sizes[layer - 1] + 1)
    ]
    return [*names, unicode_symbol(param_text(arch, ParamRef("b", layer, unit)))]


def _other_units(network: Any, ref: Any) -> list[tuple[str, list[str]]]:
    """Units of ref's own layer that the sweep fills though ref's gradient does not need them."""
    if ref.kind == "O":
        return []
    return [
        (unicode_symbol(unit_text(network.arch, ref.layer, i)), _needed_by(network, ref.layer, i))
        for i in range(1, network.arch.sizes[ref.layer] + 1)
        if i != ref.unit
    ]


def _panel(network: Any, ref: Any, steps: list[SweepStep], k: int) -> tuple[str, str, html.Content]:
    step = steps[k]
    done = {s.key for s in steps[:k]}
    states: dict[Any, str] = {"L": "stored"}
    labels: dict[Any, tuple[str, ...]] = {}
    keys, edges = network_keys(network, ref)
    for key in keys:
        if key == step.key:
            states[key] = "current"
        elif key in done:
            states[key] = "stored"
        elif key != "L":
            states[key] = "pending"
    values = {s.key: s.value for s in steps[: k + 1]}
    labels["L"] = ("L", "1")
    for key in keys:
        if key != "L":
            value = values.get(key)
            shown = "—" if value is None else f"{value:.3g}"
            labels[key] = (_symbol(network, ref, key), shown)
    edge_states: dict[Any, str] = {}
    for read in step.reads:
        edge_states[(step.key if step.key != "param" else "param", read)] = "reused"
    if not step.reads:
        edge_states[(step.key, "L")] = "reused"
    for edge in edges:
        edge_states.setdefault(edge, "faint")
    drawing = draw_network(network, ref, states=states, edge_states=edge_states, labels=labels)
    reused = ", ".join(f"∂L/∂{unicode_symbol(t.adjoint_of)}" for t in step.terms)
    why = ""
    if isinstance(step.key, tuple) and ref.kind != "O" and step.key[0] == ref.layer:
        if step.key[1] != ref.unit:
            needs = _needed_by(network, *step.key)
            why = (
                f"∂L/∂{unicode_symbol(param_text(network.arch, ref))} does not need it; "
                f"{', '.join(needs[:-1])} and {needs[-1]} do. "
            )
    text = html.join(
        unicode_expression(step.formula),
        " ",
        unicode_expression(step.arithmetic),
        ". ",
        f"Reuses {len(step.terms)} stored adjoint{'s' if len(step.terms) != 1 else ''} ({reused}). "
        if step.terms
        else "Starts from the loss. ",
        why,
        f"Memo table: {len(done) + 1} entr{'ies' if len(done) else 'y'}.",
    )
    title = f"Step {step.number}: ∂L/∂{unicode_symbol(step.computes)}"
    return drawing.svg, title, text


def _symbol(network: Any, ref: Any, key: Any) -> str:
    if key == "param":
        return unicode_symbol(param_text(network.arch, ref))
    return unicode_symbol(unit_text(network.arch, *key))


def _engine_graph(section: html.Section, explanation: Any, graph: Any) -> None:
    """The same network as the engine builds it, named in the notes' notation."""
    network, ref = explanation.network, explanation.ref
    arch = network.arch
    names: list[tuple[Any, str]] = [(graph.loss, "L")]
    for k, layer in enumerate(graph.units):
        names.extend(
            (value, unicode_symbol(unit_text(arch, k, j + 1))) for j, value in enumerate(layer)
        )
    for k, matrix in enumerate(graph.weights, start=1):
        for i, row in enumerate(matrix, start=1):
            for j, value in enumerate(row, start=1):
                names.append((value, unicode_symbol(f"W^{k}_{subscript(i, j)}")))
    for k, vector in enumerate(graph.biases, start=1):
        names.extend((value, unicode_symbol(f"b^{k}_{j}")) for j, value in enumerate(vector, 1))
    drawing = draw(graph.loss, highlight=graph.node(ref), names=names, show_data=False)
    pretty = unicode_symbol(param_text(arch, ref))
    section.subheading("What the engine computes")
    section.paragraph(
        "The engine builds the same network from scalar operations, one node per × and +, and "
        "one backward sweep leaves every node holding its gradient: that is the memo table, "
        f"kept on the nodes. The grad of {pretty} below is the gradient above, and the grads of "
        "the unit nodes are the adjoints the sweep in the next figure computes one by one."
    )
    section.figure(
        drawing.svg,
        f"The engine's computation graph of the {arch.text} network",
        f"Every scalar operation of the forward pass with its gradient after backward(); the "
        f"highlighted nodes lie on the paths from {pretty} to L (scroll sideways to follow "
        "them).",
        scroll=True,
    )
