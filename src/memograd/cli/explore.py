"""``memograd explore``: write the explorable page, where a learner changes the network and
watches the chain rule's paths, the memo table and the counts.

    memograd explore [--out DIR] [--open] [--arch 2-2-2-1] [--seed S] [--activation NAME]
"""

from __future__ import annotations

import argparse

from memograd.cli import _common
from memograd.cli.demo import DEFAULT_OUT  # the page goes beside the report by default


def register(subparsers: argparse._SubParsersAction) -> None:
    from memograd.explore.page import PAGE_ACTIVATIONS

    parser = subparsers.add_parser(
        "explore",
        help="an explorable page: change the network, follow the paths, step the memo table",
        description=(
            "Write DIR/explore.html, one self-contained page (nothing fetched) where you set "
            "the architecture, pick any weight, bias or unit to see its chain-rule paths and "
            "formula, step the backward (or forward) sweep as the memo table fills, and watch "
            "memoization prune Fibonacci's call tree. It opens on the explainer's network for "
            "--arch and --seed, the numbers `memograd paths` prints."
        ),
    )
    parser.add_argument(
        "--out",
        default=DEFAULT_OUT,
        metavar="DIR",
        help=f"directory of the page (default: ./{DEFAULT_OUT}/)",
    )
    parser.add_argument(
        "--arch",
        default="2-2-2-1",
        help="the network the page opens on, input first (default: 2-2-2-1, the notes')",
    )
    parser.add_argument(
        "--seed",
        type=_common.non_negative_int,
        default=0,
        help="seed of its weights, input and target, as for memograd paths (default: 0)",
    )
    parser.add_argument(
        "--activation",
        default="sigmoid",
        choices=PAGE_ACTIVATIONS,
        help="hidden-layer activation it opens with (default: sigmoid, as in the notes)",
    )
    parser.add_argument("--open", action="store_true", help="open the page in a web browser")
    _common.add_json_flag(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from memograd.explore import write_page

    path = write_page(args.out, args.arch, seed=args.seed, activation=args.activation)
    if args.json:
        _common.emit_json(
            {"page": str(path), "arch": args.arch, "seed": args.seed, "activation": args.activation}
        )
    else:
        print(f"explorable page: {path}")
    if args.open:
        import webbrowser

        webbrowser.open(path.resolve().as_uri())
    return 0
