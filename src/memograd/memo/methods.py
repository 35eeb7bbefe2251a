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
from memograd.memo.wrapper import Template, memoize_function

# ``__get__`` runs on every method call: bound when memograd is imported, so that a memoized
# builtin a user installs later (builtins.id = memoize(id)) is never called from here.
_id, _type, _bind = id, type, types.MethodType


class MemoizedMethod:
    """``@memoize`` on a method: a function in a class body whose first parameter is ``self``.

    Each instance gets its own cache and wrapper, found in a registry keyed by ``id(instance)``
    whose entries hold the instance only through a weak reference (with a callback that drops the
    entry). The wrapper takes ``self`` as its first argument and leaves it out of the key; neither
    it nor its cache refers to the instance, so caching never keeps an instance alive, and the
    instance's cache goes when it does. ``obj.method`` is an ordinary bound method of that wrapper.

    Two cases share one cache keyed on all arguments, ``self`` included, as functools keys every
    method: calls through the class (``Model.predict(obj, x)``), and instances that cannot be
    weakly referenced (of subclasses of ``int``, ``str`` or ``tuple``, or with ``__slots__`` and
    no ``__weakref__``), which that cache keeps alive, as functools does.

    ``cache_info()`` and ``cache_clear()`` on the class attribute cover every live instance. Like
    functools' wrapper it pickles by reference (its module and qualified name) and copies as
    itself.
    """

    def __init__(self, fn: Callable[..., Any], options: Options) -> None:
        functools.update_wrapper(self, fn)
        self._options = options
        self._template = Template(fn, options, method=True)
        self._shared = memoize_function(fn, options)
        self._instances: dict[int, tuple[weakref.ref, Callable[..., Any], Memo]] = {}
        self._lock = threading.RLock()  # reentrant: a weakref callback may fire inside _attach

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        if instance is None:
            return self
        entry = self._instances.get(_id(instance))
        if entry is not None and entry[0]() is instance:
            return _bind(entry[1], instance)
        if not _type(instance).__weakrefoffset__:
            return _bind(self._shared, instance)
        return _bind(self._attach(instance)[1], instance)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._shared(*args, **kwargs)

    def __reduce__(self) -> str:
        return self.__qualname__

    def __copy__(self) -> MemoizedMethod:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> MemoizedMethod:
        return self

    def __repr__(self) -> str:
        return f"<memoized method {self.__qualname__}>"

    def _attach(self, instance: object) -> tuple[weakref.ref, Callable[..., Any], Memo]:
        ident = _id(instance)
        with self._lock:
            entry = self._instances.get(ident)
            if entry is not None and entry[0]() is instance:
                return entry
            ref = weakref.ref(instance, functools.partial(self._detach, ident))
            memo = Memo(self.__wrapped__, self._options, self._template.describe)
            entry = (ref, self._template.instantiate(memo), memo)
            self._instances[ident] = entry
        return entry

    def _detach(self, ident: int, ref: weakref.ref) -> None:
        with self._lock:
            entry = self._instances.get(ident)
            if entry is not None and entry[0] is ref:
                del self._instances[ident]

    def _memos(self) -> list[Memo]:
        with self._lock:
            return [self._shared.__memo__, *(entry[2] for entry in self._instances.values())]

    def cache_info(self) -> CacheInfo:
        """Totals over every live instance's cache and the shared one."""
        infos = [memo.cache_info() for memo in self._memos()]
        return CacheInfo(
            hits=sum(i.hits for i in infos),
            misses=sum(i.misses for i in infos),
            maxsize=self._options.maxsize,
            currsize=sum(i.currsize for i in infos),
        )

    def cache_clear(self) -> None:
        for memo in self._memos():
            memo.cache_clear()

    def cache_parameters(self) -> dict[str, Any]:
        return self._options.parameters()


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
