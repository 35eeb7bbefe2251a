"""The function ``@memoize`` returns: generated with the user's own signature.

Where the C extension is built (_speedups.c), a cache in memory without ``ttl`` or ``key=``, of a
function or method whose parameters can all be passed by position, is fronted by ``Memoized``,
which does the hit below in C with no Python frame at all and hands every other call to the
code generated here: keywords, defaults and a method's instance not called last to the whole
wrapper, an empty cell to the miss path alone (``_MISS_FUNCTION``).

Only real code with real parameter names gets CPython's fast call (no ``*args``/``**kwargs``
built, the frame inlined), so the wrapper is generated from source, as ``dataclasses`` and
``namedtuple`` generate theirs. A hit is that frame, one call of the C store and one attribute
read; a miss computes in the same frame (flight.py says why), so a recursive memoized function
costs two levels of the recursion limit per call, as with functools. A method's wrapper is a
plain function too, so that CPython binds it in C, and finds the instance's own cache in its
frame before the same lookup (methods.py keeps those caches).
"""

from __future__ import annotations

import _thread
import builtins
import functools
import inspect
import re
import threading
import types
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from memograd.memo import flight
from memograd.memo.aio import fill_async
from memograd.memo.cache import Cell, Flight, Memo
from memograd.memo.keys import sorted_keywords
from memograd.memo.options import Describe, Options

try:
    from memograd.memo._speedups import Memoized
except ImportError:  # built without a C compiler: the generated wrapper does every call
    Memoized = None

if TYPE_CHECKING:
    from memograd.memo.methods import MethodCaches
    from memograd.memo.persistent import StoredMemo

_P = inspect.Parameter

# The wrapper's body is assembled from these pieces. ARGS are the arguments as the store sees
# them, KEYED as the key function gets them (for a method: both without self, except that the
# cache shared by instances without weak references keys on self too), CALL as the user's
# function gets them (for a method: with self). KEY is what the store is called with: ARGS, or
# with ``key=`` the key function's result, KEY_VALUE (KEYING computes it).
#
# The cache's slow paths are reached through ``_mg_memo`` (cache.Memo) and only the store has a
# name of its own: a plain function's wrapper finds both among its globals, a method's sets them
# as locals, to its instance's cache (_METHOD below).
#
# The hit is the first ``return``: one store call and one attribute read. A key whose cell holds
# no value yet raises AttributeError there, whose ``obj`` is the cell (set by the interpreter for
# a failed attribute read since Python 3.10): the miss path gets the cell without a second store
# call, that is without hashing the arguments again. An AttributeError from anything but a cell
# (a user's __eq__, say) is the user's and propagates.
_LOOKUP = """\
KEYING
try:
    return _mg_store(KEY).value
except AttributeError as _mg_error:
    _mg_cell = _mg_error.obj
    if _mg_type(_mg_cell) is not _mg_Cell:
        raise
except TypeError as _mg_error:
    _mg_cell = BY_CONTENT
    try:
        return _mg_cell.value
    except AttributeError:
        pass
except RecursionError:
    AT_THE_LIMIT
"""
# With ``ttl`` the hit reads the cell twice (its age, then its value), so the cell is a local.
_TTL_LOOKUP = """\
KEYING
try:
    _mg_cell = _mg_store(KEY)
except TypeError as _mg_error:
    _mg_cell = BY_CONTENT
except RecursionError:
    AT_THE_LIMIT
try:
    HIT
except AttributeError:
    pass
"""
_KEYING = "_mg_key_value = _mg_key(KEYED)"
_BY_CONTENT = "_mg_memo.by_content(_mg_error, ARGS)"
_BY_KEY_CONTENT = "_mg_memo.by_key_content(_mg_error, KEY_VALUE)"
# A key's first miss makes its cell inside the store call, one C call deeper than the function
# itself will run. At the very bottom of a recursion that call can hit the limit where the
# function still fits (functools, with no cell to make, runs it): run it uncached, as a miss.
_AT_THE_LIMIT = """\
with _mg_memo.lock:
    _mg_memo.computed += 1
return AWAIT_mg_fn(CALL)"""
_HIT = "return _mg_cell.value"
_TTL_HIT = "if _mg_timer() - _mg_cell.born < _mg_ttl:\n    return _mg_cell.value"
_ASYNC_MISS = "return await _mg_fill_async(_mg_memo, _mg_cell, CALL)\n"
# The miss path on its own, for the C front: it calls ``miss(cell, *args)`` with the empty cell the
# store gave it, or with None when the store call failed at the recursion limit.
_MISS_FUNCTION = """\
if _mg_cell is None:
    AT_THE_LIMIT
MISS
"""
# maxsize=0: caching off, as in functools. The store (which stores nothing) counts the call.
_UNCACHED = "_mg_store()\nreturn AWAIT_mg_fn(CALL)\n"
# A store shared across processes (persistent.py): the lookup hashes the arguments into a stable
# key and reads the store; a miss is filled once across threads and processes.
_STORED = """\
KEYING
_mg_stored_key, _mg_value = _mg_lookup(KEY)
if _mg_value is not _mg_MISSING:
    return _mg_value
return AWAIT_mg_fill(_mg_stored_key, CALL)
"""

