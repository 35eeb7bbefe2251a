"""``memograd modes``: forward mode against reverse mode, counted exactly (and timed).

    memograd modes                                   the notes' networks and three shapes
    memograd modes --arch 2-2-2-1 --shape 1:100 --shape 100:1 --measure --json

One path sum, two factorings. A reverse pass gives one output's derivative for every input; a
forward pass gives every output's derivative for one input. So:

* for a network's loss (one output, P parameters), the gradient takes one reverse pass or P
  forward passes (counted at the neuron level, in multiplications, as ``memograd paths``);
* for f: R^n -> R^m (here ``x -> tanh(x A) B`` with 16 hidden units), the full Jacobian takes
  n forward passes or m reverse passes (counted by the engine, in JVP or VJP evaluations), and
  ``--measure`` times ``mg.jacfwd`` against ``mg.jacrev``.

Sizes are checked before anything is built (the Jacobian has n x m entries).
"""

from __future__ import annotations

import argparse
from typing import Any

from memograd.cli import _common

DEFAULT_ARCHS = ("2-2-2-1", "3-4-4-4-1", "64-32-32-10")
DEFAULT_SHAPES = ((1, 100), (100, 1), (20, 20))
MAX_JACOBIAN_ENTRIES = 10**6
"""Entries of a Jacobian the command builds (both ways) without --force: 1e6 floats, 8 MB each
way, and about a second of passes."""


def shape(text: str) -> tuple[int, int]:
    """``N:M`` (inputs:outputs) as a pair of positive ints."""
    parts = text.split(":")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected inputs:outputs such as 100:1, got {text!r}")
    n, m = (_common.positive_int(part) for part in parts)
    return n, m


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "modes",
        help="forward vs reverse mode: the passes and work each needs, counted (and timed)",
        description=(
            "The same path sum factored from either end: exact work of forward and reverse mode "
            "for a network's gradient (one reverse pass, or one forward pass per parameter) and "
            "for the Jacobian of f: R^n -> R^m (n forward passes, or m reverse passes)."
        ),
    )
    parser.add_argument(
        "--arch",
        action="append",
        metavar="SIZES",
        help=f"a network, e.g. 2-2-2-1 (repeatable; default: {', '.join(DEFAULT_ARCHS)})",
    )
    parser.add_argument(
        "--shape",
        action="append",
        type=shape,
        metavar="N:M",
        help="inputs:outputs of f, e.g. 100:1 (repeatable; default: 1:100, 100:1, 20:20)",
    )
    parser.add_argument(
        "--measure", action="store_true", help="also time mg.jacfwd against mg.jacrev"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help=f"build Jacobians of more than {MAX_JACOBIAN_ENTRIES:,} entries",
    )
    _common.add_json_flag(parser)
    parser.set_defaults(func=run)


def network_costs(arch_text: str) -> dict[str, Any]:
    """The gradient of all parameters of a network, each way (exact, from the sizes alone)."""
    from memograd.explain import parse_arch
    from memograd.explain.directions import all_parameter_costs

    costs = all_parameter_costs(parse_arch(arch_text))
    return costs.as_dict()


def run(args: argparse.Namespace) -> int:
    from memograd._budget import Budget, Estimate, check
    from memograd.explain.directions import HIDDEN, jacobian_costs

    archs = tuple(args.arch or DEFAULT_ARCHS)
    shapes = tuple(args.shape or DEFAULT_SHAPES)
    for n, m in shapes:
        check(
            Estimate(
                f"the {n}x{m} Jacobian, both ways",
                16 * n * m + 8 * HIDDEN * (n + m),
                n * m,
                "entries",
            ),
            Budget(work=MAX_JACOBIAN_ENTRIES, force=args.force),
            instead="ask for fewer inputs or outputs",
        )
    networks = [network_costs(arch) for arch in archs]
    jacobians = [jacobian_costs(n, m, measure=args.measure) for n, m in shapes]
    if args.json:
        _common.emit_json({"networks": networks, "jacobians": jacobians, "hidden": HIDDEN})
        return 0
    _print(networks, jacobians, args.measure)
    return 0


def _print(networks: list[dict[str, Any]], jacobians: list[dict[str, Any]], measure: bool) -> None:
    from memograd._numbers import short_count
    from memograd.explain.directions import HIDDEN
    from memograd.viz.units import format_seconds

    print("The gradient of a network's loss (one output) for all its parameters:")
    print(f"  {'network':<14}{'params':>8}  {'forward: passes, ×':>24}  {'reverse: passes, ×':>22}")
    for row in networks:
        forward = f"{row['forward_passes']:,}, {short_count(row['forward_multiplications'])}"
        reverse = f"{row['reverse_passes']:,}, {short_count(row['reverse_multiplications'])}"
        print(f"  {row['arch']:<14}{row['parameters']:>8,}  {forward:>24}  {reverse:>22}")
    print("  (×: neuron-level multiplications, as in 'memograd paths')")
    print()
    print(f"The Jacobian of f: R^n -> R^m, x -> tanh(x A) B with {HIDDEN} hidden units:")
    header = f"  {'n -> m':<12}{'forward: passes, JVPs':>24}{'reverse: passes, VJPs':>24}"
    print(header + ("   forward / reverse time" if measure else "") + "   cheaper")
    for row in jacobians:
        forward, reverse = row["forward"], row["reverse"]
        line = (
            f"  {row['inputs']:>4} -> {row['outputs']:<5}"
            f"{forward['passes']:>12,}, {forward['evaluations']:<9,}"
            f"{reverse['passes']:>13,}, {reverse['evaluations']:<9,}"
        )
        if measure:
            line += (
                f"   {format_seconds(forward['seconds'])} / {format_seconds(reverse['seconds'])}"
            )
        print(line + f"   {row['cheaper']}")
    print("  One forward pass per input, one reverse pass per output: few inputs and many")
    print("  outputs favour forward mode; a loss (one output) favours reverse mode, backprop.")
