"""The function ``@memoize`` returns: generated with the user's own signature.

Only real code with real parameter names gets CPython's fast call (no ``*args``/``**kwargs``
built, the frame inlined), so the wrapper is generated from source, as ``dataclasses`` and
``namedtuple`` generate theirs. A hit is then that frame plus one call of the C store.
"""

from __future__ import annotations

import builtins
import functools
import inspect
import types
from collections.abc import Callable
from typing import Any

from memograd.memo.aio import fill_async
from memograd.memo.cache import Memo
from memograd.memo.keys import sorted_keywords
from memograd.memo.options import Describe, Options

_P = inspect.Parameter

# The wrapper's body, by how the store is filled. ARGS are the arguments as the key sees them
# (for a method: without self). The hit is the first line that returns.
_DIRECT_BODY = """\
    try:
        return _mg_store(ARGS)
    except TypeError as _mg_error:
        return _mg_by_content(_mg_error, ARGS)
"""
_DIRECT_KEYED_BODY = """\
    return _mg_keyed(ARGS)
"""
_CELL_BODY = """\
    try:
        _mg_cell = _mg_store(ARGS)
    except TypeError as _mg_error:
        _mg_cell = _mg_by_content(_mg_error, ARGS)
    try:
        HIT
    except AttributeError:
        pass
    return AWAIT_mg_fill(_mg_cell, ARGS)
"""
_CELL_KEYED_LOOKUP = """\
    _mg_cell = _mg_keyed(ARGS)
"""
_HIT = "return _mg_cell.value"
_TTL_HIT = "if _mg_timer() - _mg_cell.born < _mg_ttl:\n            return _mg_cell.value"


class Template:
    """The wrapper's code for one function: compiled once, turned into functions cheaply.

    The wrapper has the user's exact signature, so CPython calls it like any small function and
    normalizes the arguments for free: ``f(1, b=2)``, ``f(b=2, a=1)`` and, with a default
    ``b=2``, ``f(1)`` are all one call ``store(1, 2)``. Each instance is a new function on the
    same code with its own globals (the store, the slow paths): a global load is a little cheaper
    than a closure cell, and one compile serves every instance of a class with a memoized method.
    For a method the first parameter (``self``) is left out of the key and of the call: each
    instance has its own store, whose function already holds the instance.
    """

    def __init__(self, fn: Callable[..., Any], options: Options, *, method: bool) -> None:
        self.fn = fn
        self.is_async = inspect.iscoroutinefunction(fn)
        signature = _signature(fn)
        parameters = list(signature.parameters.values()) if signature else None
        if parameters is None or any(p.name.startswith("_mg_") for p in parameters):
            parameters = [  # no usable signature: the generic (slower) wrapper
                *([_P("_mg_self", _P.POSITIONAL_ONLY)] if method else []),
                _P("_mg_args", _P.VAR_POSITIONAL),
                _P("_mg_kwargs", _P.VAR_KEYWORD),
            ]
        positional = (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)
        self.defaults = tuple(
            p.default for p in parameters if p.kind in positional and p.default is not _P.empty
        )
        self.kwdefaults = {
            p.name: p.default
            for p in parameters
            if p.kind is _P.KEYWORD_ONLY and p.default is not _P.empty
        }
        header, args = _render(parameters, skip_first=method)
        keyed = parameters[1:] if method else parameters
        self.describe = Describe(
            name=getattr(fn, "__qualname__", None) or repr(fn),
            positional_names=tuple(p.name for p in keyed if p.kind in positional),
            var_positional=next((p.name for p in keyed if p.kind is _P.VAR_POSITIONAL), None),
        )
        if options.ttl is None and not self.is_async:
            body = _DIRECT_BODY if options.key is None else _DIRECT_KEYED_BODY
        else:
            body = _CELL_BODY.replace("HIT", _HIT if options.ttl is None else _TTL_HIT)
            if options.key is not None:  # the first four lines become the key function's lookup
                body = _CELL_KEYED_LOOKUP + "".join(body.splitlines(keepends=True)[4:])
            body = body.replace("AWAIT", "await " if self.is_async else "")
        body = body.replace("_mg_error, ARGS", f"_mg_error, {args}" if args else "_mg_error")
        body = body.replace("_mg_cell, ARGS", f"_mg_cell, {args}" if args else "_mg_cell")
        body = body.replace("ARGS", args)
        self.source = f"{'async ' if self.is_async else ''}def memoized({header}):\n{body}"
        namespace: dict[str, Any] = {}
        exec(compile(self.source, f"<memoize {self.describe.name}>", "exec"), namespace)
        self.code = namespace["memoized"].__code__

    def instantiate(self, memo: Memo) -> Callable[..., Any]:
        namespace = {
            "__builtins__": builtins,
            "_mg_store": memo.store,
            "_mg_keyed": memo.keyed,
            "_mg_by_content": memo.by_content,
            "_mg_fill": functools.partial(fill_async, memo) if self.is_async else memo.fill,
            "_mg_timer": memo.timer,
            "_mg_ttl": memo.ttl,
            "_mg_kw": sorted_keywords,
        }
        function = types.FunctionType(self.code, namespace, "memoized", self.defaults or None)
        function.__kwdefaults__ = dict(self.kwdefaults) or None
        functools.update_wrapper(function, self.fn)
        function.cache_info = memo.cache_info
        function.cache_clear = memo.cache_clear
        function.cache_parameters = memo.cache_parameters
        return function


def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        # Not following __wrapped__: a decorated function takes what its outer layer takes.
        return inspect.signature(fn, follow_wrapped=False)
    except (TypeError, ValueError):
        return None


def _render(parameters: list[inspect.Parameter], *, skip_first: bool) -> tuple[str, str]:
    """The wrapper's parameter list, and the arguments it passes on (the key's arguments)."""
    header: list[str] = []
    arguments: list[str] = []
    previous_kind = None
    for position, p in enumerate(parameters):
        if previous_kind is _P.POSITIONAL_ONLY and p.kind is not _P.POSITIONAL_ONLY:
            header.append("/")
        if p.kind is _P.KEYWORD_ONLY and previous_kind not in (_P.KEYWORD_ONLY, _P.VAR_POSITIONAL):
            header.append("*")
        previous_kind = p.kind
        if p.kind is _P.VAR_POSITIONAL:
            header.append(f"*{p.name}")
            argument = f"*{p.name}"
        elif p.kind is _P.VAR_KEYWORD:
            header.append(f"**{p.name}")
            argument = f"**_mg_kw({p.name})"
        elif p.kind is _P.KEYWORD_ONLY:
            header.append(p.name)
            argument = f"{p.name}={p.name}"
        else:
            header.append(p.name)  # defaults are set on the function object, not in the source
            argument = p.name
        if not (skip_first and position == 0):
            arguments.append(argument)
    if previous_kind is _P.POSITIONAL_ONLY:
        header.append("/")
    return ", ".join(header), ", ".join(arguments)


def memoize_function(fn: Callable[..., Any], options: Options) -> Callable[..., Any]:
    """A plain function's wrapper, with its one cache (``__memo__``, for tests and methods.py)."""
    template = Template(fn, options, method=False)
    memo = Memo(fn, options, template.describe, is_async=template.is_async)
    function = template.instantiate(memo)
    function.__memo__ = memo
    return function