# A method's wrapper: the class attribute itself, a plain function, which CPython binds in C (no
# bound method object is even made for ``obj.method(x)``). Its frame finds the instance's own
# cache, then runs OWN, the lookup above on it. ``_mg_recent`` is the cache of the instance called
# last, as one tuple (weak reference, store, memo) so that threads replacing it never mix two
# instances' parts: a call on the same instance again costs one call of that weak reference.
# Any other instance is looked up in the registry by ``id`` (methods.py; an entry goes when its
# instance does, and a stale one is never trusted: the reference must give back this very
# object), or registered there at its first call. An instance that cannot be weakly referenced
# has no cache of its own: SHARED is the lookup on the one cache keyed on self too.
_METHOD = """\
global _mg_recent
_mg_ref, _mg_store, _mg_memo = _mg_recent
if _mg_ref() is not SELF:
    _mg_entry = _mg_instances.get(_mg_id(SELF), _mg_NO_ENTRY)
    if _mg_entry[0]() is not SELF:
        if not _mg_type(SELF).__weakrefoffset__:
            _mg_store = _mg_shared_store
            _mg_memo = _mg_shared_memo
            SHARED
        _mg_entry = _mg_attach(SELF)
    _mg_ref, _mg_store, _mg_memo = _mg_recent = _mg_entry
OWN
"""


class _Nobody:
    """The referent of ``NO_ENTRY``: kept alive here, never an instance a method is called on."""


_NOBODY = _Nobody()
NO_ENTRY: tuple[Any, None, None] = (weakref.ref(_NOBODY), None, None)
"""``_mg_recent`` before a first call, or once its instance is gone. Its reference gives an object
no method is called on: a dead reference would give None, and ``Model.method(None, x)`` would
then take it for its instance's entry (it did, and failed on the entry's missing store)."""

# What every wrapper's miss path may call, bound when memograd is imported: the miss path calls
# no builtin by name, so a user who installs a memoized builtin (builtins.len = memoize(len))
# is never called back from inside a cache.
_CONSTANTS: dict[str, Any] = {
    "__builtins__": builtins,
    "_mg_Cell": Cell,
    "_mg_Flight": Flight,
    "_mg_get_ident": threading.get_ident,
    "_mg_allocate_lock": _thread.allocate_lock,
    "_mg_type": type,
    "_mg_id": id,
    "_mg_isinstance": isinstance,
    "_mg_hasattr": hasattr,
    "_mg_weakref": weakref.ref,
    "_mg_ONE_SHOT": frozenset({types.GeneratorType, types.CoroutineType}),
    "_mg_kw": sorted_keywords,
    "_mg_fill_async": fill_async,
    "_mg_NO_ENTRY": NO_ENTRY,
}


