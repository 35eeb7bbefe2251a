"""The ``memograd`` command line.

Every subcommand lives in its own module under ``memograd.cli`` and exposes
``register(subparsers)``, which adds its parser and sets ``run`` as the default
``func``. This module only wires them together and owns the one error handler
that every command shares: bad input exits with status 2 and a single line on
stderr, never a traceback (set ``MEMOGRAD_DEBUG=1`` to see one).

argparse, not typer: it is in the standard library (no import cost, nothing to
install for the parser itself), and its ``error`` hook is the single place
where we turn usage mistakes into one-line messages with exit status 2.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

# name -> module under memograd.cli; each module has register(subparsers).
COMMANDS: dict[str, str] = {
    "fib": "memograd.cli.fib",
    "paths": "memograd.cli.paths",
    "cost": "memograd.cli.cost",
    "demo": "memograd.cli.demo",
    "explore": "memograd.cli.explore",
    "modes": "memograd.cli.modes",
    "train": "memograd.cli.train",
    "predict": "memograd.cli.predict",
}


class UsageError(Exception):
    """Bad command-line input: reported as one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line instead of usage + message."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="memograd",
        description="Backpropagation is the chain rule plus memoization: see it, check it, use it.",
    )
    from memograd._version import __version__

    parser.add_argument("--version", action="version", version=f"memograd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for module_name in COMMANDS.values():
        importlib.import_module(module_name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``memograd`` console script; returns the exit status."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        return int(args.func(args) or 0)
    except UsageError as exc:
        return _fail(str(exc), 2)
    except ModuleNotFoundError as exc:
        if os.environ.get("MEMOGRAD_DEBUG") or (exc.name or "").startswith("memograd"):
            raise
        return _fail(
            f"memograd: the command line needs the optional package {exc.name!r}; "
            "install it with: pip install 'memograd[cli]'",
            2,
        )
    except (ValueError, TypeError, OSError, OverflowError) as exc:
        if os.environ.get("MEMOGRAD_DEBUG"):
            raise
        return _fail(f"memograd: error: {_one_line(exc)}", 2)
    except MemoryError as exc:
        # What was asked for did not fit: the input's fault (a size), so status 2 like any
        # other bad input. Most sizes are estimated and refused before this can happen.
        if os.environ.get("MEMOGRAD_DEBUG"):
            raise
        return _fail(_out_of_memory(exc), 2)
    except KeyboardInterrupt:
        return _fail("memograd: interrupted", 130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence against tracebacks
        if os.environ.get("MEMOGRAD_DEBUG"):
            raise
        return _fail(
            f"memograd: internal error: {type(exc).__name__}: {_one_line(exc)} "
            "(set MEMOGRAD_DEBUG=1 for the traceback)",
            1,
        )


def _out_of_memory(exc: MemoryError) -> str:
    from memograd._budget import available_memory, readable_bytes

    detail = f" ({_one_line(exc)})" if str(exc) else ""
    available = available_memory()
    room = "" if available is None else f" ({readable_bytes(available)} available now)"
    return (
        f"memograd: error: ran out of memory{detail}: the sizes asked for need more than this "
        f"machine has{room}; ask for smaller ones"
    )


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    return " ".join(text.split())


def _fail(message: str, status: int) -> int:
    print(message, file=sys.stderr)
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
