"""``memograd paths``: the chain-rule paths of one MLP parameter, its formula and its gradient.

    memograd paths --arch 2-2-2-1 --param W1_11 --show-paths 2 --latex

prints the exact number of paths from the parameter to the loss, the notes' formula, the
first paths with every factor's value and how it was made, and the gradient computed
naively (path by path), with memoization (the engine's backward) and by finite
differences, with the multiplications each needed.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from memograd.cli import _common

if TYPE_CHECKING:
    from memograd.explain import Explanation


def _floats(text: str) -> list[float]:
    try:
        return [float(piece) for piece in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers such as 0.5,-1, got {text!r}"
        ) from None


def register(subparsers: argparse._SubParsersAction) -> None:
    from memograd.explain.explanation import DEFAULT_SHOW_PATHS
    from memograd.explain.formula import DEFAULT_MAX_TERMS
    from memograd.explain.gradient import DEFAULT_MAX_PATHS
    from memograd.explain.network import ACTIVATIONS, LOSSES

    parser = subparsers.add_parser(
        "paths",
        help="chain-rule paths of one weight, the formula, the gradient naive vs memoized",
        description=(
            "Count (exactly) and list the chain-rule paths from one parameter of an MLP to "
            "the loss, write the notes' formula in text or LaTeX, and compute the gradient "
            "naively and with memoization on seeded weights."
        ),
    )
    parser.add_argument("--arch", required=True, help="layer sizes, input first, e.g. 2-2-2-1")
    parser.add_argument(
        "--param",
        required=True,
        help="W1_11 (or W1_1_1, W12_3_10), b2_1, or a unit output O1_1 / O11",
    )
    parser.add_argument(
        "--activation",
        default="sigmoid",
        help=(
            f"hidden-layer activation, one of {', '.join(ACTIVATIONS)}, or a comma-separated "
            "list with one per hidden layer (default: sigmoid, as in the notes)"
        ),
    )
    parser.add_argument(
        "--output-activation",
        default="identity",
        choices=ACTIVATIONS,
        help="activation of the output layer (default: identity)",
    )
    parser.add_argument(
        "--loss", default="squared", choices=LOSSES, help="loss (default: squared error)"
    )
    parser.add_argument(
        "--seed",
        type=_common.non_negative_int,
        default=0,
        help="seed of the weights, input and target (default: 0)",
    )
    parser.add_argument("--input", type=_floats, help="the input x, e.g. 0.5,-1")
    parser.add_argument("--target", type=_floats, help="the target y, e.g. 1")
    parser.add_argument(
        "--show-paths",
        type=_common.non_negative_int,
        default=DEFAULT_SHOW_PATHS,
        metavar="N",
        help=f"list the first N paths with every factor's value (default: {DEFAULT_SHOW_PATHS})",
    )
    parser.add_argument(
        "--max-terms",
        type=_common.positive_int,
        default=DEFAULT_MAX_TERMS,
        metavar="N",
        help=f"elide the formula beyond N paths (default: {DEFAULT_MAX_TERMS})",
    )
    parser.add_argument(
        "--max-naive-paths",
        type=_common.positive_int,
        default=DEFAULT_MAX_PATHS,
        metavar="N",
        help=f"evaluate the naive sum only up to N paths (default: {DEFAULT_MAX_PATHS:,})",
    )
    parser.add_argument("--latex", action="store_true", help="also print the formula in LaTeX")
    _common.add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from memograd.explain import explain

    activation: str | list[str] = args.activation
    if "," in activation:
        activation = [name.strip() for name in activation.split(",")]
    explanation = explain(
        args.arch,
        args.param,
        activation=activation,
        output_activation=args.output_activation,
        loss=args.loss,
        seed=args.seed,
        x=args.input,
        target=args.target,
        show_paths=args.show_paths,
        max_terms=args.max_terms,
        max_naive_paths=args.max_naive_paths,
    )
    if args.json:
        _common.emit_json(explanation.to_dict())
        return 0
    print(render(explanation, latex=args.latex))
    return 0


def render(explanation: Explanation, *, latex: bool = False) -> str:
    """The human-readable report of one :class:`~memograd.explain.Explanation`."""
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