class Template:
    """The wrapper's code for one function: compiled once, turned into functions cheaply.

    The wrapper has the user's exact signature, so CPython calls it like any small function and
    normalizes the arguments for free: ``f(1, b=2)``, ``f(b=2, a=1)`` and, with a default
    ``b=2``, ``f(1)`` are all one call ``store(1, 2)``. The function made from the code has its
    own globals (the store, the slow paths): a global load is a little cheaper than a closure
    cell. For a method the first parameter (``self``) is left out of the key but passed to the
    function: each instance has its own store (``describe`` names its keyed parameters), except
    the one shared by instances without weak references (``shared_describe``).
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
        header, args, call = _render(parameters, skip_first=method)
        name = getattr(fn, "__qualname__", None) or repr(fn)
        self.describe = _describe(name, parameters[1:] if method else parameters)
        self.shared_describe = _describe(name, parameters)
        body = _body(options, self.is_async, args=args, call=call)
        if method:
            first = parameters[0].name  # self
            shared = _body(options, self.is_async, args=args, call=call, shared_self=first)
            method_body = re.sub(r"\bSELF\b", first, _METHOD)
            body = _place(_place(method_body, "SHARED", shared), "OWN", body)
        self.source = f"{'async ' if self.is_async else ''}def memoized({header}):\n{_indent(body)}"
        self.code = _compiled(self.source, name, "memoized")
        # The C front's miss path: an in-memory cache without ttl or key=, of a function whose
        # parameters can all be passed by position (the front handles exactly that call). A
        # method's miss path also takes the instance's cache, which the front found.
        self.front_nargs: int | None = None
        self.miss_code: types.CodeType | None = None
        simple = all(p.kind in positional for p in parameters)
        if (
            simple
            and not self.is_async
            and options.maxsize != 0
            and options.store is None
            and options.ttl is None
            and options.key is None
        ):
            self.front_nargs = len(parameters)
            miss = _miss_function_body(options, args=args, call=call)
            memo = "_mg_memo, " if method else ""
            source = f"def memoized_miss(_mg_cell, {memo}{header}):\n{_indent(miss)}"
            self.miss_code = _compiled(source, name, "memoized_miss")

    def instantiate(self, memo: Memo) -> Callable[..., Any]:
        """A new wrapper function on this code, for ``memo``'s store."""
        options = memo.options
        if options.store is not None and options.maxsize != 0:  # a persistent.StoredMemo
            from memograd.memo.persistent import MISSING

            namespace = {
                **_CONSTANTS,
                "_mg_MISSING": MISSING,
                "_mg_lookup": memo.lookup if options.key is None else memo.lookup_key,
                "_mg_fill": memo.fill_async if self.is_async else memo.fill,
                "_mg_key": options.key,
            }
        else:
            namespace = {**self._constants(memo), "_mg_memo": memo, "_mg_store": memo.store}
        function = self._function(namespace)
        if self.miss_code is not None and Memoized is not None:
            miss = types.FunctionType(self.miss_code, namespace, "memoized_miss")
            function = Memoized(memo.store, miss, function, memo.by_content, Cell, self.front_nargs)
        return self._finish(memo, function)

    def instantiate_method(self, caches: MethodCaches) -> Callable[..., Any]:
        """The class attribute of a memoized method, on the caches of its instances."""
        shared = caches.shared
        namespace = {
            **self._constants(shared),
            "_mg_shared_memo": shared,
            "_mg_shared_store": shared.store,
            "_mg_instances": caches.instances,
            "_mg_attach": caches.attach,
            "_mg_recent": NO_ENTRY,
        }
        caches.follow(namespace)
        function = self._function(namespace)
        if self.miss_code is not None and Memoized is not None:
            miss = types.FunctionType(self.miss_code, namespace, "memoized_miss")
            function = Memoized(
                None, miss, function, None, Cell, self.front_nargs, globals=namespace
            )
        return self._finish(caches, function)

    def _constants(self, memo: Memo) -> dict[str, Any]:
        """The names every in-memory wrapper needs: what computes, and the options."""
        options = memo.options
        return {
            **_CONSTANTS,
            "_mg_fn": memo.fn,
            "_mg_key": options.key,
            "_mg_timer": options.timer,
            "_mg_ttl": options.ttl,
            "_mg_timeout": -1 if options.timeout is None else options.timeout,
        }

    def _function(self, namespace: dict[str, Any]) -> types.FunctionType:
        function = types.FunctionType(self.code, namespace, "memoized", self.defaults or None)
        function.__kwdefaults__ = dict(self.kwdefaults) or None
        return function

    def _finish(
        self, statistics: Memo | StoredMemo | MethodCaches, function: Callable[..., Any]
    ) -> Callable[..., Any]:
        functools.update_wrapper(function, self.fn)
        function.cache_info = statistics.cache_info
        function.cache_clear = statistics.cache_clear
        function.cache_parameters = statistics.cache_parameters
        return function


def _indent(body: str) -> str:
    return "".join(f"    {line}" if line.strip() else line for line in body.splitlines(True))


def _compiled(source: str, name: str, function: str) -> types.CodeType:
    namespace: dict[str, Any] = {}
    exec(compile(source, f"<memoize {name}>", "exec"), namespace)
    return namespace[function].__code__


def _describe(name: str, keyed: list[inspect.Parameter]) -> Describe:
    positional = (_P.POSITIONAL_ONLY, _P.POSITIONAL_OR_KEYWORD)
    return Describe(
        name=name,
        positional_names=tuple(p.name for p in keyed if p.kind in positional),
        var_positional=next((p.name for p in keyed if p.kind is _P.VAR_POSITIONAL), None),
    )


def _body(
    options: Options, is_async: bool, *, args: str, call: str, shared_self: str | None = None
) -> str:
    """The wrapper's body for these options, at indentation zero.

    ``shared_self``: the lookup in a method's cache shared by its instances without weak
    references, which keys on the instance too (named by the method's first parameter).
    """
    if options.maxsize == 0:
        text = _UNCACHED
    elif options.store is not None:
        text = _place(_STORED, "KEYING", _KEYING if options.key is not None else "")
    else:
        text = _LOOKUP if options.ttl is None else _place(_TTL_LOOKUP, "HIT", _hit(options))
        keyed = options.key is not None
        text = _place(text, "KEYING", _KEYING if keyed else "")
        text = _place(text, "AT_THE_LIMIT", _AT_THE_LIMIT)
        text = text.replace("BY_CONTENT", _BY_KEY_CONTENT if keyed else _BY_CONTENT)
        text += _ASYNC_MISS if is_async else _miss(options)
    return _tokens(text, options, is_async, args=args, call=call, shared_self=shared_self)


