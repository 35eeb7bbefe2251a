"""``@memoize`` on a method: one cache per instance, none of which keeps its instance alive."""

from __future__ import annotations

import functools
import inspect
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any

from memograd.memo.cache import CacheInfo, Memo
from memograd.memo.options import Options
from memograd.memo.wrapper import NO_ENTRY, Template

# An instance's first call runs ``attach``: bound when memograd is imported, so that a memoized
# builtin a user installs later (builtins.id = memoize(id)) is never called from here.
_id = id

Entry = tuple[weakref.ref, Callable[..., Any], Memo]
"""A registered instance: a weak reference to it, its cache's C store, the cache."""


def memoize_method(fn: Callable[..., Any], options: Options) -> Callable[..., Any]:
    """The class attribute for ``@memoize`` on a method: a plain function, bound by CPython.

    Being a function rather than a descriptor of ours, it is bound in C, and for a call
    ``obj.method(x)`` not even a bound method is made: its own frame finds the instance's cache
    (wrapper.py, ``_METHOD``) and looks the arguments up there. Where the C extension is built,
    the class attribute is its front instead (wrapper.py), which CPython calls the same way and
    which finds the cache of the instance called last without a frame. ``cache_info()``,
    ``cache_clear()`` and ``cache_parameters()`` are those of ``MethodCaches`` below, on the class
    attribute and on every bound method alike (as functools' are); ``__caches__`` is the object
    itself. A function pickles by reference and copies as itself, as functools' wrapper does.
    """
    template = Template(fn, options, method=True)
    caches = MethodCaches(fn, options, template)
    function = template.instantiate_method(caches)
    function.__caches__ = caches
    return function


class MethodCaches:
    """The caches of one memoized method: one per live instance, and one shared.

    Each instance that can be weakly referenced gets its own cache at its first call, filed in
    ``instances`` under ``id(instance)`` with a weak reference to the instance whose callback
    drops the entry. The method's wrapper takes ``self`` as its first argument and leaves it out
    of the key; neither it nor the cache refers to the instance, so caching never keeps an
    instance alive, and the instance's cache goes when it does. An entry is trusted only when its
    reference gives back the very instance being called, so an ``id`` reused by a new object
    after the first one died (even if a callback failed to run) finds no other object's values.

    Instances that cannot be weakly referenced (of subclasses of ``int``, ``str`` or ``tuple``,
    or with ``__slots__`` and no ``__weakref__``) share ``shared``, keyed on ``self`` and the
    arguments as functools keys every method, which keeps them alive, as functools does.

    ``cache_info()`` and ``cache_clear()`` cover every live instance's cache and the shared one.
    """

    def __init__(self, fn: Callable[..., Any], options: Options, template: Template) -> None:
        self.fn = fn
        self.options = options
        self.describe = template.describe
        self.shared = Memo(fn, options, template.shared_describe)
        self.instances: dict[int, Entry] = {}
        self._lock = threading.RLock()  # reentrant: a weakref callback may fire inside attach
        self._globals: dict[str, Any] = {}

    def follow(self, wrapper_globals: dict[str, Any]) -> None:
        """The wrapper's globals, whose ``_mg_recent`` is forgotten when its instance goes."""
        self._globals = wrapper_globals

    def attach(self, instance: object) -> Entry:
        """The instance's own cache, made at its first call (or after its ``id`` was reused)."""
        ident = _id(instance)
        with self._lock:
            entry = self.instances.get(ident)
            if entry is not None and entry[0]() is instance:
                return entry
            ref = weakref.ref(instance, functools.partial(self._detach, ident))
            memo = Memo(self.fn, self.options, self.describe)
            entry = self.instances[ident] = (ref, memo.store, memo)
        return entry

    def _detach(self, ident: int, ref: weakref.ref) -> None:
        """An instance is gone: its entry goes (its values are dropped after the lock)."""
        with self._lock:
            entry = self.instances.get(ident)
            if entry is not None and entry[0] is ref:
                del self.instances[ident]
            if self._globals.get("_mg_recent", NO_ENTRY)[0] is ref:
                self._globals["_mg_recent"] = NO_ENTRY
        del entry

    def _memos(self) -> list[Memo]:
        with self._lock:
            entries = [*self.instances.values()]  # copied in C: no callback can run meanwhile
        return [self.shared, *(entry[2] for entry in entries)]

    def cache_info(self) -> CacheInfo:
        """Totals over every live instance's cache and the shared one."""
        infos = [memo.cache_info() for memo in self._memos()]
        return CacheInfo(
            hits=sum(i.hits for i in infos),
            misses=sum(i.misses for i in infos),
            maxsize=self.options.maxsize,
            currsize=sum(i.currsize for i in infos),
        )

    def cache_clear(self) -> None:
        for memo in self._memos():
            memo.cache_clear()

    def cache_parameters(self) -> dict[str, Any]:
        return self.options.parameters()

    def __repr__(self) -> str:
        return f"<caches of memoized method {self.describe.name}: {len(self.instances)} instances>"


def is_method(fn: object) -> bool:
    """Is ``fn`` a method: a plain function written in a ``class`` body, taking ``self`` first?

    Its ``__qualname__`` says where it was written (``Model.forward``, not ``forward`` nor
    ``outer.<locals>.f``); the name of its first parameter says whether it is a method, since
    memoize runs before ``@staticmethod`` or ``@classmethod`` can say so. Anything else is
    memoized on all its arguments, as functools memoizes everything.
    """
    if not isinstance(fn, types.FunctionType):
        return False
    parts = fn.__qualname__.split(".")
    if len(parts) < 2 or parts[-2] == "<locals>":
        return False
    first = next(iter(inspect.signature(fn).parameters.values()), None)
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return first is not None and first.name == "self" and first.kind in positional
