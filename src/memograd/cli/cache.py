"""``memograd cache info|list|clear STORE``: what a memoize store holds, and emptying it.

    memograd cache info results.db               the store: entries, bytes, functions
    memograd cache list results.db               per function: entries, size, hits, ages
    memograd cache list redis://host:6379/0 --function train --json
    memograd cache clear results.db --function mymodule:train

STORE is a SQLite file written by ``@mg.memoize(store=...)`` or a ``redis://`` URL. ``info`` and
``list`` open a file read-only and never create one; ``clear`` removes every entry, or one
function's (``--function``: its full ``module:qualname``, its qualified name, or its name, when
that names one function of the store). Counts cover every process that used the store; hits
are written back within a second or so.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from memograd.cli import UsageError, _common


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "cache",
        help="inspect or clear a memoize store (a SQLite file or a redis:// URL)",
        description=(
            "Show what a store of @mg.memoize(store=...) holds, per function, or clear it. "
            "STORE is a SQLite file or a redis:// URL."
        ),
    )
    actions = parser.add_subparsers(
        dest="action", metavar="ACTION", required=True, parser_class=type(parser)
    )
    for name, text in (
        ("info", "the store as a whole: where, entries, bytes, functions"),
        ("list", "one line per function: entries, bytes, hits, misses, oldest and last use"),
        ("clear", "remove every entry (or one function's, with --function) and its counts"),
    ):
        action = actions.add_parser(name, help=text, description=text)
        action.add_argument("store", metavar="STORE", help="a SQLite file or a redis:// URL")
        if name != "info":
            action.add_argument(
                "--function",
                metavar="NAME",
                help="only this function: module:qualname, its qualified name, or its name",
            )
        _common.add_json_flag(action)
        action.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    store = _open(args.store, writable=args.action == "clear")
    if args.action == "info":
        summary = store.summary()
        if args.json:
            _common.emit_json(summary)
        else:
            _print_summary(summary)
        return 0
    summaries = store.functions()
    function = None if args.function is None else _resolve(args.function, summaries, store)
    if args.action == "list":
        chosen = [s for s in summaries if function is None or s.function == function]
        if args.json:
            _common.emit_json(
                {"store": store.describe(), "functions": [s.as_dict() for s in chosen]}
            )
        else:
            _print_functions(store.describe(), chosen)
        return 0
    removed = store.clear(function)
    what = "every function" if function is None else function
    if args.json:
        _common.emit_json({"store": store.describe(), "function": function, "removed": removed})
    else:
        print(f"removed {removed:,} entries of {what} from {store.describe()}")
    return 0


def _open(spec: str, writable: bool) -> Any:
    """The store ``spec`` names: an existing memograd SQLite file, or a Redis server."""
    if spec.split("://", 1)[0] in ("redis", "rediss", "unix"):
        try:
            import redis  # noqa: F401
        except ModuleNotFoundError:
            raise UsageError(
                "memograd cache: a redis:// store needs redis-py: pip install 'memograd[redis]'"
            ) from None
        from memograd.memo.redis_store import RedisStore

        try:
            return RedisStore(spec, connect_timeout=3.0, socket_timeout=10.0)
        except ValueError as error:
            raise UsageError(f"memograd cache: {error}") from None
    if "://" in spec:
        raise UsageError(f"memograd cache: expected a SQLite file or a redis:// URL, got {spec!r}")
    from memograd.memo.sqlite_store import SQLiteStore

    return SQLiteStore(spec, create=False, read_only=not writable)


def _resolve(name: str, summaries: list[Any], store: Any) -> str:
    """The one function of the store that ``name`` names, or a one-line error."""
    names = [s.function for s in summaries]
    if name in names:
        return name
    matches = [
        full
        for full in names
        if full.split(":", 1)[-1] == name
        or full.replace(":", ".") == name
        or full.rsplit(".", 1)[-1].split(":")[-1] == name
    ]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise UsageError(
            f"memograd cache: --function {name!r} names {len(matches)} functions of "
            f"{store.describe()}: {', '.join(matches)}; give the full module:qualname"
        )
    listed = ", ".join(names[:10]) + (f" and {len(names) - 10} more" if len(names) > 10 else "")
    raise UsageError(
        f"memograd cache: no function {name!r} in {store.describe()}; "
        + (f"it has: {listed}" if names else "it is empty")
    )


def _age(stamp: float | None) -> str:
    """How long ago, in the largest unit that fits: ``40 s``, ``12 min``, ``3.5 h``, ``9.0 d``."""
    if stamp is None:
        return "-"
    seconds = max(0.0, time.time() - stamp)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def _print_summary(summary: dict[str, Any]) -> None:
    from memograd._budget import readable_bytes

    lines = [f"{summary['store']} store {summary['location']}"]
    lines.append(f"  functions: {summary['functions']:,}")
    lines.append(f"  entries:   {summary['entries']:,} ({readable_bytes(summary['bytes'])})")
    if "bytes_on_disk" in summary:
        lines.append(f"  on disk:   {readable_bytes(summary['bytes_on_disk'])} (with its -wal)")
        lines.append(f"  computing: {summary['computing_now']:,} calls right now")
    else:
        lines.append(
            f"  server:    Redis {summary['server_version']}, "
            f"{readable_bytes(summary['server_memory_bytes'] or 0)} used"
        )
    print("\n".join(lines))


def _print_functions(location: str, summaries: list[Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    from memograd._budget import readable_bytes

    table = Table(
        title=f"memoize store {location}",
        caption="codes: versions of the function's code with entries; oldest: the oldest "
        "entry's age; used: since an entry was last read or stored (hits are written back "
        "in batches)",
    )
    longest = max((len(s.function) for s in summaries), default=8)
    table.add_column("function", overflow="fold", min_width=min(longest, 32))
    for column in ("entries", "size", "hits", "misses", "codes", "oldest", "used"):
        table.add_column(column, justify="right", no_wrap=True)
    for s in summaries:
        table.add_row(
            s.function,
            f"{s.entries:,}",
            readable_bytes(s.bytes),
            f"{s.hits:,}",
            f"{s.misses:,}",
            str(s.versions),
            _age(s.oldest),
            _age(s.newest),
        )
    if not summaries:
        print(f"no entries in {location}")
        return
    Console().print(table)