def _miss_function_body(options: Options, *, args: str, call: str) -> str:
    """The body of ``memoized_miss(_mg_cell, ...)``, the C front's miss path, at indentation 0."""
    text = _place(_place(_MISS_FUNCTION, "MISS", _miss(options)), "AT_THE_LIMIT", _AT_THE_LIMIT)
    return _tokens(text, options, False, args=args, call=call, shared_self=None)


def _hit(options: Options) -> str:
    return _HIT if options.ttl is None else _TTL_HIT


def _miss(options: Options) -> str:
    """The single-flight miss path (flight.py) of a plain function's cache with these options."""
    miss = _place(flight.MISS, "HIT", _hit(options))
    miss = _place(miss, "EPOCH", flight.EPOCH if options.maxsize is not None else "")
    return _place(miss, "BORN", flight.BORN if options.ttl is not None else "")


def _tokens(
    text: str, options: Options, is_async: bool, *, args: str, call: str, shared_self: str | None
) -> str:
    """Fill in the argument lists (``ARGS``, ``KEY``, ``CALL``...) and ``AWAIT``."""
    text = text.replace("AWAIT", "await " if is_async else "")
    if shared_self is None:
        stored, key, key_value = args, "_mg_key_value", "_mg_key_value"
    else:
        stored = f"{shared_self}, {args}" if args else shared_self
        key = f"{shared_self}, _mg_key_value"
        key_value = f"({key})"
    tokens = {
        "ARGS": stored,
        "KEYED": args,
        "CALL": call,
        "KEY": stored if options.key is None else key,
        "KEY_VALUE": key_value,
    }
    return re.sub(r"\b(ARGS|KEYED|CALL|KEY_VALUE|KEY)\b", lambda m: tokens[m.group(1)], text)


def _place(text: str, name: str, lines: str) -> str:
    """Put ``lines`` where the line ``name`` stands in ``text``, at its indentation."""

    def indented(match: re.Match[str]) -> str:
        indent = match.group(1)
        return "".join(f"{indent}{line}\n" for line in lines.splitlines())

    return re.sub(rf"^( *){name}\n", indented, text, flags=re.MULTILINE)


def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        # Not following __wrapped__: a decorated function takes what its outer layer takes.
        return inspect.signature(fn, follow_wrapped=False)
    except (TypeError, ValueError):
        return None


def _render(parameters: list[inspect.Parameter], *, skip_first: bool) -> tuple[str, str, str]:
    """The wrapper's parameter list; the arguments the store gets; those the function gets."""
    header: list[str] = []
    arguments: list[str] = []
    call: list[str] = []
    previous_kind = None
    for position, p in enumerate(parameters):
        if previous_kind is _P.POSITIONAL_ONLY and p.kind is not _P.POSITIONAL_ONLY:
            header.append("/")
        if p.kind is _P.KEYWORD_ONLY and previous_kind not in (_P.KEYWORD_ONLY, _P.VAR_POSITIONAL):
            header.append("*")
        previous_kind = p.kind
        if p.kind is _P.VAR_POSITIONAL:
            header.append(f"*{p.name}")
            argument = passed = f"*{p.name}"
        elif p.kind is _P.VAR_KEYWORD:
            header.append(f"**{p.name}")
            argument, passed = f"**_mg_kw({p.name})", f"**{p.name}"
        elif p.kind is _P.KEYWORD_ONLY:
            header.append(p.name)
            argument = passed = f"{p.name}={p.name}"
        else:
            header.append(p.name)  # defaults are set on the function object, not in the source
            argument = passed = p.name
        call.append(passed)
        if not (skip_first and position == 0):
            arguments.append(argument)
    if previous_kind is _P.POSITIONAL_ONLY:
        header.append("/")
    return ", ".join(header), ", ".join(arguments), ", ".join(call)


def memoize_function(fn: Callable[..., Any], options: Options) -> Callable[..., Any]:
    """A plain function's wrapper, with its one cache (``__memo__``, for tests and methods.py)."""
    template = Template(fn, options, method=False)
    if options.store is not None and options.maxsize != 0:
        from memograd.memo.persistent import StoredMemo

        memo: Memo | StoredMemo = StoredMemo(fn, options, template.describe)
    else:
        memo = Memo(fn, options, template.describe)
    function = template.instantiate(memo)
    function.__memo__ = memo
    return function
