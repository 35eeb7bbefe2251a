"""``memograd paths``: the chain-rule paths of one MLP parameter, its formula and its gradient.

    memograd paths --arch 2-2-2-1 --param W1_11 --show-paths 2 --latex

prints the exact number of paths from the parameter to the loss, the notes' formula, the
first paths with every factor's value and how it was made, and the gradient computed
naively (path by path), with memoization (the engine's backward) and by finite
differences, with the multiplications each needed. Counts are exact for any size; the
numbers are computed only within their budgets (``--force`` lifts them, never past the
machine's available memory), and each part left out says what it would take.
"""

from __future__ import annotations

import argparse

from memograd.cli import _common


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
    from memograd.explain.gradient import NAIVE_SUM_MAX_PATHS
    from memograd.explain.network import ACTIVATIONS, LOSSES
    from memograd.explain.sizes import DEFAULT_MAX_ENGINE_NODES, DEFAULT_MAX_LISTED_FACTORS

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
        default=NAIVE_SUM_MAX_PATHS,
        metavar="N",
        help=f"evaluate the naive sum only up to N paths (default: {NAIVE_SUM_MAX_PATHS:,})",
    )
    parser.add_argument("--latex", action="store_true", help="also print the formula in LaTeX")
    parser.add_argument(
        "--mode",
        choices=("reverse", "forward"),
        default="reverse",
        help=(
            "reverse (default): list the paths, as the notes sum them, and backprop's adjoints; "
            "forward: carry ∂O/∂param from the parameter towards L, the other factoring"
        ),
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help=(
            "run past the soft budgets (1 GB of memory for the network, "
            f"{DEFAULT_MAX_ENGINE_NODES:,} Value nodes for the engine check, "
            f"{DEFAULT_MAX_LISTED_FACTORS:,} factors of listed paths and formula terms); "
            "never past the machine's available memory"
        ),
    )
    _common.add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from memograd._numbers import exact_integer_text
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
        force=args.force,
    )
    if args.json:
        with exact_integer_text():  # a path count may pass Python's 4300-digit text limit
            _common.emit_json(explanation.to_dict())
        return 0
    print(explanation.text(latex=args.latex, mode=args.mode))
    return 0
